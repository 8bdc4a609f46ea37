"""`spice audit export|verify`: the audit trail straight from the database.

Only the SQL database is opened (no bus, index or blob store), so an auditor
can run these beside a live server without starting any of its parts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from adapters.sql_engine import open_database
from adapters.views.audit_chain_sql import SqlAuditTrail
from app.settings import Settings
from projections.audit import canonical
from projections.views import AuditChainReport


@asynccontextmanager
async def _trail(settings: Settings) -> AsyncIterator[SqlAuditTrail]:
    database = open_database(settings.database_url)
    try:
        yield SqlAuditTrail(database)
    finally:
        await database.dispose()


async def export_chain(settings: Settings, db: str, out: TextIO) -> int:
    """Writes the chain of `db` as JSON lines in the canonical form the hashes
    are computed over; returns the number of entries."""
    count = 0
    async with _trail(settings) as trail:
        async for entry in trail.export(db):
            out.write(canonical(entry) + "\n")
            count += 1
    return count


async def verify_chain(settings: Settings, db: str) -> AuditChainReport:
    async with _trail(settings) as trail:
        return await trail.verify(db)
