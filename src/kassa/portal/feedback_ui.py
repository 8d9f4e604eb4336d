"""The back office's read-only list of what members said in the portal, per store."""

from __future__ import annotations

from nicegui import ui

from kassa.core.database import get_database
from kassa.core.i18n import format_datetime
from kassa.portal import account
from kassa.stores import service as store_service
from kassa.web.layout import (
    backoffice_frame,
    chosen_store,
    current_locale,
    gettext,
    require_backoffice_actor,
    store_switch,
)


@ui.page("/backoffice/feedback", title="Kassa · feedback")
async def feedback_page(store: int | None = None) -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    locale = current_locale()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
        current = chosen_store(stores, actor, store)
        items = await account.list_feedback(session, actor, current.id) if current is not None else []
    with backoffice_frame(actor, _("Member feedback")):
        if current is None:
            ui.label(_("No store yet."))
            return
        store_switch(stores, current, "/backoffice/feedback")
        if items:
            average = sum(item.rating for item in items) / len(items)
            ui.label(
                _("{count} ratings, {average} stars on average").format(
                    count=len(items), average=f"{average:.1f}"
                )
            ).classes("text-base").props('data-testid="feedback-summary"')
        ui.table(
            columns=[
                {"name": "when", "label": _("When"), "field": "when", "align": "left"},
                {"name": "rating", "label": _("Rating"), "field": "rating", "align": "left"},
                {
                    "name": "text",
                    "label": _("Comments"),
                    "field": "text",
                    "align": "left",
                    "style": "white-space: normal",
                },
                {"name": "member", "label": _("Member"), "field": "member", "align": "left"},
                {"name": "bill", "label": _("Bill"), "field": "bill", "align": "left"},
            ],
            rows=[
                {
                    "id": item.id,
                    "when": format_datetime(item.created_at, current.timezone, locale, "yyyy-MM-dd HH:mm"),
                    "rating": "★" * item.rating + "☆" * (5 - item.rating),
                    "text": item.text,
                    "member": f"{item.member_name} · {item.card_number}",
                    "bill": item.bill_number or "",
                }
                for item in items
            ],
            row_key="id",
        ).classes("w-full").props('data-testid="feedback-table"')
        if not items:
            ui.label(_("No feedback yet.")).classes("opacity-70")
