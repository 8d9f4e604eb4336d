"""A member at the counter in headless Chromium: the cashier registers a customer from the
bill in a few taps, finds them again by the number typed another way, tops up their card
with cash, and they pay part from the card and the rest in cash."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import PHONE, TABLET, has_no_horizontal_scroll, screenshot

pytestmark = pytest.mark.browser

CHEESECAKE = "DES-CHE"


def _testid(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="{name}"]')


def _log_in(page: Page, server: str) -> None:
    page.goto(server + "/")
    page.wait_for_url(re.compile(r"/setup$"))
    page.get_by_role("button", name=re.compile("Counter 1")).click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("button", name=re.compile("Chen Cashier")).click()
    for digit in "3333":
        _testid(page, f"pin-{digit}").click()
    _testid(page, "pin-ok").click()
    page.wait_for_url(re.compile(r"/register"))


def _add_cheesecake(page: Page) -> None:
    _testid(page, "product-search").fill(CHEESECAKE)
    _testid(page, "product-search").press("Enter")
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)


def test_a_member_registered_at_the_counter_pays_from_the_card_and_in_cash(
    server: str, browser: Browser
) -> None:
    page = browser.new_page(viewport=TABLET)
    _log_in(page, server)
    _add_cheesecake(page)

    # The cashier registers the customer from the bill
    _testid(page, "bill-member-add").click()
    _testid(page, "member-search").fill("139 0000 7777")
    _testid(page, "member-search-go").click()
    _testid(page, "member-register").click()
    _testid(page, "member-new-name").fill("Zhao Lei")
    _testid(page, "member-new-privacy").click()
    page.wait_for_timeout(300)
    screenshot(page, "member-register-tablet")
    _testid(page, "member-new-submit").click()
    expect(_testid(page, "bill-member")).to_contain_text("Zhao Lei")

    # Found again by the number typed another way
    _testid(page, "bill-member-change").click()
    _testid(page, "member-search").fill("+86 139-0000-7777")
    result = page.locator('[data-testid^="member-result-"]')
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Zhao Lei")
    result.click()
    expect(_testid(page, "member-dialog")).to_be_hidden()

    # A cash top-up of 20.00 onto the card
    _testid(page, "member-top-up").click()
    _testid(page, "top-up-amount").fill("20")
    _testid(page, "top-up-cash").click()
    expect(_testid(page, "bill-member")).to_contain_text("¥20.00")

    # 20.00 from the card, the rest (8.00) in cash
    _testid(page, "pay").click()
    _testid(page, "tender-stored_value").click()
    _testid(page, "member-amount").fill("20.00")
    page.wait_for_timeout(300)
    screenshot(page, "member-pay-stored-value-tablet")
    _testid(page, "member-pay-ok").click()
    # The dialog is drawn anew for what is left: tap cash once it is
    expect(_testid(page, "member-amount")).to_have_value("8.00")
    _testid(page, "tender-cash").click()
    expect(_testid(page, "tender-cash")).to_have_attribute("aria-pressed", "true")
    _testid(page, "cash-exact").click()
    _testid(page, "cash-ok").click()
    expect(_testid(page, "pay-done")).to_be_visible()
    _testid(page, "pay-finish").click()
    expect(_testid(page, "no-bill")).to_be_visible()

    page.set_viewport_size(PHONE)
    _add_cheesecake(page)
    _testid(page, "bill-member-add").click()
    _testid(page, "member-search").fill("7777")
    expect(page.locator('[data-testid^="member-result-"]')).to_have_count(1)
    page.wait_for_timeout(300)
    assert has_no_horizontal_scroll(page)
    screenshot(page, "member-search-phone")
