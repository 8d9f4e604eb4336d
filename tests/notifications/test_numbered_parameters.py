"""Tencent Cloud templates take numbered parameters {1}, {2}, ...: each Kassa template states
which variable each number receives (by default the order its text uses them, without the
sign), the API refuses unknown variables naming the field, the preview shows what each
number receives, and the Tencent adapter sends exactly that TemplateParamSet to a local
Tencent server that checks the SDK's signed request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from kassa.core.auth import Role
from kassa.notifications import service as notifications
from kassa.notifications import templates
from kassa.notifications.providers.tencent import TencentSmsProvider
from tests.notifications.providers.conftest import _talk_to_local_servers_directly
from tests.notifications.providers.fake_tencent import FakeTencent, TencentAccount
from tests.returns.conftest import Worker
from tests.shop import Shop

__all__ = ["_talk_to_local_servers_directly"]

ACCOUNT = TencentAccount()
TEMPLATE_ID = "1789012"


@pytest.fixture
def fake_tencent() -> Iterator[FakeTencent]:
    fake = FakeTencent(ACCOUNT)
    fake.server.start()
    notifications.configure_providers(
        sms=[
            TencentSmsProvider(
                secret_id=ACCOUNT.secret_id,
                secret_key=ACCOUNT.secret_key,
                sms_app_id=ACCOUNT.sms_app_id,
                sign_name=ACCOUNT.sign_name,
                endpoint=fake.endpoint,
                scheme="http",
                timeout_seconds=2.0,
            )
        ]
    )
    yield fake
    notifications.configure_providers()
    fake.server.stop()
    assert fake.server.crashes == []
    assert fake.problems == [], "the adapter sent requests Tencent would refuse"


@pytest.fixture
def worker(database: Any, fake_tencent: FakeTencent) -> Worker:
    return Worker(database)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("【{store_name}】验证码{code}，{minutes}分钟内有效。", ["code", "minutes"]),
        (
            "{store_name}: your code is {code}, valid for {minutes} minutes.",
            ["store_name", "code", "minutes"],
        ),
        (
            "回复{confirm_word} {code}确认，回复{dispute_word} {code}有异议",
            ["confirm_word", "code", "dispute_word"],
        ),
        ("Thanks from {store_name}!", ["store_name"]),
        ("no variables at all", []),
    ],
    ids=["sign-left-out", "store-name-in-the-text", "repeats-once", "one", "none"],
)
def test_the_default_numbers_follow_the_text(text: str, expected: list[str]) -> None:
    assert templates.default_numbered_parameters(text) == expected


async def test_the_built_in_templates_state_their_numbers_and_the_preview_shows_what_each_receives(
    shop: Shop,
) -> None:
    listed = await shop.call("GET", "/notifications/templates", role=Role.OWNER)
    by_key = {(item["event"], item["language"]): item for item in listed}
    assert by_key[("verification_code", "zh_CN")]["numbered_parameters"] == ["code", "minutes"]
    assert by_key[("verification_code", "en")]["numbered_parameters"] == ["store_name", "code", "minutes"]
    assert by_key[("return_notice", "zh_CN")]["numbered_parameters"] == [
        "items",
        "reason",
        "refund_amount",
        "arrival",
        "confirm_word",
        "code",
        "dispute_word",
    ]
    assert by_key[("return_notice", "zh_CN")]["has_own_numbered_parameters"] is False

    preview = await shop.call(
        "POST",
        "/notifications/templates/preview",
        {
            "event": "refund_done",
            "body": "【{store_name}】退款{refund_amount}，{arrival}",
            "numbered_parameters": ["arrival", "refund_amount", "store_name"],
        },
        role=Role.OWNER,
    )
    assert preview["numbered_parameters"] == [
        {"number": 1, "variable": "arrival", "value": "微信支付 1–3天"},
        {"number": 2, "variable": "refund_amount", "value": "¥28.00"},
        {"number": 3, "variable": "store_name", "value": "甜心咖啡"},
    ]


@pytest.mark.parametrize(
    ("numbered", "detail"),
    [
        (["code", "pickup_code"], "parameter {2}: unknown variable 'pickup_code'"),
        (["Code"], "parameter {1}: unknown variable 'Code'"),
        ([""], "parameter {1}: unknown variable ''"),
    ],
)
async def test_an_unknown_variable_in_the_numbers_is_refused_naming_the_field(
    shop: Shop, numbered: list[str], detail: str
) -> None:
    for path in ("/notifications/templates", "/notifications/templates/preview"):
        # A preview has no language: sending one would be an unknown field (422 naming it).
        language = {"language": "zh_CN"} if path.endswith("templates") else {}
        refused = await shop.call(
            "PUT" if path.endswith("templates") else "POST",
            path,
            {
                "event": "verification_code",
                **language,
                "body": "验证码{code}",
                "numbered_parameters": numbered,
            },
            role=Role.OWNER,
            expect=422,
        )
        assert refused["errors"][0]["field"] == "numbered_parameters"
        assert refused["detail"].startswith(detail)
    listed = await shop.call("GET", "/notifications/templates", role=Role.OWNER)
    assert not [item for item in listed if item["is_custom"]]


async def test_too_many_numbers_are_refused(shop: Shop) -> None:
    refused = await shop.call(
        "PUT",
        "/notifications/templates",
        {
            "event": "verification_code",
            "language": "en",
            "body": "{code}",
            "numbered_parameters": ["code"] * 21,
        },
        role=Role.OWNER,
        expect=422,
    )
    assert "numbered_parameters" in refused["errors"][0]["field"]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CASHIER, Role.WAITER])
async def test_only_owners_state_the_numbers(shop: Shop, role: Role) -> None:
    await shop.call(
        "PUT",
        "/notifications/templates",
        {"event": "verification_code", "language": "en", "body": "{code}", "numbered_parameters": ["code"]},
        role=role,
        expect=403,
    )


async def test_tencent_receives_the_parameters_in_the_order_the_template_states(
    shop: Shop, fake_tencent: FakeTencent, worker: Worker
) -> None:
    # given the owner registered "验证码{1}，{2}分钟内有效" at Tencent and says so
    saved = await shop.call(
        "PUT",
        "/notifications/templates",
        {
            "event": "verification_code",
            "language": "zh_CN",
            "body": "【{store_name}】{minutes}分钟内有效的验证码：{code}",
            "provider_template_codes": {"tencent": TEMPLATE_ID},
            "numbered_parameters": ["code", "minutes"],
        },
        role=Role.OWNER,
    )
    assert (saved["numbered_parameters"], saved["has_own_numbered_parameters"]) == (["code", "minutes"], True)

    # when a customer asks for a login code
    response = await shop.client.post(
        f"/api/v1/portal/stores/{shop.store_id}/request-code", json={"phone": "13800138000"}
    )
    assert response.status_code == 202, response.text
    await worker.run()

    # then Tencent got the real code as {1} and the minutes as {2}
    [sent] = fake_tencent.sent
    assert (sent["TemplateId"], sent["SignName"], sent["PhoneNumberSet"]) == (
        TEMPLATE_ID,
        ACCOUNT.sign_name,
        ["+8613800138000"],
    )
    code, minutes = sent["TemplateParamSet"]
    assert (re.fullmatch(r"\d{6}", code) is not None, minutes) == (True, "5")
    log = await shop.call("GET", f"/stores/{shop.store_id}/messages", role=Role.OWNER)
    assert [(item["provider"], item["status"]) for item in log] == [("tencent", "sent")]
    assert code not in log[0]["body"]


async def test_without_stated_numbers_tencent_receives_the_text_order_and_a_text_change_follows(
    shop: Shop, fake_tencent: FakeTencent, worker: Worker
) -> None:
    await shop.call(
        "PUT",
        "/notifications/templates",
        {
            "event": "free_text",
            "language": "zh_CN",
            "body": "【{store_name}】{text}",
            "provider_template_codes": {"tencent": TEMPLATE_ID},
        },
        role=Role.OWNER,
    )
    await shop.call(
        "POST",
        f"/stores/{shop.store_id}/messages",
        {"to": "13800138000", "text": "外卖已出发"},
        role=Role.MANAGER,
    )
    await worker.run()
    store = await shop.call("GET", f"/stores/{shop.store_id}", role=Role.OWNER)
    await shop.call(
        "PUT",
        "/notifications/templates",
        {
            "event": "free_text",
            "language": "zh_CN",
            "body": "{text}（{store_name}）",
            "provider_template_codes": {"tencent": TEMPLATE_ID},
        },
        role=Role.OWNER,
    )
    await shop.call(
        "POST", f"/stores/{shop.store_id}/messages", {"to": "13800138000", "text": "谢谢"}, role=Role.MANAGER
    )
    await worker.run()

    assert [sent["TemplateParamSet"] for sent in fake_tencent.sent] == [
        ["外卖已出发"],
        ["谢谢", store["name"]],
    ]
