"""Stores and registers: the rules for setting them up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.errors import NotFound, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.core.scope import load_scoped, store_filter
from kassa.printing.printers import parse_destination
from kassa.stores.models import Organization, Register, Store, VatRate


@dataclass(frozen=True)
class VatRateInput:
    code: str
    label: str
    rate_basis_points: int
    is_default: bool = False


def _validate_store_fields(currency: str, timezone: str, phone_region: str, locale: str) -> None:
    if len(currency) != 3 or get_currency_name(currency, locale="en") == currency:
        raise ValidationFailed(f"unknown currency {currency!r}", field="currency")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {timezone!r}", field="timezone") from None
    if phone_region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(f"unknown phone region {phone_region!r}", field="phone_region")
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise ValidationFailed(f"unknown locale {locale!r}", field="locale") from None


def _validate_vat_rates(vat_rates: Sequence[VatRateInput]) -> None:
    if not vat_rates:
        raise ValidationFailed("a store needs at least one VAT rate", field="vat_rates")
    if sum(rate.is_default for rate in vat_rates) != 1:
        raise ValidationFailed("exactly one VAT rate must be the default", field="vat_rates")
    if len({rate.code for rate in vat_rates}) != len(vat_rates):
        raise ValidationFailed("VAT rate codes must be unique", field="vat_rates")
    for rate in vat_rates:
        if not 0 <= rate.rate_basis_points <= 10_000:
            raise ValidationFailed("a VAT rate is between 0 and 100 %", field="vat_rates")


async def create_organization(session: AsyncSession, name: str) -> Organization:
    """A new owner's business; the first step of setting Kassa up."""
    organization = Organization(name=name)
    session.add(organization)
    await session.flush()
    audit.record(
        session,
        Actor.system(organization.id, name="setup"),
        "organization.create",
        "organization",
        organization.id,
        after={"name": name},
    )
    return organization


async def create_store(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    currency: str,
    timezone: str,
    phone_region: str,
    locale: str,
    vat_rates: Sequence[VatRateInput],
    address: str = "",
    phone: str = "",
) -> Store:
    """Owners open stores; currency, zone, phone region and locale must be real ones."""
    actor.require(Permission.STORE_MANAGE)
    _validate_store_fields(currency, timezone, phone_region, locale)
    _validate_vat_rates(vat_rates)
    store = Store(
        organization_id=actor.organization_id,
        name=name,
        address=address,
        phone=phone,
        currency=currency,
        timezone=timezone,
        phone_region=phone_region,
        locale=locale,
    )
    session.add(store)
    await session.flush()
    session.add_all(
        VatRate(
            store_id=store.id,
            code=rate.code,
            label=rate.label,
            rate_basis_points=rate.rate_basis_points,
            is_default=rate.is_default,
        )
        for rate in vat_rates
    )
    audit.record(
        session,
        actor,
        "store.create",
        "store",
        store.id,
        store_id=store.id,
        after={"name": name, "currency": currency, "timezone": timezone, "locale": locale},
    )
    return store


async def add_register(session: AsyncSession, actor: Actor, store_id: int, name: str) -> Register:
    actor.require(Permission.STORE_MANAGE)
    store = await get_store(session, actor, store_id)
    existing = await session.scalar(
        select(Register).where(Register.store_id == store.id, Register.name == name)
    )
    if existing is not None:
        raise ValidationFailed(f"register {name!r} exists already", field="name")
    register = Register(store_id=store.id, name=name)
    session.add(register)
    await session.flush()
    audit.record(
        session, actor, "register.create", "register", register.id, store_id=store.id, after={"name": name}
    )
    return register


async def get_store(session: AsyncSession, actor: Actor, store_id: int) -> Store:
    """The store with this id if the actor acts in it, else not found (or, for staff of
    another store of the organization, permission denied)."""
    store = await load_scoped(session, actor, Store, store_id, field="store_id", what="store")
    actor.require_store(store.id)
    return store


async def get_register_in_scope(session: AsyncSession, actor: Actor, register_id: int) -> Register:
    """A register of a store the actor acts in, else not found."""
    return await load_scoped(session, actor, Register, register_id, field="register_id")


async def list_stores(session: AsyncSession, actor: Actor) -> Sequence[Store]:
    query = (
        select(Store)
        .where(Store.organization_id == actor.organization_id, store_filter(actor, Store.id))
        .order_by(Store.id)
    )
    return (await session.scalars(query)).all()


async def list_vat_rates(session: AsyncSession, store_id: int) -> Sequence[VatRate]:
    query = select(VatRate).where(VatRate.store_id == store_id).order_by(VatRate.rate_basis_points)
    return (await session.scalars(query)).all()


async def get_register(session: AsyncSession, register_id: int) -> Register:
    """A register by id, for the login screen of that device (no session yet)."""
    register = await session.get(Register, register_id)
    if register is None or not register.is_active:
        raise NotFound(f"no register {register_id}", field="register_id")
    return register


def store_topic(store_id: int) -> str:
    """The event topic every screen of a store listens on."""
    return f"store:{store_id}"


async def update_store(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    *,
    name: str | None = None,
    address: str | None = None,
    phone: str | None = None,
) -> Store:
    """Owners rename or re-address a store; every open screen of the store shows it at once."""
    actor.require(Permission.STORE_MANAGE)
    store = await get_store(session, actor, store_id)
    before = {"name": store.name, "address": store.address, "phone": store.phone}
    if name is not None:
        if not name.strip():
            raise ValidationFailed("a store needs a name", field="name")
        store.name = name.strip()
    if address is not None:
        store.address = address.strip()
    if phone is not None:
        store.phone = phone.strip()
    after = {"name": store.name, "address": store.address, "phone": store.phone}
    audit.record(
        session, actor, "store.update", "store", store.id, store_id=store.id, before=before, after=after
    )
    publish_after_commit(session, Event(store_topic(store.id), "store.updated", after))
    return store


def _check_printer(destination: str, field: str) -> str:
    try:
        parse_destination(destination)
    except ValueError as error:
        raise ValidationFailed(str(error), field=field) from None
    return destination.strip()


@dataclass(frozen=True)
class StoreSettings:
    """Operating settings; ``None`` leaves a setting as it is."""

    business_day_start_hour: int | None = None
    allow_negative_stock: bool | None = None
    discount_limit_basis_points: int | None = None
    kitchen_printers: dict[str, str] | None = None
    void_reasons: list[str] | None = None
    cash_requires_open_shift: bool | None = None
    is_drawer_count_blind: bool | None = None


MAX_VOID_REASON_LENGTH = 80


def _clean_void_reasons(reasons: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(reason.strip() for reason in reasons if reason.strip()))
    if not cleaned:
        raise ValidationFailed("give at least one void reason", field="void_reasons")
    if any(len(reason) > MAX_VOID_REASON_LENGTH for reason in cleaned):
        raise ValidationFailed(
            f"a void reason has at most {MAX_VOID_REASON_LENGTH} characters", field="void_reasons"
        )
    return cleaned


async def store_settings(session: AsyncSession, actor: Actor, store_id: int) -> Store:
    """How the store runs, for anyone who works in it (the register shows the void reasons)."""
    return await get_store(session, actor, store_id)


async def update_store_settings(
    session: AsyncSession, actor: Actor, store_id: int, changes: StoreSettings
) -> Store:
    """Owners set how the store runs. Whether sold-out stock may still be sold is a
    manager's call (the stock permission); every other setting is the owner's."""
    store = await get_store(session, actor, store_id)
    if changes.allow_negative_stock is not None:
        actor.require(Permission.STOCK_NEGATIVE)
    if any(
        value is not None
        for value in (
            changes.business_day_start_hour,
            changes.discount_limit_basis_points,
            changes.kitchen_printers,
            changes.void_reasons,
            changes.cash_requires_open_shift,
            changes.is_drawer_count_blind,
        )
    ):
        actor.require(Permission.STORE_MANAGE)
    before = {
        "business_day_start_hour": store.business_day_start_hour,
        "allow_negative_stock": store.allow_negative_stock,
        "discount_limit_basis_points": store.discount_limit_basis_points,
        "kitchen_printers": dict(store.kitchen_printers),
        "void_reasons": list(store.void_reasons),
        "cash_requires_open_shift": store.cash_requires_open_shift,
        "is_drawer_count_blind": store.is_drawer_count_blind,
    }
    if changes.business_day_start_hour is not None:
        if not 0 <= changes.business_day_start_hour <= 23:
            raise ValidationFailed("an hour is 0 to 23", field="business_day_start_hour")
        store.business_day_start_hour = changes.business_day_start_hour
    if changes.allow_negative_stock is not None:
        store.allow_negative_stock = changes.allow_negative_stock
    if changes.discount_limit_basis_points is not None:
        if not 0 <= changes.discount_limit_basis_points <= 10_000:
            raise ValidationFailed("a limit is 0 to 100 %", field="discount_limit_basis_points")
        store.discount_limit_basis_points = changes.discount_limit_basis_points
    if changes.kitchen_printers is not None:
        store.kitchen_printers = {
            station.strip(): _check_printer(destination, f"kitchen_printers.{station}")
            for station, destination in changes.kitchen_printers.items()
        }
    if changes.void_reasons is not None:
        store.void_reasons = _clean_void_reasons(changes.void_reasons)
    if changes.cash_requires_open_shift is not None:
        store.cash_requires_open_shift = changes.cash_requires_open_shift
    if changes.is_drawer_count_blind is not None:
        store.is_drawer_count_blind = changes.is_drawer_count_blind
    after = {**before, **{key: value for key, value in vars(changes).items() if value is not None}}
    if changes.void_reasons is not None:
        after["void_reasons"] = list(store.void_reasons)
    audit.record(
        session, actor, "store.settings", "store", store.id, store_id=store.id, before=before, after=after
    )
    return store


async def set_receipt_printer(
    session: AsyncSession,
    actor: Actor,
    register_id: int,
    destination: str | None,
    *,
    auto_print_receipt: bool | None = None,
) -> Register:
    """Where a register's receipts print (``tcp://host:9100``); None prints to a file under
    var/. ``auto_print_receipt``: whether closing a sale queues its receipt (None: unchanged)."""
    actor.require(Permission.STORE_MANAGE)
    register = await get_register_in_scope(session, actor, register_id)
    before = {"receipt_printer": register.receipt_printer, "auto_print_receipt": register.auto_print_receipt}
    register.receipt_printer = _check_printer(destination, "receipt_printer") if destination else None
    if auto_print_receipt is not None:
        register.auto_print_receipt = auto_print_receipt
    audit.record(
        session,
        actor,
        "register.printer",
        "register",
        register.id,
        store_id=register.store_id,
        before=before,
        after={
            "receipt_printer": register.receipt_printer,
            "auto_print_receipt": register.auto_print_receipt,
        },
    )
    return register
