"""The app factory: the JSON API and the NiceGUI UI on one ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from kassa.core.database import Database, set_database
from kassa.core.errors import NotFound
from kassa.core.settings import Settings, get_settings
from kassa.staff.api import router as staff_router
from kassa.stores.api import router as stores_router
from kassa.web.problems import install_problem_handlers, problem_response

API_PREFIX = "/api/v1"


def _api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(staff_router)
    api.include_router(stores_router)
    return api


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app. ``database`` lets tests share one; otherwise one is made from settings."""
    settings = settings or get_settings()
    owns_database = database is None
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
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

    if settings.enable_ui:
        from kassa.web.ui import mount_ui

        mount_ui(app, settings)
    return app
