"""ConsumerState on SQL: processed events, stream versions, parked events,
checkpoints and dead letters, in the control-plane database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import tables as t
from adapters.errors import StoreUnavailable
from adapters.serialization import envelope_from_dict, envelope_to_dict
from adapters.sql_engine import SqlDatabase, reading_or_unavailable
from adapters.tracking import lookups
from adapters.tracking import rows as rows_sql
from domain.events import EventEnvelope, StreamId
from projections.base import DeadLetter

_CHUNK = 400
_SCAN = 5000

T = TypeVar("T")
# (connection, consumer, db, old checkpoint, new checkpoint), in the transaction
# that moves the checkpoint.
AdvanceHook = Callable[[Connection, str, str, int, int], None]


class SqlConsumerState:
    def __init__(
        self, database: SqlDatabase, *, on_advance: AdvanceHook | None = None
    ) -> None:
        self._db = _Translated(database)
        self._database = database
        self._on_advance = on_advance

    def _insert(self, conn: AsyncConnection | Connection, table: Any) -> Any:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def processed_ids(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        p = t.processed_events
        if self._database.sync_reader is not None:
            # Every batch asks: one thread hop and no statement building.
            sql = f"SELECT event_id FROM {p.name} WHERE consumer = ? AND event_id IN"
            rows = await self._fetch_in(sql, [consumer], event_ids)
            return {row[0] for row in rows}
        async with self._db.read() as conn:
            if conn.dialect.name == "postgresql":
                return await lookups.processed(conn, consumer, event_ids)
            for start in range(0, len(event_ids), _CHUNK):
                chunk = event_ids[start : start + _CHUNK]
                query = select(p.c.event_id).where(
                    p.c.consumer == consumer, p.c.event_id.in_(chunk)
                )
                found.update(row[0] for row in await conn.execute(query))
        return found

    async def versions(
        self, consumer: str, streams: Sequence[StreamId]
    ) -> dict[StreamId, int]:
        v = t.aggregate_versions
        found: dict[StreamId, int] = {}
        if self._database.sync_reader is not None:
            sql = (
                f"SELECT aggregate_id, seq FROM {v.name} WHERE consumer = ? AND db = ?"
                " AND branch = ? AND aggregate_type = ? AND aggregate_id IN"
            )
            for prefix, ids in _by_prefix(streams).items():
                for aggregate_id, seq in await self._fetch_in(
                    sql, [consumer, *prefix], ids
                ):
                    found[StreamId(*prefix, aggregate_id)] = int(seq)
            return found
        async with self._db.read() as conn:
            for (db, branch, kind), ids in _by_prefix(streams).items():
                if conn.dialect.name == "postgresql":
                    seqs = await lookups.versions(
                        conn, consumer, (db, branch, kind), ids
                    )
                    found.update(
                        (StreamId(db, branch, kind, i), seq) for i, seq in seqs.items()
                    )
                    continue
                for start in range(0, len(ids), _CHUNK):
                    # One IN over the key's last column under a fixed prefix (a
                    # row-value IN of hundreds of tuples plans far slower).
                    query = select(v.c.aggregate_id, v.c.seq).where(
                        v.c.consumer == consumer,
                        v.c.db == db,
                        v.c.branch == branch,
                        v.c.aggregate_type == kind,
                        v.c.aggregate_id.in_(ids[start : start + _CHUNK]),
                    )
                    for aggregate_id, seq in await conn.execute(query):
                        found[StreamId(db, branch, kind, aggregate_id)] = int(seq)
        return found

    async def _fetch_in(
        self, sql: str, params: list[Any], keys: Sequence[str]
    ) -> list[Any]:
        """Rows of `sql` ending in `IN`, completed with a list of `keys` in
        chunks (SQLite's own SQL: hot reads, see SqlDatabase.fetch)."""
        rows: list[Any] = []
        with _translated():
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows += await self._database.fetch(
                    f"{sql} ({marks})", [*params, *chunk]
                )
        return rows

    async def record(
        self,
        consumer: str,
        processed: Sequence[EventEnvelope],
        applied: Sequence[EventEnvelope],
        *,
        advance: Mapping[str, int] | None = None,
    ) -> dict[str, int]:
        if not processed and not applied and not advance:
            return {}

        def work(conn: Connection) -> dict[str, int]:
            self._mark_processed(conn, consumer, processed)
            self._raise_versions(conn, consumer, applied)
            return {
                db: self._advance(conn, consumer, db, current, processed)
                for db, current in (advance or {}).items()
            }

        return await self._db.run_write(work)

    def _mark_processed(
        self, conn: Connection, consumer: str, events: Sequence[EventEnvelope]
    ) -> None:
        if events:
            rows_sql.mark_processed(conn, consumer, events)

    def _raise_versions(
        self, conn: Connection, consumer: str, events: Sequence[EventEnvelope]
    ) -> None:
        latest: dict[StreamId, int] = {}
        for e in events:
            latest[e.stream] = max(latest.get(e.stream, 0), e.seq)
        if latest:
            rows_sql.raise_versions(conn, consumer, latest)

    async def park(self, consumer: str, event: EventEnvelope) -> None:
        row = {
            "consumer": consumer,
            "event_id": event.event_id,
            "db": event.db,
            "branch": event.branch,
            "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id,
            "seq": event.seq,
            "envelope": _json_envelope(event),
        }
        async with self._db.write() as conn:
            await conn.execute(
                self._insert(conn, t.parked_events).on_conflict_do_nothing(), [row]
            )

    async def parked(self, consumer: str, stream: StreamId) -> list[EventEnvelope]:
        pk = t.parked_events
        query = (
            select(pk.c.envelope)
            .where(
                pk.c.consumer == consumer,
                pk.c.db == stream.db,
                pk.c.branch == stream.branch,
                pk.c.aggregate_type == stream.aggregate_type,
                pk.c.aggregate_id == stream.aggregate_id,
            )
            .order_by(pk.c.seq)
        )
        async with self._db.read() as conn:
            return [envelope_from_dict(row[0]) for row in await conn.execute(query)]

    async def unpark(self, consumer: str, event_ids: Sequence[str]) -> None:
        pk = t.parked_events
        async with self._db.write() as conn:
            await conn.execute(
                delete(pk).where(
                    pk.c.consumer == consumer, pk.c.event_id.in_(list(event_ids))
                )
            )

    async def parked_streams(self, consumer: str) -> list[StreamId]:
        pk = t.parked_events
        query = (
            select(pk.c.db, pk.c.branch, pk.c.aggregate_type, pk.c.aggregate_id)
            .where(pk.c.consumer == consumer)
            .distinct()
        )
        async with self._db.read() as conn:
            return [StreamId(*row) for row in await conn.execute(query)]

    async def checkpoints(self, consumer: str) -> dict[str, int]:
        c = t.consumer_checkpoints
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(c.c.db, c.c.position).where(c.c.consumer == consumer)
            )
            return {db: int(pos) for db, pos in rows}

    async def advance_checkpoint(self, consumer: str, db: str, current: int) -> int:
        return await self._db.run_write(
            lambda conn: self._advance(conn, consumer, db, current)
        )

    def _advance(
        self,
        conn: Connection,
        consumer: str,
        db: str,
        current: int,
        just_processed: Sequence[EventEnvelope] = (),
    ) -> int:
        stored = rows_sql.stored_checkpoint(conn, consumer, db)
        # Positions marked processed in this transaction extend the prefix
        # without reading them back (a batch usually continues the checkpoint),
        # so the scan below starts past them and mostly finds nothing.
        new = _contiguous(max(current, stored), just_processed, db)
        for position in rows_sql.processed_after(conn, consumer, db, new, limit=_SCAN):
            if position != new + 1:
                break
            new = position
        if new > stored:
            rows_sql.save_checkpoint(conn, consumer, db, new)
            if self._on_advance is not None:
                self._on_advance(conn, consumer, db, stored, new)
        return new

    async def dead_letter(
        self, consumer: str, event: EventEnvelope, error: BaseException, attempts: int
    ) -> None:
        row = {
            "consumer": consumer,
            "event_id": event.event_id,
            "db": event.db,
            "position": event.position,
            "command_id": event.command_id,
            "envelope": _json_envelope(event),
            "error_type": type(error).__name__,
            "error": str(error)[:4000],
            "attempts": attempts,
            "status": "dead",
            "created_at": datetime.now(UTC).isoformat(),
        }
        dl = t.dead_letters

        def work(conn: Connection) -> None:
            stmt = self._insert(conn, dl).values(**row)
            stmt = stmt.on_conflict_do_update(
                index_elements=[dl.c.consumer, dl.c.event_id],
                set_={
                    "status": "dead",
                    "error": row["error"],
                    "error_type": row["error_type"],
                    "attempts": dl.c.attempts + attempts,
                },
            )
            conn.execute(stmt)
            self._mark_processed(conn, consumer, [event])

        await self._db.run_write(work)

    async def dead_letters(
        self, consumer: str | None = None, *, status: str | None = None
    ) -> list[DeadLetter]:
        dl = t.dead_letters
        conditions = []
        if consumer is not None:
            conditions.append(dl.c.consumer == consumer)
        if status is not None:
            conditions.append(dl.c.status == status)
        query = select(dl).where(and_(True, *conditions)).order_by(dl.c.id)
        async with self._db.read() as conn:
            return [_dead_letter(row) for row in (await conn.execute(query)).mappings()]

    async def request_redrive(self, dead_letter_id: int) -> bool:
        dl = t.dead_letters
        stmt = (
            update(dl)
            .where(dl.c.id == dead_letter_id, dl.c.status == "dead")
            .values(status="redrive_requested")
        )
        async with self._db.write() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def mark_redriven(self, dead_letter_id: int) -> None:
        dl = t.dead_letters
        async with self._db.write() as conn:
            await conn.execute(
                update(dl).where(dl.c.id == dead_letter_id).values(status="redriven")
            )


class _Translated:
    """The database with driver errors raised as StoreUnavailable (retriable):
    the consumer loop retries tracking trouble, but stops on anything else."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return reading_or_unavailable(self._database, "consumer state")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        with _translated():
            async with self._database.write() as conn:
                yield conn

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        with _translated():
            return await self._database.run_write(work)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (OperationalError, InterfaceError, OSError) as error:
        raise StoreUnavailable(f"consumer state unavailable: {error}") from error


def _json_envelope(event: EventEnvelope) -> dict[str, Any]:
    return json.loads(json.dumps(envelope_to_dict(event), default=str))  # type: ignore[no-any-return]


def _dead_letter(row: Any) -> DeadLetter:
    return DeadLetter(
        id=int(row["id"]),
        consumer=row["consumer"],
        event=envelope_from_dict(row["envelope"]),
        error_type=row["error_type"],
        error=row["error"],
        attempts=int(row["attempts"]),
        status=row["status"],
        created_at=row["created_at"],
    )


def _contiguous(start: int, events: Sequence[EventEnvelope], db: str) -> int:
    """The end of the run of positions start+1, start+2, ... among `events`."""
    positions = {e.position for e in events if e.db == db}
    while start + 1 in positions:
        start += 1
    return start


def _by_prefix(streams: Sequence[StreamId]) -> dict[tuple[str, str, str], list[str]]:
    """Aggregate ids grouped by (db, branch, aggregate type), each once."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for s in dict.fromkeys(streams):
        groups.setdefault((s.db, s.branch, s.aggregate_type), []).append(s.aggregate_id)
    return groups
