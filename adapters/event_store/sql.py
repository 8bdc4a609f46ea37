"""Event store on SQLAlchemy Core: SQLite (embedded) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import tables as t
from adapters.errors import StoreIntegrityError, StoreUnavailable
from adapters.event_store.lineage import lineage_from_forks, visible_clause
from adapters.serialization import envelope_from_dict
from adapters.sql_engine import SqlDatabase
from domain.errors import ConcurrencyConflict, IdempotencyConflict, StaleModel
from domain.events import (
    BRANCH,
    BRANCH_CREATED,
    CLASS,
    DATABASE,
    INSTANCE,
    MAIN_BRANCH,
    EventEnvelope,
    StreamId,
    derived_event_id,
)
from domain.ports import AppendResult, BranchSpan, CommandBatch, StoredCommand

_ID_CHUNK = 500
_RACE_RETRIES = 3
_REGISTRY_TYPES = (DATABASE, BRANCH, CLASS)


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

    async def close(self) -> None:
        return None

    # --- append -------------------------------------------------------------

    async def append(self, batch: CommandBatch) -> AppendResult:
        """Queues the batch for the group writer: concurrent appends share one
        transaction, yet each succeeds or fails on its own."""
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
            outcomes = await self._append_group_safely([b for b, _ in group])
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

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
        except Exception as error:
            return [error for _ in batches]

    async def _append_alone(self, batch: CommandBatch) -> Outcome:
        for _ in range(_RACE_RETRIES):
            try:
                return (await self._append_group([batch]))[0]
            except IntegrityError:
                continue
            except (OperationalError, InterfaceError, OSError) as error:
                return _unavailable(error)
        return StoreIntegrityError("append kept racing with another writer")

    async def _append_group(self, batches: list[CommandBatch]) -> list[Outcome]:
        async with self._db.write() as conn:
            dbs = sorted({b.db for b in batches})
            last = await self._lock_positions(conn, dbs)
            group = _Group(
                stored=await self._stored_commands(
                    conn, [b.command_id for b in batches]
                ),
                registry=await _registry_versions(conn, dbs),
                heads=await self._group_heads(conn, batches),
                last=dict(last),
                now=datetime.now(UTC).isoformat(),
            )
            outcomes = [group.decide(b) for b in batches]
            if group.event_rows:
                await conn.execute(t.events.insert(), group.event_rows)
                await conn.execute(t.commands.insert(), group.command_rows)
                await conn.execute(t.outbox.insert(), group.outbox_rows)
                await self._save_positions(conn, last, group.last)
            return outcomes

    async def _lock_positions(
        self, conn: AsyncConnection, dbs: list[str]
    ) -> dict[str, int]:
        """Takes each database's position counter row lock (held until commit), so
        positions are handed out in commit order. SQLite's BEGIN IMMEDIATE already
        serialises writers; FOR UPDATE renders as nothing there."""
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        seed = dialect.insert(t.positions).on_conflict_do_nothing()
        await conn.execute(seed, [{"db": db, "last_position": 0} for db in dbs])
        query = (
            select(t.positions.c.db, t.positions.c.last_position)
            .where(t.positions.c.db.in_(dbs))
            .order_by(t.positions.c.db)
            .with_for_update()
        )
        return {db: int(p) for db, p in await conn.execute(query)}

    async def _save_positions(
        self, conn: AsyncConnection, before: dict[str, int], after: dict[str, int]
    ) -> None:
        for db, position in after.items():
            if position != before[db]:
                stmt = (
                    update(t.positions)
                    .where(t.positions.c.db == db)
                    .values(last_position=position)
                )
                await conn.execute(stmt)

    async def _stored_commands(
        self, conn: AsyncConnection, command_ids: list[str]
    ) -> dict[str, Any]:
        query = select(t.commands).where(t.commands.c.command_id.in_(command_ids))
        return {r["command_id"]: r for r in (await conn.execute(query)).mappings()}

    async def _group_heads(
        self, conn: AsyncConnection, batches: list[CommandBatch]
    ) -> dict[StreamId, int]:
        by_branch: dict[tuple[str, str], list[StreamId]] = defaultdict(list)
        for batch in batches:
            for item in batch.appends:
                by_branch[(item.stream.db, item.stream.branch)].append(item.stream)
        heads: dict[StreamId, int] = {}
        for (db, branch), streams in by_branch.items():
            lineage = await self._lineage(conn, db, branch)
            heads.update(await _heads(conn, streams, lineage))
        return heads

    async def _find_command(self, conn: AsyncConnection, command_id: str) -> Any:
        query = select(t.commands).where(t.commands.c.command_id == command_id)
        return (await conn.execute(query)).mappings().first()

    # --- reads --------------------------------------------------------------

    async def stream_head(self, stream: StreamId) -> int:
        async with self._reading() as conn:
            lineage = await self._lineage(conn, stream.db, stream.branch)
            return (await _heads(conn, [stream], lineage)).get(stream, 0)

    async def last_events(
        self, streams: Sequence[StreamId]
    ) -> dict[StreamId, EventEnvelope]:
        if not streams:
            return {}
        async with self._reading() as conn:
            lineage = await self._lineage(conn, streams[0].db, streams[0].branch)
            return await _tips(conn, streams, lineage)

    async def find_command(self, command_id: str) -> StoredCommand | None:
        async with self._reading() as conn:
            row = await self._find_command(conn, command_id)
        if row is None:
            return None
        return StoredCommand(
            result=_stored_result(row), request_hash=row["request_hash"]
        )

    async def registry_version(self, db: str) -> int:
        e = t.events
        query = select(func.max(e.c.position)).where(
            e.c.db == db, e.c.aggregate_type.in_(_REGISTRY_TYPES)
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
        async with self._reading() as conn:
            rows = await conn.execute(
                select(t.positions.c.db, t.positions.c.last_position)
            )
            return {db: int(p) for db, p in rows}

    async def lineage(self, db: str, branch: str) -> list[BranchSpan]:
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
        return _TranslatedErrors(self._db.read())


def _unavailable(error: BaseException) -> StoreUnavailable:
    # Handed to a future rather than raised: chain the driver error by hand, as
    # `raise ... from error` would, so callers still see its cause.
    failure = StoreUnavailable(f"event store unavailable: {error}")
    failure.__cause__ = error
    return failure


class _TranslatedErrors:
    """Wraps a connection context so driver errors surface as StoreUnavailable."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aenter__(self) -> AsyncConnection:
        try:
            return await self._inner.__aenter__()  # type: ignore[no-any-return]
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"event store unavailable: {error}") from error

    async def __aexit__(self, *exc: object) -> bool | None:
        try:
            return await self._inner.__aexit__(*exc)  # type: ignore[no-any-return]
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"event store unavailable: {error}") from error


async def _heads(
    conn: AsyncConnection, streams: Sequence[StreamId], lineage: Sequence[BranchSpan]
) -> dict[StreamId, int]:
    return {
        stream: env.seq for stream, env in (await _tips(conn, streams, lineage)).items()
    }


async def _tips(
    conn: AsyncConnection, streams: Sequence[StreamId], lineage: Sequence[BranchSpan]
) -> dict[StreamId, EventEnvelope]:
    """Last visible event of each stream, one query per aggregate type and chunk.

    Seqs continue across a fork, so the highest visible seq is the head even when
    it lies on an ancestor branch."""
    by_type: dict[str, list[StreamId]] = defaultdict(list)
    for stream in streams:
        by_type[stream.aggregate_type].append(stream)
    tips: dict[StreamId, EventEnvelope] = {}
    for aggregate_type, group in by_type.items():
        db, branch = group[0].db, group[0].branch
        ids = sorted({s.aggregate_id for s in group})
        for start in range(0, len(ids), _ID_CHUNK):
            query = _tips_query(
                db, aggregate_type, ids[start : start + _ID_CHUNK], lineage
            )
            for row in (await conn.execute(query)).mappings():
                tips[StreamId(db, branch, aggregate_type, row["aggregate_id"])] = (
                    envelope_from_dict(dict(row))
                )
    return tips


def _tips_query(
    db: str, aggregate_type: str, ids: Sequence[str], lineage: Sequence[BranchSpan]
) -> Any:
    e = t.events
    heads = (
        select(e.c.aggregate_id.label("aid"), func.max(e.c.seq).label("head"))
        .where(
            e.c.db == db,
            e.c.aggregate_type == aggregate_type,
            e.c.aggregate_id.in_(ids),
            visible_clause(e, lineage),
        )
        .group_by(e.c.aggregate_id)
        .subquery()
    )
    return (
        select(e)
        .join(heads, and_(e.c.aggregate_id == heads.c.aid, e.c.seq == heads.c.head))
        .where(
            e.c.db == db,
            e.c.aggregate_type == aggregate_type,
            # Restrict the outer side too: without it PostgreSQL, before its first
            # ANALYZE of a freshly filled table, joins against every instance event
            # (quadratic bulk creates, a 10k-event load stalled for over a minute).
            e.c.aggregate_id.in_(ids),
            visible_clause(e, lineage),
        )
    )


def _event_rows(
    batch: CommandBatch, first_position: int, now: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item in batch.appends:
        for offset, event in enumerate(item.events, start=1):
            rows.append(
                {
                    "db": batch.db,
                    "position": first_position + len(rows),
                    "event_id": derived_event_id(batch.command_id, len(rows)),
                    "event_type": event.event_type,
                    "schema_version": event.schema_version,
                    "branch": item.stream.branch,
                    "aggregate_type": item.stream.aggregate_type,
                    "aggregate_id": item.stream.aggregate_id,
                    "seq": item.expected_seq + offset,
                    "occurred_at": now,
                    "actor": batch.actor,
                    "command_id": batch.command_id,
                    "correlation_id": batch.correlation_id,
                    "causation_id": batch.causation_id,
                    "ontology_version": batch.ontology_version,
                    "data": dict(event.data),
                }
            )
    return rows


def _result(
    batch: CommandBatch, *, first: int, last: int, heads: dict[StreamId, int]
) -> AppendResult:
    return AppendResult(
        command_id=batch.command_id,
        db=batch.db,
        first_position=first,
        last_position=last,
        heads=heads,
    )


def _stored_result(row: Any) -> AppendResult:
    heads = {
        StreamId(row["db"], row["branch"], agg_type, agg_id): int(seq)
        for agg_type, agg_id, seq in row["heads"]
    }
    return AppendResult(
        command_id=row["command_id"],
        db=row["db"],
        first_position=int(row["first_position"]),
        last_position=int(row["last_position"]),
        heads=heads,
        duplicate=True,
    )


Outcome = AppendResult | Exception


@dataclass(slots=True)
class _Group:
    """Decides, in order, which batches of one group transaction are accepted.

    Later batches see the heads and registry changes of earlier accepted ones,
    so two batches on one stream in one group behave as if committed in turn."""

    stored: dict[str, Any]
    registry: dict[str, int]
    heads: dict[StreamId, int]
    last: dict[str, int]
    now: str
    event_rows: list[dict[str, Any]] = field(default_factory=list)
    command_rows: list[dict[str, Any]] = field(default_factory=list)
    outbox_rows: list[dict[str, Any]] = field(default_factory=list)

    def decide(self, batch: CommandBatch) -> Outcome:
        previous = self.stored.get(batch.command_id)
        if previous is not None:
            if previous["request_hash"] != batch.request_hash:
                return IdempotencyConflict(batch.command_id)
            return _stored_result(previous)
        if (
            batch.registry_version is not None
            and self.registry.get(batch.db, 0) != batch.registry_version
        ):
            return StaleModel(batch.db)
        for item in batch.appends:
            actual = self.heads.get(item.stream, 0)
            if actual != item.expected_seq:
                return ConcurrencyConflict(
                    item.stream.aggregate_id, expected=item.expected_seq, actual=actual
                )
        return self._accept(batch)

    def _accept(self, batch: CommandBatch) -> AppendResult:
        count = sum(len(a.events) for a in batch.appends)
        first = self.last[batch.db] + 1
        self.last[batch.db] += count
        heads = {a.stream: a.expected_seq + len(a.events) for a in batch.appends}
        self.heads.update(heads)
        result = _result(batch, first=first, last=self.last[batch.db], heads=heads)
        rows = _event_rows(batch, first, self.now)
        self.event_rows.extend(rows)
        self.command_rows.append(_command_row(batch, result, len(rows), self.now))
        self.outbox_rows.append(
            {
                "db": batch.db,
                "first_position": first,
                "last_position": result.last_position,
                "command_id": batch.command_id,
                "payload_ref": None,
            }
        )
        if any(r["aggregate_type"] in _REGISTRY_TYPES for r in rows):
            self.registry[batch.db] = result.last_position
        self.stored[batch.command_id] = {**self.command_rows[-1]}
        return result


def _command_row(
    batch: CommandBatch, result: AppendResult, count: int, now: str
) -> dict[str, Any]:
    first = batch.appends[0].stream
    return {
        "command_id": batch.command_id,
        "db": batch.db,
        "branch": batch.branch,
        "request_hash": batch.request_hash,
        "aggregate_type": first.aggregate_type,
        "aggregate_id": first.aggregate_id,
        "seq": result.heads[first],
        "event_count": count,
        "first_position": result.first_position,
        "last_position": result.last_position,
        "heads": [
            [s.aggregate_type, s.aggregate_id, h] for s, h in result.heads.items()
        ],
        "actor": batch.actor,
        "recorded_at": now,
    }


async def _registry_versions(conn: AsyncConnection, dbs: list[str]) -> dict[str, int]:
    e = t.events
    query = (
        select(e.c.db, func.max(e.c.position))
        .where(e.c.db.in_(dbs), e.c.aggregate_type.in_(_REGISTRY_TYPES))
        .group_by(e.c.db)
    )
    return {db: int(p or 0) for db, p in await conn.execute(query)}
