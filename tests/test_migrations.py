"""The models and the migrations describe the same schema, on every database."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from kassa.core.database import Database
from kassa.models import Base


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
