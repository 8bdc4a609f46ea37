"""Event payloads in a blob store (S3 in production): the SPEC's "event payloads
optionally in S3" (issue 4, item 4).

Every committed command batch has one outbox row (db, first_position..last_position).
Its events are serialized once to `payloads/<db>/<first>-<last>.json`, written with
`If-None-Match: *` (`BlobStore.put(if_absent=True)`), and the key is recorded in
`outbox.payload_ref`. A writer that died after the put and before recording the key
simply writes again: the put is refused because the object exists, the stored bytes
are checked to be exactly what it would have written (same events, canonical JSON),
and the key is recorded. An object is never overwritten.

The relay archives a batch before it publishes the batch's events, so every event
on the bus has its immutable copy in the blob store. The SQL `events` table stays
what the event store reads from; the objects are the write-once archive the outbox
references.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from adapters import tables as t
from adapters.errors import StoreDataError, StoreUnavailable
from adapters.serialization import canonical_json, envelope_from_dict, envelope_to_dict
from adapters.sql_engine import SqlDatabase
from domain.events import EventEnvelope
from domain.ports import BlobStore, EventStore

PAYLOAD_FORMAT = 1


def payload_key(db: str, first_position: int, last_position: int) -> str:
    return f"payloads/{db}/{first_position}-{last_position}.json"


def encode_payload(db: str, command_id: str, events: Sequence[EventEnvelope]) -> bytes:
    """Canonical JSON: the same batch always encodes to the same bytes."""
    document = {
        "format": PAYLOAD_FORMAT,
        "db": db,
        "command_id": command_id,
        "first_position": events[0].position,
        "last_position": events[-1].position,
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
    """Writes the payload of each outbox row once and records its key."""

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
        # Puts of different rows are independent (one key each), so a page of rows
        # is written concurrently: sequential puts cap the relay at one command per
        # S3 round trip.
        self._concurrency = asyncio.Semaphore(concurrency)
        # Per database: every outbox row up to this first_position has its ref.
        self._done: dict[str, int] = {}

    async def archive(
        self, db: str, *, upto: int, events: Sequence[EventEnvelope] = ()
    ) -> int:
        """Writes every outbox row of `db` that starts at or before position `upto`
        and has no payload yet; returns how many it recorded. `events` (a run of
        consecutive committed events the caller has already read) saves reading
        them again for the rows they cover."""
        known = {e.position: e for e in events if e.db == db}
        recorded = 0
        while True:
            rows = await self._pending(db, upto)
            written = await asyncio.gather(
                *(
                    self._write(db, first, last, cid, known)
                    for first, last, cid in rows
                ),
                return_exceptions=True,
            )
            # Every put has finished (none left running); the first failure wins.
            keys = [_raise_if_failed(outcome) for outcome in written]
            await self._record(
                db,
                [(first, key) for (first, _, _), key in zip(rows, keys, strict=True)],
            )
            if rows:
                self._done[db] = rows[-1][0]
            recorded += len(rows)
            if len(rows) < self._batch:
                return recorded

    async def load(self, ref: str) -> list[EventEnvelope]:
        return decode_payload(await self.blobs.get(ref))

    async def _pending(self, db: str, upto: int) -> list[tuple[int, int, str]]:
        o = t.outbox
        query = (
            select(o.c.first_position, o.c.last_position, o.c.command_id)
            .where(
                o.c.db == db,
                o.c.first_position > self._done.get(db, 0),
                o.c.first_position <= upto,
                o.c.payload_ref.is_(None),
            )
            .order_by(o.c.first_position)
            .limit(self._batch)
        )
        try:
            async with self._db.read() as conn:
                result = await conn.execute(query)
                return [(int(f), int(la), str(c)) for f, la, c in result]
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"outbox unavailable: {error}") from error

    async def _events(
        self, db: str, first: int, last: int, known: dict[int, EventEnvelope]
    ) -> list[EventEnvelope]:
        wanted = range(first, last + 1)
        if all(p in known for p in wanted):
            return [known[p] for p in wanted]
        return await self._store.read_positions(
            db, after_position=first - 1, limit=last - first + 1
        )

    async def _write(
        self,
        db: str,
        first: int,
        last: int,
        command_id: str,
        known: dict[int, EventEnvelope],
    ) -> str:
        """Puts the row's payload (or checks the one a crashed writer left); the key."""
        events = await self._events(db, first, last, known)
        if [e.position for e in events] != list(range(first, last + 1)):
            raise StoreDataError(
                f"outbox row {db}/{first}-{last} does not match the stored events"
            )
        key = payload_key(db, first, last)
        data = encode_payload(db, command_id, events)
        async with self._concurrency:
            written = await self.blobs.put(key, data, if_absent=True)
            # Refused: written before (by us, before a crash); it must hold this batch.
            if not written and await self.blobs.get(key) != data:
                raise StoreDataError(f"payload {key} exists with other content")
        return key

    async def _record(self, db: str, refs: Sequence[tuple[int, str]]) -> None:
        """Every written row's key, in one transaction (a crash before it only
        means the puts are refused and checked next time)."""
        if not refs:
            return
        o = t.outbox
        statement = (
            update(o)
            .where(
                o.c.db == db,
                o.c.first_position == bindparam("first"),
                o.c.payload_ref.is_(None),
            )
            .values(payload_ref=bindparam("ref"))
        )
        parameters = [{"first": first, "ref": key} for first, key in refs]
        try:
            await self._db.execute_all([(statement, parameters)])
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"outbox unavailable: {error}") from error


def _raise_if_failed(outcome: str | BaseException) -> str:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
