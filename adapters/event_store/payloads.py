"""Event payloads in a blob store (S3 in production): the SPEC's "event payloads
optionally in S3" (issue 4, item 4).

Every command has one outbox row (db, first_position..last_position), and the rows
one append transaction committed share `commit_first`. The events of one commit are
serialized once to `payloads/<db>/<first>-<last>.json`, written with
`If-None-Match: *` (`BlobStore.put(if_absent=True)`), and the key is recorded in
each of the commit's rows (`outbox.payload_ref`). Under load the group writer
commits many commands per transaction, so the archive costs one put per commit, not
one per command. A commit is fixed once written, so its object has one possible
content: a writer that died after the put and before recording the key simply
writes again, the put is refused because the object exists, the stored bytes are
checked to be exactly what it would have written (same events, canonical JSON),
and the key is recorded. An object is never overwritten.

The relay archives a commit before it publishes any of its events, so every event
on the bus has its immutable copy in the blob store. The SQL `events` table stays
what the event store reads from; the objects are the write-once archive the outbox
references.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from adapters import tables as t
from adapters.errors import StoreDataError, StoreUnavailable
from adapters.serialization import canonical_json, envelope_from_dict, envelope_to_dict
from adapters.sql_engine import SqlDatabase
from domain.events import EventEnvelope
from domain.ports import BlobStore, EventStore

PAYLOAD_FORMAT = 2


@dataclass(frozen=True, slots=True)
class OutboxRow:
    first_position: int
    last_position: int
    command_id: str
    payload_ref: str | None


@dataclass(frozen=True, slots=True)
class Commit:
    """The outbox rows of one append transaction, in position order."""

    db: str
    # The commit's id: the first position it appended (its rows' commit_first).
    first: int
    rows: tuple[OutboxRow, ...]

    @property
    def first_position(self) -> int:
        return self.rows[0].first_position

    @property
    def last_position(self) -> int:
        return self.rows[-1].last_position

    @property
    def unrecorded(self) -> int:
        return sum(1 for row in self.rows if row.payload_ref is None)


def payload_key(db: str, first_position: int, last_position: int) -> str:
    return f"payloads/{db}/{first_position}-{last_position}.json"


def encode_payload(commit: Commit, events: Sequence[EventEnvelope]) -> bytes:
    """Canonical JSON: the same commit always encodes to the same bytes."""
    document = {
        "format": PAYLOAD_FORMAT,
        "db": commit.db,
        "first_position": commit.first_position,
        "last_position": commit.last_position,
        "commands": [
            {
                "command_id": row.command_id,
                "first_position": row.first_position,
                "last_position": row.last_position,
            }
            for row in commit.rows
        ],
        "events": [envelope_to_dict(e) for e in events],
    }
    return canonical_json(document).encode()


def decode_payload(raw: bytes) -> list[EventEnvelope]:
    try:
        document: dict[str, Any] = json.loads(raw)
        return [envelope_from_dict(e) for e in document["events"]]
    except (ValueError, KeyError, TypeError) as error:
        raise StoreDataError(f"undecodable event payload: {error!r}") from error


class EventPayloads:
    """Writes the payload of each commit once and records its key in its rows."""

    def __init__(
        self,
        database: SqlDatabase,
        store: EventStore,
        blobs: BlobStore,
        *,
        batch: int = 100,
        concurrency: int = 8,
    ) -> None:
        self._db = database
        self._store = store
        self.blobs = blobs
        self._batch = batch
        # Puts of different commits are independent (one key each), so a page of
        # commits is written concurrently: sequential puts cap the relay at one
        # commit per S3 round trip.
        self._concurrency = asyncio.Semaphore(concurrency)
        # Per database: every commit up to this commit_first has its ref.
        self._done: dict[str, int] = {}

    async def archive(
        self, db: str, *, upto: int, events: Sequence[EventEnvelope] = ()
    ) -> int:
        """Writes every commit of `db` that starts at or before position `upto`
        and has a row without a payload ref yet (the whole commit, also the rows
        past `upto`); returns how many rows it recorded. `events` (a run of
        consecutive committed events the caller has already read) saves reading
        them again for the commits they cover."""
        known = {e.position: e for e in events if e.db == db}
        recorded = 0
        while True:
            commits = await self._pending(db, upto)
            written = await asyncio.gather(
                *(self._write(commit, known) for commit in commits),
                return_exceptions=True,
            )
            # Every put has finished (none left running); the first failure wins.
            keys = [_raise_if_failed(outcome) for outcome in written]
            await self._record(db, list(zip(commits, keys, strict=True)))
            if commits:
                self._done[db] = commits[-1].first
            recorded += sum(commit.unrecorded for commit in commits)
            if len(commits) < self._batch:
                return recorded

    async def load(self, ref: str) -> list[EventEnvelope]:
        """Every event of the commit the object holds."""
        return decode_payload(await self.blobs.get(ref))

    async def _pending(self, db: str, upto: int) -> list[Commit]:
        """The next commits with an unrecorded row, each with all of its rows.

        Two index lookups, not one query with the page as a subquery: without
        statistics (a fresh outbox, or one autovacuum has not analyzed yet)
        PostgreSQL runs the subquery once per outbox row of the database, so a
        relay pass would cost the square of the history."""
        o = t.outbox
        page = (
            select(o.c.commit_first)
            .where(
                o.c.db == db,
                o.c.commit_first > self._done.get(db, 0),
                o.c.commit_first <= upto,
                o.c.payload_ref.is_(None),
            )
            .group_by(o.c.commit_first)
            .order_by(o.c.commit_first)
            .limit(self._batch)
        )
        try:
            async with self._db.read() as conn:
                firsts = [int(first) for (first,) in await conn.execute(page)]
                if not firsts:
                    return []
                result = list(await conn.execute(_commit_rows(db, firsts)))
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"outbox unavailable: {error}") from error
        rows: dict[int, list[OutboxRow]] = {}
        for commit_first, first, last, command_id, ref in result:
            row = OutboxRow(int(first), int(last), str(command_id), ref)
            rows.setdefault(int(commit_first), []).append(row)
        return [Commit(db, first, tuple(group)) for first, group in rows.items()]

    async def _events(
        self, commit: Commit, known: dict[int, EventEnvelope]
    ) -> list[EventEnvelope]:
        wanted = range(commit.first_position, commit.last_position + 1)
        if all(p in known for p in wanted):
            return [known[p] for p in wanted]
        return await self._store.read_positions(
            commit.db, after_position=commit.first_position - 1, limit=len(wanted)
        )

    async def _write(self, commit: Commit, known: dict[int, EventEnvelope]) -> str:
        """Puts the commit's payload (or checks the one a crashed writer left); the key."""
        events = await self._events(commit, known)
        _check_commit(commit, events)
        key = payload_key(commit.db, commit.first_position, commit.last_position)
        data = encode_payload(commit, events)
        async with self._concurrency:
            written = await self.blobs.put(key, data, if_absent=True)
            # Refused: written before (by us, before a crash); it must hold this commit.
            if not written and await self.blobs.get(key) != data:
                raise StoreDataError(f"payload {key} exists with other content")
        return key

    async def _record(self, db: str, written: Sequence[tuple[Commit, str]]) -> None:
        """Every written commit's key into its rows that lack it, in one
        transaction (a crash before it only means the puts are refused and checked
        next time). One statement per commit, not per row: a commit under load
        holds hundreds of commands."""
        parameters = [
            {"commit": commit.first, "ref": key}
            for commit, key in written
            if commit.unrecorded
        ]
        if not parameters:
            return
        o = t.outbox
        statement = (
            update(o)
            .where(
                o.c.db == db,
                o.c.commit_first == bindparam("commit"),
                o.c.payload_ref.is_(None),
            )
            .values(payload_ref=bindparam("ref"))
        )
        try:
            await self._db.execute_all([(statement, parameters)])
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"outbox unavailable: {error}") from error


def _commit_rows(db: str, firsts: Sequence[int]) -> Select[Any]:
    """Every outbox row of these commits, in position order."""
    o = t.outbox
    return (
        select(
            o.c.commit_first,
            o.c.first_position,
            o.c.last_position,
            o.c.command_id,
            o.c.payload_ref,
        )
        .where(
            o.c.db == db,
            o.c.commit_first >= firsts[0],
            o.c.commit_first <= firsts[-1],
            o.c.commit_first.in_(firsts),
        )
        .order_by(o.c.first_position)
    )


def _check_commit(commit: Commit, events: Sequence[EventEnvelope]) -> None:
    """The rows must tile the commit's positions and the events must be exactly
    those positions: anything else is a damaged outbox, never archived."""
    expected = commit.first
    for row in commit.rows:
        if row.first_position != expected or row.last_position < row.first_position:
            break
        expected = row.last_position + 1
    else:
        positions = [e.position for e in events]
        if positions == list(range(commit.first_position, commit.last_position + 1)):
            return
    raise StoreDataError(
        f"outbox commit {commit.db}/{commit.first_position}-{commit.last_position}"
        " does not match the stored events"
    )


def _raise_if_failed(outcome: str | BaseException) -> str:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
