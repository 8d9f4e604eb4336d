"""The phone assistant in headless Chromium on a tablet: two registers are open; a call from
a member to the phone paired with register 1 pops up there (and not on register 2); the
cashier gives the caller a new order: the bill being served is parked (in the open bills)
and a new bill with the member on it is shown. The phone's part is `kassa phone`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests import live
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


def _shoot_both(page: Page, name: str) -> None:
    """A tablet and a phone screenshot; the phone must not scroll sideways."""
    page.wait_for_timeout(500)  # let dialogs finish sliding in, for the picture only
    screenshot(page, f"{name}-tablet")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways on a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(TABLET)
    page.wait_for_timeout(300)


def _kassa_phone(server: str, *arguments: str) -> str:
    """`kassa phone ...` against the server, as an operator types it."""
    result = subprocess.run(
        [sys.executable, "-m", "kassa.cli", "phone", *arguments, "--url", server],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _manager_on_counter_1(server: str) -> dict[str, str]:
    device = live.device_headers(server)
    registers = httpx.get(f"{server}/api/v1/registers/1/staff", headers=device).json()
    manager = next(tile for tile in registers if tile["role"] == "manager")
    login = httpx.post(
        f"{server}/api/v1/auth/pin",
        json={"register_id": 1, "staff_id": manager["id"], "pin": "2222"},
        headers=device,
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _a_paid_order(server: str, headers: dict[str, str], member_id: int) -> None:
    """Two cheesecakes the member bought earlier."""
    products = httpx.get(f"{server}/api/v1/catalog/products", headers=headers).json()
    cheesecake = next(product for product in products if product["sku"] == CHEESECAKE)
    bill = httpx.post(f"{server}/api/v1/bills", json={"order_type": "takeaway"}, headers=headers).json()
    bill = httpx.post(
        f"{server}/api/v1/bills/{bill['id']}/member",
        json={"version": bill["version"], "member_id": member_id},
        headers=headers,
    ).json()
    bill = httpx.post(
        f"{server}/api/v1/bills/{bill['id']}/lines",
        json={"version": bill["version"], "product_id": cheesecake["id"], "quantity": 2},
        headers=headers,
    ).json()
    paid = httpx.post(
        f"{server}/api/v1/bills/{bill['id']}/payments",
        json={"version": bill["version"], "tender": "card", "approval_code": "A1"},
        headers={**headers, "Idempotency-Key": "phone-e2e-paid-order"},
    )
    assert paid.status_code in (200, 201), paid.text


def test_a_members_call_pops_up_on_its_register_and_gets_a_new_order(server: str, browser: Browser) -> None:
    # Given a member stored as 13800138000 and a phone paired with Counter 1
    headers = _manager_on_counter_1(server)
    member = httpx.post(
        f"{server}/api/v1/members",
        json={
            "phone": "13800138000",
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
        headers=headers,
    )
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]
    _a_paid_order(server, headers, member_id)
    code = httpx.post(f"{server}/api/v1/registers/1/phone-pairing-codes", headers=headers).json()["code"]
    token = _kassa_phone(server, "pair", code, "--name", "Front desk phone")

    # And both counters are open, Counter 1 serving a customer at the counter
    counter_1 = browser.new_page(viewport=TABLET)
    log_in_at_register(counter_1, server, "Chen Cashier", "3333", register="Counter 1")
    counter_2 = browser.new_page(viewport=TABLET)
    log_in_at_register(counter_2, server, "Chen Cashier", "3333", register="Counter 2")
    by_testid(counter_1, "product-search").fill(CHEESECAKE)
    by_testid(counter_1, "product-search").press("Enter")
    expect(counter_1.locator('[data-testid="bill-line"]')).to_have_count(1)
    served_bill = by_testid(counter_1, "bill-title").get_attribute("data-bill-id")
    assert served_bill is not None

    # When the member calls the phone of Counter 1
    answer = _kassa_phone(server, "call", "+86 138 0013 8000", "--device", token)
    assert f"on Counter 1 (register 1): Li Na (member {member_id}" in answer

    # Then it pops up on Counter 1 at once, with who is calling
    caller = by_testid(counter_1, "phone-caller")
    expect(caller).to_be_visible(timeout=5000)
    expect(caller).to_have_text("Li Na")
    expect(caller).to_have_attribute("data-member-id", str(member_id))
    expect(by_testid(counter_1, "phone-number")).to_contain_text("138 0013 8000")
    expect(by_testid(counter_1, "phone-open-bill")).to_contain_text(re.compile(r"\d"))
    expect(by_testid(counter_1, "phone-new-order")).to_be_visible()
    expect(by_testid(counter_1, "phone-last-order")).to_have_count(1)
    expect(by_testid(counter_1, "phone-last-order")).to_contain_text("×2")
    expect(by_testid(counter_1, "phone-usual-items")).to_be_visible()
    expect(by_testid(counter_1, "phone-repeat")).to_be_visible()
    _shoot_both(counter_1, "phone-call-popup")
    # And not on Counter 2
    counter_2.wait_for_timeout(1000)
    expect(by_testid(counter_2, "phone-caller")).to_have_count(0)
    screenshot(counter_2, "phone-call-other-register-tablet")

    # When the cashier gives the caller a new order
    by_testid(counter_1, "phone-new-order").click()

    # Then a new bill with the member is shown, and the served bill is parked in the open bills
    counter_1.wait_for_url(re.compile(r"/register\?bill=\d+"))
    expect(by_testid(counter_1, "phone-caller")).to_have_count(0)
    strip = by_testid(counter_1, "bill-member")
    expect(strip).to_be_visible()
    expect(strip).to_have_attribute("data-member-id", str(member_id))
    expect(strip).to_contain_text("Li Na")
    new_bill = by_testid(counter_1, "bill-title").get_attribute("data-bill-id")
    assert new_bill not in (None, served_bill)
    expect(counter_1.locator('[data-testid="bill-line"]')).to_have_count(0)
    screenshot(counter_1, "phone-new-order-bill-tablet")
    by_testid(counter_1, "header-open-bills").click()
    parked = counter_1.locator(f'[data-testid="open-bill-row"][data-bill-id="{served_bill}"]')
    expect(parked).to_be_visible()
    expect(parked).to_contain_text(re.compile("Parked|已挂单"))
    _shoot_both(counter_1, "phone-parked-in-open-bills")
    counter_1.keyboard.press("Escape")

    # The call log says what was done
    calls = httpx.get(f"{server}/api/v1/stores/1/calls", headers=headers).json()
    assert [
        (call["member_id"], call["outcome"], call["parked_bill_id"], call["bill_id"]) for call in calls
    ] == [(member_id, "new_order", int(served_bill), int(new_bill or 0))]


def test_a_manager_pairs_a_phone_and_an_unknown_caller_signs_up(server: str, browser: Browser) -> None:
    manager = browser.new_page(viewport=TABLET)
    log_in_at_register(manager, server, "Mia Manager", "2222", register="Counter 2")
    expect(by_testid(manager, "no-bill")).to_be_visible()

    # The calls button: missed calls, latest calls, this register's phones, and pairing
    by_testid(manager, "phone-calls").click()
    expect(by_testid(manager, "phone-missed-count")).to_have_text("0")
    by_testid(manager, "phone-pair").click()
    code = by_testid(manager, "phone-pairing-code")
    expect(code).to_be_visible()
    digits = code.get_attribute("data-code")
    assert digits is not None
    assert re.fullmatch(r"\d{6}", digits)
    expect(by_testid(manager, "phone-pairing-left")).to_contain_text(re.compile(r"\d+:\d\d"))
    _shoot_both(manager, "phone-pairing-code")
    # A phone uses the code: the code closes by itself and the phone is listed
    token = _kassa_phone(server, "pair", digits, "--name", "Back phone")
    expect(code).to_have_count(0)
    expect(by_testid(manager, "phone-device")).to_contain_text("Back phone")
    by_testid(manager, "phone-calls-close").click()

    # An unknown number calls: "Add customer" opens the sign-up with the number filled in
    _kassa_phone(server, "call", "139-1234-5678", "--device", token)
    expect(by_testid(manager, "phone-caller")).to_have_attribute("data-member-id", "")
    expect(by_testid(manager, "phone-open-bill")).to_be_visible()
    expect(by_testid(manager, "phone-new-order")).to_have_count(0)  # known callers only
    by_testid(manager, "phone-add").click()
    expect(by_testid(manager, "phone-add-phone")).to_have_value("139 1234 5678")
    by_testid(manager, "phone-add-name").fill("Wang Fang")
    by_testid(manager, "phone-add-privacy").click()
    _shoot_both(manager, "phone-unknown-caller")
    by_testid(manager, "phone-add-select").click()

    # No bill was open: a takeaway bill for the new member
    manager.wait_for_url(re.compile(r"/register\?bill=\d+"))
    expect(by_testid(manager, "bill-member")).to_contain_text("Wang Fang")
    by_testid(manager, "phone-calls").click()
    expect(by_testid(manager, "phone-calls-dialog").get_by_text("Wang Fang")).to_be_visible()
    _shoot_both(manager, "phone-calls-drawer")
