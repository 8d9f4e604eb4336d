"""The member portal on a phone, in headless Chromium: a customer of the demo café logs in
with the SMS code (read from the server's log, where the built-in log provider "sends"
it), joins, sees their member card's QR code and the order the cashier put on their card,
edits their profile, rates the order (the back office sees it), and deletes the account."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests import live
from tests.e2e.conftest import (
    PHONE,
    SCREENSHOTS,
    SERVER_FOLDERS,
    TABLET,
    by_testid,
    has_no_horizontal_scroll,
    screenshot,
)

pytestmark = pytest.mark.browser

CUSTOMER_PHONE = "13912345678"
CHEESECAKE = "DES-CHE"


class StaffApi:
    """The demo café's staff, through the API: the manager reads the message log, the
    cashier sells at Counter 1."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.client = httpx.Client(base_url=server + "/api/v1", timeout=10)
        manager = self.client.post(
            "/auth/password", json={"email": "manager@kassa.demo", "password": "kassa-manager-demo"}
        )
        assert manager.status_code == 200, manager.text
        self.manager = {"Authorization": f"Bearer {manager.json()['token']}"}
        self.store_id = int(self.client.get("/stores", headers=self.manager).json()[0]["id"])
        self.register_id = 1  # the demo's Counter 1 (the server's database is fresh)
        device = live.device_headers(server, self.register_id)
        tiles = self.client.get(f"/registers/{self.register_id}/staff", headers=device).json()
        cashier_id = next(tile["id"] for tile in tiles if tile["display_name"].startswith("Chen Cashier"))
        cashier = self.client.post(
            "/auth/pin",
            json={"register_id": self.register_id, "staff_id": cashier_id, "pin": "3333"},
            headers=device,
        )
        assert cashier.status_code == 200, cashier.text
        self.cashier = {"Authorization": f"Bearer {cashier.json()['token']}"}

    def login_code(self, phone_e164: str) -> str:
        """The message log shows one-time codes masked, so the code is read where the
        built-in log provider "sends" it: the server's log."""
        server_log = SERVER_FOLDERS[self.server] / "server.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sent = re.findall(
                rf"verification_code to {re.escape(phone_e164)} .*?(?<!\d)(\d{{6}})(?!\d)",
                server_log.read_text(),
            )
            if sent:
                return str(sent[-1])
            time.sleep(0.2)
        raise AssertionError(f"no code was sent to {phone_e164}")

    def sell_to_member(self, card_number: str) -> dict[str, Any]:
        """The cashier finds the member by card number, sells a cheesecake on their card."""
        (member,) = self.client.get("/members", params={"q": card_number}, headers=self.cashier).json()
        products = self.client.get("/catalog/products", headers=self.cashier).json()
        cheesecake = next(product for product in products if product["sku"] == CHEESECAKE)
        bill = self.call("POST", "/bills", {"order_type": "takeaway"})
        bill = self.call(
            "POST", f"/bills/{bill['id']}/lines", {"version": bill["version"], "product_id": cheesecake["id"]}
        )
        bill = self.call(
            "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member["id"]}
        )
        headers = {**self.cashier, "Idempotency-Key": uuid.uuid4().hex}
        paid = self.client.post(
            f"/bills/{bill['id']}/payments",
            json={"version": bill["version"], "tender": "card", "approval_code": "E2E"},
            headers=headers,
        )
        assert paid.status_code in (200, 201), paid.text
        return dict(paid.json())

    def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.request(method, path, json=body, headers=self.cashier)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())


def _shoot(page: Page, name: str) -> None:
    """What the phone's screen shows (the tab bar is fixed to the bottom, so a full-page
    picture would draw it mid-page); the page must not scroll sideways."""
    page.wait_for_timeout(400)  # let transitions settle, for the picture only
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways on a phone"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"portal-{name}-phone.png"))


def test_a_customer_joins_on_their_phone_sees_card_and_orders_and_edits_the_profile(
    server: str, browser: Browser
) -> None:
    staff = StaffApi(server)
    portal = f"{server}/m/{staff.store_id}"
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)

    # Given a customer scans the café's member QR code: the login asks for their phone
    page.goto(portal)
    page.wait_for_url(re.compile(r"/m/\d+/login$"))
    expect(by_testid(page, "portal-store-name")).to_contain_text("Sweetheart Café")
    _shoot(page, "login")

    # When they ask for a code and type it, a newcomer is asked to join
    by_testid(page, "portal-phone").fill("139 1234 5678")
    by_testid(page, "portal-send-code").click()
    expect(by_testid(page, "portal-code-hint")).to_contain_text("139 1234 5678")
    expect(by_testid(page, "portal-send-code")).to_be_disabled()  # the resend countdown runs
    code = staff.login_code("+86" + CUSTOMER_PHONE)
    by_testid(page, "portal-code").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    by_testid(page, "portal-verify").click()
    expect(page.locator(".q-notification").filter(has_text="wrong code")).to_be_visible()
    by_testid(page, "portal-code").fill(code)
    expect(by_testid(page, "portal-send-code")).to_contain_text(
        re.compile(r"(?<!\d)(?:[1-4]\d|5[0-8])(?!\d)")
    )  # counts down
    _shoot(page, "code")
    by_testid(page, "portal-verify").click()
    expect(by_testid(page, "portal-registration-phone")).to_contain_text("139 1234 5678")
    by_testid(page, "portal-name").fill("Lin Xiaoyu")
    by_testid(page, "portal-join").click()
    expect(page.locator(".q-notification").filter(has_text="privacy policy")).to_be_visible()
    by_testid(page, "portal-policy").click()
    by_testid(page, "portal-privacy").click()
    by_testid(page, "portal-marketing").click()
    _shoot(page, "join")
    by_testid(page, "portal-join").click()

    # Then their member card shows, with its QR code, and no orders yet
    page.wait_for_url(re.compile(r"/m/\d+$"))
    expect(by_testid(page, "portal-member-name")).to_have_text("Lin Xiaoyu")
    card_number = by_testid(page, "portal-card-number").get_attribute("data-card-number")
    assert card_number is not None
    assert re.fullmatch(r"\d{10}", card_number)
    qr = by_testid(page, "portal-card-qr").locator("svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] >= 180  # big enough for the counter's scanner
    expect(by_testid(page, "portal-recent-order")).to_have_count(0)
    _shoot(page, "card")

    # When the cashier sells them a cheesecake on their card
    bill = staff.sell_to_member(card_number)
    assert bill["status"] == "closed"

    # Then the order shows on the card page and in the orders list
    page.reload()
    page.wait_for_function("() => window.did_handshake === true")  # events before it are dropped
    expect(by_testid(page, "portal-recent-order")).to_have_count(1)
    by_testid(page, "portal-nav-orders").click()
    page.wait_for_url(re.compile(r"/orders$"))
    order = by_testid(page, "portal-order")
    expect(order).to_have_count(1)
    expect(order).to_have_attribute("data-bill-id", str(bill["id"]))
    expect(order).to_contain_text("Sweetheart Café")
    order.locator(".q-expansion-item__container .q-item").first.click()
    _shoot(page, "orders")

    # When they edit their profile
    by_testid(page, "portal-nav-me").click()
    page.wait_for_url(re.compile(r"/me$"))
    by_testid(page, "portal-profile-name").fill("Lin Xiaoyu 林小雨")
    by_testid(page, "portal-profile-email").fill("xiaoyu@example.com")
    by_testid(page, "portal-profile-birthday").fill("1992-07-08")
    by_testid(page, "portal-profile-address").fill("18 Wulumuqi Rd, Shanghai")
    by_testid(page, "portal-profile-save").click()
    expect(page.locator(".q-notification").filter(has_text=re.compile("Saved|已保存"))).to_be_visible()
    expect(by_testid(page, "portal-marketing-switch")).to_have_attribute("aria-checked", "true")
    expect(by_testid(page, "portal-privacy-accepted")).to_contain_text("2026-11")
    _shoot(page, "me")
    page.mouse.wheel(0, 2000)
    _shoot(page, "me-bottom")

    # Then the card page shows the new name, on a phone and on a tablet
    by_testid(page, "portal-nav-card").click()
    page.wait_for_url(re.compile(r"/m/\d+$"))
    expect(by_testid(page, "portal-member-name")).to_have_text("Lin Xiaoyu 林小雨")
    page.set_viewport_size(TABLET)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "portal-card-tablet.png"))
    page.set_viewport_size(PHONE)

    # When they rate the order, the back office reads it
    by_testid(page, "portal-nav-feedback").click()
    page.wait_for_url(re.compile(r"/feedback$"))
    by_testid(page, "portal-rating").locator("i").nth(3).click()
    by_testid(page, "portal-feedback-order").click()
    page.locator(".q-item").filter(has_text="Sweetheart Café").first.click()
    by_testid(page, "portal-feedback-text").fill("Lovely cheesecake, a bit sweet.")
    by_testid(page, "portal-feedback-send").click()
    expect(by_testid(page, "portal-feedback-item")).to_have_count(1)
    _shoot(page, "feedback")
    feedback = staff.client.get(f"/stores/{staff.store_id}/feedback", headers=staff.manager).json()
    assert [(item["rating"], item["text"], item["bill_id"]) for item in feedback] == [
        (4, "Lovely cheesecake, a bit sweet.", bill["id"])
    ]
    back_office = browser.new_page(viewport=TABLET)
    back_office.goto(server + "/backoffice/login")
    by_testid(back_office, "email").fill("manager@kassa.demo")
    by_testid(back_office, "password").fill("kassa-manager-demo")
    by_testid(back_office, "login").click()
    back_office.wait_for_url(re.compile(r"/backoffice$"))
    back_office.goto(server + "/backoffice/feedback")
    expect(by_testid(back_office, "feedback-table")).to_contain_text("Lovely cheesecake")
    screenshot(back_office, "portal-backoffice-feedback-tablet")
    back_office.close()

    # When they delete their account, they are logged out and the number is free again
    by_testid(page, "portal-nav-me").click()
    page.wait_for_url(re.compile(r"/me$"))
    by_testid(page, "portal-delete").click()
    expect(by_testid(page, "portal-delete-confirm")).to_be_visible()
    _shoot(page, "delete")
    by_testid(page, "portal-delete-confirm").click()
    page.wait_for_url(re.compile(r"/login\?erased=true$"))
    expect(by_testid(page, "portal-erased")).to_be_visible()
    page.goto(portal)
    page.wait_for_url(re.compile(r"/login$"))
    found = staff.client.get("/members", params={"q": CUSTOMER_PHONE}, headers=staff.cashier).json()
    assert found == []
    page.close()
