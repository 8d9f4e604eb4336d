"""The back office's returns page (``/backoffice/returns``): the archive with its filters,
each return's details (lines, refunds, the SMS and the replies), the CSV export, and the
store's return settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import background_tasks, ui

from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.events import Event
from kassa.core.i18n import format_datetime, format_money
from kassa.core.money import Money
from kassa.notifications import service as notifications
from kassa.notifications.ui import STATUS_COLORS as MESSAGE_STATUS_COLORS
from kassa.notifications.ui import STATUS_LABELS as MESSAGE_STATUS_LABELS
from kassa.orders.ui.view import TENDER_LABELS, amount_text, parse_amount
from kassa.orders.ui.widgets import dialog_card, run
from kassa.printing.escpos_render import render_text
from kassa.printing.layout import PaperWidth
from kassa.returns import service
from kassa.returns.models import ConfirmationMode, ReturnSettings, ReturnStatus, TimeoutAction
from kassa.returns.settings import reason_name
from kassa.returns.ui.view import (
    APPROVAL_METHOD_LABELS,
    CONFIRMATION_LABELS,
    CONFIRMATION_MODE_LABELS,
    REFUND_STATE_LABELS,
    REFUND_STATUS_LABELS,
    STATUS_COLORS,
    STATUS_LABELS,
    TIMEOUT_ACTION_LABELS,
    ReturnItem,
    date_range,
    load_items,
    parse_date,
    parse_words,
    reason_code_of,
    words_text,
)
from kassa.staff import service as staff_service
from kassa.stores import service as store_service
from kassa.stores.models import Store
from kassa.stores.service import store_topic
from kassa.web.layout import (
    backoffice_frame,
    chosen_store,
    current_locale,
    gettext,
    notify_error,
    require_backoffice_actor,
    store_switch,
    subscribe_for_this_page,
)

TOUCH = "min-h-[48px]"
FIELD = "outlined stack-label"
ARCHIVE_EVENTS = frozenset({"return.requested", service.QUEUE_EVENT})


@ui.page("/backoffice/returns", title="Kassa · returns")
async def returns_page(store: int | None = None) -> None:
    actor = await require_backoffice_actor(Permission.RETURN_APPROVE)
    if actor is None:
        return
    _ = gettext()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
        current = chosen_store(stores, actor, store)
        rules = await service.settings_of(session, current.id) if current else None
        staff = (
            await staff_service.list_staff(session, actor, current.id)
            if current is not None and actor.can(Permission.STAFF_VIEW)
            else []
        )
    with backoffice_frame(actor, _("Returns")):
        if current is None or rules is None:
            ui.label(_("No store yet.")).classes("opacity-70")
            return
        store_switch(stores, current, "/backoffice/returns")
        with ui.tabs().props("align=left no-caps inline-label").classes("w-full") as tabs:
            archive_tab = ui.tab("archive", _("Archive"), icon="history").props(
                'data-testid="returns-tab-archive"'
            )
            settings_tab = ui.tab("settings", _("Settings"), icon="tune").props(
                'data-testid="returns-tab-settings"'
            )
        with ui.tab_panels(tabs, value=archive_tab).classes("w-full bg-transparent"):
            with ui.tab_panel(archive_tab).classes("p-0 pt-2"):
                await ReturnsArchive(
                    actor, current, rules, {member.id: member.display_name for member in staff}
                ).build()
            with ui.tab_panel(settings_tab).classes("p-0 pt-2"):
                SettingsForm(actor, current, rules).build()


class ReturnsArchive:
    def __init__(
        self, actor: Actor, store: Store, rules: ReturnSettings, staff_names: dict[int, str]
    ) -> None:
        self.actor = actor
        self.store = store
        self.rules = rules
        self.staff_names = staff_names
        self.locale = current_locale()
        self._ = gettext()
        self.items: list[ReturnItem] = []

    def money(self, amount: int) -> str:
        return format_money(Money(amount, self.store.currency), self.locale)

    def when(self, moment: Any) -> str:
        return format_datetime(moment, self.store.timezone, self.locale, "yyyy-MM-dd HH:mm")

    async def build(self) -> None:
        _ = self._
        self.host = ui.element("div")
        today = utc_now().astimezone(ZoneInfo(self.store.timezone)).date()
        with ui.element("div").classes(
            "w-full grid gap-2 grid-cols-1 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-6"
        ):
            self.date_from = (
                ui.input(_("From"), value=(today - timedelta(days=30)).isoformat())
                .props(f"{FIELD} type=date")
                .props('data-testid="archive-from"')
            )
            self.date_to = (
                ui.input(_("To"), value=today.isoformat())
                .props(f"{FIELD} type=date")
                .props('data-testid="archive-to"')
            )
            self.status = (
                ui.select(
                    {
                        "": _("Any status"),
                        **{status.value: _(label) for status, label in STATUS_LABELS.items()},
                    },
                    value="",
                    label=_("Status"),
                )
                .props(FIELD)
                .props('data-testid="archive-status"')
            )
            self.reason = (
                ui.select(
                    {
                        "": _("Any reason"),
                        **{
                            str(reason.get("code")): reason_name(
                                self.rules, str(reason.get("code")), self.locale
                            )
                            for reason in self.rules.reasons
                        },
                    },
                    value="",
                    label=_("Reason"),
                )
                .props(FIELD)
                .props('data-testid="archive-reason"')
            )
            self.staff = (
                ui.select({0: _("Anyone"), **self.staff_names}, value=0, label=_("Staff"))
                .props(FIELD)
                .props('data-testid="archive-staff"')
            )
            self.dish = ui.input(_("Dish")).props(f"{FIELD} clearable").props('data-testid="archive-dish"')
            self.dish.on("keydown.enter", self.search)
        with ui.row().classes("w-full gap-2"):
            ui.button(_("Search"), icon="search", on_click=self.search).props("unelevated no-caps").classes(
                TOUCH
            ).props('data-testid="archive-search"')
            ui.button(_("Export CSV"), icon="download", on_click=self.export).props(
                "outline no-caps"
            ).classes(TOUCH).props('data-testid="archive-export"')
        self.summary = ui.label().classes("text-sm opacity-70").props('data-testid="archive-summary"')
        self.results = ui.column().classes("w-full gap-2").props('data-testid="archive-results"')
        subscribe_for_this_page(store_topic(self.store.id), self.on_event)
        await self.search()

    def where(self) -> service.ArchiveFilter:
        start, end = date_range(
            parse_date(self.date_from.value), parse_date(self.date_to.value), self.store.timezone
        )
        return service.ArchiveFilter(
            date_from=start,
            date_to=end,
            staff_id=int(self.staff.value or 0) or None,
            reason_code=self.reason.value or None,
            dish=(self.dish.value or "").strip() or None,
            status=ReturnStatus(self.status.value) if self.status.value else None,
        )

    async def search(self) -> None:
        try:
            async with get_database().read_only() as session:
                requests = await service.search_returns(session, self.actor, self.store.id, self.where())
                self.items = await load_items(session, self.actor, requests, self.staff_names, self.locale)
        except KassaError as error:
            with self.host:
                notify_error(error)
            return
        self.paint()

    def on_event(self, event: Event) -> None:
        if event.name in ARCHIVE_EVENTS:
            background_tasks.create(self.search(), name="returns-archive")

    def paint(self) -> None:
        _ = self._
        if self.results.is_deleted:
            return
        total = sum(item.request.amount for item in self.items)
        self.summary.set_text(
            _("{count} returns · {amount}").format(count=len(self.items), amount=self.money(total))
        )
        self.results.clear()
        with self.results:
            if not self.items:
                ui.label(_("No returns match.")).classes("opacity-60 p-2")
            for item in self.items:
                self.row(item)

    def row(self, item: ReturnItem) -> None:
        _ = self._
        request = item.request
        with (
            ui.element("div")
            .classes(
                "w-full rounded-lg border border-slate-200 bg-white px-3 py-2 flex flex-col gap-1"
                " cursor-pointer hover:bg-slate-50 active:bg-teal-50"
            )
            .props(f'role=button data-testid="archive-row" data-return-id="{item.id}"')
            .on("click", lambda: self.details(item))
        ):
            with ui.row().classes("w-full items-baseline gap-2 flex-nowrap"):
                ui.label(item.number).classes("font-bold")
                bill = _("Bill {number}").format(number=item.bill_number)
                ui.label(f"{self.when(request.requested_at)} · {bill}").classes("text-sm opacity-70 truncate")
                ui.space()
                ui.label(self.money(request.amount)).classes("font-bold tabular-nums")
            ui.label(item.dishes).classes("text-base truncate w-full").props(
                'data-testid="archive-row-dishes"'
            )
            with ui.row().classes("w-full gap-1 items-center"):
                ui.badge(_(STATUS_LABELS[request.status]), color=STATUS_COLORS[request.status]).props(
                    f'data-testid="archive-row-status" data-status="{request.status.value}"'
                )
                ui.badge(_(CONFIRMATION_LABELS[request.confirmation]), color="blue-grey-5").props(
                    'data-testid="archive-row-confirmation"'
                )
                ui.badge(_(REFUND_STATE_LABELS[request.refund_state]), color="teal-6").props(
                    'data-testid="archive-row-refund"'
                )
                ui.label(f"{item.reason} · {item.requested_by}").classes("text-xs opacity-70 truncate")

    async def details(self, item: ReturnItem) -> None:
        _ = self._
        request = item.request
        try:
            async with get_database().read_only() as session:
                request = await service.get_return(session, self.actor, item.id)
                messages = []
                if request.customer_phone:
                    log = await notifications.message_log(
                        session, self.actor, self.store.id, to=request.customer_phone, limit=200
                    )
                    messages = [
                        entry
                        for entry in log
                        if entry.message.subject_type == service.SUBJECT
                        and entry.message.subject_id == request.id
                    ]
                slip = (
                    render_text(await service.slip_document(session, request), PaperWidth.WIDTH_80_MM)
                    if request.status == ReturnStatus.APPROVED
                    else None
                )
        except KassaError as error:
            with self.host:
                notify_error(error)
            return
        title = _("Return {number}").format(number=item.number)
        with (
            dialog_card(self.host, title, "return-details", 640) as dialog,
            ui.column().classes("w-full gap-2 max-h-[75vh] overflow-y-auto flex-nowrap"),
        ):
            facts = [
                (_("Bill"), _("Bill {number}").format(number=item.bill_number)),
                (_("Status"), _(STATUS_LABELS[request.status])),
                (_("Asked"), f"{item.requested_by} · {self.when(request.requested_at)}"),
                (_("Reason"), item.reason + (f" — {request.reason_text}" if request.reason_text else "")),
                (_("Amount"), self.money(request.amount)),
            ]
            if request.reviewed_at is not None:
                decided = f"{item.reviewed_by} · {self.when(request.reviewed_at)}"
                if request.approval_method:
                    method = APPROVAL_METHOD_LABELS.get(request.approval_method, request.approval_method)
                    decided += f" ({_(method)})"
                if request.review_comment:
                    decided += f" — {request.review_comment}"
                facts.append((_("Decided"), decided))
            facts.append((_("Customer"), _(CONFIRMATION_LABELS[request.confirmation])))
            if request.customer_phone:
                facts.append((_("Phone"), request.customer_phone))
            facts.append((_("Refund"), _(REFUND_STATE_LABELS[request.refund_state])))
            if request.resolution_comment:
                facts.append((_("Settled"), request.resolution_comment))
            with ui.element("div").classes("w-full grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm"):
                for label, value in facts:
                    ui.label(label).classes("opacity-70")
                    ui.label(value).classes("break-words")
            ui.label(_("Dishes")).classes("text-base font-bold pt-2")
            for line in item.lines:
                with ui.row().classes("w-full gap-2 flex-nowrap text-sm").props('data-testid="details-line"'):
                    ui.label(f"{line.name} ×{line.quantity}").classes("flex-1")
                    if line.was_prepared:
                        ui.label(_("made")).classes("text-amber-800")
                    ui.label(self.money(line.amount)).classes("tabular-nums")
            ui.label(_("Refunds")).classes("text-base font-bold pt-2")
            if not item.refunds:
                ui.label(_("None")).classes("text-sm opacity-60")
            for refund in item.refunds:
                parts = [
                    _(TENDER_LABELS[refund.tender]),
                    self.money(refund.amount),
                    _(REFUND_STATUS_LABELS[refund.status]),
                ]
                if refund.is_held:
                    parts.append(_("held"))
                if refund.approval_code:
                    parts.append(refund.approval_code)
                if refund.failure_reason:
                    parts.append(refund.failure_reason)
                ui.label(" · ".join(parts)).classes("text-sm").props('data-testid="details-refund"')
            ui.label(_("Messages")).classes("text-base font-bold pt-2")
            if not messages:
                ui.label(_("None")).classes("text-sm opacity-60")
            for entry in messages:
                message = entry.message
                with ui.element("div").classes(
                    "w-full rounded border border-slate-200 p-2 flex flex-col gap-1"
                ):
                    with ui.row().classes("gap-2 items-center"):
                        ui.badge(
                            _(MESSAGE_STATUS_LABELS[message.status]),
                            color=MESSAGE_STATUS_COLORS[message.status],
                        )
                        ui.label(f"{message.to_address} · {self.when(message.created_at)}").classes("text-xs")
                    ui.label(message.body).classes("text-sm break-words").props(
                        'data-testid="details-message"'
                    )
                    for reply in entry.replies:
                        ui.label(f"↩ {reply.body} ({reply.outcome})").classes("text-sm text-teal-800 pl-3")
            if slip:
                ui.label(_("Slip")).classes("text-base font-bold pt-2")
                with ui.element("div").classes("w-full overflow-x-auto rounded border bg-slate-50 p-2"):
                    ui.label(slip).classes("font-mono whitespace-pre text-[10px] sm:text-xs leading-snug")
        await run(dialog)

    async def export(self) -> None:
        try:
            async with get_database().read_only() as session:
                text = await service.export_csv(session, self.actor, self.store.id, self.where())
        except KassaError as error:
            with self.host:
                notify_error(error)
            return
        stamp = utc_now().astimezone().strftime("%Y%m%d")
        ui.download.content(text.encode("utf-8-sig"), f"returns-{self.store.id}-{stamp}.csv", "text/csv")


class SettingsForm:
    """The store's return rules; only those who manage settings (owners) may save them."""

    def __init__(self, actor: Actor, store: Store, rules: ReturnSettings) -> None:
        self.actor = actor
        self.store = store
        self.rules = rules
        self._ = gettext()
        self.reasons: list[dict[str, Any]] = [
            {"code": str(reason.get("code")), "names": dict(reason.get("names") or {})}
            for reason in rules.reasons
        ]

    def build(self) -> None:
        _ = self._
        rules = self.rules
        can_save = self.actor.can(Permission.SETTINGS_MANAGE)
        with ui.card().classes("w-full max-w-3xl items-stretch gap-3").props('data-testid="return-settings"'):
            if not can_save:
                ui.label(_("Only the owner changes these settings.")).classes("text-sm text-amber-800")
            with ui.element("div").classes("w-full grid gap-3 grid-cols-1 sm:grid-cols-2"):
                self.threshold = (
                    ui.input(
                        _("A manager approves returns above ({currency})").format(
                            currency=self.store.currency
                        ),
                        value=amount_text(rules.manager_threshold_amount, self.store.currency),
                    )
                    .props(f"{FIELD} inputmode=decimal")
                    .props('data-testid="settings-threshold"')
                )
                self.minutes = (
                    ui.number(
                        _("Minutes to wait for the customer's reply"),
                        value=rules.confirmation_timeout_minutes,
                        min=1,
                        max=7 * 24 * 60,
                        step=1,
                        format="%d",
                    )
                    .props(FIELD)
                    .props('data-testid="settings-minutes"')
                )
                self.mode = (
                    ui.select(
                        {mode.value: _(label) for mode, label in CONFIRMATION_MODE_LABELS.items()},
                        value=rules.confirmation_mode.value,
                        label=_("Customer confirmation"),
                    )
                    .props(FIELD)
                    .props('data-testid="settings-mode"')
                )
                self.action = (
                    ui.select(
                        {action.value: _(label) for action, label in TIMEOUT_ACTION_LABELS.items()},
                        value=rules.timeout_action.value,
                        label=_("No reply in time"),
                    )
                    .props(FIELD)
                    .props('data-testid="settings-timeout-action"')
                )
            ui.label(_("Reasons")).classes("text-base font-bold")
            self.reason_list = ui.column().classes("w-full gap-1")
            self.paint_reasons()
            with ui.row().classes("w-full gap-2 items-center"):
                self.new_zh = (
                    ui.input("中文")
                    .props(f"{FIELD}")
                    .classes("flex-1 min-w-[8rem]")
                    .props('data-testid="settings-new-reason-zh"')
                )
                self.new_en = (
                    ui.input("English")
                    .props(f"{FIELD}")
                    .classes("flex-1 min-w-[8rem]")
                    .props('data-testid="settings-new-reason-en"')
                )
                ui.button(_("Add reason"), icon="add", on_click=self.add_reason).props(
                    "outline no-caps"
                ).classes(TOUCH).props('data-testid="settings-add-reason"')
            ui.label(_("Reply words (separate with commas)")).classes("text-base font-bold")
            with ui.element("div").classes("w-full grid gap-3 grid-cols-1 sm:grid-cols-2"):
                self.confirm_zh = ui.input(
                    _("Confirm") + " · 中文", value=words_text(rules.confirm_words.get("zh_CN", []))
                ).props(FIELD)
                self.confirm_en = ui.input(
                    _("Confirm") + " · English", value=words_text(rules.confirm_words.get("en", []))
                ).props(FIELD)
                self.dispute_zh = ui.input(
                    _("Dispute") + " · 中文", value=words_text(rules.dispute_words.get("zh_CN", []))
                ).props(FIELD)
                self.dispute_en = ui.input(
                    _("Dispute") + " · English", value=words_text(rules.dispute_words.get("en", []))
                ).props(FIELD)
            save = (
                ui.button(_("Save"), icon="save", on_click=self.save)
                .props("unelevated no-caps")
                .classes(TOUCH)
                .props('data-testid="settings-save"')
            )
            save.set_enabled(can_save)

    def paint_reasons(self) -> None:
        _ = self._
        self.reason_list.clear()
        with self.reason_list:
            for reason in self.reasons:
                names = reason["names"]
                with (
                    ui.row()
                    .classes("w-full gap-2 items-center flex-nowrap")
                    .props(f'data-testid="settings-reason" data-code="{reason["code"]}"')
                ):
                    ui.input("中文", value=names.get("zh_CN", "")).props(FIELD).classes(
                        "flex-1 min-w-0"
                    ).on_value_change(
                        lambda event, names=names: names.__setitem__("zh_CN", event.value or "")
                    )
                    ui.input("English", value=names.get("en", "")).props(FIELD).classes(
                        "flex-1 min-w-0"
                    ).on_value_change(lambda event, names=names: names.__setitem__("en", event.value or ""))
                    ui.button(icon="delete", on_click=lambda reason=reason: self.remove_reason(reason)).props(
                        "flat round color=negative"
                    ).classes("w-12 h-12").props('data-testid="settings-remove-reason"').tooltip(_("Remove"))

    def add_reason(self) -> None:
        zh = (self.new_zh.value or "").strip()
        en = (self.new_en.value or "").strip()
        code = reason_code_of(en or zh)
        if not code:
            ui.notify(self._("Name the reason first."), type="warning")
            return
        taken = {reason["code"] for reason in self.reasons}
        base, number = code, 2
        while code in taken:
            code = f"{base[:36]}_{number}"
            number += 1
        self.reasons.append({"code": code, "names": {"zh_CN": zh or en, "en": en or zh}})
        self.new_zh.set_value("")
        self.new_en.set_value("")
        self.paint_reasons()

    def remove_reason(self, reason: dict[str, Any]) -> None:
        self.reasons.remove(reason)
        self.paint_reasons()

    async def save(self) -> None:
        _ = self._
        threshold = parse_amount(self.threshold.value or "", self.store.currency)
        if threshold is None:
            ui.notify(_("Type the limit as an amount, like 100."), type="warning")
            return
        change = service.SettingsChange(
            reasons=[{"code": reason["code"], "names": dict(reason["names"])} for reason in self.reasons],
            manager_threshold_amount=threshold,
            confirmation_mode=ConfirmationMode(self.mode.value),
            confirmation_timeout_minutes=int(self.minutes.value or 0),
            timeout_action=TimeoutAction(self.action.value),
            confirm_words={
                "zh_CN": parse_words(self.confirm_zh.value or ""),
                "en": parse_words(self.confirm_en.value or ""),
            },
            dispute_words={
                "zh_CN": parse_words(self.dispute_zh.value or ""),
                "en": parse_words(self.dispute_en.value or ""),
            },
        )
        try:
            async with get_database().unit_of_work() as session:
                await service.update_settings(session, self.actor, self.store.id, change)
        except KassaError as error:
            notify_error(error)
            return
        ui.notify(_("Saved"), type="positive")
