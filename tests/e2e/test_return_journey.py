"""A dish goes back (退菜) in headless Chromium: a waiter asks to return a dish of a paid
bill, the cashier's badge counts it live, the cashier approves and sees the slip; the back
office finds the return and its SMS, the customer's reply (simulated) confirms it, and the
cashier hands the cash back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import PHONE, TABLET, has_no_horizontal_scroll, screenshot

pytestmark = pytest.mark.browser

CHEESECAKE = "DES-CHE"
CUSTOMER_PHONE = "13800138000"


def _testid(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="{name}"]')


def _log_in(page: Page, server: str, staff_name: str, pin: str) -> None:
    page.goto(server + "/")
    page.wait_for_url(re.compile(r"/setup$"))  # a new browser: choose the register first
    page.get_by_role("button", name=re.compile("Counter 1")).click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("button", name=re.compile(staff_name)).click()
    for digit in pin:
        _testid(page, f"pin-{digit}").click()
    _testid(page, "pin-ok").click()
    page.wait_for_url(re.compile(r"/register"))


def _log_in_back_office(page: Page, server: str) -> None:
    page.goto(server + "/backoffice/login")
    _testid(page, "email").fill("manager@kassa.demo")
    _testid(page, "password").fill("kassa-manager-demo")
    _testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))


def _shoot_both(page: Page, name: str) -> None:
    """A tablet and a phone screenshot; the phone must not scroll sideways."""
    page.wait_for_timeout(500)  # let dialogs finish sliding in, for the picture only
    screenshot(page, f"{name}-tablet")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)  # let the layout settle after the resize
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways on a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(TABLET)
    page.wait_for_timeout(300)


def _sell_a_cheesecake(page: Page) -> str:
    """The cashier sells one cheesecake for cash; the paid bill's id."""
    _testid(page, "product-search").fill(CHEESECAKE)
    _testid(page, "product-search").press("Enter")
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)
    bill_id = _testid(page, "bill-title").get_attribute("data-bill-id")
    assert bill_id is not None
    _testid(page, "send-kitchen").click()
    expect(_testid(page, "send-kitchen")).to_be_disabled()
    _testid(page, "pay").click()
    _testid(page, "cash-exact").click()
    _testid(page, "cash-ok").click()
    expect(_testid(page, "pay-done")).to_be_visible()
    _testid(page, "pay-finish").click()
    expect(_testid(page, "no-bill")).to_be_visible()
    return bill_id


def test_a_waiter_returns_a_dish_the_cashier_approves_and_the_customer_confirms(
    server: str, browser: Browser
) -> None:
    cashier = browser.new_page(viewport=TABLET)
    _log_in(cashier, server, "Chen Cashier", "3333")
    bill_id = _sell_a_cheesecake(cashier)
    expect(_testid(cashier, "returns-queue")).to_be_visible()
    expect(_testid(cashier, "returns-badge")).to_be_hidden()

    # Given the waiter finds the paid bill under today's paid bills
    waiter = browser.new_page(viewport=TABLET)
    _log_in(waiter, server, "Wang Waiter", "4444")
    expect(_testid(waiter, "returns-queue")).to_have_count(0)  # waiters ask; they do not approve
    _testid(waiter, "open-bills").click()
    waiter.locator(f'[data-testid="paid-bill-row"][data-bill-id="{bill_id}"]').click()
    expect(_testid(waiter, "bill-closed")).to_be_visible()

    # When they ask to return the cheesecake: the guest found something in it
    _testid(waiter, "paid-bill-return").click()
    line = waiter.locator('[data-testid="return-line"]')
    expect(line).to_have_count(1)
    expect(line.locator('[data-testid="return-line-qty"]')).to_have_text("0/1")
    expect(_testid(waiter, "return-submit")).to_be_disabled()
    line.locator('[data-testid="return-line-plus"]').click()
    expect(line.locator('[data-testid="return-line-qty"]')).to_have_text("1/1")
    # Sent to the kitchen, so made already unless the waiter says otherwise
    expect(line.locator('[data-testid="return-line-made"]')).to_have_attribute("aria-checked", "true")
    _testid(waiter, "return-reason-foreign_object").click()
    _testid(waiter, "return-note").fill("Hair in the cake")
    _testid(waiter, "return-phone").fill(CUSTOMER_PHONE)
    expect(_testid(waiter, "return-submit")).to_be_enabled()
    _shoot_both(waiter, "return-request-dialog")
    _testid(waiter, "return-submit").click()
    expect(waiter.locator(".q-notification").filter(has_text=re.compile(r"R\d+"))).to_be_visible()

    # Then the cashier's badge counts it without a reload
    expect(_testid(cashier, "returns-badge")).to_have_text("1")
    _testid(cashier, "returns-queue").click()
    card = cashier.locator('[data-testid="queue-return"]')
    expect(card).to_have_count(1)
    expect(card.locator('[data-testid="queue-return-dishes"]')).to_contain_text("×1")
    expect(card.locator('[data-testid="queue-return-reason"]')).to_contain_text("Hair in the cake")
    _shoot_both(cashier, "returns-queue")

    # When the cashier approves, the slip shows
    return_id = card.get_attribute("data-return-id")
    card.locator('[data-testid="queue-approve"]').click()
    slip = _testid(cashier, "return-slip-text")
    expect(slip).to_be_visible()
    expect(slip).to_contain_text(f"R{return_id}")
    expect(_testid(cashier, "return-slip-refund")).to_be_visible()
    _shoot_both(cashier, "return-slip")
    _testid(cashier, "return-slip-done").click()
    expect(_testid(cashier, "queue-pending-count")).to_have_text("0")
    expect(_testid(cashier, "returns-badge")).to_be_hidden()
    _testid(cashier, "returns-close").click()

    # The back office archive lists it, approved, its refund held for the customer's answer
    manager = browser.new_page(viewport=TABLET)
    _log_in_back_office(manager, server)
    _testid(manager, "nav-returns").click()
    manager.wait_for_url(re.compile(r"/backoffice/returns"))
    row = manager.locator('[data-testid="archive-row"]').first
    expect(row.locator('[data-testid="archive-row-status"]')).to_have_attribute("data-status", "approved")
    expect(row.locator('[data-testid="archive-row-dishes"]')).to_contain_text("×1")
    _shoot_both(manager, "returns-archive")
    row.click()
    expect(_testid(manager, "return-details")).to_be_attached()
    expect(manager.locator('[data-testid="details-message"]')).to_have_count(1)
    _shoot_both(manager, "return-details")
    _testid(manager, "return-details-close").click()

    # And the message log shows the SMS to the customer, sent by the built-in log provider
    _testid(manager, "nav-messages").click()
    manager.wait_for_url(re.compile(r"/backoffice/messages"))
    notice = manager.locator('[data-testid="message"][data-event="return_notice"]')
    expect(notice).to_have_count(1)
    expect(notice.locator('[data-testid="message-to"]')).to_have_text("+86" + CUSTOMER_PHONE)
    expect(notice.locator('[data-testid="message-status"]')).to_have_attribute(
        "data-status", re.compile("sent|delivered")
    )
    reply_code = notice.get_attribute("data-reply-code")
    assert reply_code is not None
    assert re.fullmatch(r"\d{4}", reply_code)

    # When the customer answers "1 <code>" (simulated), the return is confirmed
    notice.locator('[data-testid="message-reply-as"]').click()
    expect(_testid(manager, "simulate-from")).to_have_value("+86" + CUSTOMER_PHONE)
    _testid(manager, "simulate-text").fill(f"1 {reply_code}")
    _testid(manager, "simulate-send").click()
    expect(notice.locator('[data-testid="message-reply"]')).to_contain_text("return confirmed")
    _shoot_both(manager, "message-log")

    # Then the held cash refund waits for the cashier, who hands it over from the drawer
    expect(_testid(cashier, "returns-badge")).to_have_text("1")
    _testid(cashier, "returns-queue").click()
    payout = cashier.locator('[data-testid="queue-payout"]')
    expect(payout).to_have_count(1)
    _shoot_both(cashier, "returns-payout")
    payout.locator('[data-testid="queue-paid-out"]').click()
    expect(payout).to_have_count(0)
    expect(_testid(cashier, "returns-badge")).to_be_hidden()

    # And the archive shows the return refunded
    _testid(manager, "nav-returns").click()
    manager.wait_for_url(re.compile(r"/backoffice/returns"))
    expect(
        manager.locator(f'[data-testid="archive-row"][data-return-id="{return_id}"]').locator(
            '[data-testid="archive-row-refund"]'
        )
    ).to_have_text(re.compile("Refunded|已退款"))
    for page in (cashier, waiter, manager):
        page.close()


def test_the_templates_page_previews_and_counts_sms_parts(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=TABLET)
    page.goto(server + "/backoffice/login")
    _testid(page, "email").fill("owner@kassa.demo")
    _testid(page, "password").fill("kassa-owner-demo")
    _testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))
    _testid(page, "nav-templates").click()
    page.wait_for_url(re.compile(r"/backoffice/templates"))
    _testid(page, "template-event-order_ready").click()
    _testid(page, "template-language-en").click()
    body = _testid(page, "template-body")
    expect(body).to_have_value(re.compile(r"\{pickup_code\}"))
    expect(_testid(page, "template-preview")).to_contain_text("A12")
    expect(_testid(page, "template-count")).to_have_attribute("data-segments", "1")

    # An unknown variable is refused in the preview, and saving says why
    body.fill("{store_name}: {nope}")
    expect(_testid(page, "template-error")).to_contain_text("nope")
    _testid(page, "template-save").click()
    expect(page.locator(".q-notification").filter(has_text="nope")).to_be_visible()

    # A long text goes as several parts; saved, it is the organization's own until reset
    body.fill("Order {pickup_code} is ready. " + "Please come to the counter. " * 8)
    expect(_testid(page, "template-count")).to_have_attribute("data-segments", "2")
    expect(_testid(page, "template-count")).to_contain_text("GSM-7")
    body.fill("【{store_name}】{pickup_code}")  # Chinese goes as UCS-2
    expect(_testid(page, "template-count")).to_contain_text("UCS-2")
    body.fill("Order {pickup_code} is ready. " + "Please come to the counter. " * 8)
    _testid(page, "template-save").click()
    expect(_testid(page, "template-custom")).to_have_text(re.compile("Own text|自定义"))
    _shoot_both(page, "templates")
    _testid(page, "template-reset").click()
    expect(_testid(page, "template-custom")).to_have_text(re.compile("Built-in|内置"))
    expect(body).to_have_value(re.compile(r"is ready at the counter"))
    page.close()


def test_above_the_limit_a_manager_approves_a_return_from_an_open_bill_with_their_pin(
    server: str, browser: Browser
) -> None:
    # Given the owner lowers the limit to ¥10 and adds a reason of their own
    owner = browser.new_page(viewport=TABLET)
    owner.goto(server + "/backoffice/login")
    _testid(owner, "email").fill("owner@kassa.demo")
    _testid(owner, "password").fill("kassa-owner-demo")
    _testid(owner, "login").click()
    owner.wait_for_url(re.compile(r"/backoffice$"))
    owner.goto(server + "/backoffice/returns")
    _testid(owner, "returns-tab-settings").click()
    _testid(owner, "settings-threshold").fill("10")
    _testid(owner, "settings-new-reason-zh").fill("太咸")
    _testid(owner, "settings-new-reason-en").fill("Too salty")
    _testid(owner, "settings-add-reason").click()
    expect(owner.locator('[data-testid="settings-reason"][data-code="too_salty"]')).to_have_count(1)
    _testid(owner, "settings-save").click()
    expect(owner.locator(".q-notification").filter(has_text=re.compile("Saved|已保存"))).to_be_visible()
    _shoot_both(owner, "return-settings")
    owner.close()

    # And a takeaway cheesecake is in the kitchen on an open bill
    cashier = browser.new_page(viewport=TABLET)
    _log_in(cashier, server, "Chen Cashier", "3333")
    _testid(cashier, "product-search").fill(CHEESECAKE)
    _testid(cashier, "product-search").press("Enter")
    line = cashier.locator('[data-testid="bill-line"]')
    expect(line).to_have_count(1)
    _testid(cashier, "send-kitchen").click()
    expect(_testid(cashier, "send-kitchen")).to_be_disabled()

    # When the cashier returns it from the line's dialog, too salty
    line.locator('[data-testid="line-name"]').click()
    _testid(cashier, "line-return").click()
    expect(cashier.locator('[data-testid="return-line-qty"]')).to_have_text("1/1")
    _testid(cashier, "return-reason-too_salty").click()
    _testid(cashier, "return-submit").click()
    expect(_testid(cashier, "returns-badge")).to_have_text("1")

    # Then approving it needs a manager: a wrong PIN is refused, the right one approves
    _testid(cashier, "returns-queue").click()
    cashier.locator('[data-testid="queue-approve"]').click()
    expect(_testid(cashier, "return-approval")).to_be_attached()
    cashier.locator('[data-testid^="approver-"]').filter(has_text="Mia Manager").click()
    for digit in "9999":
        _testid(cashier, f"approver-pin-{digit}").click()
    _testid(cashier, "approver-pin-ok").click()
    expect(cashier.locator(".q-notification").filter(has_text="PIN")).to_be_visible()
    for digit in "2222":
        _testid(cashier, f"approver-pin-{digit}").click()
    _shoot_both(cashier, "return-manager-approval")
    _testid(cashier, "approver-pin-ok").click()
    expect(cashier.locator(".q-notification").filter(has_text="Mia Manager")).to_be_visible()
    expect(_testid(cashier, "return-slip-text")).to_be_visible()
    _testid(cashier, "return-slip-done").click()
    _testid(cashier, "returns-close").click()

    # And the cheesecake is off the open bill
    expect(_testid(cashier, "bill-total")).to_have_text("¥0.00")
    cashier.close()
