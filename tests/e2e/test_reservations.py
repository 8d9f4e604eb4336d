"""A table is booked for a member from the register's day view in headless Chromium (tablet
viewport): the booking shows on the timeline and as reserved on the floor, and tapping the
table seats it: a bill opens on the table with the member on it."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from kassa.members.service import CURRENT_PRIVACY_POLICY_VERSION
from tests.e2e.conftest import (
    PHONE,
    TABLET,
    by_testid,
    has_no_horizontal_scroll,
    log_in_at_register,
    screenshot,
)

pytestmark = pytest.mark.browser

MEMBER_PHONE = "13912345678"
MEMBER_NAME = "王女士"
TABLE = "T6"


def _register_member(server: str) -> int:
    """The member signs up (through the API, as a manager would in the back office)."""
    with httpx.Client(base_url=server + "/api/v1", timeout=10) as client:
        token = client.post(
            "/auth/password", json={"email": "manager@kassa.demo", "password": "kassa-manager-demo"}
        ).json()["token"]
        response = client.post(
            "/members",
            json={
                "phone": MEMBER_PHONE,
                "name": MEMBER_NAME,
                "privacy_policy_accepted": True,
                "privacy_policy_version": CURRENT_PRIVACY_POLICY_VERSION,
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


def _show_day(page: Page, day: str) -> None:
    """The day view on ``day`` (a booking for the next quarter hour after 23:45 is tomorrow)."""
    title = by_testid(page, "day-title")
    expect(title).to_have_attribute("data-day", re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    if title.get_attribute("data-day") != day:
        by_testid(page, "day-next").click()
    expect(title).to_have_attribute("data-day", day)


def _shoot(page: Page, name: str, *, phone_too: bool = True) -> None:
    page.wait_for_timeout(500)  # let dialogs finish sliding in, for the picture only
    screenshot(page, f"{name}-tablet")
    if not phone_too:
        return
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways on a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(TABLET)
    page.wait_for_timeout(300)


def test_book_a_table_for_a_member_see_it_reserved_and_seat_it(server: str, browser: Browser) -> None:
    member_id = _register_member(server)
    page = browser.new_page(viewport=TABLET)
    log_in_at_register(page, server)

    # Given the day view, reached from the register's views
    by_testid(page, "view-reservations").click()
    page.wait_for_url(re.compile(r"/register/reservations"))
    expect(by_testid(page, "timeline")).to_be_visible()
    expect(page.locator('[data-testid="timeline-row"]')).to_have_count(12)  # the demo's 12 tables

    # When the cashier books T6 for the member, who is found by phone
    by_testid(page, "resv-new").click()
    form = by_testid(page, "reservation-form-dialog")
    expect(form).to_be_visible()
    by_testid(page, "resv-customer-search").fill(MEMBER_PHONE)
    by_testid(page, "resv-customer-search-go").click()
    by_testid(page, f"resv-member-result-{member_id}").click()
    expect(by_testid(page, "resv-member")).to_have_attribute("data-member-id", str(member_id))
    by_testid(page, "resv-party-plus").click()
    by_testid(page, "resv-party-plus").click()
    expect(by_testid(page, "resv-party")).to_have_text("4")
    expect(by_testid(page, f"resv-table-{TABLE}")).to_be_visible()
    expect(by_testid(page, "resv-table-T1")).to_have_count(0)  # two seats: too small for four
    by_testid(page, f"resv-table-{TABLE}").click()
    expect(by_testid(page, f"resv-table-{TABLE}")).to_have_attribute("aria-pressed", "true")
    by_testid(page, "resv-notes").fill("Window seat, birthday")
    booked_day = by_testid(page, "resv-date").input_value()
    _shoot(page, "reservation-form")
    by_testid(page, "resv-save").click()
    expect(form).to_be_hidden()

    # Then it is on the timeline, in T6's row (the form books the next quarter hour: after
    # midnight that is tomorrow)
    _show_day(page, booked_day)
    row = page.locator(f'[data-testid="timeline-row"][data-table="{TABLE}"]')
    block = row.locator('[data-testid="timeline-block"]')
    expect(block).to_have_count(1)
    expect(block).to_contain_text(MEMBER_NAME)
    expect(block).to_have_attribute("data-status", "booked")
    reservation_id = block.get_attribute("data-reservation-id")
    card = page.locator(f'[data-testid="day-reservation"][data-reservation-id="{reservation_id}"]')
    expect(card).to_contain_text("Window seat, birthday")
    _shoot(page, "reservations-day")

    # Its details show what was booked and its history; nothing changes when closed
    block.click()
    details = by_testid(page, "reservation-details-dialog")
    expect(details).to_be_visible()
    expect(details).to_contain_text(TABLE)
    by_testid(page, "resv-history").click()
    history = page.locator('[data-testid="resv-history-row"]')
    expect(history).to_have_count(1)
    expect(history).to_be_visible()
    expect(history).to_contain_text("Chen Cashier")
    _shoot(page, "reservation-details")
    by_testid(page, "reservation-details-close").click()
    expect(details).to_be_hidden()

    # And the floor shows the table reserved
    by_testid(page, "view-floor").click()
    page.wait_for_url(re.compile(r"/register/floor"))
    table = by_testid(page, f"table-{TABLE}")
    expect(table).to_have_attribute("data-reserved", "true")
    expect(table).to_have_attribute("data-occupied", "false")
    expect(table.locator('[data-testid="table-mark"]')).to_contain_text(MEMBER_NAME)
    _shoot(page, "floor-reserved")

    # When the cashier taps it, the floor offers to seat the reservation
    table.click()
    question = by_testid(page, "seat-reservation-question")
    expect(question).to_contain_text(MEMBER_NAME)
    expect(question).to_contain_text("4")
    _shoot(page, "seat-reservation", phone_too=False)
    by_testid(page, "seat-reservation-ok").click()

    # Then a bill is open on T6 with the member on it
    page.wait_for_url(re.compile(r"/register\?bill=\d+"))
    expect(by_testid(page, "bill-member")).to_have_attribute("data-member-id", str(member_id))
    expect(by_testid(page, "bill-title")).to_contain_text(TABLE)
    _shoot(page, "reservation-seated-bill", phone_too=False)

    # And the day view shows the reservation seated; the floor shows the table taken
    by_testid(page, "view-reservations").click()
    page.wait_for_url(re.compile(r"/register/reservations"))
    _show_day(page, booked_day)
    expect(
        page.locator(f'[data-testid="timeline-block"][data-reservation-id="{reservation_id}"]')
    ).to_have_attribute("data-status", "seated")
    by_testid(page, "view-floor").click()
    expect(by_testid(page, f"table-{TABLE}")).to_have_attribute("data-occupied", "true")
    page.close()

    # And the back office lists it, seated, under Reservations
    manager = browser.new_page(viewport=TABLET)
    manager.goto(server + "/backoffice/login")
    by_testid(manager, "email").fill("manager@kassa.demo")
    by_testid(manager, "password").fill("kassa-manager-demo")
    by_testid(manager, "login").click()
    manager.wait_for_url(re.compile(r"/backoffice$"))
    by_testid(manager, "nav-reservations").click()
    manager.wait_for_url(re.compile(r"/backoffice/reservations"))
    _show_day(manager, booked_day)
    listed = manager.locator(f'[data-testid="day-reservation"][data-reservation-id="{reservation_id}"]')
    expect(listed).to_have_attribute("data-status", "seated")
    _shoot(manager, "reservations-backoffice")
    manager.close()
