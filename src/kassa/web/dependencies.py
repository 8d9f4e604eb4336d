"""Request-scoped pieces: the unit of work and the acting staff member."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.database import Database, get_database
from kassa.core.errors import NotAuthenticated
from kassa.staff import service as staff_service


def database_of(request: Request) -> Database:
    database: Database = getattr(request.app.state, "database", None) or get_database()
    return database


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with database_of(request).unit_of_work() as session:
        yield session


# scope="function": the commit finishes before the response goes out, so a client that sees
# 200 knows its change is stored.
Session = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="Session token from /api/v1/auth/pin or /auth/password")


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("log in first: send 'Authorization: Bearer <token>'", field="Authorization")
    return credentials.credentials


Token = Annotated[str, Depends(bearer_token)]


async def current_actor(session: Session, token: Token) -> Actor:
    return await staff_service.authenticate(session, token)


CurrentActor = Annotated[Actor, Depends(current_actor)]
