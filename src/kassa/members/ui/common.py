"""What the parts of the members page share: labels, parsing typed values, money and
time in the store's settings, and a figure tile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from nicegui import ui

from kassa.core.auth import Actor
from kassa.core.errors import ValidationFailed
from kassa.core.i18n import N_, format_datetime, format_money
from kassa.core.money import Money, minor_unit_exponent
from kassa.members import profile
from kassa.members.models import ConsentKind, Gender
from kassa.orders.models import BillStatus
from kassa.returns.models import ReturnStatus
from kassa.stores.models import Store

TOUCH = "min-h-[48px]"
FIELD = "outlined dense stack-label"
PAGE_SIZE = 25
HISTORY_PAGE = 10
WEEK_CHOICES = (4, 12, 26, 52)
GENDER_LABELS = {
    Gender.UNSPECIFIED: N_("Not given"),
    Gender.FEMALE: N_("Female"),
    Gender.MALE: N_("Male"),
    Gender.OTHER: N_("Other"),
}
CONSENT_LABELS = {
    ConsentKind.PRIVACY_POLICY: N_("Privacy policy"),
    ConsentKind.MARKETING_SMS: N_("Marketing SMS"),
}
BILL_STATUS_LABELS = {
    BillStatus.OPEN: N_("Open"),
    BillStatus.CLOSED: N_("Paid"),
    BillStatus.MERGED: N_("Merged"),
    BillStatus.CANCELLED: N_("Cancelled"),
}
RETURN_STATUS_LABELS = {
    ReturnStatus.PENDING: N_("Return pending"),
    ReturnStatus.REJECTED: N_("Return rejected"),
    ReturnStatus.APPROVED: N_("Returned"),
}

TierProvider = Callable[[Any, int], Awaitable[dict[int, str]]]
Refresh = Callable[[], Awaitable[None]]


def parse_birthday(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("a birthday is written YYYY-MM-DD", field="birthday") from None


def parse_day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("a date is written YYYY-MM-DD", field=field) from None


def parse_amount(text: str | None, currency: str, field: str) -> int | None:
    """Typed major units ("50", "12.50") to minor units."""
    cleaned = (text or "").strip().replace(",", "").replace("¥", "").replace("￥", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal(-1)
    scaled = value.scaleb(minor_unit_exponent(currency)) if value.is_finite() else Decimal(-1)
    if scaled < 0 or scaled != scaled.to_integral_value():
        raise ValidationFailed(f"{text!r} is not an amount like 50 or 12.50", field=field)
    return int(scaled)


@dataclass(frozen=True)
class PageContext:
    """What every part of the page needs: who, where, how to show money and time."""

    actor: Actor
    stores: Sequence[Store]
    local: profile.LocalSettings
    locale: str

    def money(self, amount: int) -> str:
        return format_money(Money(amount, self.local.currency), self.locale)

    def day(self, moment: Any) -> str:
        return format_datetime(moment, self.local.timezone, self.locale, "yyyy-MM-dd")

    def when(self, moment: Any) -> str:
        return format_datetime(moment, self.local.timezone, self.locale, "yyyy-MM-dd HH:mm")


def figure(label: str, value: str, testid: str) -> None:
    with ui.element("div").classes("rounded border border-slate-200 p-2 flex flex-col"):
        ui.label(label).classes("text-xs opacity-70")
        ui.label(value).classes("text-lg font-bold").props(f'data-testid="{testid}"')


def split_tags(text: str | None) -> list[str]:
    return (text or "").replace("，", ",").split(",")
