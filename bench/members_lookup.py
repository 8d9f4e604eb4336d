"""Finding a member at the counter among 1,000,000, on SQLite and PostgreSQL.

A fresh database is migrated, an organization with one store is made through the services,
and ``--members`` members (default 1,000,000; random Chinese mobile numbers and card
numbers, sign-ups spread over three years) are bulk-inserted with Core in batches of 10,000,
then the tables are analysed.

Then ``members.service.find_members`` (what `GET /api/v1/members?q=` calls) is timed, each
call in its own read-only session as a request would have it, after 100 untimed calls:

- a whole phone number of an existing member, typed in one of four formats
  ("138 0013 8000", "+86 138-0013-8000", "0086 13800138000", "13800138000"): ``--lookups``
  calls (default 2,000); the target is p99 < 5 ms;
- the last four digits (a pick list of the 20 newest of about 100 matches), a card number,
  and part of a name (which reads the whole table: no index serves "contains"), fewer calls.

    python -m bench.members_lookup [--members N] [--lookups N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, make_url, text

from bench.harness import _recreate_postgres, database_urls, machine_description
from kassa.core import migrations
from kassa.core.auth import Actor, Role
from kassa.core.database import Database, utc_now
from kassa.members import service as members
from kassa.members.cards import luhn_check_digit
from kassa.members.models import Gender, Member, RegistrationSource
from kassa.stores import service as store_service

DATABASE_NAME = "kassa_bench_members"
MEMBERS = 1_000_000
LOOKUPS = 2_000
BATCH = 10_000
WARM_UP = 100
# Mobile prefixes whose every 8-digit continuation is a valid number in phonenumbers' data.
PREFIXES = ("135", "136", "137", "138", "139", "150", "151", "152", "186", "187", "188")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def _national(number: int) -> str:
    prefix, rest = divmod(number, 10**8)
    return f"{PREFIXES[prefix]}{rest:08d}"


def typed_formats(national: str) -> list[str]:
    """The ways staff type one number."""
    return [
        f"{national[:3]} {national[3:7]} {national[7:]}",
        f"+86 {national[:3]}-{national[3:7]}-{national[7:]}",
        f"0086 {national}",
        national,
    ]


@dataclass(frozen=True)
class _Seeded:
    actor: Actor
    phones: list[int]  # indexes into the phone number space, see _national
    card_payloads: list[int]
    seconds: float


def _rows(
    organization_id: int, store_id: int, phones: list[int], cards: list[int], random_source: random.Random
) -> Iterator[list[dict[str, Any]]]:
    now = utc_now()
    for start in range(0, len(phones), BATCH):
        batch = []
        for index in range(start, min(start + BATCH, len(phones))):
            national = _national(phones[index])
            payload = str(cards[index])
            # ids grow with time, as real sign-ups would
            created_at = now - timedelta(seconds=(len(phones) - index) * 90)
            batch.append(
                {
                    "organization_id": organization_id,
                    "phone_e164": f"+86{national}",
                    "phone_last4": national[-4:],
                    "card_number": payload + luhn_check_digit(payload),
                    "name": random_source.choice(SURNAMES) + random_source.choice(GIVEN_NAMES),
                    "gender": Gender.UNSPECIFIED,
                    "notes": "",
                    "tags": [],
                    "marketing_sms_opt_in": random_source.random() < 0.3,
                    "registered_at_store_id": store_id,
                    "registration_source": RegistrationSource.IMPORT,
                    "created_at": created_at,
                    "updated_at": created_at,
                }
            )
        yield batch


async def _seed(database: Database, count: int) -> _Seeded:
    random_source = random.Random(7)
    async with database.unit_of_work() as session:
        organization = await store_service.create_organization(session, "Bench")
        store = await store_service.create_store(
            session,
            Actor.system(organization.id),
            name="Bench café",
            currency="CNY",
            timezone="Asia/Shanghai",
            phone_region="CN",
            locale="zh_CN",
            vat_rates=[store_service.VatRateInput("standard", "6%", 600, is_default=True)],
        )
    phones = random_source.sample(range(len(PREFIXES) * 10**8), count)
    cards = random_source.sample(range(10**8, 10**9), count)
    started = time.perf_counter()
    for batch in _rows(organization.id, store.id, phones, cards, random_source):
        async with database.unit_of_work() as session:
            await session.execute(insert(Member), batch)
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            await connection.exec_driver_sql("ANALYZE")
        else:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE members")
    seconds = time.perf_counter() - started
    cashier = Actor(
        organization_id=organization.id, role=Role.CASHIER, store_id=store.id, display_name="Bench cashier"
    )
    return _Seeded(cashier, phones, cards, seconds)


@dataclass(frozen=True)
class _Timing:
    latencies_ms: list[float]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self) -> str:
        return (
            f"p50 {self.percentile(0.5):6.2f} ms  p99 {self.percentile(0.99):6.2f} ms  "
            f"max {max(self.latencies_ms):6.2f} ms  ({len(self.latencies_ms)} lookups)"
        )


async def _time(
    database: Database,
    actor: Actor,
    queries: list[str],
    check: Callable[[str, list[Member]], bool],
    warm_up: int = WARM_UP,
) -> _Timing:
    async def lookup(query: str) -> float:
        async with database.read_only() as session:
            started = time.perf_counter()
            found = await members.find_members(session, actor, query)
            elapsed = (time.perf_counter() - started) * 1000
        if not check(query, found):
            raise AssertionError(f"wrong answer for {query!r}: {[member.phone_e164 for member in found]}")
        return elapsed

    for query in queries[:warm_up]:
        await lookup(query)
    return _Timing([await lookup(query) for query in queries[warm_up:]])


async def _measure(database_url: str, count: int, lookups: int) -> list[str]:
    database = Database(database_url)
    try:
        await migrations.upgrade(database.engine)
        seeded = await _seed(database, count)
        random_source = random.Random(11)
        async with database.engine.connect() as connection:
            stored = await connection.scalar(text("SELECT count(*) FROM members"))
        lines = [f"{stored:,} members, seeded in {seeded.seconds:.0f} s"]

        expected: dict[str, str] = {}
        phone_queries = []
        for number in random_source.choices(seeded.phones, k=lookups + WARM_UP):
            national = _national(number)
            query = random_source.choice(typed_formats(national))
            expected[query] = f"+86{national}"
            phone_queries.append(query)

        def phone_found(query: str, found: list[Member]) -> bool:
            return [member.phone_e164 for member in found] == [expected[query]]

        timing = await _time(database, seeded.actor, phone_queries, phone_found)
        lines.append(f"whole phone number, mixed formats: {timing.summary()}")

        last4_queries = [
            _national(number)[-4:] for number in random_source.choices(seeded.phones, k=500 + WARM_UP)
        ]
        timing = await _time(
            database,
            seeded.actor,
            last4_queries,
            lambda query, found: (
                0 < len(found) <= members.SEARCH_LIMIT
                and all(member.phone_last4 == query for member in found)
            ),
        )
        lines.append(f"last 4 digits (pick list of 20):   {timing.summary()}")

        card_queries = []
        for payload in random_source.choices(seeded.card_payloads, k=500 + WARM_UP):
            card_queries.append(str(payload) + luhn_check_digit(str(payload)))
        timing = await _time(
            database,
            seeded.actor,
            card_queries,
            lambda query, found: [member.card_number for member in found] == [query],
        )
        lines.append(f"card number:                       {timing.summary()}")

        name_queries = [random_source.choice(SURNAMES) + random_source.choice(GIVEN_NAMES) for _ in range(22)]
        timing = await _time(
            database, seeded.actor, name_queries, lambda _query, found: bool(found), warm_up=2
        )
        lines.append(f"part of a name (reads the table):  {timing.summary()}")
        return lines
    finally:
        await database.dispose()


def _run(measure: Callable[[str], Coroutine[Any, Any, list[str]]]) -> None:
    for database, url in database_urls().items():
        with tempfile.TemporaryDirectory(prefix="kassa-bench-members-") as directory:
            if database == "sqlite":
                url = f"sqlite+aiosqlite:///{directory}/kassa.db"
            else:
                url = make_url(url).set(database=DATABASE_NAME).render_as_string(hide_password=False)
                _recreate_postgres(url)
            for line in asyncio.run(measure(url)):
                print(f"members_lookup {database:<10} {line}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=MEMBERS, help="members to seed (default 1,000,000)")
    parser.add_argument(
        "--lookups", type=int, default=LOOKUPS, help="timed whole-number lookups (default 2,000)"
    )
    arguments = parser.parse_args(argv)
    _run(lambda url: _measure(url, arguments.members, arguments.lookups))


if __name__ == "__main__":
    print(f"machine: {machine_description()}")
    main()
