"""Every error leaves as ``application/problem+json`` (RFC 9457), naming the field."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kassa.core.errors import KassaError

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://kassa.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
    }
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    # ("body", "lines", 0, "quantity") -> "lines.0.quantity"; the "body"/"query" part is noise.
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _kassa_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, KassaError)
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error.extra.get("retry_after"), int):
        # A lockout (423, 429) says when to come back, in seconds.
        headers["Retry-After"] = str(error.extra["retry_after"])
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        [{"field": item.field, "reason": item.reason} for item in error.errors],
        error.extra,
        headers or None,
    )


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [{"field": _field_name(tuple(item["loc"])), "reason": item["msg"]} for item in error.errors()]
    detail = "; ".join(f"{item['field']}: {item['reason']}" for item in errors)
    return problem_response(422, "validation_failed", "Invalid input", detail, errors)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}.get(
        error.status_code, "http_error"
    )
    return problem_response(error.status_code, code, str(error.detail), str(error.detail))


async def _integrity_error(_request: Request, error: Exception) -> JSONResponse:
    # A safety net: services check what they can first, the database catches the races.
    logger.warning("integrity error reached the API: %s", error)
    return problem_response(409, "conflict", "Conflict", "the change conflicts with existing data")


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    # A pooled connection the database dropped (a restart) is found by the request that
    # uses it: its transaction is gone, the pool replaces the connection, a retry works.
    assert isinstance(error, DBAPIError)
    if error.connection_invalidated:
        logger.warning("database connection lost during a request: %s", error.orig)
        return problem_response(
            503,
            "database_unavailable",
            "Database unavailable",
            "the database connection was lost; nothing was stored, try again",
        )
    return await _unexpected_error(request, error)


async def _unexpected_error(_request: Request, error: Exception) -> JSONResponse:
    logger.exception("unexpected error", exc_info=error)
    return problem_response(
        500, "internal_error", "Internal error", "something went wrong; it has been logged"
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KassaError, _kassa_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)


# The answers any operation may give besides its success: declared once for every operation,
# so clients (and the schema-driven fuzz test) know each one comes as a problem document.
PROBLEM_STATUSES = {
    400: "The request cannot be read (a malformed body, a bad signature)",
    401: "Not logged in",
    403: "Not allowed for this login",
    404: "No such thing (or not yours)",
    409: "Conflicts with the current state (a stale version, a duplicate)",
    422: "Invalid input; `errors` names each field",
    423: "Locked (too many wrong PINs or passwords)",
    429: "Too many requests; `Retry-After` says when to come back",
    503: "A service this needs is unavailable (the database, a provider)",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is stable, `errors` names the fields",
    "required": ["type", "title", "status", "detail", "code", "errors"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}


def install_problem_responses(app: FastAPI) -> None:
    """Every operation of the OpenAPI document declares the problem answers it may give."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = original()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for item in document.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                for status, description in PROBLEM_STATUSES.items():
                    responses[str(status)] = {"description": description, "content": problem}
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
