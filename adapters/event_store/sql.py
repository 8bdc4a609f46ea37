"""Event store on SQLAlchemy Core: SQLite (embedded) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import tables as t
from adapters.errors import StoreIntegrityError, StoreUnavailable
from adapters.event_store.claims import claim_states
from adapters.event_store.group_append import (
    REGISTRY_TYPES,
    Outcome,
    append_group,
    heads,
    stored_result,
    tips,
)
from adapters.event_store.lineage import lineage_from_forks, visible_clause
from adapters.serialization import envelope_from_dict
from adapters.sql_engine import SqlDatabase, reading_or_unavailable
from domain.events import (
    BRANCH,
    BRANCH_CREATED,
    INSTANCE,
    MAIN_BRANCH,
    EventEnvelope,
    StreamId,
)
from domain.ports import AppendResult, BranchSpan, CommandBatch, StoredCommand

_ID_CHUNK = 500
_tracer = trace.get_tracer("spice.event_store")
_RACE_RETRIES = 3


@dataclass(slots=True)
class GroupCommitStats:
    """What the group writer has done: append transactions, the command batches
    they carried, and the seconds spent in them (busy time, not CPU)."""

    groups: int = 0
    batches: int = 0
    seconds: float = 0.0

    def record(self, batches: int, seconds: float) -> None:
        self.groups += 1
        self.batches += batches
        self.seconds += seconds

    def since(self, earlier: GroupCommitStats) -> GroupCommitStats:
        """What was done after `earlier` (a copy of these stats taken then)."""
        return GroupCommitStats(
            self.groups - earlier.groups,
            self.batches - earlier.batches,
            self.seconds - earlier.seconds,
        )


class SqlEventStore:
    """EventStore port. Position allocation is serialised per database by the
    row lock on `positions`, held until commit, so positions are commit-ordered:
    no reader can see p+1 before p."""

    def __init__(self, database: SqlDatabase, *, max_group: int = 256) -> None:
        self._db = database
        self._forks: dict[str, dict[str, tuple[str, int]]] = {}
        self._pending: list[tuple[CommandBatch, asyncio.Future[AppendResult]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._max_group = max_group
        self._commit_listeners: list[Callable[[], None]] = []
        self.group_stats = GroupCommitStats()

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Calls `listener` after every append transaction that committed events
        (an in-process relay publishes them at once instead of at its next poll)."""
        self._commit_listeners.append(listener)

    async def close(self) -> None:
        return None

    # --- append -------------------------------------------------------------

    async def append(self, batch: CommandBatch) -> AppendResult:
        """Queues the batch for the group writer: concurrent appends share one
        transaction, yet each succeeds or fails on its own."""
        # The span measures what the command waits, group commit included.
        events = sum(len(item.events) for item in batch.appends)
        attributes: dict[str, str | int] = {
            "spice.db": batch.db,
            "spice.events": events,
        }
        with _tracer.start_as_current_span("event_store append", attributes=attributes):
            future: asyncio.Future[AppendResult] = (
                asyncio.get_running_loop().create_future()
            )
            self._pending.append((batch, future))
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._write_pending())
            return await asyncio.shield(future)

    async def _write_pending(self) -> None:
        while self._pending:
            group = self._pending[: self._max_group]
            del self._pending[: self._max_group]
            started = time.perf_counter()
            outcomes = await self._append_group_safely([b for b, _ in group])
            self.group_stats.record(len(group), time.perf_counter() - started)
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
            if any(not isinstance(o, BaseException) for o in outcomes):
                # After the receipts: a listener is a nudge and must not hold them up.
                for listener in self._commit_listeners:
                    listener()

    async def _append_group_safely(self, batches: list[CommandBatch]) -> list[Outcome]:
        try:
            return await self._append_group(batches)
        except IntegrityError:
            # Another process raced us (PostgreSQL): redo each batch alone, so the
            # loser sees the winner's rows and answers duplicate or conflict.
            return [await self._append_alone(b) for b in batches]
        except (OperationalError, InterfaceError, OSError) as error:
            failure = _unavailable(error)
            return [failure for _ in batches]
        except StoreUnavailable as error:
            return [error for _ in batches]
        except Exception as error:
            if len(batches) == 1:
                return [error]
            # One batch the store cannot write (say, data that is not JSON) must
            # not fail the others of its group: redo each batch alone.
            return [await self._append_alone(b) for b in batches]

    async def _append_alone(self, batch: CommandBatch) -> Outcome:
        for _ in range(_RACE_RETRIES):
            try:
                return (await self._append_group([batch]))[0]
            except IntegrityError:
                continue
            except (OperationalError, InterfaceError, OSError) as error:
                return _unavailable(error)
            except Exception as error:
                return error
        return StoreIntegrityError("append kept racing with another writer")

    async def _append_group(self, batches: list[CommandBatch]) -> list[Outcome]:
        # Lineages are resolved first (branch creation is final, so they are
        # cached and cannot change under us); the transaction itself is one
        # synchronous function: a single worker-thread hop on SQLite.
        keys = {(a.stream.db, a.stream.branch) for b in batches for a in b.appends}
        keys |= {(b.db, b.branch) for b in batches if b.claims}
        lineages = {key: await self.lineage(*key) for key in keys}
        return await self._db.run_write(
            lambda conn: append_group(conn, batches, lineages)
        )

    async def _find_command(self, conn: AsyncConnection, command_id: str) -> Any:
        query = select(t.commands).where(t.commands.c.command_id == command_id)
        return (await conn.execute(query)).mappings().first()

    # --- reads --------------------------------------------------------------

    async def stream_head(self, stream: StreamId) -> int:
        async with self._reading() as conn:
            lineage = await self._lineage(conn, stream.db, stream.branch)
            found: dict[StreamId, int] = await conn.run_sync(
                lambda sync: heads(sync, [stream], lineage)
            )
            return found.get(stream, 0)

    async def last_events(
        self, streams: Sequence[StreamId], *, as_of: int | None = None
    ) -> dict[StreamId, EventEnvelope]:
        if not streams:
            return {}
        async with self._reading() as conn:
            lineage = await self._lineage(conn, streams[0].db, streams[0].branch)
            found: dict[StreamId, EventEnvelope] = await conn.run_sync(
                lambda sync: tips(sync, streams, lineage, as_of)
            )
            return found

    async def changed_streams(
        self,
        db: str,
        branch: str,
        aggregate_type: str,
        *,
        after_position: int,
        until_position: int,
    ) -> list[str]:
        e = t.events
        async with self._reading() as conn:
            lineage = await self._lineage(conn, db, branch)
            query = (
                select(e.c.aggregate_id)
                .distinct()
                .where(
                    e.c.db == db,
                    e.c.aggregate_type == aggregate_type,
                    e.c.position > after_position,
                    visible_clause(e, lineage, until_position),
                )
                .order_by(e.c.aggregate_id)
            )
            return [str(i) for i in (await conn.execute(query)).scalars()]

    async def find_command(self, command_id: str) -> StoredCommand | None:
        async with self._reading() as conn:
            row = await self._find_command(conn, command_id)
        if row is None:
            return None
        return StoredCommand(
            result=stored_result(row), request_hash=row["request_hash"]
        )

    async def registry_version(self, db: str) -> int:
        e = t.events
        query = select(func.max(e.c.position)).where(
            e.c.db == db, e.c.aggregate_type.in_(REGISTRY_TYPES)
        )
        async with self._reading() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def has_instances(self, db: str, branch: str, aggregate_prefix: str) -> bool:
        e = t.events
        async with self._reading() as conn:
            lineage = await self._lineage(conn, db, branch)
            query = (
                select(e.c.position)
                .where(
                    e.c.db == db,
                    e.c.aggregate_type == INSTANCE,
                    e.c.aggregate_id.startswith(aggregate_prefix, autoescape=True),
                    visible_clause(e, lineage),
                )
                .limit(1)
            )
            return (await conn.execute(query)).first() is not None

    async def read_stream(self, stream: StreamId) -> list[EventEnvelope]:
        async with self._reading() as conn:
            lineage = await self._lineage(conn, stream.db, stream.branch)
            query = (
                select(t.events)
                .where(
                    t.events.c.db == stream.db,
                    t.events.c.aggregate_type == stream.aggregate_type,
                    t.events.c.aggregate_id == stream.aggregate_id,
                    visible_clause(t.events, lineage),
                )
                .order_by(t.events.c.seq)
            )
            return [
                envelope_from_dict(dict(r))
                for r in (await conn.execute(query)).mappings()
            ]

    async def read_aggregate_type(
        self, db: str, branch: str, aggregate_type: str, *, after_position: int = 0
    ) -> list[EventEnvelope]:
        async with self._reading() as conn:
            lineage = await self._lineage(conn, db, branch)
            query = (
                select(t.events)
                .where(
                    t.events.c.db == db,
                    t.events.c.aggregate_type == aggregate_type,
                    t.events.c.position > after_position,
                    visible_clause(t.events, lineage),
                )
                .order_by(t.events.c.position)
            )
            return [
                envelope_from_dict(dict(r))
                for r in (await conn.execute(query)).mappings()
            ]

    async def read_positions(
        self, db: str, *, after_position: int, limit: int
    ) -> list[EventEnvelope]:
        async with self._reading() as conn:
            query = (
                select(t.events)
                .where(t.events.c.db == db, t.events.c.position > after_position)
                .order_by(t.events.c.position)
                .limit(limit)
            )
            return [
                envelope_from_dict(dict(r))
                for r in (await conn.execute(query)).mappings()
            ]

    async def last_positions(self) -> dict[str, int]:
        if self._db.is_sqlite and self._db.sync_reader is None:  # in-memory
            async with self._reading() as conn:
                rows = await conn.execute(
                    select(t.positions.c.db, t.positions.c.last_position)
                )
                return {db: int(p) for db, p in rows}
        # Every relay pump asks (one row per database): the driver's own read,
        # on SQLite inline, instead of SQLAlchemy's async path (~3 % of the
        # embedded stack's CPU at 500 commands/s, py-spy).
        sql = f"SELECT db, last_position FROM {t.positions.name}"
        try:
            found = await self._db.fetch(sql, [], small=True)
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"event store unavailable: {error}") from error
        return {db: int(p) for db, p in found}

    async def position_at(self, db: str, moment: datetime) -> int:
        """One step down the (db, recorded_at, last_position) index: commands
        record the time their transaction took its positions, in the same ISO
        form this compares with (text order is time order there)."""
        c = t.commands
        query = (
            select(c.c.last_position)
            .where(c.c.db == db, c.c.recorded_at <= moment.astimezone(UTC).isoformat())
            .order_by(c.c.recorded_at.desc(), c.c.last_position.desc())
            .limit(1)
        )
        async with self._reading() as conn:
            found = (await conn.execute(query)).scalar()
        return int(found or 0)

    async def claim_holders(
        self, db: str, branch: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        if not keys:
            return {}
        async with self._reading() as conn:
            lineage = await self._lineage(conn, db, branch)
            found = await conn.run_sync(
                lambda sync: claim_states(sync, db, keys, lineage)
            )
        return {k: holder for k, (_, holder) in found.items() if holder is not None}

    async def lineage(self, db: str, branch: str) -> list[BranchSpan]:
        if branch == MAIN_BRANCH or branch in self._forks.get(db, {}):
            # Known without a connection: once per group commit, this matters.
            return lineage_from_forks(branch, self._forks.get(db, {}))
        async with self._reading() as conn:
            return await self._lineage(conn, db, branch)

    async def _lineage(
        self, conn: AsyncConnection, db: str, branch: str
    ) -> list[BranchSpan]:
        if branch == MAIN_BRANCH:
            return [BranchSpan(branch=branch, until_position=None)]
        forks = self._forks.setdefault(db, {})
        if branch not in forks:
            await self._load_forks(conn, db)
        return lineage_from_forks(branch, forks)

    async def _load_forks(self, conn: AsyncConnection, db: str) -> None:
        # Branch creation is final (a deleted branch name is never reused), so the
        # fork table only grows and is safe to cache.
        query = select(t.events.c.aggregate_id, t.events.c.data).where(
            t.events.c.db == db,
            t.events.c.aggregate_type == BRANCH,
            t.events.c.event_type == BRANCH_CREATED,
        )
        forks = self._forks.setdefault(db, {})
        for name, data in await conn.execute(query):
            forks[name] = (data["parent"], int(data["fork_position"]))

    def _reading(self) -> Any:
        return reading_or_unavailable(self._db, "event store")


def _unavailable(error: BaseException) -> StoreUnavailable:
    # Handed to a future rather than raised: chain the driver error by hand, as
    # `raise ... from error` would, so callers still see its cause.
    failure = StoreUnavailable(f"event store unavailable: {error}")
    failure.__cause__ = error
    return failure
