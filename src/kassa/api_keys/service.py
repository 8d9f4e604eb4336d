"""API keys for integrations: an online shop, an accounting export, a script.

An owner (``api_key.manage``) makes a key for their organization, limited to chosen stores
and chosen permissions. The key (``kassa_`` and 43 random characters) is shown once; only
its SHA-256 is stored, like session tokens. A request with ``Authorization: Bearer
kassa_...`` acts as an ``Actor`` with no staff id and no role: exactly the key's
permissions, in exactly its stores (``Actor.store_ids``). Revoked keys are refused; the last
use is recorded at most once a minute. A key is not a staff login: it never opens a
register session and no PIN or password leads to one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.api_keys.models import ApiKey
from kassa.core import audit
from kassa.core.auth import Actor, Permission, new_token, token_digest
from kassa.core.database import utc_now
from kassa.core.errors import NotAuthenticated, NotFound, ValidationFailed
from kassa.stores.models import Store

API_KEY_PREFIX = "kassa_"
# Shown in lists to tell keys apart: the prefix and a few characters of the key.
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 6
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_NAME_LENGTH = 80
# What no key may do: make or revoke keys (a leaked key must not mint more).
NOT_FOR_KEYS = frozenset({Permission.API_KEY_MANAGE})


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


def grantable_permissions() -> list[Permission]:
    """The permissions an owner may give a key, in a stable order."""
    return [permission for permission in Permission if permission not in NOT_FOR_KEYS]


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: ``key`` is shown this once and never stored."""

    key: str
    api_key: ApiKey


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationFailed("name the key after its integration (e.g. 'Online shop')", field="name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"a key name has at most {MAX_NAME_LENGTH} characters", field="name")
    return cleaned


async def _check_stores(session: AsyncSession, actor: Actor, store_ids: Collection[int]) -> list[int]:
    if not store_ids:
        raise ValidationFailed("choose the stores the key may act in", field="store_ids")
    wanted = sorted(set(store_ids))
    found = set(
        (
            await session.scalars(
                select(Store.id).where(Store.id.in_(wanted), Store.organization_id == actor.organization_id)
            )
        ).all()
    )
    missing = [store_id for store_id in wanted if store_id not in found]
    if missing:
        raise NotFound(f"no store {missing[0]}", field="store_ids")
    for store_id in wanted:
        actor.require_store(store_id)
    return wanted


def _check_permissions(permissions: Collection[Permission | str]) -> list[str]:
    if not permissions:
        raise ValidationFailed("choose what the key may do", field="permissions")
    chosen = set()
    for permission in permissions:
        try:
            value = Permission(permission)
        except ValueError:
            raise ValidationFailed(f"unknown permission {permission!r}", field="permissions") from None
        if value in NOT_FOR_KEYS:
            raise ValidationFailed(f"no API key may have {value.value}", field="permissions")
        chosen.add(value.value)
    return sorted(chosen)


async def create_api_key(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    permissions: Collection[Permission | str],
    store_ids: Collection[int],
) -> IssuedKey:
    """Make a key for an integration (owners): the stores and permissions it gets. The key
    comes back once."""
    actor.require(Permission.API_KEY_MANAGE)
    cleaned_name = _clean_name(name)
    chosen_permissions = _check_permissions(permissions)
    chosen_stores = await _check_stores(session, actor, store_ids)
    key = API_KEY_PREFIX + new_token()
    api_key = ApiKey(
        organization_id=actor.organization_id,
        name=cleaned_name,
        display_prefix=key[:DISPLAY_PREFIX_LENGTH],
        key_digest=token_digest(key),
        permissions=chosen_permissions,
        store_ids=chosen_stores,
        created_by_staff_id=actor.staff_id,
    )
    session.add(api_key)
    await session.flush()
    audit.record(
        session,
        actor,
        "api_key.create",
        "api_key",
        api_key.id,
        after={"name": cleaned_name, "permissions": chosen_permissions, "store_ids": chosen_stores},
    )
    return IssuedKey(key=key, api_key=api_key)


async def list_api_keys(
    session: AsyncSession, actor: Actor, *, include_revoked: bool = False
) -> Sequence[ApiKey]:
    actor.require(Permission.API_KEY_MANAGE)
    query = select(ApiKey).where(ApiKey.organization_id == actor.organization_id).order_by(ApiKey.id.desc())
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return (await session.scalars(query)).all()


async def revoke_api_key(session: AsyncSession, actor: Actor, api_key_id: int) -> ApiKey:
    """Revoke a key: refused from the next request on (revoking twice changes nothing)."""
    actor.require(Permission.API_KEY_MANAGE)
    api_key = await session.scalar(
        select(ApiKey).where(ApiKey.id == api_key_id, ApiKey.organization_id == actor.organization_id)
    )
    if api_key is None:
        raise NotFound(f"no API key {api_key_id}", field="api_key_id")
    if api_key.revoked_at is None:
        api_key.revoked_at = utc_now()
        api_key.revoked_by_staff_id = actor.staff_id
        audit.record(session, actor, "api_key.revoke", "api_key", api_key.id, before={"name": api_key.name})
    return api_key


def actor_for_key(api_key: ApiKey) -> Actor:
    """The actor a key's requests run as: no staff, no role, the key's permissions and
    stores (a key for one store acts there as a store-bound session does)."""
    store_ids = frozenset(api_key.store_ids)
    return Actor(
        organization_id=api_key.organization_id,
        store_id=next(iter(store_ids)) if len(store_ids) == 1 else None,
        display_name=f"API key: {api_key.name}"[:120],
        api_key_id=api_key.id,
        granted_permissions=frozenset(Permission(value) for value in api_key.permissions) - NOT_FOR_KEYS,
        store_ids=store_ids,
    )


async def authenticate(session: AsyncSession, key: str) -> Actor:
    """The actor behind an API key; unknown and revoked keys are refused (401)."""
    api_key = await session.scalar(select(ApiKey).where(ApiKey.key_digest == token_digest(key)))
    if api_key is None or api_key.revoked_at is not None:
        raise NotAuthenticated("unknown or revoked API key", field="Authorization")
    now = utc_now()
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_RESOLUTION:
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == api_key.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    return actor_for_key(api_key)
