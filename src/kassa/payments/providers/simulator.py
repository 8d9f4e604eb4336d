"""An in-memory payment provider, the default, so the demo and the tests work offline.

Its rules are deterministic:

* a payment code starting with ``13`` succeeds at once;
* one starting with ``99`` is declined with a reason;
* one starting with ``88`` stays PENDING (the customer "is entering the password") until it
  has been queried twice: the first query still answers PENDING, the second SUCCEEDED;
* any other payment code is declined as not recognised;
* a QR charge stays PENDING until :meth:`SimulatorProvider.simulate_customer_paid`;
* a refund succeeds unless it exceeds what was charged minus earlier refunds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from kassa.core.money import Money
from kassa.payments.providers.base import (
    ChargeNotFound,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    InvalidSignature,
    MalformedNotification,
    PaymentNotification,
    PaymentProvider,
    ProviderError,
    RefundRequest,
    RefundResult,
    RefundStatus,
)

SIGNATURE_HEADER = "X-Kassa-Simulator-Signature"
SUCCEEDING_CODE_PREFIX = "13"
DECLINED_CODE_PREFIX = "99"
SLOW_CODE_PREFIX = "88"
# The customer "confirms on the phone" on the second query of a slow payment code.
QUERIES_UNTIL_SLOW_CODE_SETTLES = 2


@dataclass
class _SimulatedCharge:
    request: ChargeRequest
    is_qr_charge: bool
    status: ChargeStatus
    provider_reference: str
    failure_reason: str | None = None
    query_count: int = 0
    refunded: int = 0
    refunds: dict[str, RefundResult] = dataclasses.field(default_factory=dict)


class SimulatorProvider(PaymentProvider):
    """The offline provider; see the module docstring for its rules.

    Notifications are JSON signed with HMAC-SHA256 over the body; ``signed_notification``
    builds the one the "provider" would send, so the notification path can be exercised too.
    The signing key is the installation's own (``Settings.resolved_payment_simulator_key``);
    without one, a random key that only this instance knows. Provider references are random
    too, so nobody can guess one.
    """

    def __init__(self, name: str = "simulator", notification_secret: str | None = None) -> None:
        self.name = name
        self._secret = (notification_secret or secrets.token_urlsafe(32)).encode()
        self._charges: dict[str, _SimulatedCharge] = {}

    async def charge_with_payment_code(self, request: ChargeRequest) -> ChargeResult:
        """Charge by the rules of the payment code's prefix; a repeated ``out_trade_no`` returns
        that charge as it stands and never charges twice."""
        if not request.payment_code:
            raise ProviderError(self.name, "a payment code is required")
        existing = self._existing(request)
        if existing is not None:
            return existing
        code = request.payment_code
        if code.startswith(SUCCEEDING_CODE_PREFIX):
            status, reason = ChargeStatus.SUCCEEDED, None
        elif code.startswith(SLOW_CODE_PREFIX):
            status, reason = ChargeStatus.PENDING, None
        elif code.startswith(DECLINED_CODE_PREFIX):
            status, reason = ChargeStatus.FAILED, "declined: insufficient balance (simulated)"
        else:
            status, reason = ChargeStatus.FAILED, "payment code not recognised (simulated)"
        charge = _SimulatedCharge(
            request=request,
            is_qr_charge=False,
            status=status,
            provider_reference=self._new_reference(),
            failure_reason=reason,
        )
        self._charges[request.out_trade_no] = charge
        return self._result(charge)

    async def create_qr_charge(self, request: ChargeRequest) -> ChargeResult:
        """A PENDING charge with a QR code; it is paid by :meth:`simulate_customer_paid`."""
        existing = self._existing(request)
        if existing is not None:
            return existing
        charge = _SimulatedCharge(
            request=request,
            is_qr_charge=True,
            status=ChargeStatus.PENDING,
            provider_reference=self._new_reference(),
        )
        self._charges[request.out_trade_no] = charge
        return self._result(charge)

    async def query(self, out_trade_no: str, amount_currency: str) -> ChargeResult:
        """The charge as it stands; a slow payment code settles on its second query."""
        charge = self._get(out_trade_no)
        charge.query_count += 1
        if (
            charge.status is ChargeStatus.PENDING
            and not charge.is_qr_charge
            and charge.query_count >= QUERIES_UNTIL_SLOW_CODE_SETTLES
        ):
            charge.status = ChargeStatus.SUCCEEDED
        return self._result(charge)

    async def cancel(self, out_trade_no: str) -> None:
        """Close an unpaid charge; reverse a paid payment-code charge (all its money goes back);
        refuse a paid QR charge, which must be refunded instead."""
        charge = self._get(out_trade_no)
        if charge.status is ChargeStatus.SUCCEEDED and charge.is_qr_charge:
            raise ProviderError(self.name, f"{out_trade_no} is already paid; refund it instead")
        charge.status = ChargeStatus.CLOSED

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund up to what was charged minus earlier refunds; ``out_refund_no`` is idempotent."""
        charge = self._get(request.out_trade_no)
        earlier = charge.refunds.get(request.out_refund_no)
        if earlier is not None:
            return earlier
        charged = charge.request.amount
        reason = self._refund_refusal(charge, request)
        if reason is None:
            charge.refunded += request.refund_amount.amount
            result = RefundResult(
                status=RefundStatus.SUCCEEDED,
                out_refund_no=request.out_refund_no,
                provider_reference=self._new_reference(),
                raw={"refunded_total": charge.refunded, "currency": charged.currency},
            )
        else:
            result = RefundResult(
                status=RefundStatus.FAILED, out_refund_no=request.out_refund_no, failure_reason=reason
            )
        charge.refunds[request.out_refund_no] = result
        return result

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        """Verify the HMAC signature header, then read the JSON body (every field checked)."""
        signature = _header(headers, SIGNATURE_HEADER)
        if signature is None or not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidSignature(self.name, "notification signature does not verify")
        try:
            payload = json.loads(body)
        except ValueError:
            raise MalformedNotification(self.name, "notification body is not JSON") from None
        if not isinstance(payload, dict):
            raise MalformedNotification(self.name, "notification body is not a JSON object")
        out_trade_no = payload.get("out_trade_no")
        reference = payload.get("provider_reference")
        amount = payload.get("amount")
        currency = payload.get("currency")
        status = payload.get("status")
        if not isinstance(out_trade_no, str) or not out_trade_no:
            raise MalformedNotification(self.name, "notification names no out_trade_no")
        if reference is not None and not isinstance(reference, str):
            raise MalformedNotification(self.name, "provider_reference is not text")
        # bool is an int in Python; an amount of True is not an amount.
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise MalformedNotification(self.name, "amount is not a whole number of minor units")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
            raise MalformedNotification(self.name, "currency is not a 3-letter code")
        if status not in {member.value for member in ChargeStatus}:
            raise MalformedNotification(self.name, f"unknown status {status!r}")
        return PaymentNotification(
            out_trade_no=out_trade_no,
            provider_reference=reference,
            status=ChargeStatus(status),
            amount=Money(amount, currency),
            raw=payload,
        )

    def sign(self, body: bytes) -> dict[str, str]:
        """The headers that make ``body`` a notification this simulator accepts (for tests
        and demos that post their own notifications)."""
        return {SIGNATURE_HEADER: self._sign(body), "Content-Type": "application/json"}

    def simulate_customer_paid(self, out_trade_no: str) -> ChargeResult:
        """The customer scanned the QR code and paid: the QR charge becomes SUCCEEDED."""
        charge = self._get(out_trade_no)
        if not charge.is_qr_charge:
            raise ProviderError(self.name, f"{out_trade_no} is not a QR charge")
        if charge.status is not ChargeStatus.PENDING:
            raise ProviderError(self.name, f"{out_trade_no} is {charge.status}, not waiting for payment")
        charge.status = ChargeStatus.SUCCEEDED
        return self._result(charge)

    def signed_notification(self, out_trade_no: str) -> tuple[dict[str, str], bytes]:
        """The headers and body the simulated provider would post to the charge's notify URL."""
        charge = self._get(out_trade_no)
        body = json.dumps(
            {
                "out_trade_no": out_trade_no,
                "provider_reference": charge.provider_reference,
                "status": str(charge.status),
                "amount": charge.request.amount.amount,
                "currency": charge.request.amount.currency,
            },
            sort_keys=True,
        ).encode()
        return {SIGNATURE_HEADER: self._sign(body), "Content-Type": "application/json"}, body

    def _existing(self, request: ChargeRequest) -> ChargeResult | None:
        charge = self._charges.get(request.out_trade_no)
        if charge is None:
            return None
        # A key reused for a different charge is a bug upstream; real providers refuse it too.
        if charge.request.amount != request.amount or charge.request.payment_code != request.payment_code:
            raise ProviderError(self.name, f"out_trade_no {request.out_trade_no} was used for another charge")
        return self._result(charge)

    def _refund_refusal(self, charge: _SimulatedCharge, request: RefundRequest) -> str | None:
        charged = charge.request.amount
        if charge.status is not ChargeStatus.SUCCEEDED:
            return f"charge is {charge.status}, only a paid charge can be refunded"
        if request.total_amount != charged:
            return f"total amount {request.total_amount} does not match the charge ({charged})"
        if request.refund_amount.amount <= 0:
            return "refund amount must be positive"
        left = charged.amount - charge.refunded
        if request.refund_amount.amount > left:
            return f"refund exceeds the amount left to refund ({Money(left, charged.currency)})"
        return None

    def _get(self, out_trade_no: str) -> _SimulatedCharge:
        charge = self._charges.get(out_trade_no)
        if charge is None:
            raise ChargeNotFound(self.name, f"no charge {out_trade_no}")
        return charge

    def _new_reference(self) -> str:
        return f"SIM{secrets.token_hex(12).upper()}"

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def _result(self, charge: _SimulatedCharge) -> ChargeResult:
        request = charge.request
        return ChargeResult(
            status=charge.status,
            out_trade_no=request.out_trade_no,
            provider_reference=charge.provider_reference,
            qr_code=f"kassa-simulator://pay/{request.out_trade_no}" if charge.is_qr_charge else None,
            amount=request.amount,
            failure_reason=charge.failure_reason if charge.status is ChargeStatus.FAILED else None,
            raw={"status": str(charge.status), "query_count": charge.query_count},
        )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Header lookup that does not depend on the caller's spelling of the name."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
