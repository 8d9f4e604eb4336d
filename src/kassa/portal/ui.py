"""The member portal's pages under ``/m/<store id>``: made for a phone (390 px wide) held in
one hand, with big touch targets, and no staff login. The store in the address gives the
organization, its name, language and phone region.

The portal session token lives in the browser's server-side storage (``app.storage.user``),
sealed like the register's token (``kassa.web.layout.store_token``), one per organization,
so every store of the organization shares the login. Every change re-reads the member from
the token inside its unit of work: a session ended elsewhere (log out, account deleted)
stops working at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import qrcode
import qrcode.image.svg
from nicegui import app, ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import get_database
from kassa.core.errors import KassaError, NotAuthenticated, ValidationFailed
from kassa.core.i18n import (
    LOCALE_NAMES,
    N_,
    SUPPORTED_LOCALES,
    format_datetime,
    format_money,
    normalize_locale,
    translator,
)
from kassa.core.money import Money
from kassa.core.phones import display_phone
from kassa.members.models import ConsentKind
from kassa.members.service import CURRENT_PRIVACY_POLICY_VERSION
from kassa.orders.models import BillStatus
from kassa.portal import account, loyalty_view, service
from kassa.portal.account import OrderView
from kassa.portal.service import PortalIdentity
from kassa.stores.models import Store
from kassa.web.layout import LOCALE_KEY, notify_error, store_token, stored_token

T = TypeVar("T")

PRIMARY = "#b45309"  # amber-700: warm, readable on white, distinct from the staff screens
TOUCH = "w-full min-h-[52px] text-base"
RESEND_SECONDS = 60

NAVIGATION = (
    ("", "qr_code_2", N_("My card")),
    ("/orders", "receipt_long", N_("Orders")),
    ("/reserve", "event_seat", N_("Book a table")),
    ("/feedback", "rate_review", N_("Feedback")),
    ("/me", "person", N_("Me")),
)
BILL_STATUS_LABELS = {BillStatus.OPEN: N_("In progress"), BillStatus.CLOSED: N_("Paid")}
RETURN_STATUS_LABELS = {
    "pending": N_("Return requested"),
    "approved": N_("Returned"),
    "rejected": N_("Return declined"),
}
PRIVACY_POLICY_TEXT = N_(
    "We keep your name, phone number and purchases to run your membership: to find you at "
    "the counter, show you your orders and, only if you agree, text you offers. We never "
    "sell your data. You can download or delete it at any time on the “Me” page."
)


def token_key(organization_id: int) -> str:
    return f"portal_token_{organization_id}"


@dataclass
class PortalContext:
    store: Store
    locale: str
    _: Callable[[str], str]
    token: str | None = None
    identity: PortalIdentity | None = None

    @property
    def base(self) -> str:
        return f"/m/{self.store.id}"


async def load_context(store_id: int) -> PortalContext | None:
    """The store and, when this browser is logged in, the member; None (with a message on
    the page) for an unknown store."""
    try:
        async with get_database().read_only() as session:
            store = await service.portal_store(session, store_id)
            token = stored_token(token_key(store.organization_id))
            identity = None
            if token:
                try:
                    identity = await service.authenticate(session, token)
                except NotAuthenticated:
                    app.storage.user.pop(token_key(store.organization_id), None)
                    token = None
    except KassaError:
        _ = translator(normalize_locale(app.storage.user.get(LOCALE_KEY)))
        with ui.column().classes("w-full max-w-md mx-auto p-6 gap-2"):
            ui.label(_("This member page does not exist.")).classes("text-xl font-bold")
            ui.label(_("Scan the code in the store again, or ask the staff.")).classes("text-stone-600")
        return None
    locale = normalize_locale(app.storage.user.get(LOCALE_KEY) or store.locale)
    ui.colors(primary=PRIMARY)
    ui.query("body").classes("bg-stone-100")
    return PortalContext(store=store, locale=locale, _=translator(locale), token=token, identity=identity)


async def member_context(store_id: int) -> PortalContext | None:
    """The context of a page that needs a logged-in member; else off to the login."""
    context = await load_context(store_id)
    if context is None:
        return None
    if context.identity is None:
        ui.navigate.to(f"{context.base}/login")
        return None
    return context


async def act(
    context: PortalContext, action: Callable[[AsyncSession, PortalIdentity], Awaitable[T]]
) -> T | None:
    """Run ``action`` for the member of this browser in one unit of work; an ended session
    goes back to the login, any other refusal is shown. None when it did not happen."""
    if context.token is None:
        ui.navigate.to(f"{context.base}/login")
        return None
    try:
        async with get_database().unit_of_work() as session:
            identity = await service.authenticate(session, context.token)
            return await action(session, identity)
    except NotAuthenticated:
        app.storage.user.pop(token_key(context.store.organization_id), None)
        ui.navigate.to(f"{context.base}/login")
    except KassaError as error:
        notify_error(error)
    return None


def card_qr_svg(content: str) -> str:
    """The member card's QR code as SVG filling its box (the register's scanner reads the
    card number from it)."""
    image = qrcode.make(content, image_factory=qrcode.image.svg.SvgPathImage, border=1)
    svg = str(image.to_string(encoding="unicode"))
    return re.sub(r'width="[^"]*" height="[^"]*"', 'width="100%" height="100%"', svg, count=1)


def spaced_card_number(card_number: str) -> str:
    return " ".join(card_number[index : index + 4] for index in range(0, len(card_number), 4))


def money(amount: int, currency: str, locale: str) -> str:
    return format_money(Money(amount, currency), locale)


# --- frame ------------------------------------------------------------------------------


def header(context: PortalContext) -> None:
    _ = context._
    other = next(item for item in SUPPORTED_LOCALES if item != context.locale)

    def switch_language() -> None:
        app.storage.user[LOCALE_KEY] = other
        ui.navigate.reload()

    with ui.header().classes("items-center gap-2 px-3 py-1 bg-stone-800 text-white flex-nowrap"):
        ui.icon("local_cafe").classes("text-2xl text-amber-300")
        ui.label(context.store.name).classes("text-lg font-bold truncate").props(
            'data-testid="portal-store-name"'
        )
        ui.space()
        ui.button(LOCALE_NAMES[other], on_click=switch_language).props(
            'flat no-caps color=white data-testid="portal-language"'
        ).classes("min-h-[48px]")
        if context.identity is not None:

            async def log_out() -> None:
                await act(context, service.logout)
                app.storage.user.pop(token_key(context.store.organization_id), None)
                ui.navigate.to(f"{context.base}/login")

            ui.button(icon="logout", on_click=log_out).props(
                'flat round color=white data-testid="portal-logout"'
            ).classes("min-h-[48px] min-w-[48px]").tooltip(_("Log out"))


def footer(context: PortalContext, current: str) -> None:
    """The tab bar at the bottom, where a thumb reaches."""
    _ = context._
    with (
        ui.footer().classes("bg-white text-stone-700 border-t border-stone-200 p-0"),
        ui.row().classes("w-full max-w-md mx-auto flex-nowrap gap-0"),
    ):
        for suffix, icon, label in NAVIGATION:
            is_current = suffix == current
            name = suffix.strip("/") or "card"
            ui.button(
                _(label), icon=icon, on_click=lambda target=context.base + suffix: ui.navigate.to(target)
            ).props(
                f"flat stack no-caps color={'primary' if is_current else 'grey-8'} "
                f'data-testid="portal-nav-{name}"'
            ).classes("flex-1 min-h-[64px] rounded-none text-xs" + (" font-bold" if is_current else ""))


@contextmanager
def main_column() -> Iterator[ui.column]:
    with ui.column().classes("w-full max-w-md mx-auto px-4 pt-4 pb-24 gap-4 items-stretch") as column:
        yield column


def section_title(text: str) -> None:
    ui.label(text).classes("text-lg font-bold text-stone-800 mt-2")


# --- login and sign-up --------------------------------------------------------------------


@ui.page("/m/{store_id}/login", title="Kassa · members")
async def login_page(store_id: int, erased: bool = False) -> None:
    context = await load_context(store_id)
    if context is None:
        return
    if context.identity is not None:
        ui.navigate.to(context.base)
        return
    _ = context._
    ui.page_title(f"{context.store.name} · {_('Member login')}")
    header(context)
    ticket: dict[str, str | None] = {"value": None}

    def logged_in(token: str) -> None:
        store_token(token_key(context.store.organization_id), token)
        ui.navigate.to(context.base)

    with main_column():
        if erased:
            with (
                ui.card()
                .classes("w-full bg-green-50 text-green-900")
                .props('flat data-testid="portal-erased"')
            ):
                ui.label(_("Your account was deleted. Thank you for having been our member."))
        with ui.column().classes("w-full gap-3 items-stretch") as login_box:
            ui.label(_("Member login")).classes("text-2xl font-bold")
            ui.label(
                _(
                    "Log in with your phone number to see your member card and orders. "
                    "New here? You join in the same step."
                )
            ).classes("text-stone-600")
            with (
                ui.tabs()
                .classes("w-full text-stone-700")
                .props("active-color=primary indicator-color=primary") as tabs
            ):
                sms_tab = ui.tab(_("SMS code")).props('data-testid="portal-tab-sms"').classes("min-h-[48px]")
                password_tab = (
                    ui.tab(_("Password")).props('data-testid="portal-tab-password"').classes("min-h-[48px]")
                )
            with ui.tab_panels(tabs, value=sms_tab).classes("w-full bg-transparent"):
                with ui.tab_panel(sms_tab).classes("p-0 pt-2 gap-3 items-stretch"):
                    phone = (
                        ui.input(_("Phone number"))
                        .props('outlined type=tel inputmode=tel autocomplete=tel data-testid="portal-phone"')
                        .classes("text-lg")
                    )
                    send_button = (
                        ui.button(_("Send code"))
                        .props('unelevated data-testid="portal-send-code"')
                        .classes(TOUCH)
                    )
                    with ui.column().classes("w-full gap-3 items-stretch") as code_box:
                        code_hint = (
                            ui.label()
                            .classes("text-sm text-stone-600")
                            .props('data-testid="portal-code-hint"')
                        )
                        code = (
                            ui.input(_("6-digit code"))
                            .props(
                                "outlined inputmode=numeric autocomplete=one-time-code maxlength=6"
                                ' data-testid="portal-code"'
                            )
                            .classes("text-lg tracking-widest")
                        )
                        verify_button = (
                            ui.button(_("Log in"))
                            .props('unelevated data-testid="portal-verify"')
                            .classes(TOUCH)
                        )
                    code_box.set_visibility(False)
                with ui.tab_panel(password_tab).classes("p-0 pt-2 gap-3 items-stretch"):
                    password_phone = (
                        ui.input(_("Phone number"))
                        .props(
                            "outlined type=tel inputmode=tel autocomplete=tel"
                            ' data-testid="portal-password-phone"'
                        )
                        .classes("text-lg")
                    )
                    password = ui.input(_("Password"), password=True, password_toggle_button=True).props(
                        'outlined autocomplete=current-password data-testid="portal-password"'
                    )
                    password_button = (
                        ui.button(_("Log in"))
                        .props('unelevated data-testid="portal-password-login"')
                        .classes(TOUCH)
                    )
                    ui.label(
                        _("No password yet? Log in with an SMS code and set one on the “Me” page.")
                    ).classes("text-sm text-stone-500")

        with ui.column().classes("w-full gap-3 items-stretch") as registration_box:
            ui.label(_("Welcome! Join as a member")).classes("text-2xl font-bold")
            registration_phone = (
                ui.label().classes("text-stone-600").props('data-testid="portal-registration-phone"')
            )
            name = (
                ui.input(_("Your name"))
                .props('outlined autocomplete=name data-testid="portal-name"')
                .classes("text-lg")
            )
            email = ui.input(_("E-mail (optional)")).props(
                'outlined type=email autocomplete=email data-testid="portal-email"'
            )
            with (
                ui.expansion(
                    _("Privacy policy (version {version})").format(version=CURRENT_PRIVACY_POLICY_VERSION),
                    icon="policy",
                )
                .classes("w-full bg-white rounded")
                .props('data-testid="portal-policy"')
            ):
                ui.label(_(PRIVACY_POLICY_TEXT)).classes("text-sm text-stone-700")
            privacy = (
                ui.checkbox(
                    _("I accept the privacy policy (version {version})").format(
                        version=CURRENT_PRIVACY_POLICY_VERSION
                    )
                )
                .props('data-testid="portal-privacy"')
                .classes("min-h-[48px]")
            )
            marketing = (
                ui.checkbox(_("Text me offers and news (you can stop any time)"))
                .props('data-testid="portal-marketing"')
                .classes("min-h-[48px]")
            )
            join_button = ui.button(_("Join")).props('unelevated data-testid="portal-join"').classes(TOUCH)
        registration_box.set_visibility(False)

    countdown = {"seconds": 0}

    def tick() -> None:
        if countdown["seconds"] <= 0:
            return
        countdown["seconds"] -= 1
        if countdown["seconds"] == 0:
            send_button.set_text(_("Send the code again"))
            send_button.enable()
        else:
            send_button.set_text(_("Send again in {seconds} s").format(seconds=countdown["seconds"]))

    ui.timer(1.0, tick)

    async def send_code() -> None:
        try:
            async with get_database().unit_of_work() as session:
                otp = await service.request_login_code(session, context.store.id, phone.value or "")
        except KassaError as error:
            notify_error(error)
            return
        code_hint.set_text(
            _("We texted a code to {phone}. It is valid for 5 minutes.").format(
                phone=display_phone(otp.phone, context.store.phone_region)
            )
        )
        code_box.set_visibility(True)
        countdown["seconds"] = RESEND_SECONDS
        send_button.disable()
        send_button.set_text(_("Send again in {seconds} s").format(seconds=RESEND_SECONDS))
        code.run_method("focus")

    async def verify() -> None:
        try:
            async with get_database().unit_of_work() as session:
                result = await service.verify_login_code(
                    session, context.store.id, phone.value or "", code.value or ""
                )
        except KassaError as error:
            notify_error(error)
            return
        if result.error is not None:  # the failed attempt is committed: it counts
            notify_error(result.error)
            return
        if result.token is not None:
            logged_in(result.token)
            return
        ticket["value"] = result.registration_ticket
        registration_phone.set_text(
            _("Your phone number: {phone}").format(
                phone=display_phone(result.phone or "", context.store.phone_region)
            )
        )
        login_box.set_visibility(False)
        registration_box.set_visibility(True)

    async def join() -> None:
        if ticket["value"] is None:
            return
        try:
            async with get_database().unit_of_work() as session:
                result = await service.register(
                    session,
                    context.store.id,
                    ticket["value"],
                    service.Registration(
                        name=name.value or "",
                        email=email.value or None,
                        privacy_policy_accepted=bool(privacy.value),
                        privacy_policy_version=CURRENT_PRIVACY_POLICY_VERSION,
                        marketing_sms=bool(marketing.value),
                    ),
                )
        except KassaError as error:
            notify_error(error)
            return
        assert result.token is not None
        logged_in(result.token)

    async def password_login() -> None:
        try:
            async with get_database().unit_of_work() as session:
                result = await service.login_with_password(
                    session, context.store.id, password_phone.value or "", password.value or ""
                )
        except KassaError as error:
            notify_error(error)
            return
        if result.error is not None:
            notify_error(result.error)
            return
        assert result.token is not None
        logged_in(result.token)

    send_button.on_click(send_code)
    phone.on("keydown.enter", send_code)
    verify_button.on_click(verify)
    code.on("keydown.enter", verify)
    join_button.on_click(join)
    password_button.on_click(password_login)
    password.on("keydown.enter", password_login)


# --- home: the member card ----------------------------------------------------------------


def loyalty_tile(label: str, value: str | None, icon: str, testid: str) -> None:
    with ui.card().classes("items-start gap-1 p-3").props(f'flat bordered data-testid="{testid}"'):
        with ui.row().classes("items-center gap-1 text-stone-500 flex-nowrap"):
            ui.icon(icon).classes("text-lg")
            ui.label(label).classes("text-sm")
        ui.label(value if value is not None else "—").classes("text-xl font-bold text-stone-800 truncate")


def order_row(context: PortalContext, order: OrderView) -> None:
    """One line of the recent orders: when, where, how much."""
    _ = context._
    when = format_datetime(order.opened_at, order.timezone, context.locale, "yyyy-MM-dd HH:mm")
    with (
        ui.row()
        .classes(
            "w-full items-center flex-nowrap gap-3 bg-white rounded-lg px-3 py-2 min-h-[56px] cursor-pointer"
        )
        .on("click", lambda: ui.navigate.to(f"{context.base}/orders"))
        .props('data-testid="portal-recent-order"')
    ):
        with ui.column().classes("gap-0 grow min-w-0"):
            ui.label(order.store_name).classes("font-bold truncate")
            ui.label(when).classes("text-sm text-stone-500")
        ui.label(money(order.total_amount, order.currency, context.locale)).classes("font-bold tabular-nums")


@ui.page("/m/{store_id}", title="Kassa · members")
async def home_page(store_id: int) -> None:
    context = await member_context(store_id)
    if context is None:
        return
    assert context.identity is not None
    _ = context._
    identity = context.identity
    async with get_database().read_only() as session:
        member = await account.me(session, identity)
        summary = await loyalty_view.loyalty_summary(session, identity.organization_id, identity.member_id)
        recent = await account.orders(session, identity, limit=3)
    ui.page_title(f"{context.store.name} · {_('Member card')}")
    header(context)
    footer(context, "")
    with main_column():
        with (
            ui.card()
            .classes(
                "w-full items-stretch gap-2 p-4 rounded-2xl text-white"
                " bg-gradient-to-br from-amber-700 to-stone-800"
            )
            .props('data-testid="portal-card"')
        ):
            with ui.row().classes("w-full items-center flex-nowrap"):
                ui.label(_("Member card")).classes("text-sm uppercase tracking-wider opacity-80")
                ui.space()
                if summary is not None and summary.tier_name:
                    ui.label(summary.tier_name).classes("text-sm font-bold")
            ui.label(member.name).classes("text-2xl font-bold truncate").props(
                'data-testid="portal-member-name"'
            )
            ui.label(spaced_card_number(member.card_number)).classes(
                "text-lg tracking-widest tabular-nums"
            ).props(f'data-testid="portal-card-number" data-card-number="{member.card_number}"')
            with ui.element("div").classes("bg-white rounded-xl p-2 self-center w-56 h-56 mt-1"):
                ui.html(card_qr_svg(member.card_number), sanitize=False).classes("w-full h-full").props(
                    'data-testid="portal-card-qr"'
                )
            ui.label(_("Show this code at the counter to collect points and use your benefits.")).classes(
                "text-sm text-center opacity-90"
            )
        with ui.grid(columns=2).classes("w-full gap-3"):
            loyalty_tile(
                _("Tier"), summary.tier_name if summary else None, "workspace_premium", "portal-tier"
            )
            loyalty_tile(_("Points"), str(summary.points) if summary else None, "stars", "portal-points")
            balance = (
                format_money(summary.balance, context.locale)
                if summary is not None and summary.balance
                else None
            )
            loyalty_tile(_("Balance"), balance, "account_balance_wallet", "portal-balance")
            loyalty_tile(
                _("Coupons"),
                str(len(summary.coupons)) if summary else None,
                "local_activity",
                "portal-coupons",
            )
        if summary is None:
            ui.label(_("Points, balance and coupons will appear here soon.")).classes(
                "text-sm text-stone-500"
            )
        else:
            for coupon in summary.coupons:
                with ui.card().classes("w-full p-3 gap-0").props("flat bordered"):
                    ui.label(coupon.name).classes("font-bold")
                    if coupon.description:
                        ui.label(coupon.description).classes("text-sm")
                    if coupon.valid_until:
                        ui.label(_("Valid until {date}").format(date=coupon.valid_until.isoformat())).classes(
                            "text-xs text-stone-500"
                        )
            if summary.next_tier_name and summary.points_to_next_tier is not None:
                ui.label(
                    _("{points} points to {tier}").format(
                        points=summary.points_to_next_tier, tier=summary.next_tier_name
                    )
                ).classes("text-sm text-stone-600")
        with ui.row().classes("w-full items-center"):
            section_title(_("Recent orders"))
            ui.space()
            if recent:
                ui.button(_("All orders"), on_click=lambda: ui.navigate.to(f"{context.base}/orders")).props(
                    "flat no-caps"
                ).classes("min-h-[48px]")
        for order in recent:
            order_row(context, order)
        if not recent:
            ui.label(_("No orders yet. Show your card when you pay, and your orders appear here.")).classes(
                "text-stone-500"
            )


# --- orders ---------------------------------------------------------------------------


def order_card(context: PortalContext, order: OrderView) -> None:
    _ = context._
    locale = context.locale
    when = format_datetime(order.opened_at, order.timezone, locale, "yyyy-MM-dd HH:mm")
    with (
        ui.card()
        .classes("w-full gap-2 p-3")
        .props(f'flat bordered data-testid="portal-order" data-bill-id="{order.bill_id}"')
    ):
        with ui.row().classes("w-full items-start flex-nowrap gap-2"):
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.label(order.store_name).classes("font-bold truncate")
                ui.label(when).classes("text-sm text-stone-500")
            with ui.column().classes("gap-1 items-end"):
                ui.label(money(order.total_amount, order.currency, locale)).classes(
                    "text-lg font-bold tabular-nums"
                )
                status = BILL_STATUS_LABELS.get(order.status)
                if status:
                    ui.badge(_(status), color="green-7" if order.status == BillStatus.CLOSED else "amber-8")
        for request in order.returns:
            label = _(RETURN_STATUS_LABELS.get(request.status, request.status))
            items = ", ".join(f"{dish} ×{quantity}" for dish, quantity in request.lines)
            refund = (
                " · "
                + _("refunded {amount}").format(amount=money(request.refunded_amount, order.currency, locale))
                if request.refunded_amount
                else ""
            )
            with (
                ui.row()
                .classes("w-full items-center gap-2 flex-nowrap bg-amber-50 rounded px-2 py-1")
                .props('data-testid="portal-order-return"')
            ):
                ui.icon("assignment_return").classes("text-amber-800")
                ui.label(f"{label}: {items}{refund}").classes("text-sm text-amber-900")
        summary = ", ".join(f"{line.name} ×{line.quantity}" for line in order.lines)
        with (
            ui.expansion(summary or _("Details"))
            .classes("w-full")
            .props("dense header-class=px-0 text-stone-700")
        ):
            for line in order.lines:
                with ui.row().classes("w-full flex-nowrap gap-2 py-1 border-b border-stone-100"):
                    with ui.column().classes("gap-0 grow min-w-0"):
                        ui.label(f"{line.name} ×{line.quantity}")
                        if line.modifiers:
                            ui.label(", ".join(line.modifiers)).classes("text-xs text-stone-500")
                    ui.label(money(line.total_amount, order.currency, locale)).classes("tabular-nums")
            ui.label(_("Bill {number}").format(number=order.number)).classes("text-xs text-stone-500 pt-1")


@ui.page("/m/{store_id}/orders", title="Kassa · members")
async def orders_page(store_id: int) -> None:
    context = await member_context(store_id)
    if context is None:
        return
    assert context.identity is not None
    _ = context._
    async with get_database().read_only() as session:
        orders = await account.orders(session, context.identity)
    ui.page_title(f"{context.store.name} · {_('My orders')}")
    header(context)
    footer(context, "/orders")
    with main_column():
        ui.label(_("My orders")).classes("text-2xl font-bold")
        for order in orders:
            order_card(context, order)
        if not orders:
            ui.label(_("No orders yet. Show your card when you pay, and your orders appear here.")).classes(
                "text-stone-500"
            )


# --- feedback ---------------------------------------------------------------------------


@ui.page("/m/{store_id}/feedback", title="Kassa · members")
async def feedback_page(store_id: int, bill: int | None = None) -> None:
    context = await member_context(store_id)
    if context is None:
        return
    assert context.identity is not None
    _ = context._
    locale = context.locale
    async with get_database().read_only() as session:
        orders = await account.orders(session, context.identity, limit=20)
        given = await account.my_feedback(session, context.identity)
    ui.page_title(f"{context.store.name} · {_('Feedback')}")
    header(context)
    footer(context, "/feedback")
    order_options: dict[int, str] = {0: _("My visit in general")}
    for order in orders:
        when = format_datetime(order.opened_at, order.timezone, locale, "MM-dd HH:mm")
        order_options[order.bill_id] = (
            f"{when} · {order.store_name} · {money(order.total_amount, order.currency, locale)}"
        )
    with main_column():
        ui.label(_("How was it?")).classes("text-2xl font-bold")
        rating = (
            ui.rating(value=0, max=5, size="2.6em", icon="star_border", icon_selected="star", color="amber-7")
            .props('data-testid="portal-rating"')
            .classes("self-center")
        )
        about = ui.select(order_options, value=bill if bill in order_options else 0, label=_("About")).props(
            'outlined data-testid="portal-feedback-order"'
        )
        text = ui.textarea(_("Tell us more (optional)")).props(
            f'outlined counter maxlength={account.MAX_FEEDBACK_LENGTH} data-testid="portal-feedback-text"'
        )

        async def send() -> None:
            stars = int(rating.value or 0)
            if stars < 1:
                notify_error(ValidationFailed(_("Tap the stars to rate your visit."), field="rating"))
                return
            bill_id = int(about.value) if about.value else None
            done = await act(
                context,
                lambda session, identity: account.submit_feedback(
                    session, identity, stars, text.value or "", bill_id
                ),
            )
            if done is not None:
                ui.notify(_("Thank you for your feedback!"), type="positive", position="top")
                ui.navigate.reload()

        ui.button(_("Send"), icon="send", on_click=send).props(
            'unelevated data-testid="portal-feedback-send"'
        ).classes(TOUCH)
        if given:
            section_title(_("Your feedback"))
            for item in given:
                with (
                    ui.card()
                    .classes("w-full p-3 gap-1")
                    .props('flat bordered data-testid="portal-feedback-item"')
                ):
                    with ui.row().classes("w-full items-center flex-nowrap"):
                        ui.label("★" * item.rating + "☆" * (5 - item.rating)).classes(
                            "text-amber-600 text-lg"
                        )
                        ui.space()
                        ui.label(
                            format_datetime(item.created_at, context.store.timezone, locale, "yyyy-MM-dd")
                        ).classes("text-sm text-stone-500")
                    if item.text:
                        ui.label(item.text).classes("text-stone-700 whitespace-pre-line")


# --- me: profile, consents, password, my data ---------------------------------------------


def _birthday(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("a birthday is written YYYY-MM-DD", field="birthday") from None


@ui.page("/m/{store_id}/me", title="Kassa · members")
async def me_page(store_id: int) -> None:
    context = await member_context(store_id)
    if context is None:
        return
    assert context.identity is not None
    _ = context._
    locale = context.locale
    async with get_database().read_only() as session:
        member = await account.me(session, context.identity)
        history = await account.consents(session, context.identity)
        has_password = await service.has_password(session, context.identity)
    privacy = account.latest_consent(history, ConsentKind.PRIVACY_POLICY)
    ui.page_title(f"{context.store.name} · {_('Me')}")
    header(context)
    footer(context, "/me")
    confirm = delete_dialog(context)
    with main_column():
        ui.label(_("My details")).classes("text-2xl font-bold")
        with (
            ui.card()
            .classes("w-full gap-3 p-3 items-stretch")
            .props('flat bordered data-testid="portal-profile"')
        ):
            ui.label(
                _("Phone number: {phone}").format(
                    phone=display_phone(member.phone_e164, context.store.phone_region)
                )
            ).classes("text-stone-600")
            name = ui.input(_("Name"), value=member.name).props(
                'outlined autocomplete=name data-testid="portal-profile-name"'
            )
            email = ui.input(_("E-mail"), value=member.email or "").props(
                'outlined type=email autocomplete=email data-testid="portal-profile-email"'
            )
            birthday = ui.input(
                _("Birthday"), value=member.birthday.isoformat() if member.birthday else ""
            ).props('outlined type=date stack-label data-testid="portal-profile-birthday"')
            address = ui.input(_("Address"), value=member.address or "").props(
                'outlined autocomplete=street-address data-testid="portal-profile-address"'
            )

            async def save_profile() -> None:
                try:
                    changes = account.ProfileChanges(
                        name=name.value or "",
                        email=email.value or None,
                        birthday=_birthday(birthday.value),
                        address=address.value or None,
                    )
                except KassaError as error:
                    notify_error(error)
                    return
                saved = await act(
                    context, lambda session, identity: account.update_profile(session, identity, changes)
                )
                if saved is not None:
                    name.value = saved.name
                    ui.notify(_("Saved"), type="positive", position="top")

            ui.button(_("Save"), on_click=save_profile).props(
                'unelevated data-testid="portal-profile-save"'
            ).classes(TOUCH)

        section_title(_("Privacy and messages"))
        with (
            ui.card()
            .classes("w-full gap-2 p-3 items-stretch")
            .props('flat bordered data-testid="portal-consents"')
        ):
            changing = {"active": False}

            async def marketing_changed(event: object) -> None:
                if changing["active"]:
                    return
                wanted = bool(marketing.value)
                done = await act(
                    context,
                    lambda session, identity: account.record_consent(
                        session, identity, ConsentKind.MARKETING_SMS, wanted
                    ),
                )
                if done is None:
                    changing["active"] = True
                    marketing.value = not wanted
                    changing["active"] = False
                    return
                ui.notify(
                    _("You will get our offers by SMS.")
                    if wanted
                    else _("You will get no more offers by SMS."),
                    type="positive",
                    position="top",
                )

            marketing = (
                ui.switch(
                    _("Offers and news by SMS"),
                    value=member.marketing_sms_opt_in,
                    on_change=marketing_changed,
                )
                .props('data-testid="portal-marketing-switch"')
                .classes("min-h-[48px] text-base")
            )
            if privacy is not None and privacy.is_granted:
                accepted_on = format_datetime(
                    privacy.recorded_at, context.store.timezone, locale, "yyyy-MM-dd"
                )
                ui.label(
                    _("You accepted the privacy policy version {version} on {date}.").format(
                        version=privacy.policy_version, date=accepted_on
                    )
                ).classes("text-sm text-stone-600").props('data-testid="portal-privacy-accepted"')
            if privacy is None or privacy.policy_version != CURRENT_PRIVACY_POLICY_VERSION:

                async def accept_policy() -> None:
                    done = await act(
                        context,
                        lambda session, identity: account.record_consent(
                            session,
                            identity,
                            ConsentKind.PRIVACY_POLICY,
                            True,
                            CURRENT_PRIVACY_POLICY_VERSION,
                        ),
                    )
                    if done is not None:
                        ui.navigate.reload()

                ui.label(
                    _("The privacy policy changed (version {version}). Please read and accept it.").format(
                        version=CURRENT_PRIVACY_POLICY_VERSION
                    )
                ).classes("text-sm text-amber-800")
                ui.button(_("Accept the privacy policy"), on_click=accept_policy).props("outline").classes(
                    TOUCH
                )
            with ui.expansion(
                _("Privacy policy (version {version})").format(version=CURRENT_PRIVACY_POLICY_VERSION),
                icon="policy",
            ).classes("w-full"):
                ui.label(_(PRIVACY_POLICY_TEXT)).classes("text-sm text-stone-700")

        section_title(_("Password"))
        with (
            ui.card()
            .classes("w-full gap-2 p-3 items-stretch")
            .props('flat bordered data-testid="portal-password-card"')
        ):
            ui.label(
                _("A password is set: you can log in with it or with an SMS code.")
                if has_password
                else _("Set a password to log in without waiting for a code.")
            ).classes("text-sm text-stone-600")
            new_password = ui.input(
                _("New password (at least {count} characters)").format(count=service.MIN_PASSWORD_LENGTH),
                password=True,
                password_toggle_button=True,
            ).props('outlined autocomplete=new-password data-testid="portal-new-password"')

            async def save_password() -> None:
                secret = new_password.value or ""
                done = await act(context, lambda session, identity: _set_password(session, identity, secret))
                if done:
                    new_password.value = ""
                    ui.notify(_("Password saved"), type="positive", position="top")

            ui.button(_("Save password"), on_click=save_password).props(
                'outline data-testid="portal-save-password"'
            ).classes(TOUCH)

        section_title(_("My data"))
        with (
            ui.card()
            .classes("w-full gap-2 p-3 items-stretch")
            .props('flat bordered data-testid="portal-my-data"')
        ):

            async def download() -> None:
                data = await act(context, account.export_data)
                if data is not None:
                    content = json.dumps(data, ensure_ascii=False, indent=2).encode()
                    ui.download.content(content, account.export_filename(data), "application/json")

            ui.button(_("Download my data"), icon="download", on_click=download).props(
                'outline data-testid="portal-export"'
            ).classes(TOUCH)
            ui.button(_("Delete my account"), icon="delete_forever", on_click=confirm.open).props(
                'flat color=negative data-testid="portal-delete"'
            ).classes(TOUCH)


def delete_dialog(context: PortalContext) -> ui.dialog:
    """ "Delete my account?" with what it means, before anything is erased."""
    _ = context._
    with (
        ui.dialog() as confirm,
        ui.card().classes("items-stretch gap-3 p-4").style("width: min(420px, 94vw)"),
    ):
        ui.label(_("Delete your account?")).classes("text-xl font-bold")
        ui.label(
            _(
                "Your name, phone number, e-mail, birthday and address are erased and you are logged "
                "out everywhere. Your past orders stay in the store's books without your name. "
                "This cannot be undone."
            )
        ).classes("text-stone-700")

        async def erase() -> None:
            done = await act(context, _erase)
            if done:
                app.storage.user.pop(token_key(context.store.organization_id), None)
                ui.navigate.to(f"{context.base}/login?erased=true")

        ui.button(_("Delete my account"), on_click=erase).props(
            'unelevated color=negative data-testid="portal-delete-confirm"'
        ).classes(TOUCH)
        ui.button(_("Cancel"), on_click=confirm.close).props("flat").classes(TOUCH)
    return confirm


async def _set_password(session: AsyncSession, identity: PortalIdentity, password: str) -> bool:
    await service.set_password(session, identity, password)
    return True


async def _erase(session: AsyncSession, identity: PortalIdentity) -> bool:
    await account.erase_account(session, identity)
    return True
