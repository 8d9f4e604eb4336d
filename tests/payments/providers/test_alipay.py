"""AlipayProvider against a local Alipay gateway that checks RSA2 signs and answers signed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import pytest

from kassa.core.money import Money
from kassa.payments.providers import (
    ChargeNotFound,
    ChargeRequest,
    ChargeStatus,
    InvalidSignature,
    MalformedNotification,
    ProviderError,
    ProviderUnavailable,
    RefundRequest,
    RefundStatus,
    build_provider,
)
from kassa.payments.providers.alipay import (
    PRODUCTION_GATEWAY_URL,
    SANDBOX_GATEWAY_URL,
    AlipayProvider,
    beijing_timestamp,
)

from .conftest import NOTIFY_URL, alipay_config
from .fake_alipay import AlipayAccount, FakeAlipay
from .local_server import unused_local_url

PAYING_CODE = "284567890123456789"
DECLINED_CODE = "294567890123456789"
WAITING_CODE = "254567890123456789"


def charge_request(
    out_trade_no: str = "K20260501-0002", *, payment_code: str | None = None, notify_url: str | None = None
) -> ChargeRequest:
    return ChargeRequest(
        out_trade_no=out_trade_no,
        amount=Money(1234, "CNY"),
        description="Kassa 咖啡 - 2 × 拿铁",
        payment_code=payment_code,
        notify_url=notify_url,
    )


def refund_request(out_refund_no: str, fen: int) -> RefundRequest:
    return RefundRequest(
        out_trade_no="K20260501-0002",
        out_refund_no=out_refund_no,
        refund_amount=Money(fen, "CNY"),
        total_amount=Money(1234, "CNY"),
        reason="顾客退货",
    )


async def test_qr_charge_then_signed_notification_is_verified_and_read(
    alipay: AlipayProvider, fake_alipay: FakeAlipay
) -> None:
    # given a precreated QR charge the SDK really sent
    created = await alipay.create_qr_charge(charge_request())
    # when the customer scans, pays, and Alipay notifies us
    fake_alipay.mark_paid("K20260501-0002")
    notification = alipay.parse_notification(
        {"Content-Type": "application/x-www-form-urlencoded"},
        fake_alipay.signed_notification("K20260501-0002"),
    )

    # then the request carried the right method and biz_content, and the notification is read
    assert fake_alipay.calls("alipay.trade.precreate") == [
        {"out_trade_no": "K20260501-0002", "total_amount": "12.34", "subject": "Kassa 咖啡 - 2 × 拿铁"}
    ]
    assert fake_alipay.parameters_of_last("alipay.trade.precreate")["notify_url"] == NOTIFY_URL
    assert created.status is ChargeStatus.PENDING
    assert created.qr_code == fake_alipay.trades["K20260501-0002"].qr_code
    assert notification.status is ChargeStatus.SUCCEEDED
    assert notification.out_trade_no == "K20260501-0002"
    assert notification.amount == Money(1234, "CNY")
    assert notification.provider_reference == fake_alipay.trades["K20260501-0002"].trade_no


async def test_qr_charge_uses_the_request_notify_url_when_given(
    alipay: AlipayProvider, fake_alipay: FakeAlipay
) -> None:
    await alipay.create_qr_charge(charge_request(notify_url="https://kassa.example.com/other"))

    assert (
        fake_alipay.parameters_of_last("alipay.trade.precreate")["notify_url"]
        == "https://kassa.example.com/other"
    )


async def test_tampered_notification_raises_invalid_signature(
    alipay: AlipayProvider, fake_alipay: FakeAlipay
) -> None:
    await alipay.create_qr_charge(charge_request())
    fake_alipay.mark_paid("K20260501-0002")
    fields = dict(parse_qsl(fake_alipay.signed_notification("K20260501-0002").decode()))
    fields["total_amount"] = "0.01"

    with pytest.raises(InvalidSignature):
        alipay.parse_notification({}, urlencode(fields).encode())


async def test_unsigned_notification_raises_invalid_signature(
    alipay: AlipayProvider, fake_alipay: FakeAlipay
) -> None:
    await alipay.create_qr_charge(charge_request())
    fake_alipay.mark_paid("K20260501-0002")
    fields = dict(parse_qsl(fake_alipay.signed_notification("K20260501-0002").decode()))
    del fields["sign"]

    with pytest.raises(InvalidSignature, match="not signed"):
        alipay.parse_notification({}, urlencode(fields).encode())


async def test_payment_code_charge_succeeds(alipay: AlipayProvider, fake_alipay: FakeAlipay) -> None:
    result = await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    assert fake_alipay.calls("alipay.trade.pay") == [
        {
            "out_trade_no": "K20260501-0002",
            "scene": "bar_code",
            "auth_code": PAYING_CODE,
            "subject": "Kassa 咖啡 - 2 × 拿铁",
            "total_amount": "12.34",
        }
    ]
    assert result.status is ChargeStatus.SUCCEEDED
    assert result.amount == Money(1234, "CNY")
    assert result.provider_reference == fake_alipay.trades["K20260501-0002"].trade_no


async def test_payment_code_charge_declined_fails_with_alipay_reason(alipay: AlipayProvider) -> None:
    result = await alipay.charge_with_payment_code(charge_request(payment_code=DECLINED_CODE))

    assert result.status is ChargeStatus.FAILED
    assert result.failure_reason == "ACQ.PAYMENT_AUTH_CODE_INVALID: 支付失败，获取顾客账户信息失败"


async def test_payment_code_waiting_for_the_customer_is_pending_until_query_sees_it_paid(
    alipay: AlipayProvider, fake_alipay: FakeAlipay
) -> None:
    charged = await alipay.charge_with_payment_code(charge_request(payment_code=WAITING_CODE))
    while_waiting = await alipay.query("K20260501-0002", "CNY")
    fake_alipay.mark_paid("K20260501-0002")
    after_confirming = await alipay.query("K20260501-0002", "CNY")

    assert charged.status is ChargeStatus.PENDING
    assert while_waiting.status is ChargeStatus.PENDING
    assert after_confirming.status is ChargeStatus.SUCCEEDED
    assert after_confirming.amount == Money(1234, "CNY")
    assert fake_alipay.calls("alipay.trade.query")[-1] == {"out_trade_no": "K20260501-0002"}


async def test_repeated_payment_code_charge_is_answered_by_query_and_charges_once(
    alipay: AlipayProvider, fake_alipay: FakeAlipay
) -> None:
    first = await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    repeated = await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    assert repeated.status is ChargeStatus.SUCCEEDED
    assert repeated.provider_reference == first.provider_reference
    assert len(fake_alipay.trades) == 1


async def test_query_of_an_unscanned_qr_charge_raises_charge_not_found(alipay: AlipayProvider) -> None:
    await alipay.create_qr_charge(charge_request())

    with pytest.raises(ChargeNotFound, match=r"ACQ\.TRADE_NOT_EXIST"):
        await alipay.query("K20260501-0002", "CNY")


async def test_full_refund(alipay: AlipayProvider, fake_alipay: FakeAlipay) -> None:
    await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    result = await alipay.refund(refund_request("R-1", 1234))
    after = await alipay.query("K20260501-0002", "CNY")

    assert fake_alipay.calls("alipay.trade.refund") == [
        {
            "refund_amount": "12.34",
            "out_trade_no": "K20260501-0002",
            "out_request_no": "R-1",
            "refund_reason": "顾客退货",
        }
    ]
    assert result.status is RefundStatus.SUCCEEDED
    assert result.provider_reference == fake_alipay.trades["K20260501-0002"].trade_no
    # Alipay closes a fully refunded trade; it was paid all the same.
    assert after.status is ChargeStatus.SUCCEEDED


async def test_partial_refunds_until_nothing_is_left(alipay: AlipayProvider, fake_alipay: FakeAlipay) -> None:
    await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    first = await alipay.refund(refund_request("R-1", 300))
    rest = await alipay.refund(refund_request("R-2", 934))
    one_fen_more = await alipay.refund(refund_request("R-3", 1))

    assert first.status is RefundStatus.SUCCEEDED
    assert rest.status is RefundStatus.SUCCEEDED
    assert one_fen_more.status is RefundStatus.FAILED
    assert [call["refund_amount"] for call in fake_alipay.calls("alipay.trade.refund")] == [
        "3.00",
        "9.34",
        "0.01",
    ]
    assert fake_alipay.trades["K20260501-0002"].refunded_fen == 1234


async def test_over_refund_fails_with_alipay_reason(alipay: AlipayProvider) -> None:
    await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    result = await alipay.refund(refund_request("R-1", 1235))

    assert result.status is RefundStatus.FAILED
    assert result.failure_reason == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL: 退款金额超限"


async def test_cancel_closes_a_waiting_charge(alipay: AlipayProvider, fake_alipay: FakeAlipay) -> None:
    await alipay.charge_with_payment_code(charge_request(payment_code=WAITING_CODE))

    await alipay.cancel("K20260501-0002")

    assert fake_alipay.calls("alipay.trade.cancel") == [{"out_trade_no": "K20260501-0002"}]
    assert (await alipay.query("K20260501-0002", "CNY")).status is ChargeStatus.CLOSED


async def test_cancel_of_an_unknown_charge_raises_charge_not_found(alipay: AlipayProvider) -> None:
    with pytest.raises(ChargeNotFound):
        await alipay.cancel("never-created")


async def test_only_yuan_are_accepted(alipay: AlipayProvider) -> None:
    request = ChargeRequest("K-USD", Money(1234, "USD"), "coffee", payment_code=PAYING_CODE)

    with pytest.raises(ProviderError, match="takes CNY"):
        await alipay.charge_with_payment_code(request)


async def test_keys_pasted_without_pem_armour_work(
    alipay_account: AlipayAccount, fake_alipay: FakeAlipay
) -> None:
    config = alipay_config(alipay_account, fake_alipay.gateway_url)
    for name in ("app_private_key", "alipay_public_key"):
        config[name] = "".join(line for line in config[name].splitlines() if not line.startswith("-----"))
    provider = build_provider("alipay", config)

    result = await provider.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    assert result.status is ChargeStatus.SUCCEEDED


async def test_server_error_is_provider_unavailable(alipay: AlipayProvider, fake_alipay: FakeAlipay) -> None:
    fake_alipay.answer_every_request_with = 502

    with pytest.raises(ProviderUnavailable, match="HTTP 502"):
        await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))


async def test_server_down_is_provider_unavailable(alipay_account: AlipayAccount) -> None:
    provider = build_provider("alipay", alipay_config(alipay_account, unused_local_url() + "/gateway.do"))

    with pytest.raises(ProviderUnavailable, match="network error"):
        await provider.query("K20260501-0002", "CNY")


async def test_response_with_a_bad_signature_is_not_trusted(
    alipay: AlipayProvider, fake_alipay: FakeAlipay
) -> None:
    fake_alipay.is_corrupting_signatures = True

    with pytest.raises(InvalidSignature, match="response signature"):
        await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))


@pytest.fixture
def server_in_los_angeles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's clock says Los Angeles time (16 hours behind Beijing in winter)."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_the_request_timestamp_is_beijing_time_whatever_the_server_zone(
    server_in_los_angeles: None, alipay: AlipayProvider, fake_alipay: FakeAlipay
) -> None:
    assert time.strftime("%H") != datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%H")

    await alipay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    beijing = ZoneInfo("Asia/Shanghai")
    sent = datetime.strptime(
        fake_alipay.parameters_of_last("alipay.trade.pay")["timestamp"], "%Y-%m-%d %H:%M:%S"
    ).replace(tzinfo=beijing)
    assert abs((datetime.now(beijing) - sent).total_seconds()) < 60
    # the fake refuses timestamps that are not Beijing time now: none was refused
    assert fake_alipay.problems == []


def test_beijing_timestamp_converts_any_zone() -> None:
    moment = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)

    assert beijing_timestamp(moment) == "2026-12-07 09:30:00"


def test_a_notification_is_acknowledged_with_the_plain_text_success(alipay: AlipayProvider) -> None:
    assert alipay.acknowledgement() == ("text/plain; charset=utf-8", b"success")


def _notification_fields(fake_alipay: FakeAlipay, **changes: str | None) -> dict[str, str]:
    fields = dict(parse_qsl(fake_alipay.signed_notification("K20260501-0002").decode()))
    fields.pop("sign")
    fields.pop("sign_type")
    for name, value in changes.items():
        if value is None:
            fields.pop(name)
        else:
            fields[name] = value
    return fields


@pytest.mark.parametrize(
    "changes",
    [
        {"out_trade_no": None},
        {"total_amount": None},
        {"total_amount": "twelve"},
        {"total_amount": "-1.00"},
        {"total_amount": "12.345"},
        {"total_amount": "1e30"},
        {"trade_status": "TRADE_MAYBE"},
        {"app_id": "2021999999999999"},
    ],
)
async def test_a_correctly_signed_but_malformed_notification_is_refused(
    alipay: AlipayProvider, fake_alipay: FakeAlipay, changes: dict[str, str | None]
) -> None:
    await alipay.create_qr_charge(charge_request(notify_url=NOTIFY_URL))
    fake_alipay.mark_paid("K20260501-0002")
    body = fake_alipay.signed_fields_notification(_notification_fields(fake_alipay, **changes))

    with pytest.raises(MalformedNotification) as refused:
        alipay.parse_notification({}, body)
    assert refused.value.status == 400


def test_the_sandbox_choice_selects_alipays_sandbox_gateway(alipay_account: AlipayAccount) -> None:
    config = {**alipay_config(alipay_account, ""), "gateway_url": "", "is_sandbox": "true"}

    provider = build_provider("alipay", config)

    assert isinstance(provider, AlipayProvider)
    assert provider._client._gateway == SANDBOX_GATEWAY_URL
    production = build_provider("alipay", {**config, "is_sandbox": "false"})
    assert isinstance(production, AlipayProvider)
    assert production._client._gateway == PRODUCTION_GATEWAY_URL
