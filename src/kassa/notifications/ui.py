"""Back-office pages of the messages Kassa sends: the message log (``/backoffice/messages``)
with replies, a simulated customer reply (built-in log provider only) and the replies no
message was found for; and the texts per event and language (``/backoffice/templates``)
with a live preview, the SMS length and what each numbered parameter of a provider's
template receives, and the organization's webhook URLs for the gateways."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nicegui import background_tasks, ui

from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError, ValidationFailed
from kassa.core.events import Event
from kassa.core.i18n import LOCALE_NAMES, N_, format_datetime
from kassa.core.settings import get_settings
from kassa.notifications import service, templates
from kassa.notifications.models import InboundMessage, MessageStatus
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
STATUS_LABELS = {
    MessageStatus.QUEUED: N_("Queued"),
    MessageStatus.SENT: N_("Sent"),
    MessageStatus.DELIVERED: N_("Delivered"),
    MessageStatus.FAILED: N_("Failed"),
}
STATUS_COLORS = {
    MessageStatus.QUEUED: "grey-7",
    MessageStatus.SENT: "blue-7",
    MessageStatus.DELIVERED: "positive",
    MessageStatus.FAILED: "negative",
}
EVENT_LABELS = {
    "return_notice": N_("Return notice"),
    "refund_done": N_("Refund paid out"),
    "verification_code": N_("Verification code"),
    "order_ready": N_("Order ready"),
    "reservation_confirmation": N_("Reservation made"),
    "reservation_reminder": N_("Reservation reminder"),
    "birthday_coupon": N_("Birthday coupon"),
    "tier_change": N_("Membership tier changed"),
    "free_text": N_("Message typed by staff"),
}
ENCODING_LABELS = {"gsm7": "GSM-7", "ucs2": N_("Unicode (UCS-2)")}
LOG_EVENTS = frozenset({service.MESSAGE_EVENT, "message.reply"})
# The back-office navigation entry of the templates page (web.layout translates it).
TEMPLATES_NAVIGATION_LABEL = N_("Templates")


def event_label(event: str, _: Any) -> str:
    return str(_(EVENT_LABELS[event])) if event in EVENT_LABELS else event


# --- the message log ----------------------------------------------------------------------


@ui.page("/backoffice/messages", title="Kassa · messages")
async def messages_page(store: int | None = None) -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
        staff = await staff_service.list_staff(session, actor) if actor.can(Permission.STAFF_VIEW) else []
    current = chosen_store(stores, actor, store)
    with backoffice_frame(actor, _("Messages")):
        if current is None:
            ui.label(_("No store yet.")).classes("opacity-70")
            return
        store_switch(stores, current, "/backoffice/messages")
        await MessageLog(actor, current, {member.id: member.display_name for member in staff}).build()


class MessageLog:
    def __init__(self, actor: Actor, store: Store, staff_names: dict[int, str]) -> None:
        self.actor = actor
        self.store = store
        self.staff_names = staff_names
        self.locale = current_locale()
        self._ = gettext()

    def when(self, moment: Any) -> str:
        return format_datetime(moment, self.store.timezone, self.locale, "yyyy-MM-dd HH:mm")

    async def build(self) -> None:
        _ = self._
        with ui.row().classes("w-full gap-2 items-center"):
            self.status = (
                ui.select(
                    {
                        "": _("Any status"),
                        **{status.value: _(label) for status, label in STATUS_LABELS.items()},
                    },
                    value="",
                    label=_("Status"),
                    on_change=self.refresh,
                )
                .props(FIELD)
                .classes("w-44")
                .props('data-testid="messages-status"')
            )
            self.phone = (
                ui.input(_("Phone"))
                .props(f"{FIELD} clearable type=tel")
                .classes("w-56")
                .props('data-testid="messages-phone"')
            )
            self.phone.on("keydown.enter", self.refresh)
            ui.button(_("Search"), icon="search", on_click=self.refresh).props("unelevated no-caps").classes(
                TOUCH
            ).props('data-testid="messages-search"')
        with ui.element("div").classes("w-full grid gap-4 grid-cols-1 xl:grid-cols-[1fr_380px] items-start"):
            self.log = ui.column().classes("w-full gap-2 min-w-0").props('data-testid="message-log"')
            with ui.column().classes("w-full gap-4 min-w-0"):
                self.simulate_form()
                with ui.card().classes("w-full items-stretch gap-2"):
                    ui.label(_("Replies without a message")).classes("text-base font-bold")
                    self.unmatched = (
                        ui.column().classes("w-full gap-1").props('data-testid="unmatched-replies"')
                    )
        subscribe_for_this_page(store_topic(self.store.id), self.on_event)
        await self.refresh()

    def simulate_form(self) -> None:
        _ = self._
        with ui.card().classes("w-full items-stretch gap-2").props('data-testid="simulate-reply"'):
            ui.label(_("Simulate customer reply")).classes("text-base font-bold")
            ui.label(
                _("As if the customer had answered by SMS (only with the built-in log provider).")
            ).classes("text-xs opacity-70")
            self.reply_from = (
                ui.input(_("From (phone)")).props(f"{FIELD} type=tel").props('data-testid="simulate-from"')
            )
            self.reply_text = (
                ui.input(_("Text")).props(f"{FIELD} maxlength=500").props('data-testid="simulate-text"')
            )
            ui.button(_("Send reply"), icon="reply", on_click=self.simulate).props(
                "unelevated no-caps"
            ).classes(TOUCH).props('data-testid="simulate-send"')

    async def refresh(self) -> None:
        status = MessageStatus(self.status.value) if self.status.value else None
        try:
            async with get_database().read_only() as session:
                entries = await service.message_log(
                    session,
                    self.actor,
                    self.store.id,
                    status=status,
                    to=(self.phone.value or "").strip() or None,
                )
                unmatched = await service.unmatched_replies(session, self.actor, self.store.id)
        except KassaError as error:
            with self.log:
                notify_error(error)
            return
        if self.log.is_deleted:
            return
        self.log.clear()
        with self.log:
            if not entries:
                ui.label(self._("No messages match.")).classes("opacity-60 p-2")
            for entry in entries:
                self.message_card(entry)
        self.paint_unmatched(unmatched)

    def on_event(self, event: Event) -> None:
        if event.name in LOG_EVENTS:
            background_tasks.create(self.refresh(), name="message-log")

    def message_card(self, entry: service.LoggedMessage) -> None:
        _ = self._
        message = entry.message
        card = ui.element("div").classes(
            "w-full rounded-lg border border-slate-200 bg-white px-3 py-2 flex flex-col gap-1"
        )
        card.props(
            f'data-testid="message" data-message-id="{message.id}" data-event="{message.event}"'
            f' data-reply-code="{message.reply_code or ""}"'
        )
        with card:
            with ui.row().classes("w-full gap-2 items-center"):
                ui.badge(_(STATUS_LABELS[message.status]), color=STATUS_COLORS[message.status]).props(
                    f'data-testid="message-status" data-status="{message.status.value}"'
                )
                ui.label(event_label(message.event, _)).classes("font-bold")
                ui.label(message.to_address).classes("text-sm tabular-nums").props('data-testid="message-to"')
                ui.space()
                ui.label(self.when(message.created_at)).classes("text-xs opacity-70")
            ui.label(message.body).classes("text-sm break-words").props('data-testid="message-body"')
            cause = (
                self.staff_names.get(message.caused_by_staff_id or 0) if message.caused_by_staff_id else None
            )
            facts = [
                message.provider or _("no provider yet"),
                _("{count} SMS").format(count=message.segments),
                _("caused by {cause}").format(
                    cause=f"{cause} ({message.caused_by})" if cause else message.caused_by
                ),
            ]
            if message.reply_code:
                facts.append(_("reply code {code}").format(code=message.reply_code))
            ui.label(" · ".join(facts)).classes("text-xs opacity-70").props('data-testid="message-facts"')
            if message.error:
                ui.label(message.error).classes("text-xs text-rose-700")
            for reply in entry.replies:
                with (
                    ui.row()
                    .classes("w-full gap-2 items-baseline pl-4 border-l-4 border-teal-200")
                    .props('data-testid="message-reply"')
                ):
                    ui.label("↩ " + reply.body).classes("text-sm font-medium")
                    ui.label(f"{reply.outcome} · {self.when(reply.received_at)}").classes(
                        "text-xs opacity-70"
                    )
            if message.reply_code:
                ui.button(
                    _("Reply as the customer"),
                    icon="reply",
                    on_click=lambda: self.reply_from.set_value(message.to_address),
                ).props("flat dense no-caps color=teal-8").classes("self-start min-h-[40px]").props(
                    'data-testid="message-reply-as"'
                )

    def paint_unmatched(self, replies: Sequence[InboundMessage]) -> None:
        if self.unmatched.is_deleted:
            return
        self.unmatched.clear()
        with self.unmatched:
            if not replies:
                ui.label(self._("None")).classes("text-sm opacity-60")
            for reply in replies:
                with ui.column().classes("w-full gap-0 border-b border-slate-100 py-1"):
                    ui.label(f"{reply.from_address}: {reply.body}").classes("text-sm break-words")
                    ui.label(f"{reply.outcome} · {self.when(reply.received_at)}").classes(
                        "text-xs opacity-70"
                    )

    async def simulate(self) -> None:
        _ = self._
        try:
            async with get_database().unit_of_work() as session:
                store = await store_service.get_store(session, self.actor, self.store.id)
                inbound = await service.simulate_reply(
                    session, self.actor, store, self.reply_from.value or "", self.reply_text.value or ""
                )
                outcome = inbound.outcome
        except KassaError as error:
            notify_error(error)
            return
        ui.notify(_("Reply received: {outcome}").format(outcome=outcome), type="positive")
        self.reply_text.set_value("")
        await self.refresh()


# --- templates ----------------------------------------------------------------------------


@ui.page("/backoffice/templates", title="Kassa · message templates")
async def templates_page() -> None:
    actor = await require_backoffice_actor(Permission.SETTINGS_MANAGE)
    if actor is None:
        return
    _ = gettext()
    async with get_database().read_only() as session:
        views = await service.list_templates(session, actor)
        webhooks = await service.webhooks(session, actor, get_settings().base_url)
    with backoffice_frame(actor, _("Message templates")):
        TemplateEditor(actor, views).build()
        WebhookCard(actor, webhooks).build()


# The template-based providers whose template ids are typed here, with their labels.
PROVIDER_CODE_LABELS = {"aliyun": N_("Aliyun template code"), "tencent": N_("Tencent Cloud template id")}


@dataclass
class Draft:
    """A text being edited: its body, the template ids, and the numbered parameters (None:
    the order the text uses the variables in)."""

    body: str
    codes: dict[str, str]
    numbered: list[str] | None


class TemplateEditor:
    """One text at a time: choose the event and the language, edit, see it filled in, and
    what each numbered parameter {1}, {2}, ... of the provider's template receives."""

    def __init__(self, actor: Actor, views: Sequence[service.TemplateView]) -> None:
        self.actor = actor
        self._ = gettext()
        self.views = {(view.event, view.language): view for view in views}
        self.events = list(dict.fromkeys(view.event for view in views))
        self.event = self.events[0]
        self.language = (
            current_locale() if current_locale() in templates.LANGUAGES else templates.LANGUAGES[0]
        )
        # Typed but not saved, per event and language: switching does not lose it.
        self.drafts: dict[tuple[str, str], Draft] = {}

    @property
    def view(self) -> service.TemplateView:
        return self.views[(self.event, self.language)]

    @property
    def draft(self) -> Draft:
        key = (self.event, self.language)
        if key not in self.drafts:
            view = self.view
            self.drafts[key] = Draft(
                body=view.body,
                codes={name: str(code) for name, code in view.provider_template_codes.items()},
                numbered=list(view.numbered_parameters) if view.has_own_numbered_parameters else None,
            )
        return self.drafts[key]

    def build(self) -> None:
        _ = self._
        self.event_row = ui.element("div").classes("w-full flex flex-wrap gap-2")
        with ui.card().classes("w-full max-w-3xl items-stretch gap-3").props('data-testid="template-editor"'):
            with ui.row().classes("w-full items-center gap-2"):
                self.title = ui.label().classes("text-lg font-bold")
                self.custom = ui.badge().props('data-testid="template-custom"')
                ui.space()
                self.language_row = ui.row().classes("gap-1 flex-nowrap")
            self.variables = ui.row().classes("w-full gap-1")
            self.body = (
                ui.textarea(_("Text"), on_change=self.on_body_change)
                .props("outlined autogrow")
                .classes("w-full")
                .props('data-testid="template-body"')
            )
            ui.label(_("Preview with sample data")).classes("text-sm font-bold")
            self.preview = (
                ui.label()
                .classes("w-full rounded bg-slate-50 border border-slate-200 p-3 text-base break-words")
                .props('data-testid="template-preview"')
            )
            self.count = ui.label().classes("text-sm tabular-nums").props('data-testid="template-count"')
            self.problem = ui.label().classes("text-sm text-rose-700").props('data-testid="template-error"')
            ui.separator()
            ui.label(_("Provider templates")).classes("text-sm font-bold")
            ui.label(
                _(
                    "Aliyun and Tencent Cloud send only templates registered with them: type the id each "
                    "gave this text. Tencent Cloud fills its template's numbered parameters {1}, {2}, … "
                    "with the variables listed here, in this order."
                )
            ).classes("text-xs opacity-70")
            with ui.row().classes("w-full gap-2"):
                self.code_inputs = {
                    name: ui.input(
                        _(label), on_change=lambda event, name=name: self.set_code(name, event.value)
                    )
                    .props(f"{FIELD} maxlength=60")
                    .classes("w-64")
                    .props(f'data-testid="template-code-{name}"')
                    for name, label in PROVIDER_CODE_LABELS.items()
                }
            self.numbered = ui.column().classes("w-full gap-1").props('data-testid="template-numbered"')
            with ui.row().classes("w-full gap-2"):
                self.add_number = (
                    ui.button(_("Add parameter"), icon="add", on_click=self.add_parameter)
                    .props("outline no-caps color=indigo-8")
                    .classes(TOUCH)
                    .props('data-testid="template-number-add"')
                )
                self.follow_text = (
                    ui.button(
                        _("Follow the text"), icon="format_list_numbered", on_click=self.follow_the_text
                    )
                    .props("outline no-caps color=grey-8")
                    .classes(TOUCH)
                    .props('data-testid="template-numbers-follow-text"')
                )
            with ui.row().classes("w-full gap-2"):
                ui.button(_("Save"), icon="save", on_click=self.save).props("unelevated no-caps").classes(
                    TOUCH
                ).props('data-testid="template-save"')
                self.reset_button = (
                    ui.button(_("Reset to built-in"), icon="restart_alt", on_click=self.reset)
                    .props("outline no-caps color=grey-8")
                    .classes(TOUCH)
                    .props('data-testid="template-reset"')
                )
        self.paint()

    def paint(self) -> None:
        _ = self._
        view = self.view
        draft = self.draft
        self.event_row.clear()
        with self.event_row:
            for event in self.events:
                is_on = event == self.event
                is_custom = any(self.views[(event, language)].is_custom for language in templates.LANGUAGES)
                button = ui.button(
                    event_label(event, _) + (" ✎" if is_custom else ""),
                    on_click=lambda event=event: self.choose(event=event),
                ).props(
                    f"no-caps unelevated {'color=indigo-8' if is_on else 'color=grey-3 text-color=grey-10'}"
                )
                button.classes(TOUCH).props(
                    f'data-testid="template-event-{event}" aria-pressed="{str(is_on).lower()}"'
                )
        self.language_row.clear()
        with self.language_row:
            for language in templates.LANGUAGES:
                is_on = language == self.language
                ui.button(
                    LOCALE_NAMES.get(language, language),
                    on_click=lambda language=language: self.choose(language=language),
                ).props(
                    f"no-caps unelevated {'color=indigo-8' if is_on else 'color=grey-3 text-color=grey-10'}"
                ).classes(TOUCH).props(f'data-testid="template-language-{language}"')
        self.title.set_text(event_label(self.event, _))
        self.custom.set_text(_("Own text") if view.is_custom else _("Built-in text"))
        self.custom.props(f"color={'orange-8' if view.is_custom else 'grey-6'}")
        self.variables.clear()
        with self.variables:
            for name in view.variables:
                ui.button("{" + name + "}", on_click=lambda name=name: self.insert(name)).props(
                    "outline dense no-caps color=indigo-8"
                ).classes("min-h-[40px] font-mono").props(f'data-testid="template-variable-{name}"')
        self.body.set_value(draft.body)
        for name, field in self.code_inputs.items():
            field.set_value(draft.codes.get(name, ""))
        self.reset_button.set_enabled(view.is_custom)
        self.show_preview()

    def choose(self, *, event: str | None = None, language: str | None = None) -> None:
        self.event = event or self.event
        self.language = language or self.language
        self.paint()

    def insert(self, name: str) -> None:
        self.body.set_value((self.body.value or "") + "{" + name + "}")

    def on_body_change(self) -> None:
        self.draft.body = self.body.value or ""
        self.show_preview()

    def set_code(self, provider: str, value: str | None) -> None:
        text = (value or "").strip()
        if text:
            self.draft.codes[provider] = text
        else:
            self.draft.codes.pop(provider, None)

    def numbered_names(self) -> list[str]:
        """The variables the numbers receive as they stand: stated, else the text's order."""
        draft = self.draft
        if draft.numbered is not None:
            return list(draft.numbered)
        try:
            return templates.default_numbered_parameters(draft.body)
        except ValidationFailed:
            return []

    def set_parameter(self, index: int, name: str) -> None:
        names = self.numbered_names()
        names[index] = name
        self.draft.numbered = names
        self.show_preview()

    def add_parameter(self) -> None:
        names = self.numbered_names()
        # The next the text uses, else any the event knows.
        try:
            in_text = templates.default_numbered_parameters(self.draft.body)
        except ValidationFailed:
            in_text = []
        unused = [name for name in [*in_text, *self.view.variables] if name not in names]
        names.append(unused[0] if unused else self.view.variables[0])
        self.draft.numbered = names
        self.show_preview()

    def remove_parameter(self, index: int) -> None:
        names = self.numbered_names()
        del names[index]
        self.draft.numbered = names
        self.show_preview()

    def follow_the_text(self) -> None:
        self.draft.numbered = None
        self.show_preview()

    def show_preview(self) -> None:
        _ = self._
        try:
            preview = templates.preview(
                self.event, self.body.value or "", numbered_parameters=self.draft.numbered
            )
        except ValidationFailed as error:
            self.problem.set_text(error.detail)
            self.preview.set_text("")
            self.count.set_text("")
            self.paint_numbered(())
            return
        self.problem.set_text("")
        self.preview.set_text(preview.text)
        count = preview.segments
        self.count.set_text(
            _("{characters} characters · {segments} SMS · {encoding}").format(
                characters=count.characters,
                segments=count.segments,
                encoding=_(ENCODING_LABELS[count.encoding]) if count.encoding == "ucs2" else "GSM-7",
            )
        )
        self.count.props(f'data-segments="{count.segments}"')
        self.paint_numbered(preview.numbered)

    def paint_numbered(self, numbered: Sequence[templates.NumberedParameter]) -> None:
        """Each number with the variable it receives and, beside it, the preview's value."""
        _ = self._
        self.numbered.clear()
        is_stated = self.draft.numbered is not None
        self.follow_text.set_enabled(is_stated)
        with self.numbered:
            ui.label(
                _("Stated for this text")
                if is_stated
                else _("In the order the text uses them (the sign left out)")
            ).classes("text-xs opacity-70").props(
                f'data-testid="template-numbered-source" data-stated="{str(is_stated).lower()}"'
            )
            if not numbered:
                ui.label(_("No numbered parameters")).classes("text-sm opacity-60")
            for index, item in enumerate(numbered):
                with (
                    ui.row()
                    .classes("w-full items-center gap-2 flex-nowrap")
                    .props(
                        f'data-testid="template-number" data-number="{item.number}"'
                        f' data-variable="{item.variable}"'
                    )
                ):
                    ui.label("{" + str(item.number) + "}").classes("font-mono font-bold w-10")
                    ui.select(
                        list(self.view.variables),
                        value=item.variable,
                        on_change=lambda event, index=index: self.set_parameter(index, str(event.value)),
                    ).props(f"{FIELD} dense").classes("w-48").props(
                        f'data-testid="template-number-variable-{item.number}"'
                    )
                    ui.label("→ " + item.value).classes("text-sm break-words grow").props(
                        f'data-testid="template-number-value-{item.number}"'
                    )
                    ui.button(icon="close", on_click=lambda index=index: self.remove_parameter(index)).props(
                        "flat round dense color=grey-8"
                    ).props(f'data-testid="template-number-remove-{item.number}" aria-label="{_("Remove")}"')

    async def reload(self) -> None:
        async with get_database().read_only() as session:
            views = await service.list_templates(session, self.actor)
        self.views = {(view.event, view.language): view for view in views}

    async def save(self) -> None:
        draft = self.draft
        try:
            async with get_database().unit_of_work() as session:
                await service.save_template(
                    session,
                    self.actor,
                    event=self.event,
                    language=self.language,
                    body=self.body.value or "",
                    subject=self.view.subject if self.view.is_custom else None,
                    provider_template_codes=draft.codes,
                    numbered_parameters=draft.numbered,
                )
        except KassaError as error:
            notify_error(error)
            return
        self.drafts.pop((self.event, self.language), None)
        await self.reload()
        self.paint()
        ui.notify(self._("Saved"), type="positive")

    async def reset(self) -> None:
        try:
            async with get_database().unit_of_work() as session:
                await service.reset_template(
                    session, self.actor, event=self.event, language=self.language, channel=self.view.channel
                )
        except KassaError as error:
            notify_error(error)
            return
        self.drafts.pop((self.event, self.language), None)
        await self.reload()
        self.paint()
        ui.notify(self._("Back to the built-in text."), type="positive")


class WebhookCard:
    """The organization's webhook URLs to give the SMS gateways' consoles, and a new token
    when one leaked (the old URLs stop working)."""

    def __init__(self, actor: Actor, setup: service.WebhookSetup) -> None:
        self.actor = actor
        self.setup = setup
        self._ = gettext()

    def build(self) -> None:
        _ = self._
        with ui.card().classes("w-full max-w-3xl items-stretch gap-2").props('data-testid="webhooks"'):
            ui.label(_("Webhooks for the SMS gateways")).classes("text-lg font-bold")
            ui.label(
                _(
                    "Give these addresses to the gateways' consoles: replies (inbound) and delivery reports "
                    "reach Kassa there. They carry this organization's secret token: keep them private."
                )
            ).classes("text-xs opacity-70")
            self.addresses = ui.column().classes("w-full gap-1")
            ui.button(_("Replace the token"), icon="autorenew", on_click=self.confirm_rotation).props(
                "outline no-caps color=negative"
            ).classes(f"{TOUCH} self-start").props('data-testid="webhooks-rotate"')
        self.paint()

    def paint(self) -> None:
        self.addresses.clear()
        with self.addresses:
            for address in self.setup.addresses:
                ui.input(f"{address.provider} · {address.kind}", value=address.url).props(
                    f"{FIELD} readonly dense"
                ).classes("w-full font-mono text-xs").props(
                    f'data-testid="webhook-url" data-provider="{address.provider}" data-kind="{address.kind}"'
                )

    def confirm_rotation(self) -> None:
        _ = self._
        with ui.dialog() as dialog, ui.card().classes("w-[380px] max-w-full items-stretch gap-3"):
            ui.label(_("Replace the webhook token?")).classes("text-base font-bold")
            ui.label(
                _("The addresses above stop working at once: give the new ones to every gateway's console.")
            ).classes("text-sm")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(_("Cancel"), on_click=dialog.close).props("flat no-caps").classes(TOUCH)
                ui.button(_("Replace"), on_click=lambda: self.rotate(dialog)).props(
                    "unelevated no-caps color=negative"
                ).classes(TOUCH).props('data-testid="webhooks-rotate-confirm"')
        dialog.open()

    async def rotate(self, dialog: ui.dialog) -> None:
        try:
            async with get_database().unit_of_work() as session:
                self.setup = await service.rotate_webhook_token(session, self.actor, get_settings().base_url)
        except KassaError as error:
            notify_error(error)
            return
        dialog.close()
        self.paint()
        ui.notify(self._("New webhook addresses: give them to the gateways."), type="positive")
