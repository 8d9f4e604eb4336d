"""The back office's loyalty page: points (earning, redeeming, expiry), top-up bonuses, the
birthday coupon, tiers and coupon definitions. Everyone in the back office sees the rules;
owners (``settings.manage``) change them. Amounts are typed in major units (18.00)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.products import localized_name
from kassa.catalog.transfer import format_price, parse_price
from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError, ValidationFailed
from kassa.core.i18n import N_, format_money
from kassa.core.money import Money
from kassa.loyalty import checkout
from kassa.loyalty import service as loyalty
from kassa.loyalty.accounts import organization_today
from kassa.loyalty.models import CouponDefinition, DiscountKind, LoyaltySettings, Tier, TierBasis
from kassa.orders.ui.hooks import MEMBER_ACTIONS, MEMBER_FACT_LOADERS, RegisterAction
from kassa.orders.ui.screen import RegisterScreen
from kassa.orders.ui.view import parse_amount
from kassa.orders.ui.widgets import dialog_card, qr_svg, run
from kassa.payments import top_ups as payment_top_ups
from kassa.payments.models import PaymentStatus, Tender
from kassa.web.layout import backoffice_frame, current_locale, gettext, notify_error, require_backoffice_actor

TOUCH = "min-h-[48px]"
BASIS_LABELS = {
    TierBasis.SPEND: N_("Spend in the last 12 months"),
    TierBasis.POINTS: N_("Points earned in 12 months"),
}
KIND_LABELS = {DiscountKind.AMOUNT: N_("Amount off"), DiscountKind.PERCENT: N_("Percent off")}


def _amount(text: str | None, currency: str, field_name: str) -> int:
    try:
        return parse_price((text or "").strip(), currency).amount
    except ValueError:
        raise ValidationFailed(f"{text!r} is not an amount like 18.00", field=field_name) from None


def _whole(value: Any, field_name: str, *, allow_empty: bool = False) -> int | None:
    if value in (None, ""):
        if allow_empty:
            return None
        raise ValidationFailed("type a whole number", field=field_name)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed("type a whole number", field=field_name) from None
    if number != number.to_integral_value():
        raise ValidationFailed("type a whole number", field=field_name)
    return int(number)


def _basis_points(value: Any, field_name: str) -> int:
    """A percentage as typed (5 or 7.5) in basis points."""
    try:
        percent = Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        raise ValidationFailed("type a percentage like 5 or 7.5", field=field_name) from None
    points = percent * 100
    if points != points.to_integral_value():
        raise ValidationFailed("at most two decimals", field=field_name)
    return int(points)


def _percent(basis_points: int | None) -> float:
    return (basis_points or 0) / 100


def _date(text: str | None, field_name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("a date is written YYYY-MM-DD", field=field_name) from None


@dataclass
class PageData:
    settings: LoyaltySettings
    tiers: Sequence[Tier]
    definitions: Sequence[CouponDefinition]
    categories: dict[int, str]
    products: dict[int, str]
    currency: str
    locale: str
    can_edit: bool
    bonus_rows: list[dict[str, Any]] = field(default_factory=list)
    top_up_rows: list[dict[str, Any]] = field(default_factory=list)
    tier_rows: list[dict[str, Any]] = field(default_factory=list)


async def _load(actor: Actor, locale: str) -> PageData:
    async with get_database().read_only() as session:
        settings = await loyalty.get_loyalty_settings(session, actor)
        tiers = await loyalty.list_tiers(session, actor)
        definitions = await loyalty.list_coupon_definitions(session, actor, include_inactive=True)
        categories = await catalog.list_categories(session, actor)
        products = await catalog.list_products(session, actor)
    return PageData(
        settings=settings,
        tiers=tiers,
        definitions=definitions,
        categories={
            item.id: localized_name(item.name, item.name_translations, locale) for item in categories
        },
        products={item.id: localized_name(item.name, item.name_translations, locale) for item in products},
        currency=settings.currency,
        locale=locale,
        can_edit=actor.can(Permission.SETTINGS_MANAGE),
    )


@ui.page("/backoffice/loyalty", title="Kassa · loyalty")
async def loyalty_page() -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    data = await _load(actor, current_locale())
    with backoffice_frame(actor, _("Loyalty")):
        if not data.can_edit:
            ui.label(_("Only owners change the loyalty rules.")).classes("text-sm opacity-70")
        _settings_card(actor, data)
        _tiers_card(actor, data)
        _coupons_card(actor, data)


# --- points, top-up bonus, birthday -------------------------------------------------------


def _settings_card(actor: Actor, data: PageData) -> None:
    _ = gettext()
    settings = data.settings
    data.bonus_rows = [dict(item) for item in settings.bonus_products]
    data.top_up_rows = [
        {
            "minimum": format_price(rule["minimum_amount"], data.currency),
            "bonus": format_price(rule["bonus_amount"], data.currency),
        }
        for rule in settings.top_up_bonus_rules
    ]
    with ui.card().classes("w-full max-w-3xl items-stretch gap-3").props('data-testid="loyalty-settings"'):
        ui.label(_("Points and stored value")).classes("text-xl font-bold")
        with ui.grid().classes("w-full gap-3 grid-cols-1 sm:grid-cols-2"):
            basis = ui.select(
                {item.value: _(label) for item, label in BASIS_LABELS.items()},
                label=_("Tiers are reached by"),
                value=settings.tier_basis.value,
            ).props('outlined data-testid="tier-basis"')
            earn = ui.number(
                _("Points per {currency} 1 spent").format(currency=data.currency),
                value=settings.points_per_currency_unit,
                min=0,
                precision=0,
            ).props('outlined data-testid="points-per-unit"')
            redeem_points = ui.number(
                _("Points redeemed together"), value=settings.redeem_points, min=1, precision=0
            ).props('outlined data-testid="redeem-points"')
            redeem_value = ui.input(
                _("... are worth"), value=format_price(settings.redeem_value_amount, data.currency)
            ).props('outlined inputmode=decimal data-testid="redeem-value"')
            expiry = ui.number(
                _("Points expire after (months, empty: never)"),
                value=settings.points_expiry_months,
                min=1,
                precision=0,
            ).props('outlined data-testid="expiry-months"')
            excluded = ui.select(
                data.categories,
                label=_("Categories that earn no points"),
                value=list(settings.excluded_category_ids),
                multiple=True,
            ).props("outlined use-chips")
            birthday = ui.select(
                {0: _("No birthday coupon")}
                | {item.id: item.name for item in data.definitions if item.is_active},
                label=_("Birthday coupon"),
                value=settings.birthday_coupon_definition_id or 0,
            ).props('outlined data-testid="birthday-coupon"')
            days_before = ui.number(
                _("Sent this many days before the birthday"),
                value=settings.birthday_days_before,
                min=0,
                precision=0,
            ).props("outlined")

        ui.label(_("Bonus products (extra points per unit sold)")).classes("font-bold mt-2")

        @ui.refreshable
        def bonus_products() -> None:
            for index, row in enumerate(data.bonus_rows):
                with ui.row().classes("w-full items-center gap-2"):
                    ui.select(data.products, label=_("Product")).bind_value(row, "product_id").props(
                        "outlined dense"
                    ).classes("grow")
                    ui.number(_("Extra points"), min=1, precision=0).bind_value(row, "extra_points").props(
                        "outlined dense"
                    ).classes("w-36")
                    ui.button(
                        icon="delete", on_click=lambda index=index: remove(data.bonus_rows, index)
                    ).props("flat")

        @ui.refreshable
        def top_up_rules() -> None:
            for index, row in enumerate(data.top_up_rows):
                with ui.row().classes("w-full items-center gap-2").props('data-testid="top-up-rule"'):
                    ui.input(_("Top up at least")).bind_value(row, "minimum").props(
                        'outlined dense inputmode=decimal data-testid="top-up-minimum"'
                    ).classes("grow")
                    ui.input(_("Bonus")).bind_value(row, "bonus").props(
                        'outlined dense inputmode=decimal data-testid="top-up-bonus"'
                    ).classes("grow")
                    ui.button(
                        icon="delete", on_click=lambda index=index: remove(data.top_up_rows, index)
                    ).props("flat")

        def remove(rows: list[dict[str, Any]], index: int) -> None:
            rows.pop(index)
            bonus_products.refresh()
            top_up_rules.refresh()

        def add_bonus_product() -> None:
            data.bonus_rows.append({"product_id": None, "extra_points": 10})
            bonus_products.refresh()

        def add_top_up_rule() -> None:
            data.top_up_rows.append({"minimum": "", "bonus": ""})
            top_up_rules.refresh()

        bonus_products()
        ui.button(_("Add a bonus product"), icon="add", on_click=add_bonus_product).props(
            "flat no-caps"
        ).classes(TOUCH)
        ui.label(_("Top-up bonus (the best rule reached applies)")).classes("font-bold mt-2")
        top_up_rules()
        ui.button(_("Add a top-up rule"), icon="add", on_click=add_top_up_rule).props(
            'flat no-caps data-testid="add-top-up-rule"'
        ).classes(TOUCH)
        with ui.grid().classes("w-full gap-3 grid-cols-1 sm:grid-cols-2"):
            presets = ui.input(
                _("Top-up amounts offered (separated by commas; empty: the defaults)"),
                value=", ".join(
                    format_price(amount, data.currency) for amount in settings.top_up_presets or []
                ),
            ).props('outlined dense data-testid="top-up-presets"')
            maximum = ui.input(
                _("Most one top-up may be (empty: the default)"),
                value=format_price(settings.maximum_top_up_amount, data.currency)
                if settings.maximum_top_up_amount
                else "",
            ).props('outlined dense inputmode=decimal data-testid="top-up-maximum"')

        async def save() -> None:
            try:
                values = loyalty.SettingsInput(
                    tier_basis=TierBasis(basis.value),
                    points_per_currency_unit=_whole(earn.value, "points_per_currency_unit") or 0,
                    excluded_category_ids=[int(item) for item in excluded.value or []],
                    bonus_products=[
                        loyalty.BonusProduct(
                            int(row["product_id"]), _whole(row["extra_points"], "bonus_products") or 0
                        )
                        for row in data.bonus_rows
                        if row.get("product_id")
                    ],
                    redeem_points=_whole(redeem_points.value, "redeem_points") or 0,
                    redeem_value_amount=_amount(redeem_value.value, data.currency, "redeem_value_amount"),
                    points_expiry_months=_whole(expiry.value, "points_expiry_months", allow_empty=True),
                    top_up_bonus_rules=[
                        loyalty.TopUpBonusRule(
                            _amount(row["minimum"], data.currency, "top_up_bonus_rules"),
                            _amount(row["bonus"], data.currency, "top_up_bonus_rules"),
                        )
                        for row in data.top_up_rows
                    ],
                    birthday_coupon_definition_id=int(birthday.value) or None,
                    birthday_days_before=_whole(days_before.value, "birthday_days_before") or 0,
                    top_up_presets=[
                        _amount(item, data.currency, "top_up_presets")
                        for item in (presets.value or "").replace("，", ",").split(",")
                        if item.strip()
                    ]
                    or None,
                    maximum_top_up_amount=_amount(maximum.value, data.currency, "maximum_top_up_amount")
                    if (maximum.value or "").strip()
                    else None,
                )
                async with get_database().unit_of_work() as session:
                    await loyalty.update_loyalty_settings(session, actor, values)
            except KassaError as error:
                notify_error(error)
                return
            ui.notify(_("Saved"), type="positive")

        button = ui.button(_("Save settings"), icon="save", on_click=save).classes(TOUCH)
        button.props('unelevated data-testid="save-loyalty-settings"')
        button.set_enabled(data.can_edit)


# --- tiers --------------------------------------------------------------------------------


def _tiers_card(actor: Actor, data: PageData) -> None:
    _ = gettext()
    data.tier_rows = [
        {
            "id": tier.id,
            "name": tier.name,
            "name_zh": tier.name_translations.get("zh_CN", ""),
            "rank": tier.rank,
            "spend": format_price(tier.spend_threshold_amount, data.currency),
            "points": tier.points_threshold,
            "discount": _percent(tier.discount_basis_points),
            "multiplier": _percent(tier.points_multiplier_basis_points),
        }
        for tier in data.tiers
    ]
    with ui.card().classes("w-full max-w-5xl items-stretch gap-3").props('data-testid="loyalty-tiers"'):
        ui.label(_("Tiers")).classes("text-xl font-bold")
        ui.label(_("A member holds the highest tier whose threshold their last 12 months reach.")).classes(
            "text-sm opacity-70"
        )

        @ui.refreshable
        def rows() -> None:
            for index, row in enumerate(data.tier_rows):
                with ui.row().classes("w-full items-center gap-2 flex-wrap").props('data-testid="tier-row"'):
                    ui.input(_("Tier name")).bind_value(row, "name").props(
                        'outlined dense data-testid="tier-name"'
                    ).classes("w-36")
                    ui.input(_("Chinese name")).bind_value(row, "name_zh").props("outlined dense").classes(
                        "w-32"
                    )
                    ui.number(_("Rank"), min=0, precision=0).bind_value(row, "rank").props(
                        "outlined dense"
                    ).classes("w-20")
                    ui.input(_("Spend threshold")).bind_value(row, "spend").props(
                        'outlined dense inputmode=decimal data-testid="tier-spend"'
                    ).classes("w-32")
                    ui.number(_("Points threshold"), min=0, precision=0).bind_value(row, "points").props(
                        "outlined dense"
                    ).classes("w-32")
                    ui.number(_("Discount %"), min=0, max=100).bind_value(row, "discount").props(
                        'outlined dense data-testid="tier-discount"'
                    ).classes("w-28")
                    ui.number(_("Points multiplier %"), min=0).bind_value(row, "multiplier").props(
                        "outlined dense"
                    ).classes("w-36")
                    ui.button(icon="delete", on_click=lambda index=index: remove(index)).props("flat")

        def remove(index: int) -> None:
            data.tier_rows.pop(index)
            rows.refresh()

        def add() -> None:
            rank = max((int(row["rank"] or 0) for row in data.tier_rows), default=0) + 1
            data.tier_rows.append(
                {
                    "id": None,
                    "name": "",
                    "name_zh": "",
                    "rank": rank,
                    "spend": "0.00",
                    "points": 0,
                    "discount": 0,
                    "multiplier": 100,
                }
            )
            rows.refresh()

        rows()
        ui.button(_("Add a tier"), icon="add", on_click=add).props(
            'flat no-caps data-testid="add-tier"'
        ).classes(TOUCH)

        async def save() -> None:
            try:
                tiers = [
                    loyalty.TierInput(
                        tier_id=row["id"],
                        name=str(row["name"] or ""),
                        name_translations={"zh_CN": row["name_zh"]} if row["name_zh"] else {},
                        rank=_whole(row["rank"], "rank") or 0,
                        spend_threshold_amount=_amount(row["spend"], data.currency, "spend_threshold_amount"),
                        points_threshold=_whole(row["points"], "points_threshold") or 0,
                        discount_basis_points=_basis_points(row["discount"], "discount_basis_points"),
                        points_multiplier_basis_points=_basis_points(
                            row["multiplier"], "points_multiplier_basis_points"
                        ),
                    )
                    for row in data.tier_rows
                ]
                async with get_database().unit_of_work() as session:
                    saved = await loyalty.replace_tiers(session, actor, tiers)
                    ids = [tier.id for tier in saved]
            except KassaError as error:
                notify_error(error)
                return
            for row, tier_id in zip(
                sorted(data.tier_rows, key=lambda row: int(row["rank"] or 0)), ids, strict=True
            ):
                row["id"] = tier_id
            ui.notify(_("Saved"), type="positive")

        button = ui.button(_("Save tiers"), icon="save", on_click=save).classes(TOUCH)
        button.props('unelevated data-testid="save-tiers"')
        button.set_enabled(data.can_edit)


# --- coupon definitions -------------------------------------------------------------------


def _describe(definition: CouponDefinition, data: PageData, _: Any) -> str:
    if definition.discount_kind == DiscountKind.PERCENT:
        value = f"{_percent(definition.discount_basis_points):g}%"
    else:
        value = format_money(Money(definition.discount_amount or 0, definition.currency), data.locale)
    if definition.valid_days:
        window = _("{days} days from issue").format(days=definition.valid_days)
    else:
        window = f"{definition.valid_from} – {definition.valid_until}"
    return f"{value} · {window}"


def _coupons_card(actor: Actor, data: PageData) -> None:
    _ = gettext()
    with ui.card().classes("w-full max-w-3xl items-stretch gap-3").props('data-testid="loyalty-coupons"'):
        ui.label(_("Coupons")).classes("text-xl font-bold")
        listing = ui.column().classes("w-full gap-1")
        editing: dict[str, Any] = {"id": None}

        def show_list() -> None:
            listing.clear()
            with listing:
                for definition in data.definitions:
                    with (
                        ui.row().classes("w-full items-center gap-2").props('data-testid="coupon-definition"')
                    ):
                        ui.label(
                            localized_name(definition.name, definition.name_translations, data.locale)
                        ).classes("font-bold")
                        ui.label(_describe(definition, data, _)).classes("text-sm grow")
                        if not definition.is_active:
                            ui.label(_("switched off")).classes("text-sm opacity-60")
                        if data.can_edit:
                            ui.button(
                                icon="edit", on_click=lambda definition=definition: edit(definition)
                            ).props("flat")

        ui.label(_("New coupon")).classes("font-bold mt-2")
        with ui.grid().classes("w-full gap-3 grid-cols-1 sm:grid-cols-2"):
            name = ui.input(_("Coupon name")).props('outlined data-testid="coupon-name"')
            name_zh = ui.input(_("Chinese name")).props("outlined")
            kind = ui.select(
                {item.value: _(label) for item, label in KIND_LABELS.items()},
                label=_("Discount"),
                value=DiscountKind.AMOUNT.value,
            ).props('outlined data-testid="coupon-kind"')
            value = ui.input(_("Amount off, or percent off")).props(
                'outlined inputmode=decimal data-testid="coupon-value"'
            )
            minimum = ui.input(_("Minimum spend"), value="0.00").props("outlined inputmode=decimal")
            products = ui.select(
                data.products, label=_("Only for these products (empty: all)"), value=[], multiple=True
            ).props("outlined use-chips")
            valid_days = ui.number(_("Valid for days after issue"), value=30, min=1, precision=0).props(
                'outlined data-testid="coupon-days"'
            )
            valid_from = ui.input(_("Or from (YYYY-MM-DD)")).props("outlined")
            valid_until = ui.input(_("Until (YYYY-MM-DD)")).props("outlined")
            active = ui.switch(_("Can be issued"), value=True)

        def edit(definition: CouponDefinition) -> None:
            editing["id"] = definition.id
            name.set_value(definition.name)
            name_zh.set_value(definition.name_translations.get("zh_CN", ""))
            kind.set_value(definition.discount_kind.value)
            value.set_value(
                f"{_percent(definition.discount_basis_points):g}"
                if definition.discount_kind == DiscountKind.PERCENT
                else format_price(definition.discount_amount, definition.currency)
            )
            minimum.set_value(format_price(definition.minimum_spend_amount, definition.currency))
            products.set_value(list(definition.product_ids))
            valid_days.set_value(definition.valid_days)
            valid_from.set_value(str(definition.valid_from or ""))
            valid_until.set_value(str(definition.valid_until or ""))
            active.set_value(definition.is_active)

        async def save() -> None:
            try:
                discount_kind = DiscountKind(kind.value)
                values = loyalty.CouponDefinitionInput(
                    name=name.value or "",
                    name_translations={"zh_CN": name_zh.value} if name_zh.value else {},
                    discount_kind=discount_kind,
                    discount_amount=_amount(value.value, data.currency, "discount_amount")
                    if discount_kind == DiscountKind.AMOUNT
                    else None,
                    discount_basis_points=_basis_points(value.value, "discount_basis_points")
                    if discount_kind == DiscountKind.PERCENT
                    else None,
                    minimum_spend_amount=_amount(minimum.value or "0", data.currency, "minimum_spend_amount"),
                    product_ids=[int(item) for item in products.value or []],
                    valid_days=_whole(valid_days.value, "valid_days", allow_empty=True),
                    valid_from=_date(valid_from.value, "valid_from"),
                    valid_until=_date(valid_until.value, "valid_until"),
                    is_active=bool(active.value),
                )
                async with get_database().unit_of_work() as session:
                    if editing["id"] is None:
                        await loyalty.create_coupon_definition(session, actor, values)
                    else:
                        await loyalty.update_coupon_definition(session, actor, int(editing["id"]), values)
                    data.definitions = await loyalty.list_coupon_definitions(
                        session, actor, include_inactive=True
                    )
            except KassaError as error:
                notify_error(error)
                return
            editing["id"] = None
            for element in (name, name_zh, value, valid_from, valid_until):
                element.set_value("")
            ui.notify(_("Saved"), type="positive")
            show_list()

        button = ui.button(_("Save coupon"), icon="save", on_click=save).classes(TOUCH)
        button.props('unelevated data-testid="save-coupon"')
        button.set_enabled(data.can_edit)
        show_list()


# The register's member strip shows tier, points, balance, coupons and the usual order.
if checkout.member_facts not in MEMBER_FACT_LOADERS:
    MEMBER_FACT_LOADERS.append(checkout.member_facts)


# --- at the register: a coupon on the bill, a top-up onto the card ------------------------


async def _coupon_dialog(screen: RegisterScreen, _line: object) -> None:
    _ = screen._
    view = screen.view
    if view is None or view.member is None:
        return
    member_id = view.member.id
    async with get_database().read_only() as session:
        coupons = await loyalty.member_coupons(
            session,
            screen.actor,
            member_id,
            usable_on=await organization_today(session, screen.actor.organization_id),
        )
    with dialog_card(screen.root, _("Coupons"), "coupons", 460) as dialog:
        if not coupons:
            ui.label(_("No coupon to use today.")).classes("opacity-70")
        code = ui.input(_("Coupon code")).props("outlined autocomplete=off").classes("w-full text-lg")
        code.props('data-testid="coupon-code"')

        async def use(text: str) -> None:
            async def apply(session: AsyncSession, bill_id: int, version: int) -> object:
                return await checkout.apply_coupon(session, screen.actor, bill_id, version, text)

            if await screen.act(apply) is not None:
                dialog.submit(text)

        for coupon in coupons:
            ui.button(
                f"{coupon.name} · {coupon.code} · {coupon.valid_until:%m-%d}",
                on_click=lambda code_text=coupon.code: use(code_text),
            ).props("no-caps unelevated color=teal-1 text-color=teal-10").classes(
                "w-full min-h-[56px]"
            ).props(f'data-testid="coupon-{coupon.code}"')
        ui.button(_("Use the code"), icon="local_offer", on_click=lambda: use(code.value or "")).props(
            "no-caps unelevated color=positive"
        ).classes("w-full min-h-[56px]").props('data-testid="coupon-use"')
    await run(dialog)


def top_up_bonus_lines(
    options: loyalty.TopUpOptions, money: Callable[[int], str], _: Callable[[str], str]
) -> list[str]:
    """The bonus rules as the top-up dialog states them: "Top up ¥500.00, get ¥50.00 on top"."""
    return [
        _("Top up {minimum}, get {bonus} on top").format(
            minimum=money(rule["minimum_amount"]), bonus=money(rule["bonus_amount"])
        )
        for rule in options.bonus_rules
    ]


TOP_UP_TENDER_BUTTONS: tuple[tuple[Tender, str, str, str], ...] = (
    (Tender.CASH, N_("Cash"), "payments", "positive"),
    (Tender.CARD, N_("Card"), "credit_card", "teal-8"),
    (Tender.WECHAT_PAY, N_("WeChat Pay"), "qr_code_2", "green-8"),
    (Tender.ALIPAY, N_("Alipay"), "qr_code_scanner", "blue-8"),
)


def _can_top_up(screen: RegisterScreen, _line: object) -> bool:
    return screen.actor.can(Permission.STORED_VALUE_TOP_UP)


async def _top_up_dialog(screen: RegisterScreen, _line: object) -> None:
    """Money first: the customer pays (cash into the drawer, card with the terminal's
    approval code, WeChat Pay / Alipay by payment code or QR), and the card is credited
    once the money is confirmed. The bonus rules and preset amounts are on the dialog."""
    _ = screen._
    view = screen.view
    if view is None or view.member is None:
        return
    member_id = view.member.id
    key = f"top-up-{secrets.token_hex(8)}"  # one per dialog: a double tap tops up once
    async with get_database().read_only() as session:
        options = await loyalty.top_up_options(session, screen.actor)
    with dialog_card(screen.root, _("Top up the member's card"), "top-up", 460) as dialog:
        for line in top_up_bonus_lines(options, screen.money, _):
            ui.label(line).classes("text-sm text-teal-900").props('data-testid="top-up-bonus-rule"')
        amount = (
            ui.input(_("Amount"))
            .props("outlined inputmode=decimal autocomplete=off")
            .classes("w-full text-lg")
        )
        amount.props('data-testid="top-up-amount"')
        bonus_hint = ui.label("").classes("text-sm opacity-80").props('data-testid="top-up-bonus"')

        def show_bonus() -> None:
            value = parse_amount(amount.value or "", options.currency)
            bonus = options.bonus_for(value) if value else 0
            bonus_hint.text = _("Bonus {amount}").format(amount=screen.money(bonus)) if bonus else ""

        amount.on_value_change(lambda _event: show_bonus())
        with ui.row().classes("w-full gap-2"):
            for preset in options.presets:
                ui.button(
                    screen.money(preset),
                    on_click=lambda preset=preset: amount.set_value(format_price(preset, options.currency)),
                ).props("no-caps outline color=teal-8").classes("min-h-[48px]").props(
                    f'data-testid="top-up-preset-{preset}"'
                )
        approval = (
            ui.input(_("Approval code (card)"))
            .props("outlined autocomplete=off maxlength=40")
            .classes("w-full")
            .props('data-testid="top-up-approval-code"')
        )
        payment_code = (
            ui.input(_("Payment code (WeChat Pay / Alipay); empty: show a QR code"))
            .props("outlined autocomplete=off inputmode=numeric maxlength=32")
            .classes("w-full")
            .props('data-testid="top-up-payment-code"')
        )
        waiting = ui.column().classes("w-full items-center gap-2")

        async def finished(done: loyalty.TopUp) -> None:
            dialog.submit(done.payment.amount)
            await screen.reload()
            screen.notify(
                _("Topped up {amount}.").format(amount=screen.money(done.payment.amount)), "positive"
            )

        async def poll(top_up_id: int) -> bool:
            """True once the top-up is settled (credited or failed)."""
            try:
                await payment_top_ups.refresh_top_up(get_database(), screen.actor, top_up_id)
                async with get_database().read_only() as session:
                    done = await loyalty.get_top_up(session, screen.actor, top_up_id)
            except KassaError as error:
                screen.error(error)
                return True
            if done.is_credited:
                await finished(done)
                return True
            if done.payment.status != PaymentStatus.PENDING:
                screen.notify(
                    _("The payment failed: {reason}").format(reason=done.payment.failure_reason or ""),
                    "negative",
                )
                waiting.clear()
                return True
            return False

        def wait_for(done: loyalty.TopUp) -> None:
            waiting.clear()
            with waiting:
                if done.payment.qr_code:
                    ui.html(qr_svg(done.payment.qr_code)).classes("w-56 h-56").props(
                        'data-testid="top-up-qr-code"'
                    )
                with ui.row().classes("items-center gap-2"):
                    ui.spinner(size="24px")
                    ui.label(_("Waiting for the payment…")).props('data-testid="top-up-waiting"')

                async def tick() -> None:
                    if await poll(done.payment.id):
                        timer.deactivate()

                timer = ui.timer(2.0, tick)
                ui.button(_("Check again"), icon="refresh", on_click=tick).props("no-caps flat color=teal-8")

        async def top_up(tender: Tender) -> None:
            value = parse_amount(amount.value or "", options.currency)
            if value is None or value <= 0:
                screen.notify(_("Type the amount to top up."), "warning")
                return
            if value > options.maximum_amount:
                screen.notify(
                    _("A top-up is at most {amount}.").format(amount=screen.money(options.maximum_amount)),
                    "warning",
                )
                return
            try:
                async with get_database().unit_of_work() as session:
                    done = await loyalty.top_up(
                        session,
                        screen.actor,
                        member_id,
                        Money(value, options.currency),
                        tender=tender.value,
                        idempotency_key=key,
                        approval_code=(approval.value or "").strip() or None,
                        payment_code=(payment_code.value or "").strip() or None,
                    )
                if done.charge is not None:
                    await payment_top_ups.charge_top_up(get_database(), screen.actor, done.charge)
                    async with get_database().read_only() as session:
                        done = await loyalty.get_top_up(session, screen.actor, done.payment.id)
            except KassaError as error:
                screen.error(error)
                return
            if done.is_credited:
                await finished(done)
            elif done.payment.status == PaymentStatus.PENDING:
                wait_for(done)
            else:
                screen.notify(
                    _("The payment failed: {reason}").format(reason=done.payment.failure_reason or ""),
                    "negative",
                )

        with ui.grid(columns=2).classes("w-full gap-2"):
            for tender, label, icon, color in TOP_UP_TENDER_BUTTONS:
                ui.button(_(label), icon=icon, on_click=lambda tender=tender: top_up(tender)).props(
                    f"no-caps unelevated color={color}"
                ).classes("min-h-[56px]").props(f'data-testid="top-up-{tender.value.replace("_", "-")}"')
    await run(dialog)


MEMBER_ACTIONS.extend(
    action
    for action in (
        RegisterAction(N_("Coupons"), "local_offer", "member-coupons", _coupon_dialog),
        RegisterAction(N_("Top up"), "account_balance_wallet", "member-top-up", _top_up_dialog, _can_top_up),
    )
    if action.testid not in {existing.testid for existing in MEMBER_ACTIONS}
)
