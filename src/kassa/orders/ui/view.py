"""What the register screens show, as plain data read through the services, and the small
rules behind the buttons: typed amounts, cash and change, modifier choices, scanned codes,
split and discount requests. No NiceGUI here, so all of it is tested without a browser."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.menu import MenuModifierGroup, MenuProduct, StoreMenu
from kassa.catalog.products import localized_name
from kassa.core.auth import Actor
from kassa.core.i18n import N_
from kassa.core.money import Money, minor_unit_exponent
from kassa.floor import service as floor_service
from kassa.floor.models import DiningTable, FloorArea
from kassa.members.access import shown_phone
from kassa.members.models import Member
from kassa.orders import service as orders
from kassa.orders.models import Bill, BillStatus, LineStatus, OrderType
from kassa.orders.totals import VatRow, cash_rounding_for, totals_of
from kassa.orders.ui.hooks import MEMBER_FACT_LOADERS
from kassa.payments.models import PaymentStatus, Tender
from kassa.staff import service as staff_service
from kassa.stores.models import Store

ORDER_TYPE_LABELS = {
    OrderType.DINE_IN: N_("Dine-in"),
    OrderType.TAKEAWAY: N_("Takeaway"),
    OrderType.DELIVERY: N_("Delivery"),
    OrderType.ONLINE: N_("Online"),
}
ORDER_TYPE_ICONS = {
    OrderType.DINE_IN: "table_restaurant",
    OrderType.TAKEAWAY: "takeout_dining",
    OrderType.DELIVERY: "delivery_dining",
    OrderType.ONLINE: "language",
}
TENDER_LABELS = {
    Tender.CASH: N_("Cash"),
    Tender.CARD: N_("Card"),
    Tender.WECHAT_PAY: N_("WeChat Pay"),
    Tender.ALIPAY: N_("Alipay"),
    Tender.STORED_VALUE: N_("Stored value"),
    Tender.POINTS: N_("Points"),
}
PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: N_("waiting"),
    PaymentStatus.SUCCEEDED: N_("paid"),
    PaymentStatus.FAILED: N_("failed"),
    PaymentStatus.VOIDED: N_("voided"),
}
# Longest amount a keypad takes (digits and the decimal point): ¥9,999,999.99.
MAX_KEYPAD_LENGTH = 10


# --- a bill as the bill panel shows it ----------------------------------------------------


@dataclass(frozen=True)
class LineView:
    id: int
    product_id: int
    option_ids: tuple[int, ...]
    name: str
    modifiers: tuple[str, ...]
    note: str
    quantity: int
    unit_price: int
    discount: int
    discount_reason: str | None
    total: int
    is_sent: bool
    is_voided: bool
    void_reason: str | None


@dataclass(frozen=True)
class PaymentView:
    id: int
    tender: Tender
    status: PaymentStatus
    amount: int
    tendered: int | None
    change: int
    approval_code: str | None
    qr_code: str | None
    failure_reason: str | None
    split_share_index: int | None


@dataclass(frozen=True)
class MemberBrief:
    """The member on a bill as the register shows them."""

    id: int
    name: str
    phone: str
    card_number: str
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class BillView:
    """One bill with its lines and payments, read at one version."""

    bill: Bill
    lines: tuple[LineView, ...]
    payments: tuple[PaymentView, ...]
    table_name: str | None
    vat: tuple[VatRow, ...]
    member: MemberBrief | None = None

    @property
    def id(self) -> int:
        return self.bill.id

    @property
    def version(self) -> int:
        return self.bill.version

    @property
    def currency(self) -> str:
        return self.bill.currency

    @property
    def is_open(self) -> bool:
        return self.bill.status == BillStatus.OPEN

    @property
    def due(self) -> int:
        return orders.amount_due(self.bill)

    @property
    def active_lines(self) -> tuple[LineView, ...]:
        return tuple(line for line in self.lines if not line.is_voided)

    @property
    def unsent_count(self) -> int:
        return sum(1 for line in self.active_lines if not line.is_sent)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.active_lines)

    @property
    def change_given(self) -> int:
        return sum(
            payment.change
            for payment in self.payments
            if payment.tender == Tender.CASH and payment.status == PaymentStatus.SUCCEEDED
        )

    @property
    def paid_share_indexes(self) -> frozenset[int]:
        return frozenset(
            payment.split_share_index
            for payment in self.payments
            if payment.status == PaymentStatus.SUCCEEDED and payment.split_share_index is not None
        )

    @property
    def pending_payment(self) -> PaymentView | None:
        return next((payment for payment in self.payments if payment.status == PaymentStatus.PENDING), None)


def modifier_text(modifier: dict[str, object], currency: str, locale: str) -> str:
    name = str(modifier.get("name", ""))
    delta = int(str(modifier.get("price_delta_amount") or 0))
    if not delta:
        return name
    sign = "+" if delta > 0 else "−"
    return f"{name} {sign}{Money(abs(delta), currency).format(locale)}"


async def _member_brief(session: AsyncSession, actor: Actor, member_id: int) -> MemberBrief | None:
    member = await session.get(Member, member_id)
    if member is None or member.erased_at is not None:
        return None
    store = await session.get(Store, actor.store_id) if actor.store_id is not None else None
    facts: list[str] = []
    for loader in MEMBER_FACT_LOADERS:
        facts += await loader(session, member.organization_id, member.id)
    return MemberBrief(
        id=member.id,
        name=member.name,
        phone=shown_phone(actor, member.phone_e164, store.phone_region if store else "CN"),
        card_number=member.card_number,
        facts=tuple(facts),
    )


async def load_bill_view(session: AsyncSession, actor: Actor, bill_id: int, locale: str) -> BillView:
    bill = await orders.get_bill(session, actor, bill_id)
    lines = await orders.bill_lines(session, bill.id)
    payments = await orders.bill_payments(session, bill.id)
    table_name = None
    if bill.table_id is not None:
        table_name = next(
            (
                table.name
                for _area, table in await floor_service.list_floor(session, actor, bill.store_id)
                if table.id == bill.table_id
            ),
            None,
        )
    member = await _member_brief(session, actor, bill.member_id) if bill.member_id is not None else None
    active = [line for line in lines if line.status == LineStatus.ACTIVE]
    totals = totals_of(bill, active)
    return BillView(
        bill=bill,
        lines=tuple(
            LineView(
                id=line.id,
                product_id=line.product_id,
                option_ids=tuple(
                    int(modifier["option_id"]) for modifier in line.modifiers if modifier.get("option_id")
                ),
                name=localized_name(line.name, dict(line.name_translations), locale),
                modifiers=tuple(
                    modifier_text(modifier, bill.currency, locale) for modifier in line.modifiers
                ),
                note=line.note,
                quantity=line.quantity,
                unit_price=line.unit_price_amount,
                discount=line.discount_amount,
                discount_reason=line.discount_reason,
                total=line.total_amount,
                is_sent=line.sent_to_kitchen_at is not None,
                is_voided=line.status == LineStatus.VOIDED,
                void_reason=line.void_reason,
            )
            for line in lines
        ),
        payments=tuple(
            PaymentView(
                id=payment.id,
                tender=payment.tender,
                status=payment.status,
                amount=payment.amount,
                tendered=payment.tendered_amount,
                change=payment.change_amount,
                approval_code=payment.approval_code,
                qr_code=payment.qr_code,
                failure_reason=payment.failure_reason,
                split_share_index=payment.split_share_index,
            )
            for payment in payments
        ),
        table_name=table_name,
        vat=totals.vat,
        member=member,
    )


# --- open bills, the floor, the order queue -----------------------------------------------


@dataclass(frozen=True)
class OpenBillRow:
    id: int
    number: int
    version: int
    order_type: OrderType
    table_id: int | None
    table_name: str | None
    pickup_code: str | None
    guest_count: int | None
    staff_name: str
    opened_at: datetime
    total: int
    due: int
    currency: str
    is_urgent: bool
    is_parked: bool


@dataclass(frozen=True)
class TableView:
    id: int
    name: str
    seats: int
    position_x: int
    position_y: int
    bills: tuple[OpenBillRow, ...]

    @property
    def is_occupied(self) -> bool:
        return bool(self.bills)

    @property
    def total(self) -> int:
        return sum(bill.total for bill in self.bills)


@dataclass(frozen=True)
class AreaView:
    id: int
    name: str
    tables: tuple[TableView, ...]


async def load_open_bills(
    session: AsyncSession, actor: Actor, store_id: int, register_id: int
) -> list[OpenBillRow]:
    """The store's open bills, oldest first, with table and staff names."""
    tables = {
        table.id: table.name for _area, table in await floor_service.list_floor(session, actor, store_id)
    }
    staff = {
        member.id: member.display_name
        for member in await staff_service.list_staff_for_register(session, register_id)
    }
    return [
        OpenBillRow(
            id=bill.id,
            number=bill.number,
            version=bill.version,
            order_type=bill.order_type,
            table_id=bill.table_id,
            table_name=tables.get(bill.table_id) if bill.table_id is not None else None,
            pickup_code=bill.pickup_code,
            guest_count=bill.guest_count,
            staff_name=staff.get(bill.opened_by_staff_id, ""),
            opened_at=bill.opened_at,
            total=bill.total_amount,
            due=orders.amount_due(bill),
            currency=bill.currency,
            is_urgent=bill.is_urgent,
            is_parked=bill.is_parked,
        )
        for bill in await orders.open_bills(session, actor, store_id)
    ]


@dataclass(frozen=True)
class PaidBillRow:
    id: int
    number: int
    order_type: OrderType
    place: str
    closed_at: datetime | None
    total: int
    currency: str


async def load_paid_bills(session: AsyncSession, actor: Actor, store_id: int) -> list[PaidBillRow]:
    """Today's paid bills, newest first (found again for a reprint or a return)."""
    tables = {
        table.id: table.name for _area, table in await floor_service.list_floor(session, actor, store_id)
    }
    return [
        PaidBillRow(
            id=bill.id,
            number=bill.number,
            order_type=bill.order_type,
            place=bill_place(
                bill.order_type,
                tables.get(bill.table_id) if bill.table_id is not None else None,
                bill.pickup_code,
            ),
            closed_at=bill.closed_at,
            total=bill.total_amount + bill.rounding_amount,
            currency=bill.currency,
        )
        for bill in await orders.closed_bills(session, actor, store_id)
    ]


async def load_floor(
    session: AsyncSession, actor: Actor, store_id: int, register_id: int
) -> tuple[AreaView, ...]:
    """Every area with its tables, each with the open bills sitting at it."""
    open_bills = await load_open_bills(session, actor, store_id, register_id)
    return floor_of(await floor_service.list_floor(session, actor, store_id), open_bills)


def floor_of(
    floor: Iterable[tuple[FloorArea, DiningTable]], open_bills: Sequence[OpenBillRow]
) -> tuple[AreaView, ...]:
    by_table: dict[int, list[OpenBillRow]] = {}
    for bill in open_bills:
        if bill.table_id is not None:
            by_table.setdefault(bill.table_id, []).append(bill)
    areas: dict[int, tuple[str, list[TableView]]] = {}
    for area, table in floor:
        areas.setdefault(area.id, (area.name, []))[1].append(
            TableView(
                id=table.id,
                name=table.name,
                seats=table.seats,
                position_x=table.position_x,
                position_y=table.position_y,
                bills=tuple(by_table.get(table.id, ())),
            )
        )
    return tuple(AreaView(area_id, name, tuple(tables)) for area_id, (name, tables) in areas.items())


def queue_of(open_bills: Sequence[OpenBillRow]) -> dict[OrderType, list[OpenBillRow]]:
    """Open orders by type, urgent first, then oldest first (as ``orders.order_queue``)."""
    queue: dict[OrderType, list[OpenBillRow]] = {order_type: [] for order_type in OrderType}
    for bill in sorted(open_bills, key=lambda bill: (not bill.is_urgent, bill.opened_at)):
        queue[bill.order_type].append(bill)
    return queue


def age_minutes(opened_at: datetime, now: datetime) -> int:
    return max(0, int((now - opened_at).total_seconds() // 60))


def bill_place(order_type: OrderType, table_name: str | None, pickup_code: str | None) -> str:
    """Where the order goes: the table for dine-in, else the pickup code."""
    if order_type == OrderType.DINE_IN:
        return table_name or "?"
    return f"#{pickup_code}" if pickup_code else ""


# --- typed amounts ------------------------------------------------------------------------


def press_key(text: str, key: str, currency: str) -> str:
    """The keypad's text after a key: a digit, "00", ".", "back" or "clear". Keeps at most
    the currency's decimals and one point, and never a leading zero before a digit."""
    decimals = minor_unit_exponent(currency)
    if key == "clear":
        return ""
    if key == "back":
        return text[:-1]
    if key == ".":
        if decimals == 0 or "." in text:
            return text
        return (text or "0") + "."
    if not key.isdigit():
        return text
    candidate = text + key
    if "." in candidate and len(candidate.split(".", 1)[1]) > decimals:
        return text
    if "." not in candidate:
        candidate = candidate.lstrip("0") or "0"
    if len(candidate) > MAX_KEYPAD_LENGTH:
        return text
    return candidate


def parse_amount(text: str, currency: str) -> int | None:
    """Typed major units ("50", "12.5") to minor units; None when it is not an amount."""
    cleaned = text.strip().replace(",", "").replace("¥", "").replace("￥", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    scaled = value.scaleb(minor_unit_exponent(currency))
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def amount_text(amount: int, currency: str) -> str:
    """Minor units as the keypad would show them ("50", "12.50")."""
    return str(Money(amount, currency).to_decimal())


@dataclass(frozen=True)
class CashPlan:
    """What a cash payment does: settle the bill (or the share) or pay part of it."""

    payable: int  # counts towards the bill (after cash rounding when it settles it)
    change: int
    amount: int | None  # the ``amount`` to pass to take_cash (None: all that is due, or the share)
    is_partial: bool


def cash_plan(due: int, tendered: int, currency: str, share: int | None = None) -> CashPlan | None:
    """Cash handed over for ``due`` (or for one even-split ``share``). Less than needed
    pays part: the whole amount counts, no change. Settling the whole bill rounds it to
    coins that exist (as ``payments.take_cash`` does). None when nothing was handed over."""
    if tendered <= 0 or due <= 0:
        return None
    target = min(share, due) if share is not None else due
    payable = cash_rounding_for(currency).apply(due) if target == due else target
    if tendered >= payable:
        return CashPlan(payable=payable, change=tendered - payable, amount=None, is_partial=False)
    return CashPlan(payable=tendered, change=0, amount=tendered, is_partial=True)


# --- the menu: scanned codes, search, modifiers --------------------------------------------


def menu_products(menu: StoreMenu) -> list[MenuProduct]:
    return [product for category in menu.categories for product in category.products]


def find_by_code(menu: StoreMenu, code: str) -> MenuProduct | None:
    """The product with this barcode, else with this SKU (any case)."""
    code = code.strip()
    if not code:
        return None
    products = menu_products(menu)
    for product in products:
        if product.barcode and product.barcode == code:
            return product
    return next((product for product in products if product.sku.lower() == code.lower()), None)


def search_menu(menu: StoreMenu, text: str) -> list[MenuProduct]:
    """Products whose name (in any language), SKU or barcode contains ``text``."""
    needle = text.strip().casefold()
    if not needle:
        return []
    found = []
    for product in menu_products(menu):
        haystack = [product.display_name, product.name, product.sku, product.barcode or ""]
        haystack.extend(product.name_translations.values())
        if any(needle in value.casefold() for value in haystack):
            found.append(product)
    return found


def toggle_option(group: MenuModifierGroup, chosen: Sequence[int], option_id: int) -> list[int]:
    """The choice after tapping an option: a single-choice group swaps its option; a
    multi-choice group adds it (up to its maximum) or takes it away."""
    in_group = {option.id for option in group.options}
    others = [item for item in chosen if item not in in_group]
    mine = [item for item in chosen if item in in_group]
    if option_id in mine:
        mine.remove(option_id)
    elif group.max_choices == 1:
        mine = [option_id]
    elif len(mine) < group.max_choices:
        mine.append(option_id)
    return others + mine


def unsatisfied_groups(groups: Sequence[MenuModifierGroup], chosen: Sequence[int]) -> list[MenuModifierGroup]:
    """Groups with too few or too many options chosen (the service checks it again)."""
    problems = []
    for group in groups:
        count = sum(1 for option in group.options if option.id in chosen)
        minimum = max(group.min_choices, 1 if group.is_required else 0)
        if not minimum <= count <= group.max_choices:
            problems.append(group)
    return problems


def default_choice(groups: Sequence[MenuModifierGroup]) -> list[int]:
    """Nothing chosen, except a required single-choice group with one option left."""
    chosen = []
    for group in groups:
        available = [option for option in group.options if not option.is_sold_out]
        if group.is_required and group.max_choices == 1 and len(available) == 1:
            chosen.append(available[0].id)
    return chosen


def priced_with(product: MenuProduct, groups: Sequence[MenuModifierGroup], chosen: Sequence[int]) -> int:
    total = product.price.amount
    for group in groups:
        for option in group.options:
            if option.id in chosen:
                total += option.price_delta.amount
    return total


# --- split and discount requests ------------------------------------------------------------


def split_parts(quantities: dict[int, int]) -> list[orders.SplitPart]:
    """The lines (and how many of each) to move to the new bill; zeros are left out."""
    return [orders.SplitPart(line_id, quantity) for line_id, quantity in quantities.items() if quantity > 0]


def discount_request(
    is_percent: bool, text: str, reason: str, currency: str
) -> orders.DiscountRequest | None:
    """A typed discount: percent (12.5 = 12.5 %) or an amount; None when it is not a number."""
    if is_percent:
        basis_points = _percent_basis_points(text)
        if basis_points is None:
            return None
        return orders.DiscountRequest(basis_points=basis_points, reason=reason)
    amount = parse_amount(text, currency)
    if amount is None:
        return None
    return orders.DiscountRequest(fixed_amount=amount, reason=reason)


def _percent_basis_points(text: str) -> int | None:
    try:
        value = Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)
