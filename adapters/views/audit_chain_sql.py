"""AuditTrail on SQL: one hash chain per database in `audit_chain`.

Appends are serialised per database, across processes: on PostgreSQL by a
transaction-scoped advisory lock on the database name, on SQLite by the write
lock every write transaction takes (BEGIN IMMEDIATE, see SqlDatabase). Under
that lock the chain's head is read and the new entries follow it, so two
appenders can never both extend the same head.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from adapters import tables as t
from adapters.errors import StoreIntegrityError, StoreUnavailable
from adapters.sql_engine import DRIVER_OUTAGES, SqlDatabase, reading_or_unavailable
from projections.audit import GENESIS_HASH, chain_fields, verify_chain
from projections.views import AuditChainEntry, AuditChainReport, AuditRecord

# First key of the advisory lock (the second is the database name's hash), so
# the audit trail's locks cannot collide with anyone else's single-key locks.
ADVISORY_NAMESPACE = 0x41554454  # "AUDT"
# Rows per read while verifying or exporting: memory stays flat on long chains.
PAGE = 1000
# Refs per IN (...) lookup, well under SQLite's and asyncpg's parameter limits.
REF_CHUNK = 500


class SqlAuditTrail:
    def __init__(self, database: SqlDatabase, *, table: Table = t.audit_chain) -> None:
        self._db = database
        self.table = table

    async def append(self, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        try:
            await self._db.run_write(partial(_append, self.table, records))
        except IntegrityError as error:
            # Only if an appender bypassed the lock (or the table was tampered with).
            raise StoreIntegrityError(f"audit chain append: {error}") from error
        except DRIVER_OUTAGES as error:
            raise StoreUnavailable(f"audit trail unavailable: {error}") from error

    async def verify(self, db: str) -> AuditChainReport:
        async def rows() -> AsyncIterator[dict[str, Any]]:
            async for page in self._pages(db):
                for row in page:
                    yield row

        return await verify_chain(db, rows(), find=partial(self._seq_of_hash, db))

    async def page(
        self, db: str, *, after_seq: int | None = None, limit: int = 100
    ) -> list[AuditChainEntry]:
        rows = await self._rows(db, after_seq or 0, limit)
        return [AuditChainEntry(**row) for row in rows]

    async def export(self, db: str) -> AsyncIterator[dict[str, Any]]:
        async for page in self._pages(db):
            for row in page:
                yield AuditChainEntry(**row).as_json()

    async def _pages(self, db: str) -> AsyncIterator[list[dict[str, Any]]]:
        after = 0
        while True:
            rows = await self._rows(db, after, PAGE)
            if rows:
                yield rows
            if len(rows) < PAGE:
                return
            after = rows[-1]["seq"]

    async def _rows(self, db: str, after_seq: int, limit: int) -> list[dict[str, Any]]:
        c = self.table.c
        query = (
            select(self.table)
            .where(c.db == db, c.seq > after_seq)
            .order_by(c.seq)
            .limit(limit)
        )
        async with reading_or_unavailable(self._db, "audit trail") as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings()]

    async def _seq_of_hash(self, db: str, digest: str) -> int | None:
        c = self.table.c
        query = select(c.seq).where(c.db == db, c.hash == digest).limit(1)
        async with reading_or_unavailable(self._db, "audit trail") as conn:
            found = (await conn.execute(query)).scalar()
        return None if found is None else int(found)


def _append(table: Table, records: Sequence[AuditRecord], conn: Connection) -> None:
    by_db: dict[str, list[AuditRecord]] = {}
    for record in records:
        by_db.setdefault(record.db, []).append(record)
    # Locks taken in one order by every appender: no deadlock between batches
    # that span several databases.
    for db in sorted(by_db):
        _lock(conn, db)
        seq, prev_hash = _head(conn, table, db)
        rows = []
        for record in _unrecorded(conn, table, db, by_db[db]):
            seq += 1
            rows.append(chain_fields(record, seq=seq, prev_hash=prev_hash))
            prev_hash = rows[-1]["hash"]
        if rows:
            conn.execute(insert(table), rows)


def _lock(conn: Connection, db: str) -> None:
    """Held until the transaction ends; SQLite's write lock already is."""
    if conn.dialect.name == "postgresql":
        lock = func.pg_advisory_xact_lock(ADVISORY_NAMESPACE, func.hashtext(db))
        conn.execute(select(lock))


def _head(conn: Connection, table: Table, db: str) -> tuple[int, str]:
    c = table.c
    query = select(c.seq, c.hash).where(c.db == db).order_by(c.seq.desc()).limit(1)
    row = conn.execute(query).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))


def _unrecorded(
    conn: Connection, table: Table, db: str, records: Sequence[AuditRecord]
) -> list[AuditRecord]:
    """The records whose (kind, ref) is neither recorded nor earlier in `records`."""
    wanted = sorted({(r.kind, r.ref) for r in records if r.ref is not None})
    seen: set[tuple[str, str]] = set()
    c = table.c
    for kind in sorted({kind for kind, _ in wanted}):
        refs = [ref for k, ref in wanted if k == kind]
        for start in range(0, len(refs), REF_CHUNK):
            # All three columns of the unique index, so a lookup reads its keys only.
            query = select(c.ref).where(
                c.db == db, c.kind == kind, c.ref.in_(refs[start : start + REF_CHUNK])
            )
            seen.update((kind, ref) for ref in conn.execute(query).scalars())
    fresh = []
    for record in records:
        if record.ref is not None:
            if (record.kind, record.ref) in seen:
                continue
            seen.add((record.kind, record.ref))
        fresh.append(record)
    return fresh
