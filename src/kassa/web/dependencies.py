"""Request-scoped pieces: the unit of work and the acting staff member."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.api_keys import service as api_key_service
from kassa.core.auth import Actor
from kassa.core.database import Database, get_database
from kassa.core.errors import NotAuthenticated
from kassa.staff import service as staff_service
from kassa.stores.devices import DEVICE_HEADER


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

_bearer = HTTPBearer(
    auto_error=False,
    description="Session token from /api/v1/auth/pin or /auth/password, or an API key (kassa_...)",
)


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("log in first: send 'Authorization: Bearer <token>'", field="Authorization")
    return credentials.credentials


Token = Annotated[str, Depends(bearer_token)]


async def authenticate(session: AsyncSession, token: str) -> Actor:
    """A staff session token or an integration's API key (told apart by its prefix)."""
    if api_key_service.is_api_key(token):
        return await api_key_service.authenticate(session, token)
    return await staff_service.authenticate(session, token)


async def current_actor(session: Session, token: Token) -> Actor:
    return await authenticate(session, token)


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def optional_actor(
    session: Session, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor | None:
    """The actor when the request carries a token (a wrong one is refused), else None."""
    if credentials is None or not credentials.credentials:
        return None
    return await authenticate(session, credentials.credentials)


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]

# The token of a device set up as a register (``kassa.stores.devices``).
DeviceToken = Annotated[
    str | None,
    Header(
        alias=DEVICE_HEADER, max_length=200, description="The token of the device set up as this register"
    ),
]


def client_address(request: Request) -> str | None:
    """The client's IP address as the ASGI server reports it. Behind a reverse proxy that
    is the proxy's, unless uvicorn trusts its headers (``--proxy-headers
    --forwarded-allow-ips=<the proxy's address>``): then it is the browser's."""
    return request.client.host if request.client else None
