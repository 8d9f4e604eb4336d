"""Shifts, cash movements and the X and Z reports as data. All amounts are integer minor
units of ``currency``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kassa.core.schemas import Amount, Line, PositiveAmount, RequestModel, Text
from kassa.payments.models import Tender
from kassa.shifts.models import CashMovementKind, ShiftStatus

# --- requests -----------------------------------------------------------------------------


class DenominationCount(RequestModel):
    value_amount: PositiveAmount = Field(description="A note or coin in minor units: 10000 = 100 yuan")
    count: int = Field(ge=0, le=100_000)


class CashCount(RequestModel):
    """Cash counted in the drawer: by denomination, or as one amount, or both (they must agree)."""

    denominations: list[DenominationCount] | None = Field(default=None, max_length=40)
    amount: Amount | None = None

    @field_validator("denominations")
    @classmethod
    def _each_once(cls, value: list[DenominationCount] | None) -> list[DenominationCount] | None:
        if value is not None and len({item.value_amount for item in value}) != len(value):
            raise ValueError("name each denomination once")
        return value

    def as_mapping(self) -> dict[int, int] | None:
        if self.denominations is None:
            return None
        return {item.value_amount: item.count for item in self.denominations}


class ShiftOpen(CashCount):
    note: Text = Field(default="", max_length=300)


class ShiftClose(CashCount):
    pass


class CashMovementIn(RequestModel):
    kind: CashMovementKind
    amount: PositiveAmount
    reason: Line = Field(min_length=1, max_length=200, description="A paid-out to whom, change from where")


# --- answers ------------------------------------------------------------------------------


class ShiftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    store_id: int
    register_id: int
    business_date: date
    status: ShiftStatus
    currency: str
    opening_float_amount: int
    opening_denominations: dict[str, int] | None
    opened_at: datetime
    opened_by_staff_id: int | None
    note: str
    closed_at: datetime | None
    closed_by_staff_id: int | None
    expected_cash_amount: int | None
    counted_cash_amount: int | None
    counted_denominations: dict[str, int] | None
    difference_amount: int | None


class CashMovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shift_id: int
    kind: CashMovementKind
    amount: int
    currency: str
    reason: str
    created_by_staff_id: int | None
    created_at: datetime


class TenderTotal(BaseModel):
    """Succeeded payments of one tender: how many, their amount, and (cash) the change given."""

    tender: Tender
    count: int
    amount: int
    change_amount: int = 0


class TopUpTotal(BaseModel):
    """Money taken for members' stored-value top-ups in one tender (not sales): how many, how much."""

    tender: Tender
    count: int
    amount: int


class ShiftReport(BaseModel):
    """The X report of an open shift (nothing closes), or the closing report of a closed one.

    ``expected_cash_amount`` = opening float + cash sales - cash refunds + cash in - cash
    out + cash top-ups; ``difference_amount`` = counted - expected (positive: over, negative: short).
    Cash sales are the succeeded cash payments taken on the register during the shift, at
    the amount that counts towards the bill (the change handed back is not in the drawer).
    """

    kind: str = Field(description='"x" for an open shift, "close" once it is closed')
    shift: ShiftOut
    store_name: str
    register_name: str
    opened_by_name: str
    closed_by_name: str | None
    locale: str
    timezone: str
    generated_at: datetime
    opening_float_amount: int
    cash_sales_amount: int | None = Field(description="None while a blind count hides it")
    cash_sales_count: int
    cash_refunds_amount: int | None = Field(description="None while a blind count hides it")
    cash_in_amount: int
    cash_out_amount: int
    expected_cash_amount: int | None = Field(description="None while a blind count hides it")
    counted_cash_amount: int | None
    difference_amount: int | None
    movements: list[CashMovementOut]
    tenders: list[TenderTotal] = Field(description="Every tender taken on the register during the shift")
    cash_top_ups_amount: int | None = Field(
        default=0, description="Cash taken for stored-value top-ups (none while the count is blind)"
    )
    top_ups: list[TopUpTotal] = Field(
        default_factory=list, description="Stored-value top-ups taken on the register, per tender"
    )
    is_count_blind: bool = Field(
        default=False,
        description="The store counts the drawer blind: the expected cash shows once the count is in",
    )


class CategorySales(BaseModel):
    """What one category sold on closed bills.

    before discounts - line discounts - bill discount shares = gross; gross = VAT + net.
    The bill discount share of a line is the receipt's (largest remainder over the bill's
    lines). A category's VAT is its part of each rate's VAT, split by gross (largest
    remainder): receipts round VAT per rate, not per category, and the parts must add up.
    """

    category_id: int
    name: str
    quantity: int
    before_discounts_amount: int
    line_discount_amount: int
    bill_discount_amount: int
    gross_amount: int
    vat_amount: int
    net_amount: int


class VatSales(BaseModel):
    """Sales at one VAT rate: the sum of the receipts' VAT rows (rounded per bill and rate)."""

    code: str
    rate_basis_points: int
    gross_amount: int
    vat_amount: int
    net_amount: int


class DiscountTotals(BaseModel):
    line_count: int
    line_amount: int
    bill_count: int
    bill_amount: int
    total_amount: int


class VoidReason(BaseModel):
    reason: str = Field(description='"" when none was given')
    count: int
    quantity: int
    amount: int


class VoidTotals(BaseModel):
    """Lines taken off bills of the day (whatever became of the bill), at their line total."""

    count: int
    quantity: int
    amount: int
    by_reason: list[VoidReason]


class RefundTender(BaseModel):
    tender: str
    count: int
    amount: int


class DirectedRefund(BaseModel):
    """Refunds a manager sent to another tender than the one paid with (all in cash while
    the card terminal was down), paid out during the day: from, to, how many, why."""

    from_tender: str
    to_tender: str
    count: int
    amount: int
    reasons: list[str]


class RefundTotals(BaseModel):
    """Returns approved and refunds paid out during the business day."""

    count: int = 0  # refunds paid out
    amount: int = 0
    returns_count: int = 0  # returns approved (open bills included: their lines came off)
    returns_amount: int = 0
    by_tender: list[RefundTender] = []
    directed: list[DirectedRefund] = []


class ShiftSummary(BaseModel):
    shift_id: int
    register_id: int
    register_name: str
    status: ShiftStatus
    opened_at: datetime
    opened_by_name: str
    closed_at: datetime | None
    closed_by_name: str | None
    opening_float_amount: int
    expected_cash_amount: int
    counted_cash_amount: int | None
    difference_amount: int | None


class ZReport(BaseModel):
    """A store's business day. Only closed bills are sales; cancelled and merged bills are not.

    The parts add up (and the tests check it):

    - sum of categories' gross == sum of VAT rates' gross == ``total_sales_amount``
    - sum of categories' VAT == sum of VAT rates' VAT == ``vat_amount``; gross = VAT + net
      on every row and in total
    - ``before_discounts_amount`` - ``discounts.total_amount`` == ``total_sales_amount``,
      and per category
    - sum of tenders == ``payments_amount`` == ``total_sales_amount`` + ``cash_rounding_amount``
      (cash rounding is negative when cash was rounded down, 抹零)
    - ``average_bill_amount`` == ``total_sales_amount`` // ``bills_count`` (rounded down to
      the minor unit; 0 without bills)
    - ``over_short_amount`` == the sum of the closed shifts' differences

    Tenders are the succeeded payments of the day's closed bills (a payment on a bill still
    open counts once that bill closes). Shifts are those opened on the business day.
    """

    store_id: int
    store_name: str
    business_date: date
    currency: str
    locale: str
    timezone: str
    generated_at: datetime
    bills_count: int
    guests_count: int = Field(description="Guests of closed dine-in bills; other bills have no count")
    cancelled_bills_count: int
    open_bills_count: int = Field(description="Bills of the day still open: not in these figures")
    before_discounts_amount: int
    discounts: DiscountTotals
    total_sales_amount: int
    vat_amount: int
    net_sales_amount: int
    average_bill_amount: int
    cash_rounding_amount: int
    payments_amount: int
    refunds: RefundTotals
    by_category: list[CategorySales]
    by_vat_rate: list[VatSales]
    tenders: list[TenderTotal]
    voids: VoidTotals
    shifts: list[ShiftSummary]
    over_short_amount: int
    top_ups: list[TopUpTotal] = Field(
        default_factory=list,
        description="Stored-value top-ups confirmed during the day, per tender (not sales)",
    )
    top_ups_amount: int = 0
