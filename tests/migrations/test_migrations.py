"""Migrations create every table on both databases and match the metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import schema
from adapters.migrations import upgrade
from adapters.sql_engine import open_database
from adapters.tables import metadata


async def test_upgrade_from_empty_creates_every_table_and_leaves_no_diff(
    database_url: str,
) -> None:
    database = open_database(database_url)
    try:
        await upgrade(database)
        await upgrade(database)  # idempotent: already at head

        def inspect_schema(sync: Any) -> tuple[set[str], list[Any]]:
            tables = set(inspect(sync).get_table_names())
            diff = compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata
            )
            return tables, diff

        async with database.write() as conn:
            tables, diff = await conn.run_sync(inspect_schema)
    finally:
        await database.dispose()
    assert set(metadata.tables) <= tables
    assert diff == []


def test_the_schema_package_is_ours_not_the_pypi_one() -> None:
    root = Path(__file__).resolve().parents[2]
    assert Path(schema.__file__).resolve().is_relative_to(root)
