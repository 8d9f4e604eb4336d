"""The back office's loyalty page in headless Chromium: the owner sees the demo's tiers and
top-up bonuses, adds a top-up rule and a tier, and the page shows them after a reload; a
manager sees the rules but cannot change them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import TABLET, browser, screenshot, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def _testid(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="{name}"]')


def _login(browser: Browser, server: str, email: str, password: str) -> Page:  # noqa: F811
    page = browser.new_page(viewport=TABLET)
    page.goto(server + "/backoffice/login")
    _testid(page, "email").fill(email)
    _testid(page, "password").fill(password)
    _testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))
    _testid(page, "nav-loyalty").click()
    page.wait_for_url(re.compile(r"/backoffice/loyalty$"))
    return page


def test_the_owner_changes_top_up_bonuses_and_tiers(server: str, browser: Browser) -> None:  # noqa: F811
    page = _login(browser, server, "owner@kassa.demo", "kassa-owner-demo")
    tiers = _testid(page, "tier-row")
    expect(tiers).to_have_count(2)
    expect(_testid(page, "top-up-rule")).to_have_count(2)

    _testid(page, "add-top-up-rule").click()
    expect(_testid(page, "top-up-rule")).to_have_count(3)  # fill the new row once it is drawn
    _testid(page, "top-up-minimum").last.fill("2000.00")
    _testid(page, "top-up-bonus").last.fill("400.00")
    _testid(page, "save-loyalty-settings").click()
    expect(page.get_by_text("已保存").first).to_be_visible(timeout=15_000)

    # The first save's notice goes away before the second save, so the notice waited for
    # next is the second's (reloading before that save committed would lose the tier).
    expect(page.get_by_text("已保存")).to_have_count(0, timeout=15_000)
    _testid(page, "add-tier").click()
    expect(tiers).to_have_count(3)
    _testid(page, "tier-name").last.fill("Diamond")
    _testid(page, "tier-spend").last.fill("20000.00")
    _testid(page, "tier-discount").last.fill("15")
    _testid(page, "save-tiers").click()
    expect(page.get_by_text("已保存").first).to_be_visible(timeout=15_000)

    page.reload()
    expect(_testid(page, "top-up-rule")).to_have_count(3)
    expect(_testid(page, "top-up-minimum").last).to_have_value("2000.00")
    expect(_testid(page, "tier-row")).to_have_count(3)
    expect(_testid(page, "tier-name").last).to_have_value("Diamond")
    screenshot(page, "backoffice-loyalty")
    page.close()


def test_a_manager_sees_the_rules_but_cannot_change_them(server: str, browser: Browser) -> None:  # noqa: F811
    page = _login(browser, server, "manager@kassa.demo", "kassa-manager-demo")
    expect(_testid(page, "coupon-definition")).to_have_count(2)
    expect(_testid(page, "save-loyalty-settings")).to_be_disabled()
    expect(_testid(page, "save-tiers")).to_be_disabled()
    page.close()
