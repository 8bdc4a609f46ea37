"""Small helpers shared by the SQL read models."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.serialization import canonical_json
from adapters.sql_engine import SqlDatabase


def upsert(conn: AsyncConnection | Connection | str, table: Table) -> Any:
    """A dialect-specific INSERT (for ON CONFLICT); takes a connection or a dialect name."""
    name = conn if isinstance(conn, str) else conn.dialect.name
    dialect = postgresql if name == "postgresql" else sqlite
    return dialect.insert(table)


async def table_hash(
    database: SqlDatabase,
    table: Table,
    *,
    db: str | None,
    exclude: tuple[str, ...] = (),
) -> str:
    """sha256 over every row in primary-key order (minus wall-clock columns)."""
    columns = [c for c in table.columns if c.name not in exclude]
    query = select(*columns).order_by(*table.primary_key.columns)
    if db is not None:
        query = query.where(table.c.db == db)
    digest = hashlib.sha256()
    async with database.read() as conn:
        for row in await conn.execute(query):
            digest.update(canonical_json(list(row)).encode())
    return digest.hexdigest()
