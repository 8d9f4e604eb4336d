"""A dish goes back (退菜) in headless Chromium: a waiter asks to return a dish of a paid
bill, the cashier's badge counts it live, the cashier approves and sees the slip; the back
office finds the return and its SMS, the customer's reply (simulated) confirms it, and the
cashier hands the cash back."""

from __future__ import annotations

import re

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
CUSTOMER_PHONE = "13800138000"


def _log_in_back_office(page: Page, server: str) -> None:
    page.goto(server + "/backoffice/login")
    by_testid(page, "email").fill("manager@kassa.demo")
    by_testid(page, "password").fill("kassa-manager-demo")
    by_testid(page, "login").click()
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
    by_testid(page, "product-search").fill(CHEESECAKE)
    by_testid(page, "product-search").press("Enter")
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)
    bill_id = by_testid(page, "bill-title").get_attribute("data-bill-id")
    assert bill_id is not None
    by_testid(page, "send-kitchen").click()
    expect(by_testid(page, "send-kitchen")).to_be_disabled()
    by_testid(page, "pay").click()
    by_testid(page, "cash-exact").click()
    by_testid(page, "cash-ok").click()
    expect(by_testid(page, "pay-done")).to_be_visible()
    by_testid(page, "pay-finish").click()
    expect(by_testid(page, "no-bill")).to_be_visible()
    return bill_id


def test_a_waiter_returns_a_dish_the_cashier_approves_and_the_customer_confirms(
    server: str, browser: Browser
) -> None:
    cashier = browser.new_page(viewport=TABLET)
    log_in_at_register(cashier, server, "Chen Cashier", "3333")
    bill_id = _sell_a_cheesecake(cashier)
    expect(by_testid(cashier, "returns-queue")).to_be_visible()
    expect(by_testid(cashier, "returns-badge")).to_be_hidden()

    # Given the waiter finds the paid bill under today's paid bills
    waiter = browser.new_page(viewport=TABLET)
    log_in_at_register(waiter, server, "Wang Waiter", "4444")
    expect(by_testid(waiter, "returns-queue")).to_have_count(0)  # waiters ask; they do not approve
    by_testid(waiter, "open-bills").click()
    waiter.locator(f'[data-testid="paid-bill-row"][data-bill-id="{bill_id}"]').click()
    expect(by_testid(waiter, "bill-closed")).to_be_visible()

    # When they ask to return the cheesecake: the guest found something in it
    by_testid(waiter, "paid-bill-return").click()
    line = waiter.locator('[data-testid="return-line"]')
    expect(line).to_have_count(1)
    expect(line.locator('[data-testid="return-line-qty"]')).to_have_text("0/1")
    expect(by_testid(waiter, "return-submit")).to_be_disabled()
    line.locator('[data-testid="return-line-plus"]').click()
    expect(line.locator('[data-testid="return-line-qty"]')).to_have_text("1/1")
    # Sent to the kitchen, so made already unless the waiter says otherwise
    expect(line.locator('[data-testid="return-line-made"]')).to_have_attribute("aria-checked", "true")
    by_testid(waiter, "return-reason-foreign_object").click()
    by_testid(waiter, "return-note").fill("Hair in the cake")
    by_testid(waiter, "return-phone").fill(CUSTOMER_PHONE)
    expect(by_testid(waiter, "return-submit")).to_be_enabled()
    _shoot_both(waiter, "return-request-dialog")
    by_testid(waiter, "return-submit").click()
    expect(waiter.locator(".q-notification").filter(has_text=re.compile(r"R\d+"))).to_be_visible()

    # Then the cashier's badge counts it without a reload
    expect(by_testid(cashier, "returns-badge")).to_have_text("1")
    by_testid(cashier, "returns-queue").click()
    card = cashier.locator('[data-testid="queue-return"]')
    expect(card).to_have_count(1)
    expect(card.locator('[data-testid="queue-return-dishes"]')).to_contain_text("×1")
    expect(card.locator('[data-testid="queue-return-reason"]')).to_contain_text("Hair in the cake")
    _shoot_both(cashier, "returns-queue")

    # When the cashier approves, the slip shows
    return_id = card.get_attribute("data-return-id")
    card.locator('[data-testid="queue-approve"]').click()
    slip = by_testid(cashier, "return-slip-text")
    expect(slip).to_be_visible()
    expect(slip).to_contain_text(f"R{return_id}")
    expect(by_testid(cashier, "return-slip-refund")).to_be_visible()
    _shoot_both(cashier, "return-slip")
    by_testid(cashier, "return-slip-done").click()
    expect(by_testid(cashier, "queue-pending-count")).to_have_text("0")
    expect(by_testid(cashier, "returns-badge")).to_be_hidden()
    by_testid(cashier, "returns-close").click()

    # The back office archive lists it, approved, its refund held for the customer's answer
    manager = browser.new_page(viewport=TABLET)
    _log_in_back_office(manager, server)
    by_testid(manager, "nav-returns").click()
    manager.wait_for_url(re.compile(r"/backoffice/returns"))
    row = manager.locator('[data-testid="archive-row"]').first
    expect(row.locator('[data-testid="archive-row-status"]')).to_have_attribute("data-status", "approved")
    expect(row.locator('[data-testid="archive-row-dishes"]')).to_contain_text("×1")
    _shoot_both(manager, "returns-archive")
    row.click()
    expect(by_testid(manager, "return-details")).to_be_attached()
    expect(manager.locator('[data-testid="details-message"]')).to_have_count(1)
    _shoot_both(manager, "return-details")
    by_testid(manager, "return-details-close").click()

    # And the message log shows the SMS to the customer, sent by the built-in log provider
    by_testid(manager, "nav-messages").click()
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
    expect(by_testid(manager, "simulate-from")).to_have_value("+86" + CUSTOMER_PHONE)
    by_testid(manager, "simulate-text").fill(f"1 {reply_code}")
    by_testid(manager, "simulate-send").click()
    expect(notice.locator('[data-testid="message-reply"]')).to_contain_text("return confirmed")
    _shoot_both(manager, "message-log")

    # Then the held cash refund waits for the cashier, who hands it over from the drawer
    expect(by_testid(cashier, "returns-badge")).to_have_text("1")
    by_testid(cashier, "returns-queue").click()
    payout = cashier.locator('[data-testid="queue-payout"]')
    expect(payout).to_have_count(1)
    _shoot_both(cashier, "returns-payout")
    payout.locator('[data-testid="queue-paid-out"]').click()
    expect(payout).to_have_count(0)
    expect(by_testid(cashier, "returns-badge")).to_be_hidden()

    # And the archive shows the return refunded
    by_testid(manager, "nav-returns").click()
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
    by_testid(page, "email").fill("owner@kassa.demo")
    by_testid(page, "password").fill("kassa-owner-demo")
    by_testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))
    by_testid(page, "nav-templates").click()
    page.wait_for_url(re.compile(r"/backoffice/templates"))
    by_testid(page, "template-event-order_ready").click()
    by_testid(page, "template-language-en").click()
    body = by_testid(page, "template-body")
    expect(body).to_have_value(re.compile(r"\{pickup_code\}"))
    expect(by_testid(page, "template-preview")).to_contain_text("A12")
    expect(by_testid(page, "template-count")).to_have_attribute("data-segments", "1")

    # An unknown variable is refused in the preview, and saving says why
    body.fill("{store_name}: {nope}")
    expect(by_testid(page, "template-error")).to_contain_text("nope")
    by_testid(page, "template-save").click()
    expect(page.locator(".q-notification").filter(has_text="nope")).to_be_visible()

    # A long text goes as several parts; saved, it is the organization's own until reset
    body.fill("Order {pickup_code} is ready. " + "Please come to the counter. " * 8)
    expect(by_testid(page, "template-count")).to_have_attribute("data-segments", "2")
    expect(by_testid(page, "template-count")).to_contain_text("GSM-7")
    body.fill("【{store_name}】{pickup_code}")  # Chinese goes as UCS-2
    expect(by_testid(page, "template-count")).to_contain_text("UCS-2")
    body.fill("Order {pickup_code} is ready. " + "Please come to the counter. " * 8)
    by_testid(page, "template-save").click()
    expect(by_testid(page, "template-custom")).to_have_text(re.compile("Own text|自定义"))
    _shoot_both(page, "templates")
    by_testid(page, "template-reset").click()
    expect(by_testid(page, "template-custom")).to_have_text(re.compile("Built-in|内置"))
    expect(body).to_have_value(re.compile(r"is ready at the counter"))
    page.close()


def test_above_the_limit_a_manager_approves_a_return_from_an_open_bill_with_their_pin(
    server: str, browser: Browser
) -> None:
    # Given the owner lowers the limit to ¥10 and adds a reason of their own
    owner = browser.new_page(viewport=TABLET)
    owner.goto(server + "/backoffice/login")
    by_testid(owner, "email").fill("owner@kassa.demo")
    by_testid(owner, "password").fill("kassa-owner-demo")
    by_testid(owner, "login").click()
    owner.wait_for_url(re.compile(r"/backoffice$"))
    owner.goto(server + "/backoffice/returns")
    by_testid(owner, "returns-tab-settings").click()
    by_testid(owner, "settings-threshold").fill("10")
    by_testid(owner, "settings-new-reason-zh").fill("太咸")
    by_testid(owner, "settings-new-reason-en").fill("Too salty")
    by_testid(owner, "settings-add-reason").click()
    expect(owner.locator('[data-testid="settings-reason"][data-code="too_salty"]')).to_have_count(1)
    by_testid(owner, "settings-save").click()
    expect(owner.locator(".q-notification").filter(has_text=re.compile("Saved|已保存"))).to_be_visible()
    _shoot_both(owner, "return-settings")
    owner.close()

    # And a takeaway cheesecake is in the kitchen on an open bill
    cashier = browser.new_page(viewport=TABLET)
    log_in_at_register(cashier, server, "Chen Cashier", "3333")
    by_testid(cashier, "product-search").fill(CHEESECAKE)
    by_testid(cashier, "product-search").press("Enter")
    line = cashier.locator('[data-testid="bill-line"]')
    expect(line).to_have_count(1)
    by_testid(cashier, "send-kitchen").click()
    expect(by_testid(cashier, "send-kitchen")).to_be_disabled()

    # When the cashier returns it from the line's dialog, too salty
    line.locator('[data-testid="line-name"]').click()
    by_testid(cashier, "line-return").click()
    expect(cashier.locator('[data-testid="return-line-qty"]')).to_have_text("1/1")
    by_testid(cashier, "return-reason-too_salty").click()
    by_testid(cashier, "return-submit").click()
    expect(by_testid(cashier, "returns-badge")).to_have_text("1")

    # Then approving it needs a manager: a wrong PIN is refused, the right one approves
    by_testid(cashier, "returns-queue").click()
    cashier.locator('[data-testid="queue-approve"]').click()
    expect(by_testid(cashier, "return-approval")).to_be_attached()
    cashier.locator('[data-testid^="approver-"]').filter(has_text="Mia Manager").click()
    for digit in "9999":
        by_testid(cashier, f"approver-pin-{digit}").click()
    by_testid(cashier, "approver-pin-ok").click()
    expect(cashier.locator(".q-notification").filter(has_text="PIN")).to_be_visible()
    for digit in "2222":
        by_testid(cashier, f"approver-pin-{digit}").click()
    _shoot_both(cashier, "return-manager-approval")
    by_testid(cashier, "approver-pin-ok").click()
    expect(cashier.locator(".q-notification").filter(has_text="Mia Manager")).to_be_visible()
    expect(by_testid(cashier, "return-slip-text")).to_be_visible()
    by_testid(cashier, "return-slip-done").click()
    by_testid(cashier, "returns-close").click()

    # And the cheesecake is off the open bill
    expect(by_testid(cashier, "bill-total")).to_have_text("¥0.00")
    cashier.close()
