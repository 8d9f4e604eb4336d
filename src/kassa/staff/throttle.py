"""The rate limit of back-office password logins, kept in the database.

Two counters per attempt: the e-mail address typed (``account``; unknown addresses count
the same, so the answer never tells which exist) and the client address (``address``).
After ``password_max_attempts_per_*`` failures within ``FAILURE_WINDOW`` the subject is
locked for ``password_lockout_base_minutes``, doubling with every further lockout
(1, 2, 4, ... minutes) up to ``password_lockout_max_minutes``. A day without failures
forgets the lockouts; a right password clears its account's counter (never the client
address's: an attacker with an account of their own must not reset it).

Every change is one atomic UPDATE (``x = x + 1 ... RETURNING``), so several server
processes, or two guesses at the same moment, all count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.settings import get_settings
from kassa.staff.models import LoginThrottle

# Failures further apart than this do not add up ("in a row" within an hour).
FAILURE_WINDOW = timedelta(hours=1)
# A day without failures and the next lockout is short again.
LOCKOUT_MEMORY = timedelta(days=1)


class ThrottleScope(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


@dataclass(frozen=True)
class Lockout:
    locked_until: datetime
    is_new: bool  # this failure started the lockout

    def retry_after_seconds(self, now: datetime) -> int:
        return max(1, int((self.locked_until - now).total_seconds() + 0.999))


def _max_attempts(scope: ThrottleScope) -> int:
    settings = get_settings()
    if scope == ThrottleScope.ACCOUNT:
        return settings.password_max_attempts_per_account
    return settings.password_max_attempts_per_address


def lockout_duration(lockouts_before: int) -> timedelta:
    """1, 2, 4, ... minutes (the base doubled per earlier lockout), capped."""
    settings = get_settings()
    minutes = settings.password_lockout_base_minutes * 2 ** min(lockouts_before, 30)
    return timedelta(minutes=min(minutes, settings.password_lockout_max_minutes))


def normalize_subject(scope: ThrottleScope, subject: str) -> str:
    text = subject.strip()
    return (text.lower() if scope == ThrottleScope.ACCOUNT else text)[:254]


async def current_lockout(
    session: AsyncSession, scope: ThrottleScope, subject: str, now: datetime
) -> Lockout | None:
    locked_until = await session.scalar(
        select(LoginThrottle.locked_until).where(
            LoginThrottle.scope == scope.value, LoginThrottle.subject == normalize_subject(scope, subject)
        )
    )
    if locked_until is not None and locked_until > now:
        return Lockout(locked_until=locked_until, is_new=False)
    return None


async def _ensure_row(session: AsyncSession, scope: ThrottleScope, subject: str, now: datetime) -> None:
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(LoginThrottle)
        .values(scope=scope.value, subject=subject, failed_attempts=0, lockouts=0, created_at=now)
        .on_conflict_do_nothing(index_elements=["scope", "subject"])
    )


async def record_failure(
    session: AsyncSession, scope: ThrottleScope, subject: str, now: datetime
) -> Lockout | None:
    """Count a failed login of ``subject``; the lockout it started, if it did."""
    subject = normalize_subject(scope, subject)
    await _ensure_row(session, scope, subject, now)
    where = (LoginThrottle.scope == scope.value, LoginThrottle.subject == subject)
    # Every right-hand side reads the row as it was before this UPDATE.
    counted = (
        await session.execute(
            update(LoginThrottle)
            .where(*where)
            .values(
                failed_attempts=case(
                    (LoginThrottle.last_failure_at < now - FAILURE_WINDOW, 1),
                    else_=LoginThrottle.failed_attempts + 1,
                ),
                lockouts=case(
                    (LoginThrottle.last_failure_at < now - LOCKOUT_MEMORY, 0),
                    else_=LoginThrottle.lockouts,
                ),
                last_failure_at=now,
            )
            .returning(LoginThrottle.failed_attempts, LoginThrottle.lockouts)
            .execution_options(synchronize_session=False)
        )
    ).one()
    attempts, lockouts = counted
    if attempts < _max_attempts(scope):
        return None
    locked_until = now + lockout_duration(lockouts)
    # Of two failures reaching the limit at once, one locks (and resets the count).
    locked = await session.scalar(
        update(LoginThrottle)
        .where(*where, LoginThrottle.failed_attempts >= _max_attempts(scope))
        .values(failed_attempts=0, lockouts=LoginThrottle.lockouts + 1, locked_until=locked_until)
        .returning(LoginThrottle.locked_until)
        .execution_options(synchronize_session=False)
    )
    if locked is None:
        return await current_lockout(session, scope, subject, now)
    return Lockout(locked_until=locked, is_new=True)


async def clear(session: AsyncSession, scope: ThrottleScope, subject: str) -> None:
    """Forget a subject's failures and lockouts (a right password, a manager's unlock)."""
    await session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.scope == scope.value, LoginThrottle.subject == normalize_subject(scope, subject))
        .execution_options(synchronize_session=False)
    )
