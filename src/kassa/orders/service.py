"""Bills: open, add and void lines, discounts, kitchen, park and resume, move, merge, split,
close. Every change names the version of the bill it saw; a stale version is a conflict.

Payments live in ``kassa.payments``; they change a bill through ``lock_bill`` and
``recalculate`` here.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from kassa.catalog import service as catalog
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import current_database, utc_now
from kassa.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.core.money import Money
from kassa.core.phones import normalize_phone
from kassa.core.schemas import MAX_LINES_PER_BILL
from kassa.core.scope import load_scoped, store_filter
from kassa.floor.models import DiningTable
from kassa.members.models import Member
from kassa.orders import receipts
from kassa.orders.models import (
    Bill,
    BillCounter,
    BillLine,
    BillStatus,
    KitchenTicketRecord,
    LineStatus,
    OrderType,
)
from kassa.orders.totals import Discount, LinePart, even_shares, line_total, split_line, totals_of
from kassa.payments.models import Payment, PaymentStatus
from kassa.stores import service as stores
from kassa.stores.models import Register, Store
from kassa.stores.service import store_topic

MAX_LINE_QUANTITY = 999
DEFAULT_KITCHEN_STATION = "kitchen"


class DiscountAboveTotal(ValidationFailed):
    """A fixed discount larger than what it discounts: refused, never capped silently."""

    code = "discount_above_total"
    title = "Discount larger than the amount"


class BillFull(Conflict):
    """Lines are bounded so that no bill total can leave the range of its columns."""

    code = "bill_full"
    title = "Bill has too many lines"


async def _require_room_for(session: AsyncSession, bill: Bill, count: int) -> None:
    held = await session.scalar(select(func.count()).select_from(BillLine).where(BillLine.bill_id == bill.id))
    if (held or 0) + count > MAX_LINES_PER_BILL:
        raise BillFull(
            f"a bill holds at most {MAX_LINES_PER_BILL} lines; open another bill", field="product_id"
        )


class BillClosed(Conflict):
    code = "bill_closed"
    title = "Bill is closed"


def business_date_of(store: Store, moment: datetime) -> date:
    """The store's business day of ``moment``: local time, shifted by the day's start hour."""
    local = moment.astimezone(ZoneInfo(store.timezone))
    return (local - timedelta(hours=store.business_day_start_hour)).date()


async def _next_bill_number(session: AsyncSession, store_id: int, business_date: date) -> int:
    """The store's next bill number of the day.

    On PostgreSQL it is counted in a transaction of its own, as a SEQUENCE would be: the
    counter row is locked for one statement instead of the whole opening (a one-step sale
    holds it to the end otherwise, and every bill of the store waits). A bill that fails
    to open leaves its number unused. SQLite has one writer at a time anyway, and a unit of
    work joined to an outer transaction (tests) keeps the counter in it.
    """
    values = {"store_id": store_id, "business_date": business_date, "last_number": 0}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    register = insert(BillCounter).values(values).on_conflict_do_nothing()
    take = (
        update(BillCounter)
        .where(BillCounter.store_id == store_id, BillCounter.business_date == business_date)
        .values(last_number=BillCounter.last_number + 1)
        .returning(BillCounter.last_number)
    )
    database = current_database()
    if dialect == "postgresql" and database is not None and session.bind is database.engine:
        async with database.sequence_engine().begin() as connection:
            await connection.execute(register)
            number = await connection.scalar(take)
    else:
        await session.execute(register)
        number = await session.scalar(take)
    assert number is not None
    return int(number)


def announce(session: AsyncSession, bill: Bill, name: str = "bill.changed") -> None:
    """Tell the store's screens (after commit) that this bill changed."""
    publish_after_commit(
        session,
        Event(
            store_topic(bill.store_id),
            name,
            {
                "bill_id": bill.id,
                "version": bill.version,
                "status": bill.status.value,
                "table_id": bill.table_id,
            },
        ),
    )


async def _register_of(session: AsyncSession, actor: Actor) -> tuple[Register, Store]:
    if actor.register_id is None:
        raise PermissionDenied(
            "bills are opened on a register; log in there with your PIN", field="register_id"
        )
    register = await session.get(Register, actor.register_id)
    if register is None:
        raise NotFound(f"no register {actor.register_id}", field="register_id")
    store = await session.get(Store, register.store_id)
    assert store is not None
    actor.require_store(store.id)
    return register, store


async def _check_table(
    session: AsyncSession, store_id: int, table_id: int, *, except_bill_id: int | None = None
) -> None:
    table = await session.get(DiningTable, table_id)
    if table is None or table.store_id != store_id or not table.is_active:
        raise NotFound(f"no table {table_id} in this store", field="table_id")
    query = select(Bill.id).where(Bill.table_id == table_id, Bill.status == BillStatus.OPEN)
    if except_bill_id is not None:
        query = query.where(Bill.id != except_bill_id)
    occupied_by = await session.scalar(query.limit(1))
    if occupied_by is not None:
        raise Conflict(
            f"table {table.name} has an open bill already; merge into it instead",
            field="table_id",
            extra={"bill_id": occupied_by},
        )


async def open_bill(
    session: AsyncSession,
    actor: Actor,
    *,
    order_type: OrderType,
    table_id: int | None = None,
    guest_count: int | None = None,
    delivery_address: str | None = None,
    delivery_phone: str | None = None,
    note: str = "",
) -> Bill:
    """Open a bill on the actor's register.

    Dine-in needs a free table and a guest count; delivery needs an address and a phone;
    takeaway and delivery get a pickup code (the day's bill number) to print and call out.
    """
    actor.require(Permission.BILL_OPEN)
    register, store = await _register_of(session, actor)
    if order_type == OrderType.DINE_IN:
        if table_id is None:
            raise ValidationFailed("a dine-in bill needs a table", field="table_id")
        if guest_count is None or not 1 <= guest_count <= 100:
            raise ValidationFailed("a dine-in bill needs 1 to 100 guests", field="guest_count")
        await _check_table(session, store.id, table_id)
    elif table_id is not None:
        raise ValidationFailed("only dine-in bills have a table", field="table_id")
    delivery_address = (delivery_address or "").strip() or None
    if delivery_phone is not None and delivery_phone.strip():
        # Stored in E.164 like every other phone number, so a typo ("12345") is refused here.
        delivery_phone = normalize_phone(delivery_phone, store.phone_region, field="delivery_phone")
    else:
        delivery_phone = None
    if order_type == OrderType.DELIVERY and not (delivery_address and delivery_phone):
        raise ValidationFailed(
            "a delivery needs an address and a phone",
            field="delivery_address" if not delivery_address else "delivery_phone",
        )
    now = utc_now()
    business_date = business_date_of(store, now)
    number = await _next_bill_number(session, store.id, business_date)
    bill = Bill(
        store_id=store.id,
        register_id=register.id,
        opened_by_staff_id=actor.staff_id,
        business_date=business_date,
        number=number,
        order_type=order_type,
        currency=store.currency,
        table_id=table_id,
        guest_count=guest_count,
        pickup_code=f"{number:03d}" if order_type != OrderType.DINE_IN else None,
        delivery_address=delivery_address,
        delivery_phone=delivery_phone,
        note=note,
        receipt_token=secrets.token_urlsafe(32),
        opened_at=now,
    )
    session.add(bill)
    await session.flush()
    # A new bill has no lines or payments: nothing to read back.
    session.info.setdefault(_LINES_CACHE, {})[bill.id] = []
    session.info.setdefault(_PAYMENTS_CACHE, {})[bill.id] = []
    audit.record(
        session,
        actor,
        "bill.open",
        "bill",
        bill.id,
        store_id=store.id,
        after={"number": number, "order_type": order_type, "table_id": table_id, "guest_count": guest_count},
    )
    announce(session, bill, "bill.opened")
    return bill


async def lock_bill(session: AsyncSession, actor: Actor, bill_id: int, expected_version: int) -> Bill:
    """Take the bill for a change: bump its version if it is still ``expected_version`` and
    open. The UPDATE holds the row (PostgreSQL) or the database (SQLite) until commit, so
    concurrent changes of one bill queue, and the later one sees a stale version."""
    # RETURNING the whole row refreshes the bill in the session with the same statement.
    bumped: Bill | None = await session.scalar(
        update(Bill)
        .where(
            Bill.id == bill_id,
            Bill.version == expected_version,
            Bill.status == BillStatus.OPEN,
            store_filter(actor, Bill.store_id),
        )
        .values(version=Bill.version + 1)
        .returning(Bill),
        execution_options={"populate_existing": True, "synchronize_session": False},
    )
    bill = bumped or await get_bill(session, actor, bill_id, populate_existing=True)
    if bumped is None:
        if bill.status != BillStatus.OPEN:
            raise BillClosed(f"bill {bill.number} is {bill.status.value}", field="bill_id")
        raise StaleVersion(
            f"bill {bill.number} was changed elsewhere (now version {bill.version}); reload it",
            field="version",
            extra={"current_version": bill.version},
        )
    return bill


async def get_bill(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    *,
    for_update: bool = False,
    populate_existing: bool = False,
) -> Bill:
    """The bill with this id if the actor may touch it (a store of theirs), else not found."""
    return await load_scoped(
        session,
        actor,
        Bill,
        bill_id,
        field="bill_id",
        for_update=for_update,
        populate_existing=populate_existing,
    )


# A bill's lines and payments are read several times in one unit of work (the totals, the
# payment's checks, the answer). They are kept in the session per bill and dropped whenever
# the session writes lines or payments (a flush, or an UPDATE/DELETE/INSERT statement) or
# rolls back, so a read never misses a change made in the same unit of work.
_LINES_CACHE = "kassa_bill_lines"
_PAYMENTS_CACHE = "kassa_bill_payments"


def _has_pending(session: AsyncSession, kind: type) -> bool:
    sync = session.sync_session
    return any(isinstance(item, kind) for item in (*sync.new, *sync.dirty, *sync.deleted))


@event.listens_for(Session, "after_flush")
def _forget_flushed(session: Session, _context: object) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(item, BillLine) for item in changed):
        session.info.pop(_LINES_CACHE, None)
    if any(isinstance(item, Payment) for item in changed):
        session.info.pop(_PAYMENTS_CACHE, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_written(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is None or table.name == BillLine.__tablename__:
            state.session.info.pop(_LINES_CACHE, None)
        if table is None or table.name == Payment.__tablename__:
            state.session.info.pop(_PAYMENTS_CACHE, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_all(session: Session, *_args: object) -> None:
    session.info.pop(_LINES_CACHE, None)
    session.info.pop(_PAYMENTS_CACHE, None)


async def bill_lines(
    session: AsyncSession, bill_id: int, *, include_voided: bool = True
) -> Sequence[BillLine]:
    """The bill's lines in the order they were added (voided ones too, unless excluded)."""
    cache: dict[int, list[BillLine]] = session.info.setdefault(_LINES_CACHE, {})
    lines = cache.get(bill_id)
    if lines is None or _has_pending(session, BillLine):
        query = select(BillLine).where(BillLine.bill_id == bill_id).order_by(BillLine.id)
        lines = list((await session.scalars(query)).all())
        session.info.setdefault(_LINES_CACHE, {})[bill_id] = lines
    if include_voided:
        return list(lines)
    return [line for line in lines if line.status == LineStatus.ACTIVE]


async def bill_payments(session: AsyncSession, bill_id: int) -> Sequence[Payment]:
    """The bill's payments in the order they were taken (every status)."""
    cache: dict[int, list[Payment]] = session.info.setdefault(_PAYMENTS_CACHE, {})
    payments = cache.get(bill_id)
    if payments is None or _has_pending(session, Payment):
        query = select(Payment).where(Payment.bill_id == bill_id).order_by(Payment.id)
        payments = list((await session.scalars(query)).all())
        session.info.setdefault(_PAYMENTS_CACHE, {})[bill_id] = payments
    return list(payments)


def _bill_discount(bill: Bill) -> Discount:
    return Discount(bill.discount_basis_points, bill.discount_fixed_amount)


async def recalculate(session: AsyncSession, bill: Bill) -> None:
    """Derive the bill's amounts from its active lines and succeeded payments."""
    lines = await bill_lines(session, bill.id, include_voided=False)
    totals = totals_of(bill, lines)
    payments = await bill_payments(session, bill.id)
    bill.subtotal_amount = totals.subtotal
    bill.discount_amount = totals.discount
    bill.member_discount_amount = totals.member_discount
    bill.total_amount = totals.total
    bill.paid_amount = sum(
        payment.amount for payment in payments if payment.status == PaymentStatus.SUCCEEDED
    )


def amount_due(bill: Bill) -> int:
    """What is still to pay: total, plus cash rounding once applied, less what is paid."""
    return bill.total_amount + bill.rounding_amount - bill.paid_amount


async def _change_stock_for(
    session: AsyncSession, actor: Actor, store: Store, line: BillLine, delta: int, reason: str
) -> None:
    for product_id in line.stock_product_ids:
        await catalog.change_stock(
            session,
            actor,
            store.id,
            product_id,
            delta,
            reason=reason,
            allow_negative=store.allow_negative_stock,
        )


@dataclass(frozen=True)
class NewLine:
    """A product to add to a bill, with its options (``open_price`` for open-price items)."""

    product_id: int
    quantity: int = 1
    modifier_option_ids: Sequence[int] = ()
    open_price: Money | None = None
    note: str = ""


async def add_line(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    *,
    product_id: int,
    quantity: int = 1,
    modifier_option_ids: Sequence[int] = (),
    open_price: Money | None = None,
    note: str = "",
) -> BillLine:
    """Add a product with its modifiers. The price is copied from the catalog now; tracked
    stock goes down at once (and is refused at zero unless the store allows negative stock)."""
    new_line = NewLine(product_id, quantity, tuple(modifier_option_ids), open_price, note)
    (line,) = await add_lines(session, actor, bill_id, version, [new_line])
    return line


async def add_lines(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, new_lines: Sequence[NewLine]
) -> list[BillLine]:
    """Add several lines as one change of the bill (one version, one recalculation): a
    whole order rung up at once. Each line follows the rules of ``add_line``."""
    actor.require(Permission.BILL_EDIT)
    for new_line in new_lines:
        if not 1 <= new_line.quantity <= MAX_LINE_QUANTITY:
            raise ValidationFailed(f"quantity is 1 to {MAX_LINE_QUANTITY}", field="quantity")
    bill = await lock_bill(session, actor, bill_id, version)
    store = await session.get(Store, bill.store_id)
    assert store is not None
    await _require_room_for(session, bill, len(new_lines))
    lines: list[BillLine] = []
    for new_line in new_lines:
        item = await catalog.resolve_item(
            session,
            actor,
            bill.store_id,
            new_line.product_id,
            modifier_option_ids=new_line.modifier_option_ids,
            open_price=new_line.open_price,
        )
        if item.unit_price.currency != bill.currency:
            raise ValidationFailed("the product is priced in another currency", field="product_id")
        discount_amount, total = line_total(item.unit_price.amount, new_line.quantity, Discount())
        lines.append(
            BillLine(
                bill_id=bill.id,
                product_id=item.product_id,
                name=item.name,
                name_translations=dict(item.name_translations),
                sku=item.sku,
                category_id=item.category_id,
                kitchen_station=item.kitchen_station,
                quantity=new_line.quantity,
                unit_price_amount=item.unit_price.amount,
                modifiers=[
                    {
                        "group_name": modifier.group_name,
                        "name": modifier.name,
                        "option_id": modifier.option_id,
                        "price_delta_amount": modifier.price_delta.amount,
                    }
                    for modifier in item.modifiers
                ],
                stock_product_ids=list(item.stock_product_ids),
                note=new_line.note,
                vat_rate_code=item.vat_rate_code,
                vat_rate_basis_points=item.vat_rate_basis_points,
                discount_amount=discount_amount,
                total_amount=total,
                added_by_staff_id=actor.staff_id,
            )
        )
    session.add_all(lines)
    await session.flush()
    for line in lines:
        # The atomic stock UPDATE refuses what the checks above could not see: two lines
        # of the same counted product, or another register selling the last one meanwhile.
        await _change_stock_for(session, actor, store, line, -line.quantity, f"sold on bill {bill.number}")
    bill.rounding_amount = 0
    await recalculate(session, bill)
    for line in lines:
        audit.record(
            session,
            actor,
            "bill.line_add",
            "bill",
            bill.id,
            store_id=bill.store_id,
            after={
                "line_id": line.id,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price": line.unit_price_amount,
            },
        )
    announce(session, bill)
    return lines


async def _line_of(session: AsyncSession, bill: Bill, line_id: int) -> BillLine:
    line = await session.get(BillLine, line_id)
    if line is None or line.bill_id != bill.id:
        raise NotFound(f"no line {line_id} on this bill", field="line_id")
    if line.status != LineStatus.ACTIVE:
        raise Conflict("the line is voided already", field="line_id")
    return line


async def change_line_quantity(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, line_id: int, quantity: int
) -> BillLine:
    """A new quantity for a line not yet sent to the kitchen; stock follows the difference."""
    actor.require(Permission.BILL_EDIT)
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(f"quantity is 1 to {MAX_LINE_QUANTITY}", field="quantity")
    bill = await lock_bill(session, actor, bill_id, version)
    line = await _line_of(session, bill, line_id)
    if line.sent_to_kitchen_at is not None:
        raise Conflict(
            "the kitchen has this line; void it (with a reason) and add a new one", field="line_id"
        )
    store = await session.get(Store, bill.store_id)
    assert store is not None
    before = line.quantity
    await _change_stock_for(
        session, actor, store, line, before - quantity, f"quantity changed on bill {bill.number}"
    )
    line.quantity = quantity
    line.discount_amount, line.total_amount = line_total(
        line.unit_price_amount, quantity, Discount(line.discount_basis_points, line.discount_fixed_amount)
    )
    bill.rounding_amount = 0
    await recalculate(session, bill)
    audit.record(
        session,
        actor,
        "bill.line_quantity",
        "bill",
        bill.id,
        store_id=bill.store_id,
        before={"line_id": line.id, "quantity": before},
        after={"line_id": line.id, "quantity": quantity},
    )
    announce(session, bill)
    return line


def _mark_voided(line: BillLine, actor: Actor, reason: str) -> None:
    line.status = LineStatus.VOIDED
    line.voided_at = utc_now()
    line.voided_by_staff_id = actor.staff_id
    line.void_reason = reason[:200] or None


async def _recalculate_after_taking_off(session: AsyncSession, bill: Bill) -> None:
    """New totals once something came off the bill; what is paid may not exceed them."""
    bill.rounding_amount = 0
    await recalculate(session, bill)
    if bill.paid_amount > bill.total_amount:
        raise Conflict("more is paid than the bill would be; void a payment first", field="line_id")


def _split_off_voided(line: BillLine, part: LinePart) -> BillLine:
    """A new line for ``part`` of ``line``: the same product, price, options, note and
    kitchen state, with its share of the line discount (the caller marks it voided)."""
    return BillLine(
        bill_id=line.bill_id,
        product_id=line.product_id,
        name=line.name,
        name_translations=dict(line.name_translations),
        sku=line.sku,
        category_id=line.category_id,
        kitchen_station=line.kitchen_station,
        quantity=part.quantity,
        unit_price_amount=line.unit_price_amount,
        modifiers=[dict(modifier) for modifier in line.modifiers],
        stock_product_ids=list(line.stock_product_ids),
        note=line.note,
        vat_rate_code=line.vat_rate_code,
        vat_rate_basis_points=line.vat_rate_basis_points,
        discount_basis_points=part.discount.basis_points,
        discount_fixed_amount=part.discount.fixed_amount,
        discount_reason=line.discount_reason,
        discount_amount=part.discount_amount,
        total_amount=part.total,
        added_by_staff_id=line.added_by_staff_id,
        added_at=line.added_at,
        sent_to_kitchen_at=line.sent_to_kitchen_at,
    )


async def void_line(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    line_id: int,
    reason: str,
    quantity: int | None = None,
) -> BillLine:
    """Take a line, or ``quantity`` of it, off an open bill. A line the kitchen already has
    needs the void permission (``bill.void_sent_line``; a waiter may still take off what
    was not sent) and a reason from the store's list of void reasons. Voided lines stay,
    marked, for the Z report and the bill's history: a partial void splits the line, the
    rest stays active (its total recalculated) and the voided part becomes a line of its
    own with its share of the line discount (the two add up exactly to the line before).
    Stock comes back for what is voided only. Returns the voided line."""
    actor.require(Permission.BILL_EDIT)
    if quantity is not None and not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(f"quantity is 1 to {MAX_LINE_QUANTITY}", field="quantity")
    bill = await lock_bill(session, actor, bill_id, version)
    line = await _line_of(session, bill, line_id)
    taken = line.quantity if quantity is None else quantity
    if taken > line.quantity:
        raise ValidationFailed(f"the line has {line.quantity}; void 1 to {line.quantity}", field="quantity")
    store = await session.get(Store, bill.store_id)
    assert store is not None
    if line.sent_to_kitchen_at is not None:
        actor.require(Permission.BILL_VOID_SENT_LINE)
        if reason.strip() not in store.void_reasons:
            raise ValidationFailed(
                "a line the kitchen has is voided with one of the store's void reasons",
                field="reason",
                extra={"void_reasons": list(store.void_reasons)},
            )
    await _change_stock_for(session, actor, store, line, taken, f"voided on bill {bill.number}")
    before = {"line_id": line.id, "quantity": line.quantity, "total": line.total_amount}
    voided = line
    if taken < line.quantity:
        kept, part = split_line(
            line.unit_price_amount,
            line.quantity,
            Discount(line.discount_basis_points, line.discount_fixed_amount),
            line.discount_amount,
            taken,
        )
        voided = _split_off_voided(line, part)
        line.quantity = kept.quantity
        if line.discount_fixed_amount is not None:
            line.discount_fixed_amount = kept.discount.fixed_amount
        line.discount_amount, line.total_amount = kept.discount_amount, kept.total
        session.add(voided)
        await session.flush()
    # Nothing is printed for a void: the kitchen learns of it from the staff, as before.
    _mark_voided(voided, actor, reason.strip())
    await _recalculate_after_taking_off(session, bill)
    audit.record(
        session,
        actor,
        "bill.line_void",
        "bill",
        bill.id,
        store_id=bill.store_id,
        before=before,
        after={
            "line_id": line.id,
            "voided_line_id": voided.id,
            "quantity": voided.quantity,
            "total": voided.total_amount,
            "reason": voided.void_reason,
            "was_sent_to_kitchen": voided.sent_to_kitchen_at is not None,
            "remaining_quantity": line.quantity if voided is not line else 0,
        },
    )
    announce(session, bill)
    return voided


@dataclass(frozen=True)
class DiscountRequest:
    basis_points: int | None = None
    fixed_amount: int | None = None
    reason: str = ""

    def validate(self) -> Discount:
        if (self.basis_points is None) == (self.fixed_amount is None):
            raise ValidationFailed("give a percentage or an amount", field="basis_points")
        if self.basis_points is not None and not 0 <= self.basis_points <= 10_000:
            raise ValidationFailed("a percentage is 0 to 100 %", field="basis_points")
        if self.fixed_amount is not None and self.fixed_amount < 0:
            raise ValidationFailed("an amount cannot be negative", field="fixed_amount")
        if not self.reason.strip():
            raise ValidationFailed("a discount needs a reason", field="reason")
        return Discount(self.basis_points, self.fixed_amount)


# Bill discounts that are not a staff member's gift (a member's coupon used as the bill
# discount) start their reason with one of these; capabilities above orders register them.
NON_STAFF_DISCOUNT_REASON_PREFIXES: list[str] = []


@dataclass(frozen=True)
class StaffDiscounts:
    """The discounts staff gave on a bill (its lines' and the bill's together) and the
    gross amount of its active lines they are measured against."""

    amount: int
    gross: int


async def staff_discounts(session: AsyncSession, bill: Bill) -> StaffDiscounts:
    lines = await bill_lines(session, bill.id, include_voided=False)
    reason = bill.discount_reason or ""
    is_staff_bill_discount = not any(
        reason.startswith(prefix) for prefix in NON_STAFF_DISCOUNT_REASON_PREFIXES
    )
    return StaffDiscounts(
        amount=sum(line.discount_amount for line in lines)
        + (bill.discount_amount if is_staff_bill_discount else 0),
        gross=sum(line.unit_price_amount * line.quantity for line in lines),
    )


def _require_discount_rights(
    actor: Actor, approver: Actor | None, store: Store, before: StaffDiscounts, after: StaffDiscounts
) -> None:
    """Staff with the discount permission give discounts up to the store's limit; the
    line discounts and the bill discount count together (so a big discount cannot be cut
    into a line part and a bill part that each pass). Above it the staff member needs
    ``bill.discount_above_limit``, or a manager approves on the spot (their PIN, checked
    by the caller into ``approver``). Lowering a discount is always allowed."""
    actor.require(Permission.BILL_DISCOUNT)
    if after.gross <= 0 or after.amount * 10_000 <= after.gross * store.discount_limit_basis_points:
        return
    if after.amount <= before.amount:
        return
    if actor.can(Permission.BILL_DISCOUNT_ABOVE_LIMIT):
        return
    if approver is None:
        raise PermissionDenied(
            f"discounts above {store.discount_limit_basis_points / 100:g} % need a manager's PIN",
            field="approver_pin",
            extra={
                "needs_approval": True,
                "permission": Permission.BILL_DISCOUNT_ABOVE_LIMIT.value,
                "discount_amount": after.amount,
                "limit_amount": after.gross * store.discount_limit_basis_points // 10_000,
            },
        )
    approver.require(Permission.BILL_DISCOUNT_ABOVE_LIMIT)
    approver.require_store(store.id)


async def discount_line(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    line_id: int,
    request: DiscountRequest,
    approver: Actor | None = None,
) -> BillLine:
    """A discount on one line; with the bill's other discounts it counts against the
    staff member's limit (``_require_discount_rights``)."""
    actor.require(Permission.BILL_DISCOUNT)
    discount = request.validate()
    bill = await lock_bill(session, actor, bill_id, version)
    line = await _line_of(session, bill, line_id)
    store = await session.get(Store, bill.store_id)
    assert store is not None
    gross = line.unit_price_amount * line.quantity
    if discount.fixed_amount is not None and discount.fixed_amount > gross:
        raise DiscountAboveTotal(
            f"a discount of {discount.fixed_amount} is more than the line's {gross}", field="fixed_amount"
        )
    await recalculate(session, bill)
    before = await staff_discounts(session, bill)
    discount_amount, total = line_total(line.unit_price_amount, line.quantity, discount)
    line.discount_basis_points, line.discount_fixed_amount = request.basis_points, request.fixed_amount
    line.discount_reason = request.reason.strip()
    line.discount_amount, line.total_amount = discount_amount, total
    bill.rounding_amount = 0
    await recalculate(session, bill)
    _require_discount_rights(actor, approver, store, before, await staff_discounts(session, bill))
    audit.record(
        session,
        actor,
        "bill.line_discount",
        "bill",
        bill.id,
        store_id=bill.store_id,
        after={
            "line_id": line.id,
            "discount": discount_amount,
            "reason": line.discount_reason,
            "approved_by": approver.staff_id if approver else None,
        },
    )
    announce(session, bill)
    return line


async def discount_bill(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    request: DiscountRequest,
    approver: Actor | None = None,
) -> Bill:
    """A discount on the whole bill; with the line discounts it counts against the staff
    member's limit (``_require_discount_rights``)."""
    actor.require(Permission.BILL_DISCOUNT)
    discount = request.validate()
    bill = await lock_bill(session, actor, bill_id, version)
    store = await session.get(Store, bill.store_id)
    assert store is not None
    await recalculate(session, bill)
    if discount.fixed_amount is not None and discount.fixed_amount > bill.subtotal_amount:
        raise DiscountAboveTotal(
            f"a discount of {discount.fixed_amount} is more than the bill's {bill.subtotal_amount}",
            field="fixed_amount",
        )
    before = await staff_discounts(session, bill)
    bill.discount_basis_points, bill.discount_fixed_amount = request.basis_points, request.fixed_amount
    bill.discount_reason = request.reason.strip()
    bill.discount_by_staff_id = actor.staff_id
    bill.rounding_amount = 0
    await recalculate(session, bill)
    _require_discount_rights(actor, approver, store, before, await staff_discounts(session, bill))
    if bill.paid_amount > bill.total_amount:
        raise Conflict("more is paid than the discounted bill; void a payment first", field="fixed_amount")
    audit.record(
        session,
        actor,
        "bill.discount",
        "bill",
        bill.id,
        store_id=bill.store_id,
        after={
            "discount": bill.discount_amount,
            "reason": bill.discount_reason,
            "approved_by": approver.staff_id if approver else None,
        },
    )
    announce(session, bill)
    return bill


BillClosedHook = Callable[[AsyncSession, Actor, Bill], Awaitable[None]]
# Told when a bill discount comes off (a coupon used as the discount becomes usable again).
BILL_DISCOUNT_REMOVED_HOOKS: list[BillClosedHook] = []


async def remove_bill_discount(session: AsyncSession, actor: Actor, bill_id: int, version: int) -> Bill:
    """Take the bill discount off (before a split, or when it was given by mistake)."""
    actor.require(Permission.BILL_DISCOUNT)
    bill = await lock_bill(session, actor, bill_id, version)
    before = {"discount": bill.discount_amount, "reason": bill.discount_reason}
    bill.discount_basis_points = bill.discount_fixed_amount = None
    bill.discount_reason = None
    bill.discount_by_staff_id = None
    bill.rounding_amount = 0
    await recalculate(session, bill)
    for hook in BILL_DISCOUNT_REMOVED_HOOKS:
        await hook(session, actor, bill)
    audit.record(
        session, actor, "bill.discount_remove", "bill", bill.id, store_id=bill.store_id, before=before
    )
    announce(session, bill)
    return bill


async def change_line_note(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, line_id: int, note: str
) -> BillLine:
    """A note for the kitchen ("no ice"); once the kitchen has the line it is too late."""
    actor.require(Permission.BILL_EDIT)
    if len(note) > 300:
        raise ValidationFailed("a note is at most 300 characters", field="note")
    bill = await lock_bill(session, actor, bill_id, version)
    line = await _line_of(session, bill, line_id)
    if line.sent_to_kitchen_at is not None:
        raise Conflict("the kitchen has this line already; tell them directly", field="line_id")
    before = line.note
    line.note = note.strip()
    audit.record(
        session,
        actor,
        "bill.line_note",
        "bill",
        bill.id,
        store_id=bill.store_id,
        before={"line_id": line.id, "note": before},
        after={"line_id": line.id, "note": line.note},
    )
    announce(session, bill)
    return line


async def send_to_kitchen(
    session: AsyncSession, actor: Actor, bill_id: int, version: int
) -> list[KitchenTicketRecord]:
    """Send the lines the kitchen has not seen yet: one ticket per station."""
    actor.require(Permission.BILL_EDIT)
    bill = await lock_bill(session, actor, bill_id, version)
    unsent = [
        line
        for line in await bill_lines(session, bill.id, include_voided=False)
        if line.sent_to_kitchen_at is None
    ]
    if not unsent:
        raise Conflict("nothing new to send to the kitchen", field="bill_id")
    now = utc_now()
    by_station: dict[str, list[BillLine]] = {}
    for line in unsent:
        by_station.setdefault(line.kitchen_station or DEFAULT_KITCHEN_STATION, []).append(line)
        line.sent_to_kitchen_at = now
    tickets = []
    for station, lines in sorted(by_station.items()):
        ticket = KitchenTicketRecord(
            bill_id=bill.id,
            station=station,
            line_ids=[line.id for line in lines],
            created_by_staff_id=actor.staff_id,
        )
        session.add(ticket)
        tickets.append(ticket)
    await session.flush()
    # The tickets print through the outbox, committed with the lines' "sent" mark.
    await receipts.print_kitchen_tickets(session, actor, bill, tickets)
    audit.record(
        session,
        actor,
        "bill.send_to_kitchen",
        "bill",
        bill.id,
        store_id=bill.store_id,
        after={"tickets": {ticket.station: ticket.line_ids for ticket in tickets}},
    )
    announce(session, bill, "bill.sent_to_kitchen")
    return tickets


async def set_urgent(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, is_urgent: bool
) -> Bill:
    actor.require(Permission.BILL_EDIT)
    bill = await lock_bill(session, actor, bill_id, version)
    bill.is_urgent = is_urgent
    audit.record(
        session, actor, "bill.urgent", "bill", bill.id, store_id=bill.store_id, after={"is_urgent": is_urgent}
    )
    announce(session, bill)
    return bill


async def park(session: AsyncSession, actor: Actor, bill_id: int, version: int) -> Bill:
    """Put the bill aside; any register of the store can resume it."""
    actor.require(Permission.BILL_EDIT)
    bill = await lock_bill(session, actor, bill_id, version)
    bill.is_parked = True
    audit.record(session, actor, "bill.park", "bill", bill.id, store_id=bill.store_id)
    announce(session, bill)
    return bill


async def resume(session: AsyncSession, actor: Actor, bill_id: int, version: int) -> Bill:
    actor.require(Permission.BILL_EDIT)
    register, _store = await _register_of(session, actor)
    bill = await lock_bill(session, actor, bill_id, version)
    if bill.store_id != register.store_id:
        raise PermissionDenied("the bill belongs to another store", field="bill_id")
    bill.is_parked = False
    bill.register_id = register.id
    audit.record(
        session,
        actor,
        "bill.resume",
        "bill",
        bill.id,
        store_id=bill.store_id,
        after={"register_id": register.id},
    )
    announce(session, bill)
    return bill


async def move_to_table(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, table_id: int
) -> Bill:
    actor.require(Permission.BILL_EDIT)
    bill = await lock_bill(session, actor, bill_id, version)
    if bill.order_type != OrderType.DINE_IN:
        raise ValidationFailed("only dine-in bills sit at a table", field="table_id")
    await _check_table(session, bill.store_id, table_id, except_bill_id=bill.id)
    before = bill.table_id
    bill.table_id = table_id
    audit.record(
        session,
        actor,
        "bill.move",
        "bill",
        bill.id,
        store_id=bill.store_id,
        before={"table_id": before},
        after={"table_id": table_id},
    )
    announce(session, bill)
    return bill


async def merge(
    session: AsyncSession,
    actor: Actor,
    target_id: int,
    target_version: int,
    source_id: int,
    source_version: int,
) -> Bill:
    """Move every active line of ``source`` onto ``target``; the source is closed as merged.
    A bill with payments is not merged away (its money would lose its bill)."""
    actor.require(Permission.BILL_EDIT)
    if target_id == source_id:
        raise ValidationFailed("a bill cannot be merged into itself", field="source_bill_id")
    # Lock in id order so two opposite merges cannot deadlock.
    first, second = sorted([(target_id, target_version), (source_id, source_version)])
    locked = {
        first[0]: await lock_bill(session, actor, *first),
        second[0]: await lock_bill(session, actor, *second),
    }
    target, source = locked[target_id], locked[source_id]
    if target.store_id != source.store_id:
        raise ValidationFailed("bills of different stores do not merge", field="source_bill_id")
    await recalculate(session, source)
    if source.paid_amount:
        raise Conflict(
            "the bill to merge has payments; void them or pay it separately", field="source_bill_id"
        )
    moved = await session.execute(
        update(BillLine)
        .where(BillLine.bill_id == source.id, BillLine.status == LineStatus.ACTIVE)
        .values(bill_id=target.id)
        .returning(BillLine.id)
    )
    moved_ids = list(moved.scalars())
    source.status = BillStatus.MERGED
    source.merged_into_bill_id = target.id
    source.closed_at = utc_now()
    source.closed_by_staff_id = actor.staff_id
    target.rounding_amount = 0
    await recalculate(session, source)
    await recalculate(session, target)
    audit.record(
        session,
        actor,
        "bill.merge",
        "bill",
        target.id,
        store_id=target.store_id,
        after={"source_bill_id": source.id, "line_ids": moved_ids},
    )
    announce(session, source)
    announce(session, target)
    return target


@dataclass(frozen=True)
class SplitPart:
    line_id: int
    quantity: int


async def split_by_lines(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, parts: Sequence[SplitPart]
) -> Bill:
    """Move the chosen lines (or part of a line's quantity) onto a new bill of the same
    table; the two bills' totals add up to the old total (before a bill discount)."""
    actor.require(Permission.BILL_EDIT)
    if not parts:
        raise ValidationFailed("choose the lines to split off", field="lines")
    bill = await lock_bill(session, actor, bill_id, version)
    if bill.discount_basis_points is not None or bill.discount_fixed_amount is not None:
        raise Conflict("remove the bill discount before splitting; give it on each part", field="bill_id")
    await recalculate(session, bill)
    if bill.paid_amount:
        raise Conflict("split before taking payments, or split the payment evenly", field="bill_id")
    active = {line.id: line for line in await bill_lines(session, bill.id, include_voided=False)}
    chosen = {part.line_id: part.quantity for part in parts}
    if len(chosen) != len(parts):
        raise ValidationFailed("each line once", field="lines")
    for line_id, quantity in chosen.items():
        if line_id not in active:
            raise NotFound(f"no active line {line_id} on this bill", field="lines")
        if not 1 <= quantity <= active[line_id].quantity:
            raise ValidationFailed(f"line {line_id} has {active[line_id].quantity}", field="lines")
    if all(chosen.get(line.id) == line.quantity for line in active.values()):
        raise ValidationFailed("leave at least one item on the bill", field="lines")
    now = utc_now()
    store = await session.get(Store, bill.store_id)
    assert store is not None
    number = await _next_bill_number(session, store.id, business_date_of(store, now))
    new_bill = Bill(
        store_id=bill.store_id,
        register_id=bill.register_id,
        opened_by_staff_id=actor.staff_id,
        business_date=business_date_of(store, now),
        number=number,
        order_type=bill.order_type,
        currency=bill.currency,
        table_id=bill.table_id,
        guest_count=None,
        pickup_code=f"{number:03d}" if bill.order_type != OrderType.DINE_IN else None,
        delivery_address=bill.delivery_address,
        delivery_phone=bill.delivery_phone,
        note=bill.note,
        split_from_bill_id=bill.id,
        receipt_token=secrets.token_urlsafe(32),
        opened_at=now,
    )
    session.add(new_bill)
    await session.flush()
    for line_id, quantity in chosen.items():
        line = active[line_id]
        if quantity == line.quantity:
            line.bill_id = new_bill.id
            continue
        # Part of a line: the rest stays; the part becomes its own line with the same price
        # and its exact share of the line discount (the two add up to the line as it was).
        kept, taken = split_line(
            line.unit_price_amount,
            line.quantity,
            Discount(line.discount_basis_points, line.discount_fixed_amount),
            line.discount_amount,
            quantity,
        )
        line.quantity = kept.quantity
        line.discount_fixed_amount = kept.discount.fixed_amount
        line.discount_amount, line.total_amount = kept.discount_amount, kept.total
        session.add(
            BillLine(
                bill_id=new_bill.id,
                product_id=line.product_id,
                name=line.name,
                name_translations=line.name_translations,
                sku=line.sku,
                category_id=line.category_id,
                kitchen_station=line.kitchen_station,
                quantity=quantity,
                unit_price_amount=line.unit_price_amount,
                modifiers=line.modifiers,
                stock_product_ids=line.stock_product_ids,
                note=line.note,
                vat_rate_code=line.vat_rate_code,
                vat_rate_basis_points=line.vat_rate_basis_points,
                discount_basis_points=line.discount_basis_points,
                discount_fixed_amount=taken.discount.fixed_amount,
                discount_reason=line.discount_reason,
                discount_amount=taken.discount_amount,
                total_amount=taken.total,
                added_by_staff_id=line.added_by_staff_id,
                added_at=line.added_at,
                sent_to_kitchen_at=line.sent_to_kitchen_at,
            )
        )
    await session.flush()
    bill.rounding_amount = 0
    await recalculate(session, bill)
    await recalculate(session, new_bill)
    audit.record(
        session,
        actor,
        "bill.split",
        "bill",
        bill.id,
        store_id=bill.store_id,
        after={"new_bill_id": new_bill.id, "lines": chosen},
    )
    announce(session, bill)
    announce(session, new_bill, "bill.opened")
    return new_bill


async def split_evenly(session: AsyncSession, actor: Actor, bill_id: int, version: int, parts: int) -> Bill:
    """Divide what is due into ``parts`` shares (largest remainder: they sum to it exactly)
    for guests who pay one share each. ``parts=1`` removes the split."""
    actor.require(Permission.BILL_EDIT)
    if not 1 <= parts <= 50:
        raise ValidationFailed("split into 1 to 50 parts", field="parts")
    bill = await lock_bill(session, actor, bill_id, version)
    await recalculate(session, bill)
    if bill.paid_amount:
        raise Conflict("split before the first payment", field="parts")
    bill.split_shares = None if parts == 1 else even_shares(bill.total_amount, parts)
    audit.record(
        session,
        actor,
        "bill.split_evenly",
        "bill",
        bill.id,
        store_id=bill.store_id,
        after={"shares": bill.split_shares},
    )
    announce(session, bill)
    return bill


async def close(session: AsyncSession, actor: Actor, bill_id: int, version: int) -> Bill:
    """Close a bill paid in full. A bill with nothing on it and nothing paid is cancelled."""
    actor.require(Permission.PAYMENT_TAKE)
    bill = await lock_bill(session, actor, bill_id, version)
    await recalculate(session, bill)
    return await close_locked(session, actor, bill)


# Told when a bill is paid and closed, in the same transaction (loyalty credits points).
BILL_CLOSED_HOOKS: list[BillClosedHook] = []


async def close_locked(session: AsyncSession, actor: Actor, bill: Bill) -> Bill:
    if bill.total_amount == 0 and bill.paid_amount == 0:
        bill.status = BillStatus.CANCELLED
    elif amount_due(bill) != 0:
        raise Conflict(
            f"the bill is not paid in full: {amount_due(bill)} still due",
            field="bill_id",
            extra={"amount_due": amount_due(bill)},
        )
    else:
        bill.status = BillStatus.CLOSED
    bill.closed_at = utc_now()
    bill.closed_by_staff_id = actor.staff_id
    bill.is_parked = False
    audit.record(
        session,
        actor,
        "bill.close",
        "bill",
        bill.id,
        store_id=bill.store_id,
        after={
            "status": bill.status,
            "total": bill.total_amount,
            "paid": bill.paid_amount,
            "rounding": bill.rounding_amount,
        },
    )
    if bill.status == BillStatus.CLOSED:
        for hook in BILL_CLOSED_HOOKS:
            await hook(session, actor, bill)
    announce(session, bill, "bill.closed")
    return bill


async def open_bills(session: AsyncSession, actor: Actor, store_id: int) -> Sequence[Bill]:
    """The store's open bills, oldest first (the open-bills drawer)."""
    actor.require_store(store_id)
    query = (
        select(Bill).where(Bill.store_id == store_id, Bill.status == BillStatus.OPEN).order_by(Bill.opened_at)
    )
    return (await session.scalars(query)).all()


async def closed_bills(session: AsyncSession, actor: Actor, store_id: int, limit: int = 50) -> Sequence[Bill]:
    """The store's bills paid today (its business day), newest first: to find one again at
    the register (a reprint, a return)."""
    store = await stores.get_store(session, actor, store_id)
    query = (
        select(Bill)
        .where(
            Bill.store_id == store_id,
            Bill.status == BillStatus.CLOSED,
            Bill.business_date == business_date_of(store, utc_now()),
        )
        .order_by(Bill.closed_at.desc(), Bill.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def order_queue(session: AsyncSession, actor: Actor, store_id: int) -> dict[OrderType, list[Bill]]:
    """Every open order by type, urgent ones first, then in time order."""
    queue: dict[OrderType, list[Bill]] = {order_type: [] for order_type in OrderType}
    for bill in sorted(
        await open_bills(session, actor, store_id), key=lambda bill: (not bill.is_urgent, bill.opened_at)
    ):
        queue[bill.order_type].append(bill)
    return queue


async def lock_for_return(session: AsyncSession, actor: Actor, bill_id: int) -> Bill:
    """Hold a bill (open or paid) while a return is asked for or approved, whatever its
    version: returns come from their own queue, not from a screen showing the bill."""
    bill = await get_bill(session, actor, bill_id, for_update=True, populate_existing=True)
    if bill.status == BillStatus.OPEN:
        bill.version += 1
    return bill


async def take_back(
    session: AsyncSession,
    actor: Actor,
    bill: Bill,
    line_id: int,
    quantity: int,
    *,
    reason: str,
    restock: bool,
) -> BillLine:
    """Take ``quantity`` of a line off an open bill for an approved return, even when the
    kitchen has it. Stock comes back unless the dish was made (then it is waste)."""
    if bill.status != BillStatus.OPEN:
        raise BillClosed(f"bill {bill.number} is {bill.status.value}", field="bill_id")
    line = await _line_of(session, bill, line_id)
    if not 1 <= quantity <= line.quantity:
        raise Conflict(f"the line has {line.quantity}, not {quantity}", field="quantity")
    store = await session.get(Store, bill.store_id)
    assert store is not None
    if restock:
        await _change_stock_for(session, actor, store, line, quantity, f"returned on bill {bill.number}")
    before = line.quantity
    if quantity == line.quantity:
        _mark_voided(line, actor, reason)
    else:
        line.quantity -= quantity
        line.discount_amount, line.total_amount = line_total(
            line.unit_price_amount,
            line.quantity,
            Discount(line.discount_basis_points, line.discount_fixed_amount),
        )
    await _recalculate_after_taking_off(session, bill)
    audit.record(
        session,
        actor,
        "bill.line_return",
        "bill",
        bill.id,
        store_id=bill.store_id,
        before={"line_id": line.id, "quantity": before},
        after={"line_id": line.id, "returned": quantity, "restocked": restock, "reason": reason},
    )
    announce(session, bill)
    return line


# The member's tier discount, from the loyalty capability above orders (None: no discount):
# (session, organization id, member id) -> (label, basis points).
MemberDiscountLookup = Callable[[AsyncSession, int, int], Awaitable[tuple[str, int] | None]]
_member_discount_lookup: MemberDiscountLookup | None = None


def set_member_discount_lookup(lookup: MemberDiscountLookup | None) -> None:
    global _member_discount_lookup
    _member_discount_lookup = lookup


async def attach_member(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, member_id: int | None
) -> Bill:
    """Put a customer's member account on the bill (or take it off): their tier, points and
    balance then apply to it, and returns text their phone."""
    actor.require(Permission.BILL_EDIT)
    bill = await lock_bill(session, actor, bill_id, version)
    before = bill.member_id
    if member_id is not None:
        member = await load_scoped(session, actor, Member, member_id, field="member_id")
        if member.erased_at is not None:
            raise NotFound(f"no member {member_id}", field="member_id")
    bill.member_id = member_id
    tier = None
    if member_id is not None and _member_discount_lookup is not None:
        tier = await _member_discount_lookup(session, actor.organization_id, member_id)
    bill.member_discount_label, bill.member_discount_basis_points = tier if tier else (None, None)
    bill.rounding_amount = 0
    await recalculate(session, bill)
    if bill.paid_amount > bill.total_amount:
        raise Conflict("more is paid than the bill would be with the member's discount", field="member_id")
    audit.record(
        session,
        actor,
        "bill.member",
        "bill",
        bill.id,
        store_id=bill.store_id,
        before={"member_id": before},
        after={"member_id": member_id, "member_discount_basis_points": bill.member_discount_basis_points},
    )
    announce(session, bill)
    return bill
