"""What the returns screens show, as plain data read through the services, and the small
rules behind their forms (typed words, amounts, date ranges). No NiceGUI here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.i18n import N_
from kassa.orders import service as orders
from kassa.payments import refunds as payment_refunds
from kassa.payments.models import Refund, RefundStatus
from kassa.returns import service
from kassa.returns.models import (
    Confirmation,
    ConfirmationMode,
    RefundState,
    ReturnLine,
    ReturnRequest,
    ReturnSettings,
    ReturnStatus,
    TimeoutAction,
)
from kassa.returns.settings import reason_name

STATUS_LABELS = {
    ReturnStatus.PENDING: N_("Waiting for approval"),
    ReturnStatus.APPROVED: N_("Approved"),
    ReturnStatus.REJECTED: N_("Rejected"),
}
STATUS_COLORS = {
    ReturnStatus.PENDING: "orange",
    ReturnStatus.APPROVED: "positive",
    ReturnStatus.REJECTED: "grey",
}
CONFIRMATION_LABELS = {
    Confirmation.NOT_ASKED: N_("Customer not asked"),
    Confirmation.AWAITING: N_("Awaiting the customer's reply"),
    Confirmation.CONFIRMED: N_("Confirmed by the customer"),
    Confirmation.DISPUTED: N_("Disputed by the customer"),
    Confirmation.AUTO_CONFIRMED: N_("Confirmed (no reply in time)"),
    Confirmation.ESCALATED: N_("No reply: a manager decides"),
    Confirmation.RESOLVED: N_("Settled by a manager"),
}
REFUND_STATE_LABELS = {
    RefundState.NONE: N_("Nothing to refund"),
    RefundState.HELD: N_("Refund held for the confirmation"),
    RefundState.IN_PROGRESS: N_("Refund in progress"),
    RefundState.DONE: N_("Refunded"),
    RefundState.FAILED: N_("Refund failed"),
    RefundState.CANCELLED: N_("No refund"),
}
REFUND_STATUS_LABELS = {
    RefundStatus.PENDING: N_("to pay out"),
    RefundStatus.SUCCEEDED: N_("paid out"),
    RefundStatus.FAILED: N_("failed"),
    RefundStatus.CANCELLED: N_("cancelled"),
}
CONFIRMATION_MODE_LABELS = {
    ConfirmationMode.BEFORE_REFUND: N_("Refund once the customer confirms"),
    ConfirmationMode.AFTER_REFUND: N_("Refund at once; the reply is only recorded"),
}
TIMEOUT_ACTION_LABELS = {
    TimeoutAction.AUTO_CONFIRM: N_("Count as confirmed"),
    TimeoutAction.ESCALATE: N_("Ask a manager"),
}
APPROVAL_METHOD_LABELS = {
    "role": N_("by role"),
    "manager_pin": N_("manager's PIN"),
    "manager_sms_code": N_("manager's SMS code"),
}


@dataclass(frozen=True)
class ReturnItem:
    """One return with what the queue and the archive show about it."""

    request: ReturnRequest
    lines: tuple[ReturnLine, ...]
    refunds: tuple[Refund, ...]
    bill_number: int
    reason: str
    requested_by: str
    reviewed_by: str

    @property
    def id(self) -> int:
        return self.request.id

    @property
    def number(self) -> str:
        return f"R{self.request.id}"

    @property
    def dishes(self) -> str:
        return ", ".join(f"{line.name} ×{line.quantity}" for line in self.lines)

    @property
    def is_pending(self) -> bool:
        return self.request.status == ReturnStatus.PENDING

    @property
    def needs_manager(self) -> bool:
        return self.request.confirmation in service.NEEDS_MANAGER


@dataclass(frozen=True)
class PayoutItem:
    """A cash or card refund a cashier still has to hand over."""

    refund: Refund
    bill_number: int
    return_number: str | None


async def load_items(
    session: AsyncSession,
    actor: Actor,
    requests: Sequence[ReturnRequest],
    staff_names: Mapping[int, str],
    locale: str,
) -> list[ReturnItem]:
    rules: dict[int, ReturnSettings] = {}
    items = []
    for request in requests:
        if request.store_id not in rules:
            rules[request.store_id] = await service.settings_of(session, request.store_id)
        bill = await orders.get_bill(session, actor, request.bill_id)
        items.append(
            ReturnItem(
                request=request,
                lines=tuple(await service.return_lines(session, request.id)),
                refunds=tuple(await payment_refunds.refunds_of(session, service.SUBJECT, request.id)),
                bill_number=bill.number,
                reason=reason_name(rules[request.store_id], request.reason_code, locale),
                requested_by=staff_names.get(request.requested_by_staff_id, ""),
                reviewed_by=staff_names.get(request.reviewed_by_staff_id or 0, ""),
            )
        )
    return items


@dataclass(frozen=True)
class QueueView:
    returns: tuple[ReturnItem, ...]
    payouts: tuple[PayoutItem, ...]

    @property
    def count(self) -> int:
        """What the header badge shows: returns to decide plus refunds to hand over."""
        return len(self.returns) + len(self.payouts)


async def load_queue(
    session: AsyncSession, actor: Actor, store_id: int, staff_names: Mapping[int, str], locale: str
) -> QueueView:
    requests = await service.approval_queue(session, actor, store_id)
    payouts = []
    for refund in await payment_refunds.pending_payouts(session, actor, store_id):
        bill = await orders.get_bill(session, actor, refund.bill_id)
        payouts.append(
            PayoutItem(
                refund=refund,
                bill_number=bill.number,
                return_number=f"R{refund.source_id}" if refund.source_type == service.SUBJECT else None,
            )
        )
    return QueueView(tuple(await load_items(session, actor, requests, staff_names, locale)), tuple(payouts))


# --- forms --------------------------------------------------------------------------------


def words_text(words: Sequence[str]) -> str:
    return ", ".join(str(word) for word in words)


def parse_words(text: str) -> list[str]:
    """Reply words typed with commas (any width) or spaces between them, duplicates dropped."""
    cleaned = text.replace("，", ",").replace("、", ",")
    words: list[str] = []
    for part in cleaned.replace(",", " ").split():
        if part not in words:
            words.append(part)
    return words


def reason_code_of(text: str) -> str:
    """A reason code from what was typed: lower case, words joined by underscores."""
    return "_".join(text.strip().lower().split())[:40]


def date_range(
    date_from: date | None, date_to: date | None, timezone: str
) -> tuple[datetime | None, datetime | None]:
    """Whole local days, from the start of ``date_from`` to the end of ``date_to``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(date_from, time(), zone) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time(), zone) if date_to else None
    return start, end


def parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip()) if text and text.strip() else None
    except ValueError:
        return None
