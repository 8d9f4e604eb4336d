"""A cashier's shift on the register screen in headless Chromium: open with a float, cash
in and out (a reason required; too much out is refused), a cash sale, the X report,
closing with the drawer counted by note and coin (the difference live), the closing
report; the API agrees."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import PHONE, TABLET, by_testid, has_no_horizontal_scroll, log_in_at_register

pytestmark = pytest.mark.browser

CHEESECAKE = "DES-CHE"
CHEESECAKE_PRICE = 2800


def _type_amount(page: Page, prefix: str, digits: str, amount: int) -> None:
    """Tap the digits on a dialog's keypad; the display shows ``amount`` (minor units)."""
    by_testid(page, f"{prefix}-key-clear").click()
    for digit in digits:
        by_testid(page, f"{prefix}-key-{digit}").click()
    expect(by_testid(page, f"{prefix}-display")).to_have_attribute("data-amount", str(amount))


def _shoot_both(page: Page, directory: Path, name: str) -> None:
    """A tablet and a phone screenshot; the phone must not scroll sideways."""
    page.wait_for_timeout(500)  # let dialogs finish sliding in, for the picture only
    page.screenshot(path=str(directory / f"{name}-tablet.png"))
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)  # let the layout settle after the resize
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways on a phone"
    page.screenshot(path=str(directory / f"{name}-phone.png"))
    page.set_viewport_size(TABLET)
    page.wait_for_timeout(300)


def _sell_a_cheesecake_for_cash(page: Page) -> None:
    by_testid(page, "product-search").fill(CHEESECAKE)
    by_testid(page, "product-search").press("Enter")
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)
    by_testid(page, "pay").click()
    by_testid(page, "cash-exact").click()
    by_testid(page, "cash-ok").click()
    expect(by_testid(page, "pay-done")).to_be_visible()
    by_testid(page, "pay-finish").click()
    expect(by_testid(page, "no-bill")).to_be_visible()


def _notification(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.locator(".q-notification").filter(has_text=text)


def _api(server: str) -> httpx.Client:
    client = httpx.Client(base_url=server + "/api/v1", timeout=10)
    token = client.post(
        "/auth/password", json={"email": "manager@kassa.demo", "password": "kassa-manager-demo"}
    ).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_a_cashier_opens_moves_cash_reports_and_closes_a_shift(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport=TABLET)
    log_in_at_register(page, server, "Chen Cashier", "3333")
    button = by_testid(page, "shift-button")
    expect(button).to_have_attribute("data-shift-status", "none")
    _shoot_both(page, tmp_path, "register-no-shift")

    # When the cashier opens a shift with ¥200 counted into the drawer
    button.click()
    expect(by_testid(page, "shift-open")).to_be_attached()
    expect(by_testid(page, "shift-open-ok")).to_be_disabled()
    _type_amount(page, "shift-float", "200", 20000)
    expect(by_testid(page, "shift-float-display")).to_have_text("¥200.00")
    _shoot_both(page, tmp_path, "shift-open-dialog")
    by_testid(page, "shift-open-ok").click()

    # Then the header says since when
    expect(button).to_have_attribute("data-shift-status", "open")
    expect(button).to_contain_text(re.compile(r"\d\d:\d\d"))
    expect(by_testid(page, "shift-open")).to_have_count(0)
    _shoot_both(page, tmp_path, "register-shift-open")

    # And in English too, where the words are longest
    by_testid(page, "language-switch").click()
    expect(button).to_contain_text("Shift open")
    expect(button).to_have_attribute("aria-label", re.compile(r"^Shift open since \d\d:\d\d$"))
    _shoot_both(page, tmp_path, "register-shift-open-english")
    # The header's buttons stay on one line (squeezed, their labels would drop under the icons)
    assert (
        page.evaluate(
            "Math.max(...[...document.querySelectorAll('.q-header .q-btn')].map(b => b.offsetHeight))"
        )
        <= 48
    )

    # When ¥50 change comes from the bank: the reason is required
    button.click()
    expect(by_testid(page, "shift-menu-status")).to_be_visible()
    _shoot_both(page, tmp_path, "shift-menu")
    by_testid(page, "shift-action-cash-in").click()
    expect(by_testid(page, "shift-cash")).to_be_attached()
    _type_amount(page, "shift-cash", "50", 5000)
    expect(by_testid(page, "shift-cash-ok")).to_be_disabled()
    by_testid(page, "shift-cash-reason").fill("Change from the bank")
    expect(by_testid(page, "shift-cash-ok")).to_be_enabled()
    _shoot_both(page, tmp_path, "shift-cash-in")
    by_testid(page, "shift-cash-ok").click()
    expect(by_testid(page, "shift-cash")).to_have_count(0)

    # And taking out more than the drawer holds is refused, the dialog stays to fix it
    button.click()
    by_testid(page, "shift-action-cash-out").click()
    expect(by_testid(page, "shift-cash")).to_be_attached()
    _type_amount(page, "shift-cash", "1000", 100000)
    by_testid(page, "shift-cash-reason-0").click()  # a quick reason: paid to a supplier
    expect(by_testid(page, "shift-cash-reason")).not_to_have_value("")
    by_testid(page, "shift-cash-ok").click()
    expect(_notification(page, "250.00")).to_be_visible()
    expect(by_testid(page, "shift-cash")).to_be_attached()
    _type_amount(page, "shift-cash", "20", 2000)
    by_testid(page, "shift-cash-ok").click()
    expect(by_testid(page, "shift-cash")).to_have_count(0)

    # And a cheesecake is sold for cash
    _sell_a_cheesecake_for_cash(page)
    expected = 20000 + 5000 - 2000 + CHEESECAKE_PRICE

    # Then the X report shows the float, the cash in and out and the sale
    button.click()
    by_testid(page, "shift-action-report").click()
    report = by_testid(page, "shift-report-text")
    expect(report).to_have_attribute("data-kind", "x")
    expect(by_testid(page, "shift-report-expected")).to_have_attribute("data-amount", str(expected))
    expect(report).to_contain_text("Change from the bank")
    expect(report).to_contain_text("200.00")
    expect(report).to_contain_text("50.00")
    expect(report).to_contain_text("28.00")
    _shoot_both(page, tmp_path, "shift-x-report")
    with page.expect_download() as download:
        by_testid(page, "shift-report-pdf").click()
    assert download.value.suggested_filename.endswith(".pdf")
    by_testid(page, "shift-report-done").click()
    expect(by_testid(page, "shift-report")).to_have_count(0)

    # When the cashier counts the drawer: 2 x ¥100, 1 x ¥50, 7 x ¥1 and a ¥0.50 coin
    button.click()
    by_testid(page, "shift-action-close").click()
    expect(by_testid(page, "shift-close-expected")).to_have_attribute("data-amount", str(expected))
    difference = by_testid(page, "shift-close-difference")
    expect(difference).to_have_attribute("data-amount", str(-expected))
    row = {
        value: page.locator(f'[data-testid="shift-denomination"][data-value="{value}"]')
        for value in (10000, 5000, 100, 50)
    }
    row[10000].locator('[data-testid="shift-denomination-plus"]').click()
    expect(by_testid(page, "shift-close-counted")).to_have_attribute("data-amount", "10000")
    row[10000].locator('[data-testid="shift-denomination-plus"]').click()
    expect(by_testid(page, "shift-close-counted")).to_have_attribute("data-amount", "20000")
    row[5000].locator('[data-testid="shift-denomination-count"]').fill("1")
    expect(by_testid(page, "shift-close-counted")).to_have_attribute("data-amount", "25000")
    row[100].locator('[data-testid="shift-denomination-count"]').fill("7")
    expect(row[100].locator('[data-testid="shift-denomination-total"]')).to_have_text(re.compile(r"¥7\.00$"))
    row[50].locator('[data-testid="shift-denomination-plus"]').click()
    counted = 20000 + 5000 + 700 + 50

    # Then the counted total against the expected cash shows ¥0.50 short, live
    expect(by_testid(page, "shift-close-counted")).to_have_attribute("data-amount", str(counted))
    expect(difference).to_have_attribute("data-amount", str(counted - expected))
    expect(difference).to_contain_text("0.50")
    _shoot_both(page, tmp_path, "shift-close-dialog")

    # When they close, the closing report shows the count and the difference
    by_testid(page, "shift-close-ok").click()
    report = by_testid(page, "shift-report-text")
    expect(report).to_have_attribute("data-kind", "close")
    expect(by_testid(page, "shift-report-counted")).to_have_attribute("data-amount", str(counted))
    expect(by_testid(page, "shift-report-difference")).to_have_attribute(
        "data-amount", str(counted - expected)
    )
    _shoot_both(page, tmp_path, "shift-closing-report")
    by_testid(page, "shift-report-done").click()

    # And the register has no shift any more; the day's Z report has it closed, 0.50 short
    expect(button).to_have_attribute("data-shift-status", "none")
    api = _api(server)
    store_id = api.get("/stores").json()[0]["id"]
    day = api.get(f"/stores/{store_id}/z-report").json()
    (shift,) = [item for item in day["shifts"] if item["register_name"] == "Counter 1"]
    assert shift["status"] == "closed"
    assert shift["expected_cash_amount"] == expected
    assert shift["counted_cash_amount"] == counted
    assert shift["difference_amount"] == counted - expected
    page.close()


def test_a_waiter_has_no_shift_button(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    log_in_at_register(page, server, "Wang Waiter", "4444")
    expect(by_testid(page, "logout")).to_be_visible()
    expect(by_testid(page, "shift-button")).to_have_count(0)
    page.close()
