from __future__ import annotations

import json
import re

import pytest

from kassa.core.money import Money
from kassa.payments.providers import (
    ChargeNotFound,
    ChargeRequest,
    ChargeStatus,
    InvalidSignature,
    MalformedNotification,
    ProviderError,
    RefundRequest,
    RefundStatus,
    SimulatorProvider,
    build_provider,
)


def yuan(fen: int) -> Money:
    return Money(fen, "CNY")


def charge_request(
    *, out_trade_no: str = "T-1", fen: int = 1000, payment_code: str | None = "134567890123456789"
) -> ChargeRequest:
    return ChargeRequest(
        out_trade_no=out_trade_no, amount=yuan(fen), description="2 × 拿铁", payment_code=payment_code
    )


def refund_request(out_refund_no: str, fen: int, *, total_fen: int = 1000) -> RefundRequest:
    return RefundRequest(
        out_trade_no="T-1",
        out_refund_no=out_refund_no,
        refund_amount=yuan(fen),
        total_amount=yuan(total_fen),
        reason="顾客退货",
    )


async def test_payment_code_starting_with_13_succeeds_at_once() -> None:
    provider = SimulatorProvider()

    result = await provider.charge_with_payment_code(charge_request())

    assert result.status is ChargeStatus.SUCCEEDED
    assert result.out_trade_no == "T-1"
    assert result.amount == yuan(1000)
    assert result.provider_reference is not None
    assert re.fullmatch(r"SIM[0-9A-F]{24}", result.provider_reference)
    assert result.failure_reason is None


async def test_provider_references_are_random_not_counted() -> None:
    provider = SimulatorProvider()

    references = [
        (
            await provider.charge_with_payment_code(charge_request(out_trade_no=f"T-{index}"))
        ).provider_reference
        for index in range(20)
    ]

    assert len(set(references)) == 20
    assert "SIM0000000001" not in references


async def test_payment_code_starting_with_99_is_declined_with_a_reason() -> None:
    provider = SimulatorProvider()

    result = await provider.charge_with_payment_code(charge_request(payment_code="991234"))

    assert result.status is ChargeStatus.FAILED
    assert result.failure_reason == "declined: insufficient balance (simulated)"


async def test_unknown_payment_code_is_declined() -> None:
    provider = SimulatorProvider()

    result = await provider.charge_with_payment_code(charge_request(payment_code="281234"))

    assert result.status is ChargeStatus.FAILED
    assert result.failure_reason == "payment code not recognised (simulated)"


async def test_payment_code_starting_with_88_is_pending_until_queried_twice() -> None:
    provider = SimulatorProvider()

    charged = await provider.charge_with_payment_code(charge_request(payment_code="881234"))
    first_query = await provider.query("T-1", "CNY")
    second_query = await provider.query("T-1", "CNY")

    assert charged.status is ChargeStatus.PENDING
    assert first_query.status is ChargeStatus.PENDING
    assert second_query.status is ChargeStatus.SUCCEEDED
    assert second_query.amount == yuan(1000)


async def test_repeating_a_charge_returns_the_first_result_and_charges_once() -> None:
    provider = SimulatorProvider()
    first = await provider.charge_with_payment_code(charge_request())

    repeated = await provider.charge_with_payment_code(charge_request())

    assert repeated == first
    # Charged once: the whole amount can be refunded exactly once.
    assert (await provider.refund(refund_request("R-1", 1000))).status is RefundStatus.SUCCEEDED
    assert (await provider.refund(refund_request("R-2", 1))).status is RefundStatus.FAILED


async def test_reusing_a_key_for_a_different_charge_is_refused() -> None:
    provider = SimulatorProvider()
    await provider.charge_with_payment_code(charge_request())

    with pytest.raises(ProviderError, match="was used for another charge"):
        await provider.charge_with_payment_code(charge_request(fen=999))


async def test_payment_code_charge_needs_a_payment_code() -> None:
    provider = SimulatorProvider()

    with pytest.raises(ProviderError, match="payment code is required"):
        await provider.charge_with_payment_code(charge_request(payment_code=None))


async def test_qr_charge_is_pending_until_the_customer_pays_and_then_notifies() -> None:
    provider = SimulatorProvider()

    created = await provider.create_qr_charge(charge_request(payment_code=None))
    before_paying = await provider.query("T-1", "CNY")
    provider.simulate_customer_paid("T-1")
    after_paying = await provider.query("T-1", "CNY")
    headers, body = provider.signed_notification("T-1")
    notification = provider.parse_notification(headers, body)

    assert created.status is ChargeStatus.PENDING
    assert created.qr_code == "kassa-simulator://pay/T-1"
    assert before_paying.status is ChargeStatus.PENDING
    assert after_paying.status is ChargeStatus.SUCCEEDED
    assert notification.status is ChargeStatus.SUCCEEDED
    assert notification.out_trade_no == "T-1"
    assert notification.amount == yuan(1000)
    assert notification.provider_reference == created.provider_reference


async def test_tampered_notification_raises_invalid_signature() -> None:
    provider = SimulatorProvider()
    await provider.create_qr_charge(charge_request(payment_code=None))
    provider.simulate_customer_paid("T-1")
    headers, body = provider.signed_notification("T-1")

    with pytest.raises(InvalidSignature):
        provider.parse_notification(headers, body.replace(b"1000", b"1"))
    with pytest.raises(InvalidSignature):
        provider.parse_notification({}, body)


async def test_partial_refunds_succeed_until_the_charged_amount_is_used_up() -> None:
    provider = SimulatorProvider()
    await provider.charge_with_payment_code(charge_request())

    first = await provider.refund(refund_request("R-1", 300))
    too_much = await provider.refund(refund_request("R-2", 701))
    rest = await provider.refund(refund_request("R-3", 700))
    repeated_first = await provider.refund(refund_request("R-1", 300))

    assert first.status is RefundStatus.SUCCEEDED
    assert too_much.status is RefundStatus.FAILED
    assert too_much.failure_reason == "refund exceeds the amount left to refund (7.00 CNY)"
    assert rest.status is RefundStatus.SUCCEEDED
    assert repeated_first == first


async def test_refund_of_an_unpaid_charge_fails() -> None:
    provider = SimulatorProvider()
    await provider.create_qr_charge(charge_request(payment_code=None))

    result = await provider.refund(refund_request("R-1", 100))

    assert result.status is RefundStatus.FAILED
    assert result.failure_reason == "charge is pending, only a paid charge can be refunded"


async def test_cancel_closes_a_pending_charge_and_reverses_a_paid_payment_code() -> None:
    provider = SimulatorProvider()
    await provider.create_qr_charge(charge_request(out_trade_no="QR", payment_code=None))
    await provider.charge_with_payment_code(charge_request(out_trade_no="CODE"))

    await provider.cancel("QR")
    await provider.cancel("CODE")

    assert (await provider.query("QR", "CNY")).status is ChargeStatus.CLOSED
    assert (await provider.query("CODE", "CNY")).status is ChargeStatus.CLOSED


async def test_cancel_refuses_a_paid_qr_charge() -> None:
    provider = SimulatorProvider()
    await provider.create_qr_charge(charge_request(payment_code=None))
    provider.simulate_customer_paid("T-1")

    with pytest.raises(ProviderError, match="refund it instead"):
        await provider.cancel("T-1")


async def test_query_of_an_unknown_charge_raises_charge_not_found() -> None:
    provider = SimulatorProvider()

    with pytest.raises(ChargeNotFound):
        await provider.query("nope", "CNY")


def test_build_provider_makes_the_simulator_and_rejects_unknown_names() -> None:
    assert isinstance(build_provider("simulator", {}), SimulatorProvider)
    with pytest.raises(ValueError, match="unknown payment provider 'paypal'"):
        build_provider("paypal", {})


@pytest.mark.parametrize("name", ["wechat_pay", "alipay"])
def test_build_provider_names_missing_configuration(name: str) -> None:
    with pytest.raises(ProviderError, match="missing configuration"):
        build_provider(name, {})


def test_a_notification_signed_with_another_installations_key_is_refused() -> None:
    ours = SimulatorProvider(notification_secret="our-installation-key")
    theirs = SimulatorProvider(notification_secret="another-installation-key")
    body = json.dumps(
        {
            "out_trade_no": "T-1",
            "provider_reference": "SIMX",
            "status": "succeeded",
            "amount": 1,
            "currency": "CNY",
        }
    ).encode()

    with pytest.raises(InvalidSignature):
        ours.parse_notification(theirs.sign(body), body)
    assert ours.parse_notification(ours.sign(body), body).amount == yuan(1)


def test_without_a_configured_key_each_simulator_has_its_own_random_key() -> None:
    body = b'{"out_trade_no": "T-1"}'

    first, second = SimulatorProvider(), SimulatorProvider()

    assert first.sign(body) != second.sign(body)
    # the old public default key no longer signs anything the simulator accepts
    import hashlib
    import hmac

    public_default = hmac.new(b"kassa-simulator", body, hashlib.sha256).hexdigest()
    with pytest.raises(InvalidSignature):
        first.parse_notification({"X-Kassa-Simulator-Signature": public_default}, body)


@pytest.mark.parametrize(
    "payload",
    [
        {"provider_reference": "SIMX", "status": "succeeded", "amount": 1000, "currency": "CNY"},
        {
            "out_trade_no": 7,
            "provider_reference": "SIMX",
            "status": "succeeded",
            "amount": 1000,
            "currency": "CNY",
        },
        {
            "out_trade_no": "T-1",
            "provider_reference": "SIMX",
            "status": "succeeded",
            "amount": "1000",
            "currency": "CNY",
        },
        {
            "out_trade_no": "T-1",
            "provider_reference": "SIMX",
            "status": "succeeded",
            "amount": True,
            "currency": "CNY",
        },
        {
            "out_trade_no": "T-1",
            "provider_reference": "SIMX",
            "status": "succeeded",
            "amount": -5,
            "currency": "CNY",
        },
        {
            "out_trade_no": "T-1",
            "provider_reference": "SIMX",
            "status": "paid?",
            "amount": 1000,
            "currency": "CNY",
        },
        {
            "out_trade_no": "T-1",
            "provider_reference": "SIMX",
            "status": "succeeded",
            "amount": 1000,
            "currency": "cny",
        },
        {
            "out_trade_no": "T-1",
            "provider_reference": 5,
            "status": "succeeded",
            "amount": 1000,
            "currency": "CNY",
        },
        ["not", "an", "object"],
    ],
)
def test_a_correctly_signed_but_malformed_notification_is_refused(payload: object) -> None:
    provider = SimulatorProvider()
    body = json.dumps(payload).encode()

    with pytest.raises(MalformedNotification) as refused:
        provider.parse_notification(provider.sign(body), body)
    assert refused.value.status == 400


def test_a_correctly_signed_body_that_is_not_json_is_malformed() -> None:
    provider = SimulatorProvider()

    with pytest.raises(MalformedNotification):
        provider.parse_notification(provider.sign(b"\xff{"), b"\xff{")
