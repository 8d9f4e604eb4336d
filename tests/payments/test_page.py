"""The back office's payment providers page in headless Chromium: the owner sees the demo's
simulators, stops taking Alipay, is told why real WeChat Pay settings are refused, and the
page shows the choice after a reload; a manager has no such page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import TABLET, browser, by_testid, screenshot, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def _login(browser: Browser, server: str, email: str, password: str) -> Page:  # noqa: F811
    page = browser.new_page(viewport=TABLET)
    page.goto(server + "/backoffice/login")
    by_testid(page, "email").fill(email)
    by_testid(page, "password").fill(password)
    by_testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))
    return page


def test_the_owner_chooses_who_takes_each_wallet(server: str, browser: Browser) -> None:  # noqa: F811
    page = _login(browser, server, "owner@kassa.demo", "kassa-owner-demo")
    by_testid(page, "nav-payment-providers").click()
    page.wait_for_url(re.compile(r"/backoffice/payments$"))
    expect(by_testid(page, "provider-status-wechat_pay")).to_have_text("模拟器：不涉及真实资金。")
    expect(by_testid(page, "provider-status-alipay")).to_have_text("模拟器：不涉及真实资金。")
    expect(by_testid(page, "provider-notify-url-alipay")).to_contain_text(
        "/api/v1/payments/notifications/alipay/"
    )

    by_testid(page, "provider-choice-alipay").click()
    page.get_by_role("option", name="未设置（收银台拒收）").click()
    by_testid(page, "provider-save-alipay").click()
    expect(by_testid(page, "provider-status-alipay")).to_have_text("未设置：收银台拒收此支付方式。")

    by_testid(page, "provider-choice-wechat_pay").click()
    page.get_by_role("option", name="微信支付（真实收款）").click()
    by_testid(page, "provider-wechat_pay-merchant_id").fill("not-digits")
    by_testid(page, "provider-save-wechat_pay").click()
    expect(page.get_by_text("the merchant id (商户号) is its digits").first).to_be_visible(timeout=15_000)
    screenshot(page, "backoffice-payment-providers")

    page.reload()
    expect(by_testid(page, "provider-status-alipay")).to_have_text("未设置：收银台拒收此支付方式。")
    expect(by_testid(page, "provider-status-wechat_pay")).to_have_text("模拟器：不涉及真实资金。")
    page.close()


def test_a_manager_has_no_payment_providers_page(server: str, browser: Browser) -> None:  # noqa: F811
    page = _login(browser, server, "manager@kassa.demo", "kassa-manager-demo")
    expect(by_testid(page, "nav-payment-providers")).to_have_count(0)
    page.goto(server + "/backoffice/payments")
    page.wait_for_url(re.compile(r"/backoffice$"))
    page.close()
