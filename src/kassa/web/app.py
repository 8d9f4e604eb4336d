"""The app factory: the JSON API and the NiceGUI UI on one ASGI app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from kassa.api_keys.api import router as api_keys_router
from kassa.catalog.api import router as catalog_router
from kassa.core.database import Database, set_database
from kassa.core.errors import NotFound
from kassa.core.pg_events import events_across_processes
from kassa.core.settings import Settings, get_settings
from kassa.deliveries.api import router as deliveries_router
from kassa.loyalty.api import router as loyalty_router
from kassa.members.api import router as members_router
from kassa.notifications.api import router as notifications_router
from kassa.orders.api import router as orders_router
from kassa.orders.e_receipt import router as e_receipt_router
from kassa.payments.api import router as payments_router
from kassa.portal.api import router as portal_router
from kassa.reservations.api import router as reservations_router
from kassa.returns.api import router as returns_router
from kassa.shifts.api import router as shifts_router
from kassa.staff.api import router as staff_router
from kassa.stores.api import router as stores_router
from kassa.telephony.api import router as telephony_router
from kassa.web.access_log import install_access_log_filter
from kassa.web.problems import install_problem_handlers, install_problem_responses, problem_response
from kassa.wiring import install_hooks
from kassa.worker import create_worker

API_PREFIX = "/api/v1"


def _api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(staff_router)
    api.include_router(stores_router)
    api.include_router(catalog_router)
    api.include_router(orders_router)
    api.include_router(payments_router)
    api.include_router(shifts_router)
    api.include_router(members_router)
    api.include_router(loyalty_router)
    api.include_router(notifications_router)
    api.include_router(returns_router)
    api.include_router(reservations_router)
    api.include_router(portal_router)
    api.include_router(telephony_router)
    api.include_router(api_keys_router)
    api.include_router(deliveries_router)
    return api


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app. ``database`` lets tests share one; otherwise one is made from settings."""
    settings = settings or get_settings()
    install_hooks()
    # Webhook URLs carry a secret token in the query: the access log never shows queries.
    install_access_log_filter()
    owns_database = database is None
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The embedded setup sends the outbox (receipts, messages) from the server process.
        stop_worker = asyncio.Event()
        worker_task: asyncio.Task[None] | None = None
        if settings.run_worker_in_process:
            worker_task = asyncio.create_task(
                create_worker(database).run_forever(stop_worker), name="kassa-outbox-worker"
            )
        try:
            async with events_across_processes(settings.database_url, settings.event_bus):
                yield
        finally:
            if worker_task is not None:
                stop_worker.set()  # a batch in progress finishes (handlers have a timeout)
                await worker_task
            if owns_database:
                await database.dispose()

    app = FastAPI(
        title="Kassa",
        version="0.1.0",
        description="Point of sale and membership. Every feature of the UI is here too.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.settings = settings
    set_database(database)
    install_problem_handlers(app)
    app.include_router(_api_router())
    app.include_router(e_receipt_router)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The database answers")
    async def readyz(request: Request) -> JSONResponse:
        try:
            async with request.app.state.database.read_only() as session:
                await session.execute(text("SELECT 1"))
        except Exception as error:  # any failure means not ready; say which
            return problem_response(
                503, "not_ready", "Not ready", f"database unreachable: {type(error).__name__}"
            )
        return JSONResponse({"status": "ready"})

    # Unknown API paths answer problem+json here instead of falling through to the UI's 404 page.
    @app.api_route(
        f"{API_PREFIX}/{{path:path}}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def unknown_api_route(path: str) -> None:
        raise NotFound(f"no API route /{path}", field="path")

    install_problem_responses(app)
    if settings.enable_ui:
        from kassa.web.ui import mount_ui

        mount_ui(app, settings)
    return app
