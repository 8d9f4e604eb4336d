"""A member at the counter in headless Chromium: the cashier registers a customer from the
bill in a few taps, finds them again by the number typed another way, tops up their card
with cash, and they pay part from the card and the rest in cash."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    PHONE,
    TABLET,
    by_testid,
    has_no_horizontal_scroll,
    log_in_at_register,
    screenshot,
)

pytestmark = pytest.mark.browser

CHEESECAKE = "DES-CHE"


def _add_cheesecake(page: Page) -> None:
    by_testid(page, "product-search").fill(CHEESECAKE)
    by_testid(page, "product-search").press("Enter")
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)


def test_a_member_registered_at_the_counter_pays_from_the_card_and_in_cash(
    server: str, browser: Browser
) -> None:
    page = browser.new_page(viewport=TABLET)
    log_in_at_register(page, server)
    _add_cheesecake(page)

    # The cashier registers the customer from the bill
    by_testid(page, "bill-member-add").click()
    by_testid(page, "member-search").fill("139 0000 7777")
    by_testid(page, "member-search-go").click()
    by_testid(page, "member-register").click()
    by_testid(page, "member-new-name").fill("Zhao Lei")
    by_testid(page, "member-new-privacy").click()
    page.wait_for_timeout(300)
    screenshot(page, "member-register-tablet")
    by_testid(page, "member-new-submit").click()
    expect(by_testid(page, "bill-member")).to_contain_text("Zhao Lei")

    # Found again by the number typed another way
    by_testid(page, "bill-member-change").click()
    by_testid(page, "member-search").fill("+86 139-0000-7777")
    result = page.locator('[data-testid^="member-result-"]')
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Zhao Lei")
    result.click()
    expect(by_testid(page, "member-dialog")).to_be_hidden()

    # A top-up of 20.00 onto the card, paid by card (cash needs an open shift)
    by_testid(page, "member-top-up").click()
    by_testid(page, "top-up-amount").fill("20")
    by_testid(page, "top-up-approval-code").fill("839201")
    by_testid(page, "top-up-card").click()
    expect(by_testid(page, "bill-member")).to_contain_text("¥20.00")

    # 20.00 from the card, the rest (8.00) in cash
    by_testid(page, "pay").click()
    by_testid(page, "tender-stored_value").click()
    by_testid(page, "member-amount").fill("20.00")
    page.wait_for_timeout(300)
    screenshot(page, "member-pay-stored-value-tablet")
    by_testid(page, "member-pay-ok").click()
    # The dialog is drawn anew for what is left: tap cash once it is
    expect(by_testid(page, "member-amount")).to_have_value("8.00")
    by_testid(page, "tender-cash").click()
    expect(by_testid(page, "tender-cash")).to_have_attribute("aria-pressed", "true")
    by_testid(page, "cash-exact").click()
    by_testid(page, "cash-ok").click()
    expect(by_testid(page, "pay-done")).to_be_visible()
    by_testid(page, "pay-finish").click()
    expect(by_testid(page, "no-bill")).to_be_visible()

    page.set_viewport_size(PHONE)
    _add_cheesecake(page)
    by_testid(page, "bill-member-add").click()
    by_testid(page, "member-search").fill("7777")
    expect(page.locator('[data-testid^="member-result-"]')).to_have_count(1)
    page.wait_for_timeout(300)
    assert has_no_horizontal_scroll(page)
    screenshot(page, "member-search-phone")
