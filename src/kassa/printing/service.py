"""Print jobs: documents rendered now, sent to the printer by the outbox worker after commit.

A print job is an outbox message of kind ``print.document`` holding the ESC/POS bytes
(base64), where they go and a plain-text preview. Rendering happens when the job is
queued, in the transaction that made the sale, so the paper shows the bill as it was then
and a later look at the job shows exactly what was printed. A reprint is a new document
with ``is_copy=True`` (it prints the COPY banner), queued as a new job.

A printer cannot tell a job it has seen from a new one, so in the rare case the worker
stops between sending and recording it (see ``kassa.core.outbox``), a receipt prints twice;
it never goes missing.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import outbox
from kassa.core.errors import ValidationFailed
from kassa.core.outbox import (
    ClaimedMessage,
    Handler,
    OutboxMessage,
    OutboxStatus,
    PermanentFailure,
    RetryLater,
)
from kassa.printing.documents import KitchenTicket, PrintDocument, ReceiptDocument, ReturnSlip
from kassa.printing.escpos_render import CharacterSet, render_escpos, render_text
from kassa.printing.layout import PaperWidth
from kassa.printing.printers import PrinterUnavailable, parse_destination, send_to_printer_async

PRINT_DOCUMENT_KIND = "print.document"

RECEIPT = "receipt"
KITCHEN_TICKET = "kitchen_ticket"
RETURN_SLIP = "return_slip"


def _document_type(document: PrintDocument) -> str:
    if isinstance(document, ReceiptDocument):
        return RECEIPT
    if isinstance(document, KitchenTicket):
        return KITCHEN_TICKET
    if isinstance(document, ReturnSlip):
        return RETURN_SLIP
    raise TypeError(f"cannot print a {type(document).__name__}")


async def enqueue_print(
    session: AsyncSession,
    *,
    store_id: int,
    destination: str,
    document: PrintDocument,
    width: PaperWidth,
    dedupe_key: str | None,
    character_set: CharacterSet | None = None,
) -> OutboxMessage:
    """Queue ``document`` for the printer at ``destination``, in the caller's unit of work.

    The document is rendered here for paper ``width`` (and the printer's
    ``character_set``, by default the one the document's locale needs). A destination that
    can never work is refused now, not discovered by the worker. ``dedupe_key`` names the
    business event ("receipt:bill:42"), so queuing it again returns the job already there.
    """
    try:
        parse_destination(destination)
    except ValueError as error:
        raise ValidationFailed(str(error), field="destination") from error
    data = render_escpos(document, width, character_set=character_set)
    payload: dict[str, Any] = {
        "destination": destination,
        "data": base64.b64encode(data).decode("ascii"),
        "preview": render_text(document, width),
        "document_type": _document_type(document),
        "bill_number": document.bill_number,
        "is_copy": document.is_copy,
        "width": int(width),
    }
    # No attempt limit: a printer that is off (paper out, unplugged for the night) is no
    # reason to lose a receipt. The job waits, tried at most five minutes apart, until it
    # prints or staff cancel it (``kassa.deliveries``).
    return await outbox.enqueue(
        session, PRINT_DOCUMENT_KIND, payload, store_id=store_id, dedupe_key=dedupe_key, max_attempts=None
    )


async def deliver_print(message: ClaimedMessage) -> None:
    """Send a print job's bytes to its printer; a printer that is off is tried again later."""
    try:
        destination = str(message.payload["destination"])
        data = base64.b64decode(str(message.payload["data"]), validate=True)
    except (KeyError, binascii.Error) as error:
        raise PermanentFailure(f"print job {message.id} is malformed: {error!r}") from error
    try:
        await send_to_printer_async(destination, data)
    except PrinterUnavailable as error:
        raise RetryLater(error.detail) from error
    except ValueError as error:  # a destination that can never work
        raise PermanentFailure(str(error)) from error


def register_print_handlers(handlers: dict[str, Handler]) -> None:
    """Add the printing handlers to the outbox worker's handlers."""
    handlers[PRINT_DOCUMENT_KIND] = deliver_print


@dataclass(frozen=True)
class PrintJob:
    """A print job as the register shows it: where, what, and how it is going."""

    id: int
    destination: str
    document_type: str
    bill_number: str
    is_copy: bool
    preview: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _print_job(message: OutboxMessage) -> PrintJob:
    payload = message.payload
    return PrintJob(
        id=message.id,
        destination=str(payload["destination"]),
        document_type=str(payload["document_type"]),
        bill_number=str(payload["bill_number"]),
        is_copy=bool(payload["is_copy"]),
        preview=str(payload["preview"]),
        status=message.status,
        attempts=message.attempts,
        last_error=message.last_error,
        created_at=message.created_at,
        sent_at=message.sent_at,
    )


async def list_print_jobs(
    session: AsyncSession,
    store_id: int,
    status: OutboxStatus | Collection[OutboxStatus] | None = None,
    limit: int = 100,
) -> list[PrintJob]:
    """A store's print jobs, newest first, e.g. those waiting for a printer
    (``outbox.WAITING_STATUSES``) or those given up on (``OutboxStatus.DEAD``)."""
    messages = await outbox.list_messages(session, store_id, status, limit, kind=PRINT_DOCUMENT_KIND)
    return [_print_job(message) for message in messages]
