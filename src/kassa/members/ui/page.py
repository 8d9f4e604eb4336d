"""The members page itself: its tabs, the member list with its filters, pages and
export, and the sign-up form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nicegui import ui

from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.members import analytics, profile, service, transfer
from kassa.members.access import shown_phone
from kassa.members.models import Gender
from kassa.members.ui.analytics import AnalyticsPanel
from kassa.members.ui.common import (
    FIELD,
    GENDER_LABELS,
    PAGE_SIZE,
    TOUCH,
    PageContext,
    Refresh,
    parse_amount,
    parse_birthday,
    parse_day,
    split_tags,
)
from kassa.members.ui.imports import ImportPanel
from kassa.members.ui.profile import member_dialog
from kassa.stores import service as store_service
from kassa.stores.models import Store
from kassa.web.layout import (
    backoffice_frame,
    current_locale,
    gettext,
    notify_error,
    require_backoffice_actor,
)


@ui.page("/backoffice/members", title="Kassa · members")
async def members_page() -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    # LOYALTY HOOK: tiers for the list's tier filter and the spend per tier, when loyalty is there.
    tier_provider = analytics.loyalty_tier_provider()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
        local = await profile.local_settings(session, actor)
        tiers = await tier_provider(session, actor.organization_id) if tier_provider is not None else None
    context = PageContext(actor, stores, local, current_locale())

    with backoffice_frame(actor, _("Members")):
        with ui.tabs().props("align=left no-caps inline-label").classes("w-full") as tabs:
            list_tab = ui.tab("list", _("Members"), icon="people").props('data-testid="members-tab-list"')
            analytics_tab = (
                ui.tab("analytics", _("Analytics"), icon="insights").props(
                    'data-testid="members-tab-analytics"'
                )
                if actor.can(Permission.REPORT_VIEW)
                else None
            )
            import_tab = (
                ui.tab("import", _("Import"), icon="upload_file").props('data-testid="members-tab-import"')
                if actor.can(Permission.MEMBER_MANAGE) and stores
                else None
            )
        analytics_panel = AnalyticsPanel(context, tier_provider)

        async def on_tab(event: Any) -> None:
            if event.value == "analytics":
                await analytics_panel.show()

        with ui.tab_panels(tabs, value=list_tab, on_change=on_tab).classes("w-full bg-transparent"):
            with ui.tab_panel(list_tab).classes("p-0 pt-2 gap-4"):
                member_list = MemberList(context, tiers)
                await member_list.build()
                if actor.can(Permission.MEMBER_MANAGE) and stores:
                    registration_form(actor, stores, member_list.show)
            if analytics_tab is not None:
                with ui.tab_panel(analytics_tab).classes("p-0 pt-2"):
                    analytics_panel.build()
            if import_tab is not None:
                with ui.tab_panel(import_tab).classes("p-0 pt-2"):
                    ImportPanel(context, member_list.show).build()


# --- the list -----------------------------------------------------------------------------


class MemberList:
    def __init__(self, context: PageContext, tiers: dict[int, str] | None) -> None:
        self.context = context
        self.tiers = tiers
        self.offset = 0
        self.total = 0
        self._ = gettext()

    async def build(self) -> None:
        _ = self._
        with ui.row().classes("w-full items-center gap-2"):
            self.search = (
                ui.input(placeholder=_("Phone, last 4 digits, card number or name"))
                .props('outlined dense clearable data-testid="member-search"')
                .classes("grow max-w-md")
            )
            ui.button(_("Search"), icon="search", on_click=self.first_page).classes(TOUCH).props(
                'unelevated data-testid="member-search-button"'
            )
            ui.space()
            if self.context.actor.can(Permission.BACK_OFFICE):
                for file_format in transfer.MemberFileFormat:
                    ui.button(
                        _("Export {format}").format(format=file_format.value.upper()),
                        icon="download",
                        on_click=lambda chosen=file_format: self.export(chosen),
                    ).classes(TOUCH).props(f'flat no-caps data-testid="member-export-{file_format.value}"')
        with (
            ui.expansion(_("Filters"), icon="filter_list")
            .classes("w-full rounded border")
            .props('dense data-testid="member-filters"')
        ):
            with ui.element("div").classes("w-full grid gap-2 grid-cols-1 sm:grid-cols-2 lg:grid-cols-4 p-2"):
                self.tag = ui.input(_("Tag")).props(f'{FIELD} data-testid="filter-tag"')
                self.last_visit_from = ui.input(_("Last visit from")).props(
                    f'{FIELD} type=date data-testid="filter-last-visit-from"'
                )
                self.last_visit_to = ui.input(_("Last visit to")).props(
                    f'{FIELD} type=date data-testid="filter-last-visit-to"'
                )
                self.tier = None
                if self.tiers is not None:
                    names = sorted(set(self.tiers.values()))
                    self.tier = ui.select(
                        {"": _("Any tier"), **{name: name for name in names}}, value="", label=_("Tier")
                    ).props(f'{FIELD} data-testid="filter-tier"')
                currency = self.context.local.currency
                self.spend_at_least = ui.input(
                    _("Total spend at least ({currency})").format(currency=currency)
                ).props(f'{FIELD} inputmode=decimal data-testid="filter-spend-at-least"')
                self.spend_at_most = ui.input(
                    _("Total spend at most ({currency})").format(currency=currency)
                ).props(f'{FIELD} inputmode=decimal data-testid="filter-spend-at-most"')
                self.registered_from = ui.input(_("Signed up from")).props(
                    f'{FIELD} type=date data-testid="filter-registered-from"'
                )
                self.registered_to = ui.input(_("Signed up to")).props(
                    f'{FIELD} type=date data-testid="filter-registered-to"'
                )
            with ui.row().classes("w-full justify-end gap-2 px-2 pb-2"):
                ui.button(_("Clear filters"), on_click=self.clear).props("flat no-caps").classes(TOUCH)
                ui.button(_("Apply filters"), icon="filter_alt", on_click=self.first_page).props(
                    'unelevated no-caps data-testid="filter-apply"'
                ).classes(TOUCH)
        self.table = (
            ui.table(
                columns=[
                    {"name": "name", "label": _("Name"), "field": "name", "align": "left"},
                    {"name": "phone", "label": _("Phone"), "field": "phone", "align": "left"},
                    {"name": "card", "label": _("Card number"), "field": "card", "align": "left"},
                    {"name": "tags", "label": _("Tags"), "field": "tags", "align": "left"},
                    {"name": "visits", "label": _("Visits"), "field": "visits", "align": "right"},
                    {"name": "spend", "label": _("Total spend"), "field": "spend", "align": "right"},
                    {"name": "last_visit", "label": _("Last visit"), "field": "last_visit", "align": "left"},
                    {"name": "sms", "label": _("Marketing SMS"), "field": "sms", "align": "left"},
                    {"name": "since", "label": _("Member since"), "field": "since", "align": "left"},
                ],
                rows=[],
                row_key="id",
                pagination=0,
            )
            .classes("w-full")
            .props('flat bordered hide-bottom data-testid="members-table"')
        )
        with ui.row().classes("w-full items-center justify-end gap-2"):
            self.page_label = (
                ui.label().classes("text-sm opacity-70").props('data-testid="member-page-label"')
            )
            self.previous = (
                ui.button(icon="chevron_left", on_click=lambda: self.turn(-1))
                .props('flat data-testid="member-page-previous"')
                .classes(TOUCH)
            )
            self.next = (
                ui.button(icon="chevron_right", on_click=lambda: self.turn(1))
                .props('flat data-testid="member-page-next"')
                .classes(TOUCH)
            )
        self.search.on("keydown.enter", self.first_page)
        self.table.on("rowClick", self.open_member)
        await self.show()

    def filters(self) -> profile.MemberFilter:
        currency = self.context.local.currency
        tier_member_ids = None
        if self.tier is not None and self.tier.value and self.tiers is not None:
            tier_member_ids = {member_id for member_id, name in self.tiers.items() if name == self.tier.value}
        return profile.MemberFilter(
            text=self.search.value or "",
            tag=self.tag.value or None,
            last_visit_from=parse_day(self.last_visit_from.value, "last_visit_from"),
            last_visit_to=parse_day(self.last_visit_to.value, "last_visit_to"),
            spend_at_least_amount=parse_amount(self.spend_at_least.value, currency, "spend_at_least_amount"),
            spend_at_most_amount=parse_amount(self.spend_at_most.value, currency, "spend_at_most_amount"),
            registered_from=parse_day(self.registered_from.value, "registered_from"),
            registered_to=parse_day(self.registered_to.value, "registered_to"),
            tier_member_ids=tier_member_ids,
        )

    async def first_page(self) -> None:
        self.offset = 0
        await self.show()

    async def turn(self, step: int) -> None:
        self.offset = max(0, self.offset + step * PAGE_SIZE)
        await self.show()

    async def clear(self) -> None:
        for element in (
            self.tag,
            self.last_visit_from,
            self.last_visit_to,
            self.spend_at_least,
            self.spend_at_most,
            self.registered_from,
            self.registered_to,
        ):
            element.set_value("")
        if self.tier is not None:
            self.tier.set_value("")
        await self.first_page()

    async def show(self) -> None:
        _ = self._
        context = self.context
        try:
            filters = self.filters()
            async with get_database().read_only() as session:
                page = await profile.list_members(
                    session, context.actor, filters, offset=self.offset, limit=PAGE_SIZE
                )
        except KassaError as error:
            notify_error(error)
            return
        self.total = page.total
        self.table.rows = [
            {
                "id": row.member.id,
                "name": row.member.name,
                "phone": shown_phone(context.actor, row.member.phone_e164, context.local.phone_region),
                "card": row.member.card_number,
                "tags": ", ".join(row.member.tags),
                "visits": row.figures.visits,
                "spend": context.money(row.figures.total_spend_amount),
                "last_visit": context.day(row.figures.last_visit_at) if row.figures.last_visit_at else "",
                "sms": _("Yes") if row.member.marketing_sms_opt_in else _("No"),
                "since": context.day(row.member.created_at),
            }
            for row in page.rows
        ]
        self.table.update()
        shown_to = self.offset + len(page.rows)
        self.page_label.set_text(
            _("{first}–{last} of {total}").format(first=self.offset + 1, last=shown_to, total=page.total)
            if page.rows
            else _("No members found")
        )
        self.previous.set_enabled(self.offset > 0)
        self.next.set_enabled(shown_to < page.total)

    async def open_member(self, event: Any) -> None:
        await member_dialog(self.context, int(event.args[1]["id"]), self.show)

    async def export(self, file_format: transfer.MemberFileFormat) -> None:
        try:
            filters = self.filters()
            async with get_database().unit_of_work() as session:  # the export is audited
                content = await transfer.export_members(session, self.context.actor, file_format, filters)
        except KassaError as error:
            notify_error(error)
            return
        stamp = self.context.local.local_date(utc_now()).strftime("%Y%m%d")
        ui.download.content(
            content, f"members-{stamp}.{file_format.value}", transfer.MEDIA_TYPES[file_format]
        )


# --- sign-up ------------------------------------------------------------------------------


def registration_form(actor: Actor, stores: Sequence[Store], refresh: Refresh) -> None:
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
                    birthday=parse_birthday(birthday.value),
                    gender=Gender(gender.value),
                    notes=notes.value or "",
                    tags=split_tags(tags.value),
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
