"""A cashier and an owner use Kassa through the real pages in headless Chromium."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    PHONE,
    SERVER_FOLDERS,
    TABLET,
    by_testid,
    has_no_horizontal_scroll,
    screenshot,
    set_up_register,
)

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


def test_a_locked_back_office_login_says_until_when(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    page.goto(server + "/backoffice/login")
    # an address nobody has, so the demo's own logins stay open for the other tests
    by_testid(page, "email").fill("intruder@kassa.demo")
    for attempt in range(5):
        by_testid(page, "password").fill(f"guess {attempt}")
        by_testid(page, "login").click()
        if attempt < 4:
            expect(page.get_by_text("wrong e-mail or password").last).to_be_visible()
    locked = by_testid(page, "login-locked")
    expect(locked).to_be_visible()
    expect(locked).to_have_text(re.compile(r"(Try again after|请在) \d\d:\d\d"))
    screenshot(page, "backoffice-login-locked")
    page.close()


def test_the_browser_storage_is_private_and_holds_no_usable_token(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    _set_up_register_and_log_in(page, server, "Chen Cashier", "3333")
    page.wait_for_url(re.compile(r"/register$"))
    page.close()
    storage = SERVER_FOLDERS[server] / "nicegui"
    files = [path for path in storage.glob("storage-user-*.json")]
    assert files
    assert storage.stat().st_mode & 0o777 == 0o700
    held = 0
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600, path
        for key, value in json.loads(path.read_text()).items():
            if key.endswith("token"):
                held += 1
                # what a leaked storage file holds is not a bearer token the API accepts
                response = httpx.get(f"{server}/api/v1/auth/me", headers={"Authorization": f"Bearer {value}"})
                assert response.status_code == 401, key
    assert held >= 2  # the device token and the register session


def test_a_revoked_device_must_be_set_up_again(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    _set_up_register_and_log_in(page, server, "Chen Cashier", "3333")
    page.wait_for_url(re.compile(r"/register$"))

    office = browser.new_page(viewport=TABLET)
    office.goto(server + "/backoffice/login")
    by_testid(office, "email").fill("manager@kassa.demo")
    by_testid(office, "password").fill("kassa-manager-demo")
    by_testid(office, "login").click()
    office.wait_for_url(re.compile(r"/backoffice$"))
    by_testid(office, "nav-devices").click()
    office.wait_for_url(re.compile(r"/backoffice/devices$"))
    screenshot(office, "backoffice-devices")
    # the newest device is this test's browser
    newest = office.locator('[data-testid^="revoke-device-"]').first
    revoke_testid = newest.get_attribute("data-testid")
    newest.click()
    expect(office.locator(f'[data-testid="{revoke_testid}"]')).to_have_count(0, timeout=10_000)
    office.close()

    page.goto(server + "/register")
    page.wait_for_url(re.compile(r"/setup$"))
    page.close()
