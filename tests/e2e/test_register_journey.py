"""A cashier sells through the register screen in headless Chromium: a table's order with
options, the kitchen, a split, mixed tenders, the receipt, and the floor plan."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import (
    PHONE,
    TABLET,
    by_testid,
    has_no_horizontal_scroll,
    log_in_at_register,
    screenshot,
)

pytestmark = pytest.mark.browser

AMERICANO = "COF-AME"
CHEESECAKE = "DES-CHE"
TIRAMISU = "DES-TIR"
EGG_TART = "DES-EGG"


def _yuan(fen: int) -> str:
    return f"¥{Decimal(fen) / 100:,.2f}"


@dataclass
class Choice:
    """What the test taps in the options dialog of a product, and what it adds."""

    option_ids: list[int]
    price_delta: int


class Api:
    """The demo store through the JSON API, as a manager (to set up the menu)."""

    def __init__(self, server: str) -> None:
        self.client = httpx.Client(base_url=server + "/api/v1", timeout=10)
        token = self.client.post(
            "/auth/password", json={"email": "manager@kassa.demo", "password": "kassa-manager-demo"}
        ).json()["token"]
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.store_id = int(self.client.get("/stores").json()[0]["id"])

    def product(self, sku: str) -> dict[str, Any]:
        menu = self.client.get(f"/catalog/stores/{self.store_id}/menu").json()
        return next(
            product
            for category in menu["categories"]
            for product in category["products"]
            if product["sku"] == sku
        )

    def ensure_required_size(self, sku: str) -> None:
        """The journey chooses an option in the dialog: give the product a required size
        group unless the demo menu has one already."""
        product = self.product(sku)
        if any(group["is_required"] for group in product["modifier_groups"]):
            return
        group = self.client.post(
            "/catalog/modifier-groups",
            json={
                "name": "杯型",
                "name_translations": {"en": "Size"},
                "is_required": True,
                "options": [
                    {"name": "中杯", "name_translations": {"en": "Regular"}, "price_delta_amount": 0},
                    {"name": "大杯", "name_translations": {"en": "Large"}, "price_delta_amount": 400},
                ],
            },
        )
        assert group.status_code == 201, group.text
        group_ids = [item["id"] for item in product["modifier_groups"]] + [group.json()["id"]]
        response = self.client.put(
            f"/catalog/products/{product['id']}/modifier-groups", json={"modifier_group_ids": group_ids}
        )
        assert response.status_code == 200, response.text

    def choice(self, sku: str) -> Choice:
        """For each required group, its dearest option."""
        chosen = []
        delta = 0
        for group in self.product(sku)["modifier_groups"]:
            if not group["is_required"]:
                continue
            option = max(
                (item for item in group["options"] if not item["is_sold_out"]),
                key=lambda item: item["price_delta_amount"],
            )
            chosen.append(option["id"])
            delta += option["price_delta_amount"]
        return Choice(chosen, delta)

    def set_sold_out(self, sku: str, is_sold_out: bool) -> None:
        product = self.product(sku)
        response = self.client.put(
            f"/catalog/stores/{self.store_id}/products/{product['id']}/sold-out",
            json={"is_sold_out": is_sold_out},
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def api(server: str) -> Api:
    api = Api(server)
    api.ensure_required_size(AMERICANO)
    return api


def _add(page: Page, api: Api, sku: str, shot: str | None = None) -> int:
    """Tap a product (choosing its required options); the unit price it adds."""
    product = api.product(sku)
    by_testid(page, f"category-{_category_of(api, sku)}").click()
    page.locator(f'[data-testid="product"][data-sku="{sku}"]').click()
    choice = api.choice(sku)
    if product["modifier_groups"]:
        dialog = page.locator('[data-testid="modifier-ok"]')
        expect(dialog).to_be_visible()
        for option_id in choice.option_ids:
            page.locator(f'[data-testid="modifier-option"][data-option-id="{option_id}"]').click()
        expect(dialog).to_be_enabled()
        if shot:
            _shoot_both(page, shot)
        dialog.click()
    return int(product["price_amount"]) + choice.price_delta


def _line(page: Page, name_part: str) -> Locator:
    return page.locator('[data-testid="bill-line"]').filter(has_text=name_part)


def _shoot_both(page: Page, name: str) -> None:
    screenshot(page, f"{name}-tablet")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways on a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(TABLET)
    page.wait_for_timeout(300)


def test_a_table_orders_splits_and_pays_with_cash_and_card(server: str, browser: Browser, api: Api) -> None:
    page = browser.new_page(viewport=TABLET)
    log_in_at_register(page, server, "Chen Cashier", "3333")

    # Given table T3 sits down with two guests
    by_testid(page, "view-floor").click()
    page.wait_for_url(re.compile(r"/register/floor$"))
    expect(by_testid(page, "table-T3")).to_have_attribute("data-occupied", "false")
    by_testid(page, "table-T3").click()
    by_testid(page, "guests-2").click()
    page.wait_for_url(re.compile(r"/register\?bill=\d+$"))
    expect(by_testid(page, "bill-title")).to_contain_text("T3")

    # When the cashier adds two coffees (with a size) and two cheesecakes
    coffee = _add(page, api, AMERICANO, shot="modifier-dialog")
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)
    _line(page, "美式咖啡").locator('[data-testid="line-plus"]').click()
    expect(_line(page, "美式咖啡").locator('[data-testid="line-qty"]')).to_have_text("2")
    cake = _add(page, api, CHEESECAKE)
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(2)
    _line(page, "芝士蛋糕").locator('[data-testid="line-plus"]').click()
    expect(_line(page, "芝士蛋糕").locator('[data-testid="line-qty"]')).to_have_text("2")
    expect(by_testid(page, "bill-total")).to_have_text(_yuan(2 * coffee + 2 * cake))
    _shoot_both(page, "register-bill")

    # And sends them to the kitchen
    by_testid(page, "send-kitchen").click()
    expect(by_testid(page, "send-kitchen")).to_be_disabled()

    # The floor shows T3 taken with its total; tapping it comes back to its bill
    by_testid(page, "view-floor").click()
    expect(by_testid(page, "table-T3")).to_have_attribute("data-occupied", "true")
    expect(by_testid(page, "table-T3").locator('[data-testid="table-total"]')).to_have_text(
        _yuan(2 * coffee + 2 * cake)
    )
    _shoot_both(page, "floor-busy")
    by_testid(page, "table-T3").click()
    page.wait_for_url(re.compile(r"/register\?bill=\d+$"))
    expect(by_testid(page, "bill-title")).to_contain_text("T3")

    # And splits one cheesecake off to a new bill
    by_testid(page, "split").click()
    page.locator('[data-testid="split-line"]').filter(has_text="芝士蛋糕").locator(
        '[data-testid="split-line-plus"]'
    ).click()
    screenshot(page, "split-dialog-tablet")
    by_testid(page, "split-lines-ok").click()
    remaining = 2 * coffee + cake
    expect(by_testid(page, "bill-total")).to_have_text(_yuan(remaining))
    expect(_line(page, "芝士蛋糕").locator('[data-testid="line-qty"]')).to_have_text("1")

    # Then the rest is paid with ¥50 in cash and the remainder by card
    by_testid(page, "pay").click()
    expect(by_testid(page, "pay-due")).to_have_text(_yuan(remaining))
    by_testid(page, "cash-50").click()
    expect(by_testid(page, "cash-tendered")).to_have_text(_yuan(5000))
    expect(by_testid(page, "cash-rest")).to_have_text(_yuan(remaining - 5000))
    _shoot_both(page, "pay-dialog")
    by_testid(page, "cash-ok").click()
    expect(by_testid(page, "pay-due")).to_have_text(_yuan(remaining - 5000))
    by_testid(page, "tender-card").click()
    expect(by_testid(page, "card-amount")).to_have_value(f"{Decimal(remaining - 5000) / 100:.2f}")
    by_testid(page, "card-approval").fill("A1B2C3")
    by_testid(page, "card-ok").click()
    expect(by_testid(page, "pay-done")).to_contain_text(_yuan(0))
    expect(page.locator('[data-testid="pay-payment"]')).to_have_count(2)
    screenshot(page, "pay-done-tablet")
    by_testid(page, "print-receipt").click()
    expect(page.locator(".q-notification").filter(has_text=re.compile("receipt|小票"))).to_be_visible()
    by_testid(page, "pay-finish").click()
    expect(by_testid(page, "no-bill")).to_be_visible()

    # And the split-off cheesecake is paid with Alipay (the customer's payment code)
    by_testid(page, "open-bills").click()
    split_row = page.locator('[data-testid="open-bill-row"]').filter(has_text="T3")
    expect(split_row).to_have_count(1)
    split_row.click()
    expect(by_testid(page, "bill-total")).to_have_text(_yuan(cake))
    by_testid(page, "pay").click()
    by_testid(page, "tender-alipay").click()
    by_testid(page, "wallet-code").fill("134567890123456789")
    by_testid(page, "wallet-code").press("Enter")
    expect(by_testid(page, "pay-done")).to_contain_text(_yuan(0))
    by_testid(page, "pay-finish").click()

    # And table T3 is free again on the floor plan
    by_testid(page, "view-floor").click()
    page.wait_for_url(re.compile(r"/register/floor$"))
    expect(by_testid(page, "table-T3")).to_have_attribute("data-occupied", "false")
    _shoot_both(page, "floor")
    page.close()


def test_sold_out_marks_arrive_live_and_a_big_discount_needs_a_manager(
    server: str, browser: Browser, api: Api
) -> None:
    page = browser.new_page(viewport=TABLET)
    log_in_at_register(page, server, "Chen Cashier", "3333")
    tiramisu = page.locator(f'[data-testid="product"][data-sku="{TIRAMISU}"]')
    by_testid(page, f"category-{_category_of(api, TIRAMISU)}").click()
    expect(tiramisu).to_be_enabled()

    # When the kitchen runs out of tiramisu, the open register greys it out without a reload
    api.set_sold_out(TIRAMISU, True)
    expect(tiramisu).to_have_attribute("data-sold-out", "true")
    expect(tiramisu).to_be_disabled()
    api.set_sold_out(TIRAMISU, False)
    expect(tiramisu).to_be_enabled()

    # A takeaway bill: a scanned SKU adds the product
    by_testid(page, "product-search").fill(CHEESECAKE)
    by_testid(page, "product-search").press("Enter")
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)
    expect(by_testid(page, "bill-title")).to_contain_text(re.compile("#\\d{3}"))

    # Half off is above the cashier's limit: the manager approves with their PIN
    by_testid(page, "discount").click()
    by_testid(page, "discount-preset-50").click()
    by_testid(page, "discount-reason").fill("Birthday")
    by_testid(page, "discount-ok").click()
    expect(by_testid(page, "approval")).to_be_attached()
    page.locator('[data-testid^="approver-"]').filter(has_text="Mia Manager").click()
    for digit in "2222":
        by_testid(page, f"approver-pin-{digit}").click()
    screenshot(page, "approval-dialog-tablet")
    by_testid(page, "approver-pin-ok").click()
    expect(by_testid(page, "bill-discount")).to_have_text("-" + _yuan(1400))
    expect(by_testid(page, "bill-total")).to_have_text(_yuan(1400))

    # Given by mistake: the cashier takes the bill discount off again
    by_testid(page, "discount").click()
    by_testid(page, "discount-remove").click()
    expect(by_testid(page, "bill-total")).to_have_text(_yuan(2800))
    expect(by_testid(page, "bill-discount")).to_have_count(0)
    page.close()


def _category_of(api: Api, sku: str) -> int:
    menu = api.client.get(f"/catalog/stores/{api.store_id}/menu").json()
    return next(
        int(category["id"])
        for category in menu["categories"]
        for product in category["products"]
        if product["sku"] == sku
    )


def test_urgent_orders_lead_the_queue_a_sent_line_is_voided_and_shares_are_paid(
    server: str, browser: Browser, api: Api
) -> None:
    page = browser.new_page(viewport=TABLET)
    log_in_at_register(page, server, "Chen Cashier", "3333")

    # Given a parked takeaway bill, and a newer one marked urgent and sent to the kitchen
    tart = _add(page, api, EGG_TART)
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)
    parked_id = by_testid(page, "bill-title").get_attribute("data-bill-id")
    by_testid(page, "park").click()
    expect(by_testid(page, "no-bill")).to_be_visible()
    coffee = _add(page, api, AMERICANO)
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)
    by_testid(page, "urgent").click()
    expect(by_testid(page, "urgent-badge")).to_be_visible()
    urgent_id = by_testid(page, "bill-title").get_attribute("data-bill-id")
    by_testid(page, "send-kitchen").click()
    expect(by_testid(page, "send-kitchen")).to_be_disabled()

    # Then the order queue lists the urgent bill first, before the older parked one
    by_testid(page, "view-queue").click()
    page.wait_for_url(re.compile(r"/register/queue$"))
    takeaways = page.locator('[data-testid="queue-takeaway"] [data-testid="queue-bill"]')
    expect(takeaways.first).to_have_attribute("data-bill-id", str(urgent_id))
    expect(takeaways.first).to_have_attribute("data-urgent", "true")
    parked_card = page.locator(f'[data-testid="queue-bill"][data-bill-id="{parked_id}"]')
    expect(parked_card).to_have_attribute("data-urgent", "false")
    _shoot_both(page, "order-queue")

    # When the cashier opens it, adds a tart, sends it and voids it again (a reason is required)
    takeaways.first.click()
    page.wait_for_url(re.compile(r"/register\?bill=\d+$"))
    _add(page, api, EGG_TART)
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(2)
    by_testid(page, "send-kitchen").click()
    expect(by_testid(page, "send-kitchen")).to_be_disabled()
    _line(page, "葡式蛋挞").locator('[data-testid="line-minus"]').click()
    expect(by_testid(page, "void-ok")).to_be_disabled()
    by_testid(page, "void-reason-1").click()  # one of the store's reasons: "Wrong item"
    by_testid(page, "void-ok").click()
    expect(_line(page, "葡式蛋挞")).to_contain_text("点错了")
    expect(by_testid(page, "bill-total")).to_have_text(_yuan(coffee))

    # And splits the bill evenly in two
    by_testid(page, "split").click()
    by_testid(page, "split-mode-even").click()
    by_testid(page, "split-even-2").click()
    by_testid(page, "split-even-ok").click()
    first_share, second_share = (coffee + 1) // 2, coffee // 2

    # Then the first share shows a WeChat Pay QR code (cancelled), then is paid in cash
    expect(by_testid(page, "bill-split-shares")).to_contain_text(
        f"{_yuan(first_share)} + {_yuan(second_share)}"
    )
    by_testid(page, "pay").click()
    by_testid(page, "pay-share-0").click()
    # No wait: the tender buttons stay while the share changes, so the next tap lands.
    by_testid(page, "tender-wechat_pay").click()
    expect(by_testid(page, "wallet-amount")).to_have_value(f"{Decimal(first_share) / 100:.2f}")
    by_testid(page, "wallet-qr").click()
    expect(by_testid(page, "wallet-qr-code").locator("svg")).to_be_visible()
    screenshot(page, "pay-qr-tablet")
    by_testid(page, "wallet-cancel").click()
    expect(by_testid(page, "wallet-code")).to_be_visible()
    by_testid(page, "tender-cash").click()
    expect(by_testid(page, "pay-share-0")).to_have_attribute("aria-pressed", "true")
    by_testid(page, "cash-exact").click()
    by_testid(page, "cash-ok").click()
    expect(by_testid(page, "pay-due")).to_have_text(_yuan(second_share))
    expect(by_testid(page, "pay-share-0")).to_be_disabled()

    # And the second share by card closes the bill
    by_testid(page, "pay-share-1").click()
    by_testid(page, "tender-card").click()
    by_testid(page, "card-approval").fill("778899")
    by_testid(page, "card-ok").click()
    expect(by_testid(page, "pay-done")).to_be_visible()
    by_testid(page, "pay-finish").click()

    # And the parked bill is still there to resume
    by_testid(page, "open-bills").click()
    page.locator(f'[data-testid="open-bill-row"][data-bill-id="{parked_id}"]').click()
    expect(by_testid(page, "bill-total")).to_have_text(_yuan(tart))
    page.close()


def test_one_of_two_tarts_the_kitchen_has_is_voided(server: str, browser: Browser, api: Api) -> None:
    page = browser.new_page(viewport=TABLET)
    log_in_at_register(page, server, "Chen Cashier", "3333")

    # Given two egg tarts sent to the kitchen
    tart = _add(page, api, EGG_TART)
    _line(page, "葡式蛋挞").locator('[data-testid="line-plus"]').click()
    expect(_line(page, "葡式蛋挞").locator('[data-testid="line-qty"]')).to_have_text("2")
    by_testid(page, "send-kitchen").click()
    expect(by_testid(page, "send-kitchen")).to_be_disabled()

    # When the cashier voids one of them (the dialog offers the whole line first)
    _line(page, "葡式蛋挞").locator('[data-testid="line-minus"]').click()
    expect(by_testid(page, "void-quantity")).to_have_text("2/2")
    expect(by_testid(page, "void-quantity-plus")).to_be_disabled()
    by_testid(page, "void-quantity-minus").click()
    expect(by_testid(page, "void-quantity")).to_have_text("1/2")
    expect(by_testid(page, "void-quantity-minus")).to_be_disabled()
    by_testid(page, "void-reason-1").click()  # one of the store's reasons: "Wrong item"
    by_testid(page, "void-ok").click()

    # Then one tart stays on the bill and the other is shown voided with the reason
    lines = _line(page, "葡式蛋挞")
    expect(lines).to_have_count(2)
    expect(lines.first.locator('[data-testid="line-qty"]')).to_have_text("1")
    expect(lines.last).to_contain_text("点错了")
    expect(lines.last.locator('[data-testid="line-qty"]')).to_have_count(0)
    expect(by_testid(page, "bill-total")).to_have_text(_yuan(tart))
    page.close()


def test_a_delivery_bill_is_opened_from_the_new_bill_dialog(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in_at_register(page, server, "Wang Waiter", "4444")
    by_testid(page, "new-bill").click()
    by_testid(page, "order-type-dine_in").click()
    expect(by_testid(page, "pick-table-T8")).to_be_visible()
    by_testid(page, "order-type-delivery").click()
    by_testid(page, "delivery-address").fill("武康路 120 号 3 楼")
    by_testid(page, "delivery-phone").fill("13800138000")
    screenshot(page, "new-bill-dialog-phone")
    by_testid(page, "open-bill-ok").click()
    expect(by_testid(page, "bill-title")).to_contain_text(re.compile("#\\d{3}"))
    bill_id = by_testid(page, "bill-title").get_attribute("data-bill-id")
    # a waiter takes orders but does not take payments (nor closes an empty bill)
    expect(by_testid(page, "close-empty")).to_be_disabled()
    assert has_no_horizontal_scroll(page)

    by_testid(page, "header-open-bills").click()
    expect(page.locator(f'[data-testid="open-bill-row"][data-bill-id="{bill_id}"]')).to_be_visible()
    page.wait_for_timeout(500)  # the sheet slides in
    screenshot(page, "open-bills-phone")
    by_testid(page, "open-bills-close").click()

    by_testid(page, "view-queue").click()
    page.wait_for_url(re.compile(r"/register/queue$"))
    expect(page.locator(f'[data-testid="queue-delivery"] [data-bill-id="{bill_id}"]')).to_be_visible()
    assert has_no_horizontal_scroll(page)
    page.close()
