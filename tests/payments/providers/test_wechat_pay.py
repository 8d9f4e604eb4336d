"""WeChatPayProvider against a local WeChat Pay that checks signatures and answers signed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

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
from kassa.payments.providers.wechat_pay import WeChatPayProvider

from .conftest import NOTIFY_URL, wechat_pay_config
from .fake_wechat_pay import FakeOrder, FakeWeChatPay, WeChatPayAccount
from .local_server import unused_local_url

PAYING_CODE = "134567890123456789"
DECLINED_CODE = "994567890123456789"
SLOW_CODE = "884567890123456789"


def charge_request(out_trade_no: str = "K20260501-0001", *, payment_code: str | None = None) -> ChargeRequest:
    return ChargeRequest(
        out_trade_no=out_trade_no,
        amount=Money(1234, "CNY"),
        description="Kassa 咖啡 - 2 × 拿铁",
        payment_code=payment_code,
    )


def refund_request(out_refund_no: str, fen: int, out_trade_no: str = "K20260501-0001") -> RefundRequest:
    return RefundRequest(
        out_trade_no=out_trade_no,
        out_refund_no=out_refund_no,
        refund_amount=Money(fen, "CNY"),
        total_amount=Money(1234, "CNY"),
        reason="顾客退货",
    )


async def test_qr_charge_then_signed_notification_is_verified_and_read(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    # given a Native QR charge the SDK really sent
    created = await wechat_pay.create_qr_charge(charge_request())
    [sent] = fake_wechat_pay.requests_to("/v3/pay/transactions/native")
    # when the customer pays and WeChat notifies us
    fake_wechat_pay.mark_paid("K20260501-0001")
    headers, body = fake_wechat_pay.signed_notification("K20260501-0001")
    notification = wechat_pay.parse_notification(headers, body)

    # then the request was signed and shaped as WeChat expects, and the notification is read
    assert sent.method == "POST"
    assert json.loads(sent.body) == {
        "notify_url": NOTIFY_URL,
        "description": "Kassa 咖啡 - 2 × 拿铁",
        "out_trade_no": "K20260501-0001",
        "amount": {"total": 1234, "currency": "CNY"},
        "appid": "wxd678efh567hg6787",
        "mchid": "1900009191",
    }
    assert created.status is ChargeStatus.PENDING
    assert created.qr_code == fake_wechat_pay.orders["K20260501-0001"].code_url
    assert created.qr_code is not None
    assert created.qr_code.startswith("weixin://wxpay/bizpayurl?pr=")
    assert notification.status is ChargeStatus.SUCCEEDED
    assert notification.out_trade_no == "K20260501-0001"
    assert notification.amount == Money(1234, "CNY")
    assert notification.provider_reference == fake_wechat_pay.orders["K20260501-0001"].transaction_id


async def test_notification_headers_are_found_whatever_their_case(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.create_qr_charge(charge_request())
    fake_wechat_pay.mark_paid("K20260501-0001")
    headers, body = fake_wechat_pay.signed_notification("K20260501-0001")

    notification = wechat_pay.parse_notification({key.upper(): value for key, value in headers.items()}, body)

    assert notification.status is ChargeStatus.SUCCEEDED


async def test_tampered_notification_raises_invalid_signature(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.create_qr_charge(charge_request())
    fake_wechat_pay.mark_paid("K20260501-0001")
    headers, body = fake_wechat_pay.signed_notification("K20260501-0001")
    tampered = body.replace("支付成功".encode(), "支付失败".encode())
    assert tampered != body

    with pytest.raises(InvalidSignature):
        wechat_pay.parse_notification(headers, tampered)


async def test_notification_from_an_unknown_key_is_rejected_without_going_online(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.create_qr_charge(charge_request())
    headers, body = fake_wechat_pay.signed_notification("K20260501-0001")
    requests_before = len(fake_wechat_pay.received)

    with pytest.raises(InvalidSignature, match="unknown key"):
        wechat_pay.parse_notification({**headers, "Wechatpay-Serial": "PUB_KEY_ID_SOMEONE_ELSE"}, body)
    assert len(fake_wechat_pay.received) == requests_before


async def test_replayed_old_notification_is_rejected(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.create_qr_charge(charge_request())
    fake_wechat_pay.mark_paid("K20260501-0001")
    headers, body = fake_wechat_pay.signed_notification("K20260501-0001", sent_at=int(time.time()) - 3600)

    with pytest.raises(InvalidSignature, match="timestamp"):
        wechat_pay.parse_notification(headers, body)


async def test_notification_encrypted_with_another_api_v3_key_is_rejected(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.create_qr_charge(charge_request())
    headers, body = fake_wechat_pay.signed_notification("K20260501-0001", api_v3_key="b" * 32)

    with pytest.raises(InvalidSignature):
        wechat_pay.parse_notification(headers, body)


async def test_payment_code_charge_succeeds(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    result = await wechat_pay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    [sent] = fake_wechat_pay.requests_to("/v3/pay/transactions/codepay")
    assert json.loads(sent.body) == {
        "description": "Kassa 咖啡 - 2 × 拿铁",
        "out_trade_no": "K20260501-0001",
        "amount": {"total": 1234, "currency": "CNY"},
        "payer": {"auth_code": PAYING_CODE},
        "scene_info": {"store_info": {"out_id": "store-7"}},
        "appid": "wxd678efh567hg6787",
        "mchid": "1900009191",
    }
    assert result.status is ChargeStatus.SUCCEEDED
    assert result.amount == Money(1234, "CNY")
    assert result.provider_reference == fake_wechat_pay.orders["K20260501-0001"].transaction_id
    assert result.failure_reason is None


async def test_payment_code_charge_declined_fails_with_wechat_reason(wechat_pay: WeChatPayProvider) -> None:
    result = await wechat_pay.charge_with_payment_code(charge_request(payment_code=DECLINED_CODE))

    assert result.status is ChargeStatus.FAILED
    assert result.failure_reason == "HTTP 403 TRADE_ERROR: 用户余额不足"


async def test_payment_code_waiting_for_password_is_pending_until_query_sees_it_paid(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    charged = await wechat_pay.charge_with_payment_code(charge_request(payment_code=SLOW_CODE))
    while_waiting = await wechat_pay.query("K20260501-0001", "CNY")
    fake_wechat_pay.mark_paid("K20260501-0001")
    after_password = await wechat_pay.query("K20260501-0001", "CNY")

    assert charged.status is ChargeStatus.PENDING
    assert while_waiting.status is ChargeStatus.PENDING
    assert after_password.status is ChargeStatus.SUCCEEDED
    assert after_password.amount == Money(1234, "CNY")
    [query] = fake_wechat_pay.requests_to("/v3/pay/transactions/out-trade-no/K20260501-0001")[-1:]
    assert query.method == "GET"
    assert query.path == "/v3/pay/transactions/out-trade-no/K20260501-0001?mchid=1900009191"


async def test_repeated_payment_code_charge_is_answered_by_query_and_charges_once(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    first = await wechat_pay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    repeated = await wechat_pay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    assert repeated.status is ChargeStatus.SUCCEEDED
    assert repeated.provider_reference == first.provider_reference
    assert len(fake_wechat_pay.orders) == 1


async def test_query_of_an_unknown_charge_raises_charge_not_found(wechat_pay: WeChatPayProvider) -> None:
    with pytest.raises(ChargeNotFound, match="ORDER_NOT_EXIST"):
        await wechat_pay.query("never-created", "CNY")


async def test_full_refund(wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay) -> None:
    await wechat_pay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    result = await wechat_pay.refund(refund_request("R-1", 1234))

    [sent] = fake_wechat_pay.requests_to("/v3/refund/domestic/refunds")
    assert json.loads(sent.body) == {
        "out_refund_no": "R-1",
        "amount": {"refund": 1234, "total": 1234, "currency": "CNY"},
        "out_trade_no": "K20260501-0001",
        "reason": "顾客退货",
    }
    assert result.status is RefundStatus.SUCCEEDED
    assert result.provider_reference == fake_wechat_pay.orders["K20260501-0001"].refunds["R-1"]["refund_id"]
    assert (await wechat_pay.query("K20260501-0001", "CNY")).status is ChargeStatus.SUCCEEDED


async def test_partial_refunds_until_nothing_is_left(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))

    first = await wechat_pay.refund(refund_request("R-1", 300))
    rest = await wechat_pay.refund(refund_request("R-2", 934))
    one_fen_more = await wechat_pay.refund(refund_request("R-3", 1))

    assert first.status is RefundStatus.SUCCEEDED
    assert rest.status is RefundStatus.SUCCEEDED
    assert one_fen_more.status is RefundStatus.FAILED
    assert one_fen_more.failure_reason == "HTTP 400 INVALID_REQUEST: 申请退款金额超过订单可退金额"
    assert fake_wechat_pay.orders["K20260501-0001"].refunded == 1234


async def test_refund_still_processing_is_pending(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))
    fake_wechat_pay.refund_state = "PROCESSING"

    result = await wechat_pay.refund(refund_request("R-1", 100))

    assert result.status is RefundStatus.PENDING


async def test_cancel_closes_an_unpaid_qr_charge(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.create_qr_charge(charge_request())

    await wechat_pay.cancel("K20260501-0001")

    [close] = fake_wechat_pay.requests_to("/v3/pay/transactions/out-trade-no/K20260501-0001/close")
    assert json.loads(close.body) == {"mchid": "1900009191"}
    assert (await wechat_pay.query("K20260501-0001", "CNY")).status is ChargeStatus.CLOSED


async def test_cancel_reverses_a_payment_code_charge(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.charge_with_payment_code(charge_request(payment_code=SLOW_CODE))

    await wechat_pay.cancel("K20260501-0001")

    [reverse] = fake_wechat_pay.requests_to("/v3/pay/transactions/out-trade-no/K20260501-0001/reverse")
    assert json.loads(reverse.body) == {"appid": "wxd678efh567hg6787", "mchid": "1900009191"}
    assert (await wechat_pay.query("K20260501-0001", "CNY")).status is ChargeStatus.CLOSED


async def test_cancel_of_a_paid_qr_charge_asks_for_a_refund(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    await wechat_pay.create_qr_charge(charge_request())
    fake_wechat_pay.mark_paid("K20260501-0001")

    with pytest.raises(ProviderError, match="refund it instead"):
        await wechat_pay.cancel("K20260501-0001")


async def test_server_error_is_provider_unavailable(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    fake_wechat_pay.answer_every_request_with = 500

    with pytest.raises(ProviderUnavailable, match="HTTP 500 SYSTEM_ERROR"):
        await wechat_pay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))


async def test_server_down_is_provider_unavailable(wechat_pay_account: WeChatPayAccount) -> None:
    provider = build_provider("wechat_pay", wechat_pay_config(wechat_pay_account, unused_local_url()))

    with pytest.raises(ProviderUnavailable, match="network error"):
        await provider.query("K20260501-0001", "CNY")


async def test_response_with_a_bad_signature_is_not_trusted(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    fake_wechat_pay.is_corrupting_signatures = True

    with pytest.raises(InvalidSignature, match="response signature"):
        await wechat_pay.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))


def test_a_store_id_is_required_because_payment_code_charges_need_scene_info(
    wechat_pay_account: WeChatPayAccount,
) -> None:
    config = wechat_pay_config(wechat_pay_account, "http://127.0.0.1:9")
    del config["store_id"]

    with pytest.raises(ProviderError, match="missing configuration: store_id"):
        build_provider("wechat_pay", config)


def _transaction(fake: FakeWeChatPay, out_trade_no: str = "K20260501-0001") -> dict[str, Any]:
    return fake._transaction(fake.orders[out_trade_no])


@pytest.mark.parametrize(
    "spoil",
    [
        lambda transaction: transaction.pop("out_trade_no"),
        lambda transaction: transaction.update(out_trade_no=12345),
        lambda transaction: transaction.pop("amount"),
        lambda transaction: transaction.update(amount={"total": "1234", "currency": "CNY"}),
        lambda transaction: transaction.update(amount={"total": 12.34, "currency": "CNY"}),
        lambda transaction: transaction.update(amount={"total": 1234, "currency": "cny"}),
        lambda transaction: transaction.update(trade_state="MAYBE"),
        lambda transaction: transaction.update(transaction_id=["x"]),
    ],
)
async def test_a_correctly_signed_but_malformed_notification_is_refused(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay, spoil: Callable[[dict[str, Any]], object]
) -> None:
    await wechat_pay.create_qr_charge(charge_request())
    fake_wechat_pay.mark_paid("K20260501-0001")
    transaction = _transaction(fake_wechat_pay)
    spoil(transaction)
    headers, body = fake_wechat_pay.signed_resource_notification(transaction)

    with pytest.raises(MalformedNotification) as refused:
        wechat_pay.parse_notification(headers, body)
    assert refused.value.status == 400


async def test_a_correctly_signed_resource_that_is_not_an_object_is_refused(
    wechat_pay: WeChatPayProvider, fake_wechat_pay: FakeWeChatPay
) -> None:
    headers, body = fake_wechat_pay.signed_resource_notification(["not", "a", "transaction"])

    with pytest.raises(MalformedNotification):
        wechat_pay.parse_notification(headers, body)


def _platform_certificate(account: WeChatPayAccount, *, days_valid: int = 365) -> x509.Certificate:
    """A platform certificate for the platform key, as WeChat issues them (self-signed here)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(account.platform_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days_valid))
        .sign(account.platform_key, hashes.SHA256())
    )


def _certificate_config(
    account: WeChatPayAccount, gateway_url: str, *certificates: x509.Certificate
) -> dict[str, str]:
    config = wechat_pay_config(account, gateway_url)
    del config["platform_public_key"], config["platform_public_key_id"]
    config["platform_certificates"] = "".join(
        certificate.public_bytes(serialization.Encoding.PEM).decode() for certificate in certificates
    )
    return config


async def test_platform_certificate_mode_verifies_answers_and_notifications_without_going_online(
    wechat_pay_account: WeChatPayAccount, fake_wechat_pay: FakeWeChatPay
) -> None:
    certificate = _platform_certificate(wechat_pay_account)
    fake_wechat_pay.platform_certificate_serial = f"{certificate.serial_number:X}"

    provider = build_provider(
        "wechat_pay", _certificate_config(wechat_pay_account, fake_wechat_pay.base_url, certificate)
    )
    charged = await provider.charge_with_payment_code(charge_request(payment_code=PAYING_CODE))
    headers, body = fake_wechat_pay.signed_notification("K20260501-0001")
    notification = provider.parse_notification(headers, body)

    assert charged.status is ChargeStatus.SUCCEEDED
    assert notification.status is ChargeStatus.SUCCEEDED
    assert fake_wechat_pay.requests_to("/v3/certificates") == []


async def test_platform_certificate_mode_refuses_a_notification_from_another_certificate(
    wechat_pay_account: WeChatPayAccount, fake_wechat_pay: FakeWeChatPay
) -> None:
    certificate = _platform_certificate(wechat_pay_account)
    provider = build_provider(
        "wechat_pay", _certificate_config(wechat_pay_account, fake_wechat_pay.base_url, certificate)
    )
    fake_wechat_pay.platform_certificate_serial = "ABCDEF0123456789"
    fake_wechat_pay.orders["K1"] = FakeOrder("K1", "NATIVE", 100, "CNY", "SUCCESS", transaction_id="42")
    headers, body = fake_wechat_pay.signed_notification("K1")

    with pytest.raises(InvalidSignature, match="unknown key"):
        provider.parse_notification(headers, body)
    assert fake_wechat_pay.received == []


def test_expired_platform_certificates_are_refused_before_the_sdk_would_fetch_new_ones(
    wechat_pay_account: WeChatPayAccount,
) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    expired_long_ago = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(wechat_pay_account.platform_key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2021, 1, 1, tzinfo=UTC))
        .sign(wechat_pay_account.platform_key, hashes.SHA256())
    )

    with pytest.raises(ProviderError, match="none of the platform certificates is valid today"):
        build_provider(
            "wechat_pay", _certificate_config(wechat_pay_account, "http://127.0.0.1:9", expired_long_ago)
        )
