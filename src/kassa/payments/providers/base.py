"""The one interface every QR / wallet payment provider implements, and the values it speaks.

Two ways a customer pays at the counter:

* **payment code** (付款码, barcode pay): the customer shows a code in the wallet app, the
  cashier scans it and we charge it at once (``charge_with_payment_code``);
* **QR charge**: we show a QR code, the customer scans it with the wallet app and pays there
  (``create_qr_charge``); the provider tells us by a signed notification
  (``parse_notification``) and we can always ask (``query``).

``out_trade_no`` is our idempotency key for one charge: repeating a request with the same key
never charges twice. Amounts are always :class:`~kassa.core.money.Money` in minor units.

How to read the errors: :class:`ProviderUnavailable` means the outcome is unknown (network,
timeout, 5xx) — retry the same request with the same key, or ``query``. A charge the provider
declined is not an error: it comes back as a result with status ``FAILED`` and a reason.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kassa.core.errors import KassaError
from kassa.core.money import Money


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    # Waiting for the customer: password entry on the phone, or the QR not scanned yet.
    PENDING = "pending"
    FAILED = "failed"
    # Closed or cancelled before it was paid (or reversed, which returned the money).
    CLOSED = "closed"


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """One charge. ``out_trade_no`` is our idempotency key; ``payment_code`` is the code the
    cashier scanned from the customer's wallet (only for payment-code charges)."""

    out_trade_no: str
    amount: Money
    description: str
    payment_code: str | None = None
    notify_url: str | None = None


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """Where a charge stands according to the provider.

    ``provider_reference`` is the provider's own id of the charge (WeChat ``transaction_id``,
    Alipay ``trade_no``) once it has one; ``qr_code`` is the content to render as a QR for a
    QR charge; ``amount`` is what the provider says was charged, when it says so; ``raw`` keeps
    the provider's answer for the audit trail.
    """

    status: ChargeStatus
    out_trade_no: str
    provider_reference: str | None = None
    qr_code: str | None = None
    amount: Money | None = None
    failure_reason: str | None = None
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Give back ``refund_amount`` of the charge ``out_trade_no`` (which was ``total_amount``).
    ``out_refund_no`` is the idempotency key of this refund; partial refunds each get their own."""

    out_trade_no: str
    out_refund_no: str
    refund_amount: Money
    total_amount: Money
    reason: str


@dataclass(frozen=True, slots=True)
class RefundResult:
    status: RefundStatus
    out_refund_no: str
    provider_reference: str | None = None
    failure_reason: str | None = None
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaymentNotification:
    """A payment notification whose signature has been verified."""

    out_trade_no: str
    provider_reference: str | None
    status: ChargeStatus
    amount: Money
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)


class ProviderError(KassaError):
    """The provider refused the request or answered something we cannot use.

    Carries the provider's name and a message; the message may quote the provider's own
    error code so an operator can look it up.
    """

    status = 502
    code = "payment_provider_error"
    title = "Payment provider error"

    provider: str
    message: str

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(detail=f"{provider}: {message}", extra={"provider": provider})
        self.provider = provider
        self.message = message


class ProviderUnavailable(ProviderError):
    """Network failure, timeout, rate limit or a 5xx answer: the outcome is unknown.

    The caller retries the same request with the same idempotency key, or queries.
    """

    status = 503
    code = "payment_provider_unavailable"
    title = "Payment provider unavailable"


class InvalidSignature(ProviderError):
    """A notification or a response did not carry a valid signature of the provider: it is
    treated as forged and never acted upon."""

    status = 400
    code = "payment_invalid_signature"
    title = "Invalid payment signature"


class MalformedNotification(ProviderError):
    """A notification whose signature verifies but whose content we cannot act on (fields
    missing or of the wrong type, an unknown trade, an amount that differs from the payment):
    answered 400 and nothing changes."""

    status = 400
    code = "payment_notification_malformed"
    title = "Payment notification cannot be used"


class ChargeNotFound(ProviderError):
    """The provider knows no charge with this ``out_trade_no`` (yet).

    For a QR charge not scanned yet this is normal with Alipay, which creates the trade only
    when the customer scans; keep waiting rather than treating it as failed.
    """

    status = 404
    code = "payment_charge_not_found"
    title = "Charge not found at the payment provider"


class PaymentProvider(ABC):
    """A QR / wallet payment provider (WeChat Pay, Alipay, the simulator).

    Every method that moves money is idempotent by the caller's key (``out_trade_no`` for
    charges, ``out_refund_no`` for refunds): repeating it returns the same charge or refund and
    never moves money twice.
    """

    name: str

    @abstractmethod
    async def charge_with_payment_code(self, request: ChargeRequest) -> ChargeResult:
        """Charge the customer's scanned payment code (``request.payment_code``) at once.

        Returns SUCCEEDED, FAILED (declined, with a reason) or PENDING when the customer must
        confirm on the phone first; then ``query`` until it settles, or ``cancel``.
        """

    @abstractmethod
    async def create_qr_charge(self, request: ChargeRequest) -> ChargeResult:
        """Create a charge the customer pays by scanning a QR code.

        Returns PENDING with ``qr_code`` set; the outcome comes by notification or ``query``.
        """

    @abstractmethod
    async def query(self, out_trade_no: str, amount_currency: str) -> ChargeResult:
        """Ask the provider where a charge stands.

        ``amount_currency`` is the currency of the charge, for providers that answer with bare
        decimal amounts. Raises :class:`ChargeNotFound` when the provider has no such charge.
        """

    @abstractmethod
    async def cancel(self, out_trade_no: str) -> None:
        """Abandon a charge so it can no longer be paid.

        Where the provider can also return money already taken (payment-code charges, and any
        Alipay charge) it does; where it cannot (a paid WeChat QR charge) this raises
        :class:`ProviderError` and the caller refunds instead.
        """

    @abstractmethod
    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part or all of a paid charge. A refund the provider refuses (for example one
        larger than what is left to refund) comes back FAILED with a reason."""

    @abstractmethod
    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        """Verify and read a payment notification the provider sent to our ``notify_url``.

        Raises :class:`InvalidSignature` when the signature does not verify; nothing in an
        unverified notification may be trusted. Raises :class:`MalformedNotification` when it
        verifies but lacks what we need (out_trade_no, amount, status).
        """

    def acknowledgement(self) -> tuple[str, bytes]:
        """The media type and body that tell this provider a notification was handled (so it
        stops re-sending it)."""
        return "application/json", b'{"code":"SUCCESS","message":"OK"}'
