"""The members page's import tab: upload a sheet, see every problem by row and column."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from nicegui import events, ui

from kassa.core.database import get_database
from kassa.core.errors import KassaError, ValidationFailed
from kassa.members import transfer
from kassa.members.ui.common import FIELD, PageContext, Refresh
from kassa.web.layout import gettext, notify_error


class ImportPanel:
    def __init__(self, context: PageContext, refresh: Refresh) -> None:
        self.context = context
        self.refresh = refresh
        self._ = gettext()

    def build(self) -> None:
        _ = self._
        actor = self.context.actor
        stores = self.context.stores
        with ui.card().classes("w-full max-w-3xl items-stretch gap-3").props('data-testid="member-import"'):
            ui.label(
                _(
                    "A CSV or XLSX file, one member per row, the first row naming the columns: "
                    "phone, name and privacy_policy_version are required (the version of the privacy "
                    "policy the member accepted); card_number, email, birthday, gender, tags (separated "
                    "by |), marketing_sms_opt_in, registered_at, address and notes are optional. "
                    "An export has these columns."
                )
            ).classes("text-sm")
            with ui.element("div").classes("w-full grid gap-3 grid-cols-1 sm:grid-cols-2"):
                self.store = ui.select(
                    {item.id: item.name for item in stores},
                    label=_("They sign up in"),
                    value=actor.store_id if actor.store_id in {item.id for item in stores} else stores[0].id,
                ).props(f'{FIELD} data-testid="import-store"')
                self.duplicates = ui.select(
                    {
                        transfer.DuplicatePolicy.SKIP.value: _("Skip members who exist already"),
                        transfer.DuplicatePolicy.REPORT.value: _(
                            "Report members who exist already as problems"
                        ),
                    },
                    value=transfer.DuplicatePolicy.SKIP.value,
                    label=_("Phone numbers that are members already"),
                ).props(f'{FIELD} data-testid="import-duplicates"')
            self.all_or_nothing = ui.checkbox(
                _("All or nothing: import nothing if any row has a problem"), value=True
            ).props('data-testid="import-all-or-nothing"')
            self.upload = (
                ui.upload(label=_("Choose a file"), auto_upload=True, on_upload=self.receive, max_files=1)
                .props('accept=".csv,.xlsx" flat bordered data-testid="import-upload"')
                .classes("w-full")
            )
            self.summary = ui.label().classes("text-base font-bold").props('data-testid="import-summary"')
            self.table = (
                ui.table(
                    columns=[
                        {"name": "row", "label": _("Row"), "field": "row", "align": "right"},
                        {"name": "column", "label": _("Column"), "field": "column", "align": "left"},
                        {"name": "reason", "label": _("Problem"), "field": "reason", "align": "left"},
                    ],
                    rows=[],
                    row_key="key",
                    pagination=0,
                )
                .classes("w-full")
                .props('flat bordered dense hide-bottom data-testid="import-problems"')
            )
            self.table.set_visibility(False)

    async def receive(self, event: events.UploadEventArguments) -> None:
        _ = self._
        suffix = PurePath(event.file.name).suffix.lower().lstrip(".")
        self.upload.reset()
        if suffix not in {item.value for item in transfer.MemberFileFormat}:
            notify_error(ValidationFailed("upload a .csv or .xlsx file", field="file"))
            return
        content = await event.file.read()
        try:
            async with get_database().unit_of_work() as session:
                result = await transfer.import_members(
                    session,
                    self.context.actor,
                    content,
                    transfer.MemberFileFormat(suffix),
                    store_id=int(self.store.value),
                    duplicates=transfer.DuplicatePolicy(self.duplicates.value),
                    is_all_or_nothing=bool(self.all_or_nothing.value),
                )
        except ValidationFailed as error:
            problems = error.extra.get("problems")
            if problems is None:
                notify_error(error)
                return
            self.summary.set_text(_("Nothing was imported; problems: {count}").format(count=len(problems)))
            self.show_rows(problems + list(error.extra.get("skipped", [])))
            return
        except KassaError as error:
            notify_error(error)
            return
        self.summary.set_text(
            _("Imported {created}; skipped {skipped}; not imported {problems}").format(
                created=result.created, skipped=len(result.skipped), problems=len(result.problems)
            )
        )
        self.show_rows(
            [
                {"row": item.row, "column": item.column, "reason": item.reason}
                for item in result.problems + result.skipped
            ]
        )
        await self.refresh()

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        ordered = sorted(rows, key=lambda item: (item["row"], item["column"]))
        self.table.rows = [
            {**item, "key": f"{item['row']}:{item['column']}:{index}"} for index, item in enumerate(ordered)
        ]
        self.table.update()
        self.table.set_visibility(bool(ordered))
