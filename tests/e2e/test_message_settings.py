"""The owner's message settings in the browser: what each numbered parameter {1}, {2}, ...
of a Tencent template receives (with the preview's sample values), stated and saved, and the
organization's webhook URLs with a token the owner can replace."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import TABLET, by_testid, screenshot


def _owner_on_templates(browser: Browser, server: str) -> Page:
    page = browser.new_page(viewport=TABLET)
    page.goto(server + "/backoffice/login")
    by_testid(page, "email").fill("owner@kassa.demo")
    by_testid(page, "password").fill("kassa-owner-demo")
    by_testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))
    page.goto(server + "/backoffice/templates")
    return page


def _numbers(page: Page) -> list[tuple[str | None, str | None]]:
    rows = by_testid(page, "template-number")
    return [
        (rows.nth(index).get_attribute("data-number"), rows.nth(index).get_attribute("data-variable"))
        for index in range(rows.count())
    ]


def test_the_owner_sees_and_states_what_each_numbered_parameter_receives(
    server: str, browser: Browser
) -> None:
    page = _owner_on_templates(browser, server)
    by_testid(page, "template-event-verification_code").click()
    by_testid(page, "template-language-zh_CN").click()

    # The built-in text: the numbers follow the text, the sign left out, with sample values
    expect(by_testid(page, "template-numbered-source")).to_have_attribute("data-stated", "false")
    expect(by_testid(page, "template-number")).to_have_count(2)
    assert _numbers(page) == [("1", "code"), ("2", "minutes")]
    expect(by_testid(page, "template-number-value-1")).to_have_text("→ 123456")
    expect(by_testid(page, "template-number-value-2")).to_have_text("→ 5")

    # Stated otherwise: minutes first, then the code; saved with the Tencent template id
    by_testid(page, "template-number-remove-1").click()
    expect(by_testid(page, "template-number")).to_have_count(1)
    by_testid(page, "template-number-add").click()
    expect(by_testid(page, "template-number")).to_have_count(2)
    assert _numbers(page) == [("1", "minutes"), ("2", "code")]
    expect(by_testid(page, "template-number-value-2")).to_have_text("→ 123456")
    expect(by_testid(page, "template-numbered-source")).to_have_attribute("data-stated", "true")
    by_testid(page, "template-number-variable-2").click()
    page.get_by_role("option", name="store_name").click()
    expect(by_testid(page, "template-number-value-2")).to_have_text("→ 甜心咖啡")
    by_testid(page, "template-number-variable-2").click()
    page.get_by_role("option", name="code").click()
    expect(by_testid(page, "template-number-value-2")).to_have_text("→ 123456")
    by_testid(page, "template-code-tencent").fill("1789012")
    by_testid(page, "template-save").click()
    expect(by_testid(page, "template-custom")).to_have_text(re.compile("Own text|自定义"))
    page.reload()
    page.wait_for_function("() => window.did_handshake === true")  # events before it are dropped
    by_testid(page, "template-event-verification_code").click()
    by_testid(page, "template-language-zh_CN").click()
    expect(by_testid(page, "template-number")).to_have_count(2)
    assert _numbers(page) == [("1", "minutes"), ("2", "code")]
    expect(by_testid(page, "template-code-tencent")).to_have_value("1789012")
    screenshot(page, "template-numbered-parameters")

    # Back to the text's order
    by_testid(page, "template-numbers-follow-text").click()
    expect(by_testid(page, "template-numbered-source")).to_have_attribute("data-stated", "false")
    assert _numbers(page) == [("1", "code"), ("2", "minutes")]
    by_testid(page, "template-reset").click()
    expect(by_testid(page, "template-custom")).to_have_text(re.compile("Built-in|内置"))
    page.close()


def test_the_owner_sees_the_webhook_urls_and_replaces_the_token(server: str, browser: Browser) -> None:
    page = _owner_on_templates(browser, server)
    urls = by_testid(page, "webhook-url")
    expect(urls).to_have_count(2)  # the demo's log provider: replies and delivery reports
    inbound = page.locator('[data-testid="webhook-url"][data-kind="inbound"]')
    old = inbound.input_value()
    assert re.fullmatch(
        rf"{re.escape(server)}/api/v1/notifications/webhooks/log/inbound\?token=1\.[0-9a-f]{{40}}", old
    )

    by_testid(page, "webhooks-rotate").click()
    by_testid(page, "webhooks-rotate-confirm").click()
    expect(inbound).not_to_have_value(old)
    new = inbound.input_value()
    assert new.split("token=")[1].startswith("1.")
    answer = page.request.post(new, data='{"from": "+8613800138000", "body": "hi"}')
    assert answer.status == 200
    assert page.request.post(old, data='{"from": "+8613800138000", "body": "hi"}').status == 401
    page.close()
