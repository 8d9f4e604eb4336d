"""The back office's members page: search (phone in any format, its last 4 digits, card
number or name), sign a customer up with their consents, see a member's consent history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from nicegui import ui

from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError, ValidationFailed
from kassa.core.i18n import N_, format_datetime
from kassa.core.phones import display_phone
from kassa.members import service
from kassa.members.models import ConsentKind, Gender, Member
from kassa.stores import service as store_service
from kassa.stores.models import Store
from kassa.web.layout import (
    backoffice_frame,
    current_locale,
    gettext,
    notify_error,
    require_backoffice_actor,
)

TOUCH = "min-h-[48px]"
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


def _parse_birthday(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("a birthday is written YYYY-MM-DD", field="birthday") from None


@ui.page("/backoffice/members", title="Kassa · members")
async def members_page() -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    locale = current_locale()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
        region = await service.phone_region(session, actor)
    timezone = stores[0].timezone if stores else "UTC"

    with backoffice_frame(actor, _("Members")):
        with ui.row().classes("w-full items-center gap-2"):
            search = (
                ui.input(placeholder=_("Phone, last 4 digits, card number or name"))
                .props('outlined dense clearable data-testid="member-search"')
                .classes("grow max-w-md")
            )
            ui.button(_("Search"), icon="search", on_click=lambda: show()).classes(TOUCH).props(
                'unelevated data-testid="member-search-button"'
            )
        table = (
            ui.table(
                columns=[
                    {"name": "name", "label": _("Name"), "field": "name", "align": "left"},
                    {"name": "phone", "label": _("Phone"), "field": "phone", "align": "left"},
                    {"name": "card", "label": _("Card number"), "field": "card", "align": "left"},
                    {"name": "sms", "label": _("Marketing SMS"), "field": "sms", "align": "left"},
                    {"name": "tags", "label": _("Tags"), "field": "tags", "align": "left"},
                    {"name": "since", "label": _("Member since"), "field": "since", "align": "left"},
                ],
                rows=[],
                row_key="id",
            )
            .classes("w-full")
            .props('data-testid="members-table"')
        )

        async def show() -> None:
            try:
                async with get_database().read_only() as session:
                    members = await service.find_members(session, actor, search.value or "")
            except KassaError as error:
                notify_error(error)
                return
            table.rows = [
                {
                    "id": member.id,
                    "name": member.name,
                    "phone": display_phone(member.phone_e164, region),
                    "card": member.card_number,
                    "sms": _("Yes") if member.marketing_sms_opt_in else _("No"),
                    "tags": ", ".join(member.tags),
                    "since": format_datetime(member.created_at, timezone, locale, "yyyy-MM-dd"),
                }
                for member in members
            ]
            table.update()

        async def open_member(event: Any) -> None:
            await _member_dialog(actor, int(event.args[1]["id"]), region, timezone, locale, show)

        search.on("keydown.enter", show)
        table.on("rowClick", open_member)
        await show()

        if actor.can(Permission.MEMBER_MANAGE) and stores:
            _registration_form(actor, stores, show)


def _registration_form(actor: Actor, stores: Sequence[Store], refresh: Any) -> None:
    _ = gettext()
    ui.label(_("Sign a customer up")).classes("text-xl font-bold mt-2")
    with ui.card().classes("w-full max-w-3xl items-stretch gap-3").props('data-testid="member-form"'):
        with ui.grid().classes("w-full gap-3 grid-cols-1 sm:grid-cols-2"):
            phone = ui.input(_("Phone")).props('outlined type=tel data-testid="member-phone"')
            name = ui.input(_("Name")).props('outlined data-testid="member-name"')
            email = ui.input(_("E-mail")).props("outlined type=email")
            birthday = ui.input(_("Birthday (YYYY-MM-DD)")).props("outlined")
            gender = ui.select(
                {gender.value: _(label) for gender, label in GENDER_LABELS.items()},
                label=_("Gender"),
                value=Gender.UNSPECIFIED.value,
            ).props("outlined")
            store = ui.select(
                {item.id: item.name for item in stores},
                label=_("Store"),
                value=actor.store_id if actor.store_id in {item.id for item in stores} else stores[0].id,
            ).props("outlined")
            tags = ui.input(_("Tags (separated by commas)")).props("outlined")
            notes = ui.input(_("Notes")).props("outlined")
        privacy = ui.checkbox(
            _("The customer accepts the privacy policy (version {version})").format(
                version=service.CURRENT_PRIVACY_POLICY_VERSION
            )
        ).props('data-testid="member-privacy"')
        marketing = ui.checkbox(_("The customer agrees to receive marketing SMS")).props(
            'data-testid="member-marketing"'
        )

        async def register() -> None:
            try:
                data = service.MemberInput(
                    phone=phone.value or "",
                    name=name.value or "",
                    email=email.value or None,
                    birthday=_parse_birthday(birthday.value),
                    gender=Gender(gender.value),
                    notes=notes.value or "",
                    tags=[tag for tag in (tags.value or "").replace("，", ",").split(",")],
                )
                consents = service.RegistrationConsents(
                    privacy_policy_accepted=bool(privacy.value),
                    privacy_policy_version=service.CURRENT_PRIVACY_POLICY_VERSION,
                    marketing_sms=bool(marketing.value),
                )
                async with get_database().unit_of_work() as session:
                    member = await service.register_member(session, actor, int(store.value), data, consents)
                    card_number = member.card_number
            except KassaError as error:
                notify_error(error)
                return
            ui.notify(_("Signed up: card {card}").format(card=card_number), type="positive")
            for element in (phone, name, email, birthday, tags, notes):
                element.set_value("")
            privacy.set_value(False)
            marketing.set_value(False)
            await refresh()

        ui.button(_("Sign up"), icon="person_add", on_click=register).classes(TOUCH).props(
            'unelevated data-testid="member-register"'
        )


async def _member_dialog(
    actor: Actor, member_id: int, region: str, timezone: str, locale: str, refresh: Any
) -> None:
    """A member's details and consent history; staff who manage members switch marketing SMS."""
    _ = gettext()
    try:
        async with get_database().read_only() as session:
            member: Member = await service.get_member(session, actor, member_id)
            history = await service.list_consents(session, actor, member_id)
    except KassaError as error:
        notify_error(error)
        return
    with ui.dialog() as dialog, ui.card().classes("w-[480px] max-w-full items-stretch gap-2"):
        ui.label(member.name).classes("text-xl font-bold")
        ui.label(f"{display_phone(member.phone_e164, region)} · {member.card_number}")
        if member.email:
            ui.label(member.email)
        ui.label(f"{_('Gender')}: {_(GENDER_LABELS[member.gender])}")
        if member.notes:
            ui.label(member.notes).classes("text-sm opacity-70")
        ui.label(_("Consents")).classes("text-lg font-bold mt-2")
        for consent in history:
            state = _("given") if consent.is_granted else _("withdrawn")
            version = f" ({consent.policy_version})" if consent.policy_version else ""
            when = format_datetime(consent.recorded_at, timezone, locale, "yyyy-MM-dd HH:mm")
            ui.label(f"{when} · {_(CONSENT_LABELS[consent.kind])}{version}: {state}").classes(
                "text-sm"
            ).props('data-testid="member-consent"')

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
            if actor.can(Permission.MEMBER_MANAGE):
                label = _("Stop marketing SMS") if member.marketing_sms_opt_in else _("Allow marketing SMS")
                ui.button(label, on_click=switch_marketing).classes(TOUCH).props("flat no-caps")
            ui.button(_("Close"), on_click=dialog.close).classes(TOUCH).props("flat")
    dialog.open()
