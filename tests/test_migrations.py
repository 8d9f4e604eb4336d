"""The models and the migrations describe the same schema, on every database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from kassa.core.database import Database, create_engine, utc_now
from kassa.core.migrations import upgrade
from kassa.models import Base
from kassa.stores.models import DEFAULT_VOID_REASONS, Store
from tests.conftest import _recreate_postgres_database


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_autogenerate_finds_no_difference(migrated_database: Database) -> None:
    async with migrated_database.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


def test_revisions_form_one_line() -> None:
    from alembic.script import ScriptDirectory

    from kassa.core.migrations import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1
    for revision in scripts.walk_revisions():
        assert revision.path is not None
        # date-stamped file names keep the history readable in a listing
        assert revision.path.split("/")[-1][:8].isdigit()


OLD_STORE = """
INSERT INTO stores (organization_id, name, address, phone, currency, timezone, phone_region, locale,
                    is_active, created_at)
VALUES (1, 'Old store', '', '', 'CNY', 'Asia/Shanghai', 'CN', 'zh_CN', true, :now)
"""
NEW_STORE_COLUMNS = (
    "SELECT business_day_start_hour, allow_negative_stock, discount_limit_basis_points FROM stores"
)


async def test_a_database_with_data_upgrades_from_the_first_revision(
    database_url: str, tmp_path: Path
) -> None:
    """Columns added later (with NOT NULL) must not break stores that existed before."""
    if database_url.startswith("postgresql"):
        url = database_url + "_upgrade"
        await _recreate_postgres_database(url)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'upgrade.db'}"
    engine = create_engine(url)
    try:
        await upgrade(engine, "147713a3e4bb")
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO organizations (name, created_at) VALUES ('Old', :now)"), {"now": utc_now()}
            )
            await connection.execute(
                text(OLD_STORE),
                {"now": utc_now()},
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            row = (await connection.execute(text(NEW_STORE_COLUMNS))).one()
        assert tuple(row) == (4, False, 2000)
        # A store that existed before the cash and void rules gets the defaults of a new one.
        async with engine.connect() as connection:
            rules = (
                await connection.execute(
                    select(Store.void_reasons, Store.cash_requires_open_shift, Store.is_drawer_count_blind)
                )
            ).one()
        assert tuple(rules) == (list(DEFAULT_VOID_REASONS), True, False)
    finally:
        await engine.dispose()
