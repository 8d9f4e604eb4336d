"""The print-queue chip on the register: hidden while printing works, amber while receipts
or kitchen tickets wait for a printer that is off, red when one was given up on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from nicegui import background_tasks, ui

from kassa.core.database import get_database, utc_now
from kassa.core.events import Event
from kassa.core.outbox import DEAD_EVENT, DELIVERED_EVENT, RETRYING_EVENT, WAITING_STATUSES, OutboxStatus
from kassa.printing.service import list_print_jobs

# A job given up on stays on the chip for a shift, long enough for someone to see it.
DEAD_JOBS_SHOWN_FOR = timedelta(hours=12)


async def print_queue_counts(store_id: int) -> tuple[int, int]:
    """(jobs waiting for a printer, jobs given up on recently) of a store."""
    async with get_database().read_only() as session:
        waiting = await list_print_jobs(session, store_id, WAITING_STATUSES)
        dead = await list_print_jobs(session, store_id, OutboxStatus.DEAD)
    recent_dead = [job for job in dead if job.created_at > utc_now() - DEAD_JOBS_SHOWN_FOR]
    return len(waiting), len(recent_dead)


async def print_queue_chip(
    store_id: int, _: Callable[[str], str], on_click: Callable[[], Any] | None = None
) -> Callable[[Event], None]:
    """Show the chip (a tap calls ``on_click``: the register lists the jobs, to cancel
    one); returns the event handler that keeps it current."""
    chip = ui.label().classes("px-3 py-2 rounded-lg text-sm font-bold").props('data-testid="print-queue"')
    if on_click is not None:
        chip.on("click", on_click)
        chip.style("cursor: pointer")

    async def refresh() -> None:
        waiting, dead = await print_queue_counts(store_id)
        if dead:
            chip.set_text(_("{count} print jobs failed: check the printer").format(count=dead))
            chip.classes(replace="px-3 py-2 rounded-lg text-sm font-bold bg-red-100 text-red-900")
        elif waiting:
            chip.set_text(_("{count} print jobs waiting for the printer").format(count=waiting))
            chip.classes(replace="px-3 py-2 rounded-lg text-sm font-bold bg-amber-100 text-amber-900")
        chip.set_visibility(bool(dead or waiting))

    def on_event(event: Event) -> None:
        if event.name in (DELIVERED_EVENT, RETRYING_EVENT, DEAD_EVENT):
            # Outside the page's context (the worker publishes): refresh as a background task.
            background_tasks.create(refresh(), name="print-queue-chip")

    await refresh()
    return on_event
