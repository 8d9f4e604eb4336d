"""Shifts: open a register's drawer with a counted float, put cash in and take it out, see
the X report at any time, and close with the count by denomination, recording over/short.

The drawer's expected cash is derived, never stored while the shift is open: opening float
+ cash sales - cash refunds + cash in - cash out + cash taken for members' stored-value
top-ups (``payments.TopUpPayment``). Cash sales are the succeeded cash
payments taken on the register while the shift was open; closing stores the figures of
that moment, so a closed shift's report never changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.core.i18n import normalize_locale
from kassa.core.money import Money
from kassa.core.scope import load_scoped
from kassa.orders.service import business_date_of
from kassa.payments.models import Payment, PaymentStatus, Refund, RefundStatus, Tender, TopUpPayment
from kassa.shifts.denominations import count_cash
from kassa.shifts.models import CashMovement, CashMovementKind, Shift, ShiftStatus
from kassa.shifts.schemas import CashMovementOut, ShiftOut, ShiftReport, TenderTotal, TopUpTotal
from kassa.staff.models import StaffMember
from kassa.stores.models import Register, Store
from kassa.stores.service import store_topic


class ShiftAlreadyOpen(Conflict):
    code = "shift_open"
    title = "A shift is open on this register"


class ShiftClosed(Conflict):
    code = "shift_closed"
    title = "Shift is closed"


@dataclass(frozen=True)
class CashFigures:
    """The drawer of a shift up to a moment."""

    opening_float: int
    cash_sales: int
    cash_sales_count: int
    cash_refunds: int
    cash_in: int
    cash_out: int
    cash_top_ups: int = 0

    @property
    def expected(self) -> int:
        return (
            self.opening_float
            + self.cash_sales
            - self.cash_refunds
            + self.cash_in
            - self.cash_out
            + self.cash_top_ups
        )


def _announce(session: AsyncSession, shift: Shift, name: str) -> None:
    publish_after_commit(
        session,
        Event(
            store_topic(shift.store_id),
            name,
            {"shift_id": shift.id, "register_id": shift.register_id, "status": shift.status.value},
        ),
    )


async def _register_of(session: AsyncSession, actor: Actor, register_id: int) -> tuple[Register, Store]:
    # The row lock makes two openings of one register queue (PostgreSQL); SQLite's
    # BEGIN IMMEDIATE serialises writers already. The partial unique index is the backstop.
    register = await load_scoped(session, actor, Register, register_id, field="register_id", for_update=True)
    store = await session.get(Store, register.store_id)
    assert store is not None
    if not register.is_active:
        raise Conflict(f"register {register.name} is switched off", field="register_id")
    return register, store


async def open_shift(
    session: AsyncSession,
    actor: Actor,
    register_id: int,
    *,
    denominations: Mapping[int, int] | None = None,
    amount: int | None = None,
    note: str = "",
) -> Shift:
    """Open a shift on a register with the float counted into the drawer (by denomination
    or as an amount). One open shift per register: close the last one first."""
    actor.require(Permission.SHIFT_MANAGE)
    register, store = await _register_of(session, actor, register_id)
    existing = await current_shift_id(session, register.id)
    if existing is not None:
        raise ShiftAlreadyOpen(
            f"register {register.name} has an open shift; close it first",
            field="register_id",
            extra={"shift_id": existing},
        )
    opening_float, stored = count_cash(store.currency, denominations, amount)
    now = utc_now()
    shift = Shift(
        store_id=store.id,
        register_id=register.id,
        business_date=business_date_of(store, now),
        status=ShiftStatus.OPEN,
        currency=store.currency,
        opening_float_amount=opening_float,
        opening_denominations=stored,
        opened_at=now,
        opened_by_staff_id=actor.staff_id,
        note=note.strip(),
    )
    session.add(shift)
    await session.flush()
    audit.record(
        session,
        actor,
        "shift.open",
        "shift",
        shift.id,
        store_id=store.id,
        after={"register_id": register.id, "opening_float": opening_float, "denominations": stored},
    )
    _announce(session, shift, "shift.opened")
    return shift


async def current_shift_id(session: AsyncSession, register_id: int) -> int | None:
    return await session.scalar(
        select(Shift.id).where(Shift.register_id == register_id, Shift.status == ShiftStatus.OPEN)
    )


async def current_shift(session: AsyncSession, actor: Actor, register_id: int) -> Shift:
    """The open shift of a register (404 when none is open). Any staff of the store may ask:
    the register screen shows whether its drawer is open."""
    register = await load_scoped(session, actor, Register, register_id, field="register_id")
    shift_id = await current_shift_id(session, register.id)
    if shift_id is None:
        raise NotFound(f"no open shift on register {register.name}", field="register_id")
    return await get_shift(session, actor, shift_id)


async def get_shift(session: AsyncSession, actor: Actor, shift_id: int, *, for_update: bool = False) -> Shift:
    """The shift with this id if it is of a store the actor acts in, else not found."""
    return await load_scoped(
        session, actor, Shift, shift_id, field="shift_id", for_update=for_update, populate_existing=for_update
    )


async def _lock_open_shift(session: AsyncSession, actor: Actor, shift_id: int) -> Shift:
    """The shift, row-locked until commit (cash movements and the close queue), if open."""
    shift = await get_shift(session, actor, shift_id, for_update=True)
    if shift.status != ShiftStatus.OPEN:
        raise ShiftClosed(f"shift {shift.id} is closed", field="shift_id")
    return shift


async def _cash_sales(session: AsyncSession, shift: Shift, until: datetime) -> tuple[int, int]:
    """Cash payments taken on the shift's register while it was open: their amount (what
    counts towards the bills; change went back to the customer) and how many.

    Voided payments are not counted: their cash went back before the bill closed.
    """
    row = (
        await session.execute(
            select(func.coalesce(func.sum(Payment.amount), 0), func.count(Payment.id)).where(
                Payment.register_id == shift.register_id,
                Payment.tender == Tender.CASH,
                Payment.status == PaymentStatus.SUCCEEDED,
                Payment.completed_at >= shift.opened_at,
                Payment.completed_at < until,
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def _cash_refunds(session: AsyncSession, shift: Shift, until: datetime) -> int:
    """Cash handed back from this register's drawer for returns during the shift."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.register_id == shift.register_id,
            Refund.tender == Tender.CASH,
            Refund.status == RefundStatus.SUCCEEDED,
            Refund.completed_at >= shift.opened_at,
            Refund.completed_at < until,
        )
    )
    return int(total or 0)


async def _cash_top_ups(session: AsyncSession, shift: Shift, until: datetime) -> int:
    """Cash taken into this register's drawer for stored-value top-ups during the shift."""
    total = await session.scalar(
        select(func.coalesce(func.sum(TopUpPayment.amount), 0)).where(
            TopUpPayment.register_id == shift.register_id,
            TopUpPayment.tender == Tender.CASH,
            TopUpPayment.status == PaymentStatus.SUCCEEDED,
            TopUpPayment.completed_at >= shift.opened_at,
            TopUpPayment.completed_at < until,
        )
    )
    return int(total or 0)


async def top_up_totals(session: AsyncSession, shift: Shift, until: datetime) -> list[TopUpTotal]:
    """Stored-value top-ups taken on the shift's register while it was open, per tender."""
    rows = await session.execute(
        select(
            TopUpPayment.tender, func.count(TopUpPayment.id), func.coalesce(func.sum(TopUpPayment.amount), 0)
        )
        .where(
            TopUpPayment.register_id == shift.register_id,
            TopUpPayment.status == PaymentStatus.SUCCEEDED,
            TopUpPayment.completed_at >= shift.opened_at,
            TopUpPayment.completed_at < until,
        )
        .group_by(TopUpPayment.tender)
    )
    totals = {Tender(tender): (int(count), int(amount)) for tender, count, amount in rows.all()}
    return [
        TopUpTotal(tender=tender, count=totals[tender][0], amount=totals[tender][1])
        for tender in Tender
        if tender in totals
    ]


async def _movement_totals(session: AsyncSession, shift_id: int) -> tuple[int, int]:
    row = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(
                        case((CashMovement.kind == CashMovementKind.CASH_IN, CashMovement.amount), else_=0)
                    ),
                    0,
                ),
                func.coalesce(
                    func.sum(
                        case((CashMovement.kind == CashMovementKind.CASH_OUT, CashMovement.amount), else_=0)
                    ),
                    0,
                ),
            ).where(CashMovement.shift_id == shift_id)
        )
    ).one()
    return int(row[0]), int(row[1])


async def cash_figures(session: AsyncSession, shift: Shift, until: datetime | None = None) -> CashFigures:
    """The drawer now (or at ``until``); a closed shift gives the figures stored at its close."""
    if shift.status == ShiftStatus.CLOSED:
        assert shift.cash_sales_amount is not None
        assert shift.cash_refunds_amount is not None
        assert shift.cash_in_amount is not None
        assert shift.cash_out_amount is not None
        end = shift.closed_at or utc_now()
        _, count = await _cash_sales(session, shift, end)
        return CashFigures(
            shift.opening_float_amount,
            shift.cash_sales_amount,
            count,
            shift.cash_refunds_amount,
            shift.cash_in_amount,
            shift.cash_out_amount,
            shift.cash_top_ups_amount or 0,
        )
    end = until or utc_now()
    sales, count = await _cash_sales(session, shift, end)
    cash_in, cash_out = await _movement_totals(session, shift.id)
    return CashFigures(
        shift.opening_float_amount,
        sales,
        count,
        await _cash_refunds(session, shift, end),
        cash_in,
        cash_out,
        await _cash_top_ups(session, shift, end),
    )


async def _hides_expected_cash(session: AsyncSession, actor: Actor, shift: Shift) -> bool:
    """A blind drawer count (store option): until the count is in, whoever counts does not
    see what the drawer should hold (those who read reports, ``report.view``, still do)."""
    if shift.status != ShiftStatus.OPEN or actor.can(Permission.REPORT_VIEW):
        return False
    store = await session.get(Store, shift.store_id)
    return store is not None and store.is_drawer_count_blind


async def record_cash_movement(
    session: AsyncSession, actor: Actor, shift_id: int, *, kind: CashMovementKind, amount: int, reason: str
) -> CashMovement:
    """Put cash into the drawer or take it out, saying why. Cash out cannot take more than
    the drawer should hold."""
    actor.require(Permission.CASH_DRAWER)
    if amount <= 0:
        raise ValidationFailed("an amount of cash is more than zero", field="amount")
    if not reason.strip():
        raise ValidationFailed("say why cash goes in or out", field="reason")
    shift = await _lock_open_shift(session, actor, shift_id)
    if kind == CashMovementKind.CASH_OUT:
        expected = (await cash_figures(session, shift)).expected
        if amount > expected:
            if await _hides_expected_cash(session, actor, shift):
                raise Conflict("the drawer does not hold that much", field="amount")
            raise Conflict(
                f"the drawer should hold only {Money(expected, shift.currency)}",
                field="amount",
                extra={"expected_cash_amount": expected},
            )
    movement = CashMovement(
        shift_id=shift.id,
        store_id=shift.store_id,
        register_id=shift.register_id,
        kind=kind,
        amount=amount,
        currency=shift.currency,
        reason=reason.strip(),
        created_by_staff_id=actor.staff_id,
        created_at=utc_now(),
    )
    session.add(movement)
    await session.flush()
    audit.record(
        session,
        actor,
        f"shift.{kind.value}",
        "shift",
        shift.id,
        store_id=shift.store_id,
        after={"movement_id": movement.id, "kind": kind, "amount": amount, "reason": movement.reason},
    )
    _announce(session, shift, "shift.cash_movement")
    return movement


async def close_shift(
    session: AsyncSession,
    actor: Actor,
    shift_id: int,
    *,
    denominations: Mapping[int, int] | None = None,
    amount: int | None = None,
) -> Shift:
    """Close the shift with the cash counted in the drawer; the difference to the expected
    cash (counted - expected: positive over, negative short) is recorded. Closing twice is a
    conflict."""
    actor.require(Permission.SHIFT_MANAGE)
    shift = await _lock_open_shift(session, actor, shift_id)
    counted, stored = count_cash(shift.currency, denominations, amount)
    now = utc_now()
    figures = await cash_figures(session, shift, now)
    shift.status = ShiftStatus.CLOSED
    shift.closed_at = now
    shift.closed_by_staff_id = actor.staff_id
    shift.cash_sales_amount = figures.cash_sales
    shift.cash_refunds_amount = figures.cash_refunds
    shift.cash_in_amount = figures.cash_in
    shift.cash_out_amount = figures.cash_out
    shift.cash_top_ups_amount = figures.cash_top_ups
    shift.expected_cash_amount = figures.expected
    shift.counted_cash_amount = counted
    shift.counted_denominations = stored
    shift.difference_amount = counted - figures.expected
    await session.flush()
    audit.record(
        session,
        actor,
        "shift.close",
        "shift",
        shift.id,
        store_id=shift.store_id,
        after={
            "expected": figures.expected,
            "counted": counted,
            "difference": shift.difference_amount,
            "denominations": stored,
        },
    )
    _announce(session, shift, "shift.closed")
    return shift


async def staff_names(session: AsyncSession, staff_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {staff_id for staff_id in staff_ids if staff_id is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(StaffMember.id, StaffMember.display_name).where(StaffMember.id.in_(wanted))
    )
    return {int(staff_id): str(name) for staff_id, name in rows.all()}


async def movements_of(session: AsyncSession, shift_id: int) -> Sequence[CashMovement]:
    query = select(CashMovement).where(CashMovement.shift_id == shift_id).order_by(CashMovement.id)
    return (await session.scalars(query)).all()


async def _tenders(session: AsyncSession, shift: Shift, until: datetime) -> list[TenderTotal]:
    rows = await session.execute(
        select(
            Payment.tender,
            func.count(Payment.id),
            func.coalesce(func.sum(Payment.amount), 0),
            func.coalesce(func.sum(Payment.change_amount), 0),
        )
        .where(
            Payment.register_id == shift.register_id,
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.completed_at >= shift.opened_at,
            Payment.completed_at < until,
        )
        .group_by(Payment.tender)
    )
    totals = {
        Tender(tender): TenderTotal(
            tender=tender, count=int(count), amount=int(amount), change_amount=int(change)
        )
        for tender, count, amount, change in rows.all()
    }
    return [totals[tender] for tender in Tender if tender in totals]


def require_report_rights(actor: Actor) -> None:
    """Cashiers see their shift's X report; managers see every report."""
    if not (actor.can(Permission.SHIFT_MANAGE) or actor.can(Permission.REPORT_VIEW)):
        raise PermissionDenied(
            f"{actor.role or 'this session'} may not see shift reports",
            extra={"permission": Permission.SHIFT_MANAGE.value},
        )


def staff_name(staff_id: int | None, names: Mapping[int, str]) -> str:
    if staff_id is None:
        return "system"
    return names.get(staff_id, f"#{staff_id}")


async def shift_report(
    session: AsyncSession, actor: Actor, shift_id: int, *, locale: str | None = None
) -> ShiftReport:
    """The X report of an open shift (the drawer so far; nothing closes), or the closing
    report of a closed one (its stored figures, the count and the difference)."""
    require_report_rights(actor)
    shift = await get_shift(session, actor, shift_id)
    store = await session.get(Store, shift.store_id)
    register = await session.get(Register, shift.register_id)
    assert store is not None
    assert register is not None
    now = utc_now()
    until = shift.closed_at or now
    figures = await cash_figures(session, shift, until)
    movements = await movements_of(session, shift.id)
    names = await staff_names(
        session,
        [
            shift.opened_by_staff_id,
            shift.closed_by_staff_id,
            *(item.created_by_staff_id for item in movements),
        ],
    )
    is_closed = shift.status == ShiftStatus.CLOSED
    is_blind = await _hides_expected_cash(session, actor, shift)
    tenders = await _tenders(session, shift, until)
    return ShiftReport(
        kind="close" if is_closed else "x",
        shift=ShiftOut.model_validate(shift),
        store_name=store.name,
        register_name=register.name,
        opened_by_name=staff_name(shift.opened_by_staff_id, names),
        closed_by_name=staff_name(shift.closed_by_staff_id, names) if is_closed else None,
        locale=normalize_locale(locale, default=normalize_locale(store.locale)),
        timezone=store.timezone,
        generated_at=now,
        opening_float_amount=figures.opening_float,
        # A blind count hides every figure the expected cash could be worked out from.
        cash_sales_amount=None if is_blind else figures.cash_sales,
        cash_sales_count=figures.cash_sales_count,
        cash_refunds_amount=None if is_blind else figures.cash_refunds,
        cash_in_amount=figures.cash_in,
        cash_out_amount=figures.cash_out,
        expected_cash_amount=None if is_blind else figures.expected,
        counted_cash_amount=shift.counted_cash_amount,
        difference_amount=shift.difference_amount,
        movements=[CashMovementOut.model_validate(item) for item in movements],
        tenders=[tender for tender in tenders if not (is_blind and tender.tender == Tender.CASH)],
        cash_top_ups_amount=None if is_blind else figures.cash_top_ups,
        top_ups=[
            top_up
            for top_up in await top_up_totals(session, shift, until)
            if not (is_blind and top_up.tender == Tender.CASH)
        ],
        is_count_blind=is_blind,
    )
