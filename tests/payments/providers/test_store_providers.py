"""Each store's WeChat Pay and Alipay provider, as its owner set it up: the settings API (owner
only, own organization), secrets encrypted at rest and never shown, the configured provider
taking real payments (against the local fakes), a store with none refusing, and
notifications verified by the store their address names."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Actor, Role
from kassa.orders.models import Bill
from kassa.payments import provider_settings
from kassa.payments.models import Payment, PaymentStatus, ProviderKind, Tender
from kassa.payments.provider_settings import ProviderSettingsChange, forget_built_providers, provider_for
from kassa.payments.providers import SimulatorProvider
from kassa.payments.providers.alipay import AlipayProvider
from kassa.payments.providers.wechat_pay import WeChatPayProvider
from kassa.stores.models import Organization, Store
from tests.factories import make_organization, make_store
from tests.shop import Shop

from .fake_alipay import AlipayAccount, FakeAlipay
from .fake_wechat_pay import FakeWeChatPay, WeChatPayAccount
from .keys import private_pem, public_pem

WECHAT_CODE = "134567890123456789"
ALIPAY_CODE = "284567890123456789"


@pytest.fixture(autouse=True)
def gateways(
    monkeypatch: pytest.MonkeyPatch, fake_wechat_pay: FakeWeChatPay, fake_alipay: FakeAlipay
) -> Iterator[None]:
    """Every store's real providers call the local fakes."""
    monkeypatch.setenv("KASSA_WECHAT_PAY_GATEWAY_URL", fake_wechat_pay.base_url)
    monkeypatch.setenv("KASSA_ALIPAY_GATEWAY_URL", fake_alipay.gateway_url)
    forget_built_providers()
    yield
    forget_built_providers()


def wechat_settings(account: WeChatPayAccount) -> dict[str, Any]:
    return {
        "provider": "wechat_pay",
        "merchant_id": account.merchant_id,
        "app_id": account.app_id,
        "merchant_certificate_serial": account.merchant_certificate_serial,
        "platform_public_key_id": account.platform_public_key_id,
        "platform_public_key": public_pem(account.platform_key),
        "merchant_private_key": private_pem(account.merchant_key),
        "api_v3_key": account.api_v3_key,
    }


def alipay_settings(account: AlipayAccount) -> dict[str, Any]:
    return {
        "provider": "alipay",
        "app_id": account.app_id,
        "alipay_public_key": public_pem(account.alipay_key),
        "app_private_key": private_pem(account.app_key),
    }


def secret_texts(wechat: WeChatPayAccount, alipay: AlipayAccount) -> list[str]:
    """Pieces of every secret that must never appear: the APIv3 key and a line from the
    middle of each private key."""
    return [
        wechat.api_v3_key,
        private_pem(wechat.merchant_key).splitlines()[5],
        private_pem(alipay.app_key).splitlines()[5],
    ]


async def set_up(shop: Shop, tender: str, body: dict[str, Any], *, expect: int = 200) -> dict[str, Any]:
    return await shop.call(
        "PUT", f"/stores/{shop.store_id}/payment-providers/{tender}", body, role=Role.OWNER, expect=expect
    )


async def pending_payments(session: AsyncSession, shop: Shop) -> list[tuple[str, PaymentStatus]]:
    rows = await session.execute(
        select(Payment.out_trade_no, Payment.status)
        .where(Payment.store_id == shop.store_id)
        .order_by(Payment.id)
    )
    return [(str(row[0]), row[1]) for row in rows]


async def _bill(shop: Shop) -> dict[str, Any]:
    return await shop.add(await shop.open_takeaway(), "cake")  # 28.00


# --- who may see and change the settings -------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.OWNER, 200), (Role.MANAGER, 403), (Role.CASHIER, 403), (Role.WAITER, 403)],
)
async def test_only_the_owner_reads_and_changes_payment_providers(
    shop: Shop, role: Role, expected: int
) -> None:
    base = f"/stores/{shop.store_id}/payment-providers"

    listed = await shop.call("GET", base, role=role, expect=expected)
    changed = await shop.call("PUT", f"{base}/alipay", {"provider": "simulator"}, role=role, expect=expected)
    await shop.call("DELETE", f"{base}/wechat_pay", role=role, expect=204 if expected == 200 else expected)

    after = {item["tender"]: item["provider"] for item in await shop.call("GET", base, role=Role.OWNER)}
    if expected == 200:
        assert [item["tender"] for item in listed] == ["wechat_pay", "alipay"]  # type: ignore[index]
        assert changed["provider"] == "simulator"
        assert after == {"wechat_pay": None, "alipay": "simulator"}
    else:
        assert listed["code"] == changed["code"] == "permission_denied"  # type: ignore[call-overload]
        # a refused call changed nothing
        assert after == {"wechat_pay": "simulator", "alipay": "simulator"}


async def test_another_organizations_owner_finds_no_such_store(
    shop: Shop, other_shop: Shop, wechat_pay_account: WeChatPayAccount
) -> None:
    headers = await other_shop.login(Role.OWNER)
    base = f"/api/v1/stores/{shop.store_id}/payment-providers"

    answers = [
        await shop.client.get(base, headers=headers),
        await shop.client.put(
            f"{base}/wechat_pay", json=wechat_settings(wechat_pay_account), headers=headers
        ),
        await shop.client.delete(f"{base}/alipay", headers=headers),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    after = await shop.call("GET", f"/stores/{shop.store_id}/payment-providers", role=Role.OWNER)
    assert [(item["tender"], item["provider"]) for item in after] == [  # type: ignore[index]
        ("wechat_pay", "simulator"),
        ("alipay", "simulator"),
    ]


# --- secrets ------------------------------------------------------------------------------------


async def test_secrets_are_encrypted_at_rest_and_never_shown_logged_or_audited(
    shop: Shop,
    session: AsyncSession,
    wechat_pay_account: WeChatPayAccount,
    alipay_account: AlipayAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wechat = await set_up(shop, "wechat_pay", wechat_settings(wechat_pay_account))
    alipay = await set_up(shop, "alipay", alipay_settings(alipay_account))
    listed = await shop.client.get(
        f"/api/v1/stores/{shop.store_id}/payment-providers", headers=await shop.login(Role.OWNER)
    )
    await shop.pay(await _bill(shop), "wechat_pay", payment_code=WECHAT_CODE)

    raw_rows = (await session.execute(text("SELECT * FROM payment_provider_settings"))).all()
    raw_text = json.dumps([[str(value) for value in row] for row in raw_rows])
    audit_rows = (
        await session.scalars(select(AuditRecord).where(AuditRecord.action.like("payment_provider.%")))
    ).all()
    audit_text = json.dumps([[row.before, row.after] for row in audit_rows], default=str)
    for secret in secret_texts(wechat_pay_account, alipay_account):
        assert secret not in raw_text
        assert secret not in listed.text
        assert secret not in audit_text
        assert secret not in caplog.text
    encrypted = [
        row._mapping["encrypted_secrets"] for row in raw_rows if row._mapping["provider"] != "simulator"
    ]
    assert len(encrypted) == 2
    assert all(re.fullmatch(r"enc1:[0-9a-f]{8}:[A-Za-z0-9_-]+", token) for token in encrypted)
    assert wechat["secrets_set"] == ["api_v3_key", "merchant_private_key"]
    assert alipay["secrets_set"] == ["app_private_key"]
    assert wechat["settings"]["merchant_id"] == wechat_pay_account.merchant_id
    assert "merchant_private_key" not in wechat["settings"]
    real = [row.after for row in audit_rows if row.after and row.after["provider"] != "simulator"]
    assert [after["secrets_changed"] for after in real] == [
        ["api_v3_key", "merchant_private_key"],
        ["app_private_key"],
    ]


async def test_a_secret_left_out_keeps_its_stored_value(
    shop: Shop, session: AsyncSession, wechat_pay_account: WeChatPayAccount, fake_wechat_pay: FakeWeChatPay
) -> None:
    await set_up(shop, "wechat_pay", wechat_settings(wechat_pay_account))
    without_secrets = {
        key: value
        for key, value in wechat_settings(wechat_pay_account).items()
        if key not in ("merchant_private_key", "api_v3_key")
    }

    again = await set_up(shop, "wechat_pay", without_secrets)
    paid = await shop.pay(await _bill(shop), "wechat_pay", payment_code=WECHAT_CODE)

    assert again["secrets_set"] == ["api_v3_key", "merchant_private_key"]
    assert paid["payments"][0]["status"] == "succeeded"
    last = await session.scalar(
        select(AuditRecord)
        .where(AuditRecord.action == "payment_provider.update")
        .order_by(AuditRecord.sequence.desc())
        .limit(1)
    )
    assert last is not None
    assert last.after is not None
    assert last.after["secrets_changed"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"api_v3_key": "too-short"}, "api_v3_key"),
        (
            {"merchant_private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"},
            "merchant_private_key",
        ),
        ({"merchant_id": "mch-1"}, "merchant_id"),
        ({"app_id": "not-an-app-id"}, "app_id"),
        ({"platform_public_key": "not a key"}, "platform_public_key"),
        ({"platform_public_key_id": None, "platform_public_key": None}, "platform_public_key"),
        ({"merchant_private_key": None}, "merchant_private_key"),
    ],
)
async def test_settings_that_cannot_work_are_refused_naming_the_field(
    shop: Shop, wechat_pay_account: WeChatPayAccount, change: dict[str, Any], field: str
) -> None:
    body = {**wechat_settings(wechat_pay_account), **change}

    refused = await set_up(shop, "wechat_pay", {k: v for k, v in body.items() if v is not None}, expect=422)

    assert refused["errors"][0]["field"] == field
    assert "BEGIN" not in json.dumps(refused)
    after = await shop.call("GET", f"/stores/{shop.store_id}/payment-providers", role=Role.OWNER)
    assert after[0]["provider"] == "simulator"  # type: ignore[index]


async def test_a_tender_takes_only_its_own_provider_or_the_simulator(
    shop: Shop, alipay_account: AlipayAccount
) -> None:
    refused = await set_up(shop, "wechat_pay", alipay_settings(alipay_account), expect=422)

    assert refused["errors"][0]["field"] == "provider"


# --- the configured provider takes the money ----------------------------------------------------


async def test_the_owners_wechat_pay_takes_a_payment_code_charge_with_the_store_as_scene(
    shop: Shop, session: AsyncSession, wechat_pay_account: WeChatPayAccount, fake_wechat_pay: FakeWeChatPay
) -> None:
    configured = await set_up(shop, "wechat_pay", wechat_settings(wechat_pay_account))

    paid = await shop.pay(await _bill(shop), "wechat_pay", payment_code=WECHAT_CODE)

    payment = paid["payments"][0]
    assert (payment["status"], payment["provider"], paid["status"]) == ("succeeded", "wechat_pay", "closed")
    [sent] = fake_wechat_pay.requests_to("/v3/pay/transactions/codepay")
    body = json.loads(sent.body)
    assert body["scene_info"] == {"store_info": {"out_id": str(shop.store_id)}}
    assert (body["out_trade_no"], body["amount"]) == (
        payment["out_trade_no"],
        {"total": 2800, "currency": "CNY"},
    )
    assert configured["notification_url"] == (
        f"http://127.0.0.1:8000/api/v1/payments/notifications/wechat_pay/{shop.store_id}"
    )
    assert isinstance(await provider_for(session, shop.store_id, Tender.WECHAT_PAY), WeChatPayProvider)


async def test_provider_for_builds_once_per_revision_of_the_settings(
    shop: Shop, session: AsyncSession, alipay_account: AlipayAccount
) -> None:
    first = await provider_for(session, shop.store_id, Tender.ALIPAY)
    again = await provider_for(session, shop.store_id, Tender.ALIPAY)
    await set_up(shop, "alipay", alipay_settings(alipay_account))
    session.expire_all()
    after_save = await provider_for(session, shop.store_id, Tender.ALIPAY)

    assert isinstance(first, SimulatorProvider)
    assert again is first
    assert isinstance(after_save, AlipayProvider)
    assert await provider_for(session, shop.store_id, Tender.ALIPAY) is after_save


async def test_a_store_that_has_not_set_up_a_wallet_refuses_it_clearly(
    shop: Shop, session: AsyncSession
) -> None:
    await shop.call(
        "DELETE", f"/stores/{shop.store_id}/payment-providers/wechat_pay", role=Role.OWNER, expect=204
    )
    bill = await _bill(shop)

    refused = await shop.pay(bill, "wechat_pay", payment_code=WECHAT_CODE, expect=409)

    assert (refused["code"], refused["detail"]) == (
        "payment_provider_not_configured",
        "WeChat Pay is not set up for this store",
    )
    assert refused["errors"][0]["field"] == "tender"
    assert await session.scalar(select(func.count(Payment.id)).where(Payment.bill_id == bill["id"])) == 0
    # the other tender still works, through the simulator the store chose
    paid = await shop.pay(bill, "alipay", payment_code=WECHAT_CODE)
    assert paid["payments"][0]["provider"] == "simulator-alipay"


async def test_a_new_store_takes_no_wallet_until_its_owner_chooses(shop: Shop, session: AsyncSession) -> None:
    organization = await make_organization(session)
    store = await make_store(session, organization)

    views = await provider_settings.provider_settings_of(session, Actor.system(organization.id), store.id)

    assert [(view.tender, view.is_set_up) for view in views] == [
        (Tender.WECHAT_PAY, False),
        (Tender.ALIPAY, False),
    ]
    with pytest.raises(provider_settings.PaymentProviderNotConfigured, match="Alipay is not set up"):
        await provider_for(session, store.id, Tender.ALIPAY)


# --- notifications: the store in the address verifies them ------------------------------------


async def _second_store_with_simulators(shop: Shop, session: AsyncSession) -> int:
    """Another store of the same organization, taking both wallets through the simulator."""
    first = await session.get(Store, shop.store_id)
    assert first is not None
    organization_id = first.organization_id
    organization = await session.get(Organization, organization_id)
    assert organization is not None
    second = await make_store(session, organization)
    for tender in provider_settings.WALLET_TENDERS:
        await provider_settings.update_provider_settings(
            session,
            Actor.system(organization_id, store_id=second.id),
            second.id,
            tender,
            ProviderSettingsChange(ProviderKind.SIMULATOR),
        )
    await session.commit()
    return second.id


async def _post(client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"/api/v1/payments/notifications/{path}", content=body, headers=headers)


async def test_a_wechat_notification_counts_only_at_the_store_whose_provider_verifies_it(
    shop: Shop, session: AsyncSession, wechat_pay_account: WeChatPayAccount, fake_wechat_pay: FakeWeChatPay
) -> None:
    other_store_id = await _second_store_with_simulators(shop, session)
    await set_up(shop, "wechat_pay", wechat_settings(wechat_pay_account))
    pending = await shop.pay(await _bill(shop), "wechat_pay")
    out_trade_no = pending["payments"][0]["out_trade_no"]
    [created] = fake_wechat_pay.requests_to("/v3/pay/transactions/native")
    fake_wechat_pay.mark_paid(out_trade_no)
    headers, body = fake_wechat_pay.signed_notification(out_trade_no)

    at_other_store = await _post(shop.client, f"wechat_pay/{other_store_id}", body, headers)
    still = await pending_payments(session, shop)
    at_own_store = await _post(shop.client, f"wechat_pay/{shop.store_id}", body, headers)

    assert json.loads(created.body)["notify_url"].endswith(
        f"/api/v1/payments/notifications/wechat_pay/{shop.store_id}"
    )
    assert (at_other_store.status_code, at_other_store.json()["code"]) == (400, "payment_invalid_signature")
    assert still == [(out_trade_no, PaymentStatus.PENDING)]
    assert at_own_store.status_code == 200
    assert at_own_store.json() == {"code": "SUCCESS", "message": "成功"}
    session.expire_all()
    assert await pending_payments(session, shop) == [(out_trade_no, PaymentStatus.SUCCEEDED)]


@pytest.mark.parametrize(
    "spoil",
    ["no out_trade_no", "amount as text", "unknown trade", "amount differs", "trade of another store"],
)
async def test_a_correctly_signed_but_malformed_wechat_notification_is_400_and_changes_nothing(
    shop: Shop,
    session: AsyncSession,
    wechat_pay_account: WeChatPayAccount,
    fake_wechat_pay: FakeWeChatPay,
    spoil: str,
) -> None:
    other_store_id = await _second_store_with_simulators(shop, session)
    await set_up(shop, "wechat_pay", wechat_settings(wechat_pay_account))
    bill = await shop.pay(await _bill(shop), "wechat_pay")
    out_trade_no = bill["payments"][0]["out_trade_no"]
    fake_wechat_pay.mark_paid(out_trade_no)
    transaction = fake_wechat_pay._transaction(fake_wechat_pay.orders[out_trade_no])
    if spoil == "no out_trade_no":
        del transaction["out_trade_no"]
    elif spoil == "amount as text":
        transaction["amount"]["total"] = "2800"
    elif spoil == "unknown trade":
        transaction["out_trade_no"] = "K" + "0" * 30
    elif spoil == "amount differs":
        transaction["amount"]["total"] = 1
    else:  # a payment of the other store, named in a notification signed for this one
        transaction["out_trade_no"] = await _trade_of_other_store(session, other_store_id)
    headers, body = fake_wechat_pay.signed_resource_notification(transaction)
    settled_before = await _settlements(session)

    answer = await _post(shop.client, f"wechat_pay/{shop.store_id}", body, headers)

    assert answer.status_code == 400
    assert answer.json()["code"] == "payment_notification_malformed"
    session.expire_all()
    assert (await pending_payments(session, shop))[0] == (out_trade_no, PaymentStatus.PENDING)
    assert await _settlements(session) == settled_before
    assert (await shop.call("GET", f"/bills/{bill['id']}"))["paid_amount"] == 0


async def _settlements(session: AsyncSession) -> int:
    return int(
        await session.scalar(select(func.count(AuditRecord.id)).where(AuditRecord.action == "payment.settle"))
        or 0
    )


async def _trade_of_other_store(session: AsyncSession, other_store_id: int) -> str:
    """A pending payment row of the other store (stored directly: its bill is not needed)."""
    bill = await session.scalar(select(Bill).limit(1))
    register_payment = await session.scalar(select(Payment).limit(1))
    assert bill is not None
    assert register_payment is not None
    other = Payment(
        bill_id=bill.id,
        store_id=other_store_id,
        register_id=register_payment.register_id,
        tender=Tender.WECHAT_PAY,
        status=PaymentStatus.PENDING,
        amount=2800,
        currency="CNY",
        idempotency_key="other-store-key",
        created_by_staff_id=register_payment.created_by_staff_id,
        out_trade_no="K" + "1" * 30,
    )
    session.add(other)
    await session.commit()
    return "K" + "1" * 30


async def test_an_alipay_notification_is_answered_with_the_plain_text_success(
    shop: Shop, session: AsyncSession, alipay_account: AlipayAccount, fake_alipay: FakeAlipay
) -> None:
    await set_up(shop, "alipay", alipay_settings(alipay_account))
    pending = await shop.pay(await _bill(shop), "alipay")
    out_trade_no = pending["payments"][0]["out_trade_no"]
    fake_alipay.mark_paid(out_trade_no)
    body = fake_alipay.signed_notification(out_trade_no)
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    answer = await _post(shop.client, f"alipay/{shop.store_id}", body, form)

    assert (answer.status_code, answer.text) == (200, "success")
    assert answer.headers["content-type"].startswith("text/plain")
    session.expire_all()
    assert await pending_payments(session, shop) == [(out_trade_no, PaymentStatus.SUCCEEDED)]


@pytest.mark.parametrize("spoil", ["unknown trade", "amount differs", "no amount"])
async def test_a_correctly_signed_but_malformed_alipay_notification_is_400_and_changes_nothing(
    shop: Shop, session: AsyncSession, alipay_account: AlipayAccount, fake_alipay: FakeAlipay, spoil: str
) -> None:
    await set_up(shop, "alipay", alipay_settings(alipay_account))
    pending = await shop.pay(await _bill(shop), "alipay")
    out_trade_no = pending["payments"][0]["out_trade_no"]
    fake_alipay.mark_paid(out_trade_no)
    fields = dict(parse_qsl(fake_alipay.signed_notification(out_trade_no).decode()))
    fields.pop("sign"), fields.pop("sign_type")
    if spoil == "unknown trade":
        fields["out_trade_no"] = "K" + "0" * 30
    elif spoil == "amount differs":
        fields["total_amount"] = "0.01"
    else:
        del fields["total_amount"]
    body = fake_alipay.signed_fields_notification(fields)

    answer = await _post(shop.client, f"alipay/{shop.store_id}", body, {})

    assert answer.status_code == 400
    assert answer.text != "success"
    session.expire_all()
    assert await pending_payments(session, shop) == [(out_trade_no, PaymentStatus.PENDING)]
