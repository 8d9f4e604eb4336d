"""Domain errors. Each carries an HTTP status and a stable code; ``web`` renders them as
``application/problem+json`` in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldProblem:
    field: str
    reason: str


@dataclass
class KassaError(Exception):
    detail: str
    field: str | None = None
    errors: list[FieldProblem] = dataclasses.field(default_factory=list)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __post_init__(self) -> None:
        super().__init__(self.detail)
        if self.field and not self.errors:
            self.errors = [FieldProblem(self.field, self.detail)]

    def __str__(self) -> str:
        return self.detail


class ValidationFailed(KassaError):
    status = 422
    code = "validation_failed"
    title = "Invalid input"


class NotAuthenticated(KassaError):
    status = 401
    code = "not_authenticated"
    title = "Not logged in"


class PermissionDenied(KassaError):
    status = 403
    code = "permission_denied"
    title = "Permission denied"


class NotFound(KassaError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(KassaError):
    status = 409
    code = "conflict"
    title = "Conflict"


class StaleVersion(Conflict):
    code = "stale_version"
    title = "Changed by someone else"


class Locked(KassaError):
    status = 423
    code = "locked"
    title = "Locked"


class TooManyRequests(KassaError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"
