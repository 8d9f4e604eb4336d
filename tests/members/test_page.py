"""The back office's members page in headless Chromium: sign a customer up, find them by
the last four digits, see their consents."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import TABLET, browser, screenshot, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def _testid(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="{name}"]')


def test_a_manager_signs_a_customer_up_and_finds_them(server: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page(viewport=TABLET)
    page.goto(server + "/backoffice/login")
    _testid(page, "email").fill("manager@kassa.demo")
    _testid(page, "password").fill("kassa-manager-demo")
    _testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))
    _testid(page, "nav-members").click()
    page.wait_for_url(re.compile(r"/backoffice/members$"))

    # without the privacy policy accepted, nobody is signed up
    _testid(page, "member-phone").fill("138 0013 8000")
    _testid(page, "member-name").fill("Li Na")
    _testid(page, "member-register").click()
    expect(page.get_by_text("the customer must accept the privacy policy to become a member")).to_be_visible()

    _testid(page, "member-privacy").click()
    _testid(page, "member-marketing").click()
    _testid(page, "member-register").click()
    expect(_testid(page, "members-table")).to_contain_text("Li Na")
    expect(_testid(page, "members-table")).to_contain_text("138 0013 8000")

    # the same number typed another way is refused
    _testid(page, "member-phone").fill("+86 138-0013-8000")
    _testid(page, "member-name").fill("Someone else")
    _testid(page, "member-privacy").click()
    _testid(page, "member-register").click()
    expect(page.get_by_text("a member with this phone number exists already")).to_be_visible()

    _testid(page, "member-search").fill("8000")
    _testid(page, "member-search").press("Enter")
    rows = _testid(page, "members-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    rows.first.click()
    consents = _testid(page, "member-consent")
    expect(consents).to_have_count(2)
    expect(consents.filter(has_text="(2026-11)")).to_have_count(1)
    screenshot(page, "backoffice-members")
    page.close()
