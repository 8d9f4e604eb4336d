"""A member's profile in a dialog: figures, favourite items, order history with the
returns on each bill, tags and notes, consents."""

from __future__ import annotations

from collections.abc import Sequence

from nicegui import ui

from kassa.core.auth import Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.i18n import format_money
from kassa.core.money import Money
from kassa.members import access, profile, service
from kassa.members.models import ConsentKind
from kassa.members.ui.common import (
    BILL_STATUS_LABELS,
    CONSENT_LABELS,
    FIELD,
    GENDER_LABELS,
    HISTORY_PAGE,
    RETURN_STATUS_LABELS,
    TOUCH,
    PageContext,
    Refresh,
    figure,
    split_tags,
)
from kassa.web.layout import gettext, notify_error


async def member_dialog(context: PageContext, member_id: int, refresh: Refresh) -> None:
    """A member's figures, favourite items, order history, tags and notes, and consents;
    staff who manage members change tags, notes and marketing SMS here."""
    _ = gettext()
    actor = context.actor
    try:
        async with get_database().read_only() as session:
            result = await profile.member_profile(session, actor, member_id, history_limit=HISTORY_PAGE)
            history = await service.list_consents(session, actor, member_id)
    except KassaError as error:
        notify_error(error)
        return
    member = result.member
    figures = result.figures
    can_manage = actor.can(Permission.MEMBER_MANAGE)
    # Without member.contacts_view: name, card, figures; the phone masked, no e-mail or notes.
    seen = access.member_view(actor, member)

    def money(amount: int) -> str:
        return format_money(Money(amount, result.currency), context.locale)

    with (
        ui.dialog().props('data-testid="member-dialog"') as dialog,
        ui.card().classes("items-stretch gap-2").style("width: min(760px, 96vw); max-width: 96vw"),
    ):
        ui.label(member.name).classes("text-xl font-bold").props('data-testid="profile-name"')
        phone = access.shown_phone(actor, member.phone_e164, context.local.phone_region)
        ui.label(f"{phone} · {member.card_number}").props('data-testid="profile-phone"')
        details = [seen.email or "", _(GENDER_LABELS[seen.gender]) if seen.contacts_visible else ""]
        ui.label(" · ".join(item for item in details if item)).classes("text-sm opacity-70")
        with ui.element("div").classes("w-full grid gap-2 grid-cols-2 sm:grid-cols-4"):
            figure(_("Total spend"), money(figures.total_spend_amount), "profile-spend")
            figure(_("Visits"), str(figures.visits), "profile-visits")
            figure(
                _("Average bill"),
                money(figures.average_bill_amount) if figures.average_bill_amount is not None else "–",
                "profile-average",
            )
            figure(
                _("Last visit"),
                context.day(figures.last_visit_at) if figures.last_visit_at else "–",
                "profile-last-visit",
            )
        if figures.refunded_amount:
            ui.label(
                _("Paid {paid}, refunded {refunded}").format(
                    paid=money(figures.paid_amount), refunded=money(figures.refunded_amount)
                )
            ).classes("text-xs opacity-70")

        ui.label(_("Tags and notes")).classes("text-lg font-bold mt-2")
        tags = ui.input(_("Tags (separated by commas)"), value=", ".join(member.tags)).props(
            f'{FIELD} data-testid="profile-tags"'
        )
        notes = ui.textarea(_("Notes"), value=seen.notes).props(
            f'{FIELD} autogrow data-testid="profile-notes"'
        )
        notes.set_visibility(seen.contacts_visible)
        if not can_manage:
            tags.disable()
            notes.disable()
        if can_manage and not member.erased_at:
            phone_change_panel(context, member_id, refresh)

        ui.label(_("Favourite items")).classes("text-lg font-bold mt-2")
        if not result.favourites:
            ui.label(_("None yet")).classes("text-sm opacity-60")
        with ui.row().classes("gap-2"):
            for item in result.favourites:
                ui.chip(f"{item.name} × {item.quantity}").props('outline data-testid="profile-favourite"')

        ui.label(_("Order history")).classes("text-lg font-bold mt-2")
        history_rows = ui.column().classes("w-full gap-1")
        more = (
            ui.button(_("Show older bills")).props('flat no-caps data-testid="profile-more"').classes(TOUCH)
        )
        shown = {"count": 0}

        def add_history(bills: Sequence[profile.HistoryBill]) -> None:
            with history_rows:
                for bill in bills:
                    history_row(context, bill)
            shown["count"] += len(bills)
            more.set_visibility(shown["count"] < result.history_total)

        async def load_more() -> None:
            try:
                async with get_database().read_only() as session:
                    page = await profile.member_profile(
                        session, actor, member_id, history_limit=HISTORY_PAGE, history_offset=shown["count"]
                    )
            except KassaError as error:
                notify_error(error)
                return
            add_history(page.history)

        more.on_click(load_more)
        if not result.history:
            with history_rows:
                ui.label(_("No bills yet")).classes("text-sm opacity-60")
        add_history(result.history)

        ui.label(_("Consents")).classes("text-lg font-bold mt-2")
        for consent in history:
            state = _("given") if consent.is_granted else _("withdrawn")
            version = f" ({consent.policy_version})" if consent.policy_version else ""
            ui.label(
                f"{context.when(consent.recorded_at)} · {_(CONSENT_LABELS[consent.kind])}{version}: {state}"
            ).classes("text-sm").props('data-testid="member-consent"')

        async def save() -> None:
            try:
                async with get_database().unit_of_work() as session:
                    await service.update_member(
                        session,
                        actor,
                        member_id,
                        service.MemberChanges(tags=split_tags(tags.value), notes=notes.value or "")
                        if seen.contacts_visible
                        else service.MemberChanges(tags=split_tags(tags.value)),
                    )
            except KassaError as error:
                notify_error(error)
                return
            ui.notify(_("Saved"), type="positive")
            dialog.close()
            await refresh()

        async def switch_marketing() -> None:
            try:
                async with get_database().unit_of_work() as session:
                    await service.record_consent(
                        session, actor, member_id, ConsentKind.MARKETING_SMS, not member.marketing_sms_opt_in
                    )
            except KassaError as error:
                notify_error(error)
                return
            dialog.close()
            await refresh()

        with ui.row().classes("w-full justify-end gap-2"):
            if can_manage:
                label = _("Stop marketing SMS") if member.marketing_sms_opt_in else _("Allow marketing SMS")
                ui.button(label, on_click=switch_marketing).classes(TOUCH).props("flat no-caps")
                ui.button(_("Save"), icon="save", on_click=save).classes(TOUCH).props(
                    'unelevated no-caps data-testid="profile-save"'
                )
            ui.button(_("Close"), on_click=dialog.close).classes(TOUCH).props("flat")
    dialog.on("hide", dialog.delete)
    dialog.open()


def phone_change_panel(context: PageContext, member_id: int, refresh: Refresh) -> None:
    """The phone number is the member's portal login: a manager changes it at once; other
    staff send a code to the current number and type the code the member reads out."""
    _ = gettext()
    actor = context.actor
    can_change = actor.can(Permission.MEMBER_PHONE_CHANGE)
    with (
        ui.expansion(_("Change the phone number"), icon="phone")
        .classes("w-full rounded border")
        .props('dense data-testid="profile-phone-change"')
    ):
        new_phone = ui.input(_("New phone number")).props(f'{FIELD} type=tel data-testid="profile-new-phone"')
        code = ui.input(_("Code sent to the current number")).props(
            f'{FIELD} inputmode=numeric data-testid="profile-phone-code"'
        )
        code.set_visibility(not can_change)

        async def send_code() -> None:
            try:
                async with get_database().unit_of_work() as session:
                    sent = await access.send_phone_change_code(
                        session, actor, member_id, new_phone.value or ""
                    )
            except KassaError as error:
                notify_error(error)
                return
            ui.notify(_("Code sent to {phone}").format(phone=sent.sent_to), type="info")

        async def change() -> None:
            error: KassaError | None = None
            try:
                async with get_database().unit_of_work() as session:
                    result = await access.change_phone(
                        session, actor, member_id, new_phone.value or "", code=code.value or None
                    )
                    error = result.error  # a wrong code still counts: committed, then shown
            except KassaError as raised:
                error = raised
            if error is not None:
                notify_error(error)
                return
            ui.notify(_("Phone number changed"), type="positive")
            await refresh()

        with ui.row().classes("w-full justify-end gap-2"):
            if not can_change:
                ui.button(_("Send the code"), icon="sms", on_click=send_code).classes(TOUCH).props(
                    'flat no-caps data-testid="profile-phone-send-code"'
                )
            ui.button(_("Change"), icon="check", on_click=change).classes(TOUCH).props(
                'unelevated no-caps data-testid="profile-phone-submit"'
            )


def history_row(context: PageContext, bill: profile.HistoryBill) -> None:
    _ = gettext()

    def money(amount: int) -> str:
        return format_money(Money(amount, bill.currency), context.locale)

    parts = [
        context.when(bill.closed_at or bill.opened_at),
        bill.store_name,
        f"#{bill.number}",
        _(BILL_STATUS_LABELS[bill.status]),
        money(bill.amount),
    ]
    for request in bill.returns:
        parts.append(f"{_(RETURN_STATUS_LABELS[request.status])} {money(request.amount)}")
    if bill.refunded_amount:
        parts.append(_("refunded {amount}").format(amount=money(bill.refunded_amount)))
    ui.label(" · ".join(parts)).classes("text-sm").props('data-testid="profile-bill"')
