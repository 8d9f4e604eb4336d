"""A cashier and an owner use Kassa through the real pages in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PHONE, TABLET, by_testid, has_no_horizontal_scroll, screenshot, set_up_register

pytestmark = pytest.mark.browser


def _set_up_register_and_log_in(page: Page, server: str, staff_name: str, pin: str) -> None:
    set_up_register(page, server, "Counter 1")
    page.get_by_role("button", name=re.compile(staff_name)).click()
    for digit in pin:
        by_testid(page, f"pin-{digit}").click()
    expect(by_testid(page, "pin-display")).to_have_text("●" * len(pin))
    by_testid(page, "pin-ok").click()


def test_cashier_logs_in_with_the_pin_pad_and_sees_the_register(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    _set_up_register_and_log_in(page, server, "Chen Cashier", "3333")
    page.wait_for_url(re.compile(r"/register$"))
    expect(by_testid(page, "store-name")).to_contain_text("Sweetheart Café")
    expect(by_testid(page, "register-name")).to_have_text("Counter 1")
    expect(by_testid(page, "staff-name")).to_contain_text("Chen Cashier")
    expect(by_testid(page, "clock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(page.locator('[data-testid="product"]').first).to_be_visible()
    screenshot(page, "register-tablet")
    by_testid(page, "logout").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name=re.compile("Chen Cashier"))).to_be_visible()
    page.close()


def test_a_wrong_pin_is_refused_with_a_message(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    _set_up_register_and_log_in(page, server, "Wang Waiter", "9999")
    expect(page.get_by_text(re.compile(r"wrong PIN \(4 tries left\)"))).to_be_visible()
    assert page.url.endswith("/")
    page.close()


def test_the_login_works_on_a_phone_without_sideways_scrolling(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    _set_up_register_and_log_in(page, server, "Mia Manager", "2222")
    page.wait_for_url(re.compile(r"/register$"))
    expect(by_testid(page, "store-name")).to_be_visible()
    assert has_no_horizontal_scroll(page)
    screenshot(page, "register-phone")
    page.close()


def test_language_switch_shows_chinese(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    page.goto(server + "/backoffice/login")
    switch = by_testid(page, "language-switch")
    if "English" in (switch.text_content() or ""):
        # the default is Chinese: the switch offers English
        expect(page.get_by_text("后台")).to_be_visible()
        switch.click()
        expect(page.get_by_text("Back office")).to_be_visible()
    else:
        switch.click()
        expect(page.get_by_text("后台")).to_be_visible()
    page.close()


def test_owner_renames_the_store_and_the_open_register_shows_it_live(server: str, browser: Browser) -> None:
    register_page = browser.new_page(viewport=TABLET)
    _set_up_register_and_log_in(register_page, server, "Chen Cashier", "3333")
    register_page.wait_for_url(re.compile(r"/register$"))

    office = browser.new_page(viewport=TABLET)
    office.goto(server + "/backoffice/login")
    by_testid(office, "email").fill("owner@kassa.demo")
    by_testid(office, "password").fill("kassa-owner-demo")
    by_testid(office, "login").click()
    office.wait_for_url(re.compile(r"/backoffice$"))
    office.goto(server + "/backoffice/settings")
    name_input = by_testid(office, "store-name-input")
    name_input.fill("Sweetheart Café 2号店")
    by_testid(office, "store-save").click()
    screenshot(office, "backoffice-settings")

    # no reload: the event bus pushes the new name to the register screen
    expect(by_testid(register_page, "store-name")).to_have_text("Sweetheart Café 2号店", timeout=5000)
    screenshot(register_page, "register-after-rename")
    office.close()
    register_page.close()


def test_back_office_pages_open_for_a_manager(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    page.goto(server + "/backoffice/login")
    by_testid(page, "email").fill("manager@kassa.demo")
    by_testid(page, "password").fill("kassa-manager-demo")
    by_testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))
    page.goto(server + "/backoffice/staff")
    expect(by_testid(page, "staff-table")).to_contain_text("Chen Cashier")
    page.goto(server + "/backoffice/catalog")
    expect(by_testid(page, "catalog-table")).to_contain_text("DES-TIR")
    screenshot(page, "backoffice-catalog")
    page.close()
