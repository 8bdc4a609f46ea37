"""A consumer's tracking rows and checkpoints, in its driver's own SQL (as
event_rows.py writes an append's events).

Every consumer marks every event it handles processed and raises the version of
its stream: two rows per event and consumer, the most frequent write of the read
side. SQLAlchemy's executemany built and bound each row in Python (a fifth of
the embedded stack's CPU in a 500 commands/s run went to tracking records); here
SQLite gets executemany on its own driver and PostgreSQL one array per column
through `unnest`, one statement either way. The checkpoint's statements, run
once per batch, are plain SQL too: building and compiling them with SQLAlchemy
cost more than running them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, Final

from sqlalchemy import Connection

from adapters import tables as t
from domain.events import EventEnvelope, StreamId

_P, _V = t.processed_events.name, t.aggregate_versions.name
_C = t.consumer_checkpoints.name
_VERSION_KEY: Final = "consumer, db, branch, aggregate_type, aggregate_id"

_SQLITE_PROCESSED: Final = (
    f"INSERT INTO {_P} (consumer, event_id, db, position) VALUES (?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
_POSTGRES_PROCESSED: Final = (
    f"INSERT INTO {_P} (consumer, event_id, db, position)"
    " SELECT $1, e, d, p FROM unnest($2::text[], $3::text[], $4::bigint[])"
    " AS given(e, d, p) ON CONFLICT DO NOTHING"
)
_RAISE: Final = (
    f" ON CONFLICT ({_VERSION_KEY}) DO UPDATE SET seq = excluded.seq"
    f" WHERE {_V}.seq < excluded.seq"
)
_SQLITE_VERSIONS: Final = (
    f"INSERT INTO {_V} ({_VERSION_KEY}, seq) VALUES (?, ?, ?, ?, ?, ?)" + _RAISE
)
_POSTGRES_VERSIONS: Final = (
    f"INSERT INTO {_V} ({_VERSION_KEY}, seq)"
    " SELECT $1, d, b, k, i, s FROM unnest($2::text[], $3::text[], $4::text[],"
    " $5::text[], $6::integer[]) AS given(d, b, k, i, s)" + _RAISE
)


def mark_processed(
    conn: Connection, consumer: str, events: Sequence[EventEnvelope]
) -> None:
    if conn.dialect.name == "sqlite":
        rows = [(consumer, e.event_id, e.db, e.position) for e in events]
        conn.exec_driver_sql(_SQLITE_PROCESSED, rows)
        return
    columns = (
        [e.event_id for e in events],
        [e.db for e in events],
        [e.position for e in events],
    )
    conn.exec_driver_sql(_POSTGRES_PROCESSED, (consumer, *columns))


def raise_versions(
    conn: Connection, consumer: str, latest: dict[StreamId, int]
) -> None:
    """Each stream's version up to the given seq (never down)."""
    if conn.dialect.name == "sqlite":
        rows = [
            (consumer, s.db, s.branch, s.aggregate_type, s.aggregate_id, seq)
            for s, seq in latest.items()
        ]
        conn.exec_driver_sql(_SQLITE_VERSIONS, rows)
        return
    streams = list(latest)
    columns = (
        [s.db for s in streams],
        [s.branch for s in streams],
        [s.aggregate_type for s in streams],
        [s.aggregate_id for s in streams],
        [latest[s] for s in streams],
    )
    conn.exec_driver_sql(_POSTGRES_VERSIONS, (consumer, *columns))


_STORED: Final = f"SELECT position FROM {_C} WHERE consumer = ? AND db = ?"
_AFTER: Final = (
    f"SELECT position FROM {_P} WHERE consumer = ? AND db = ? AND position > ?"
    " ORDER BY position LIMIT ?"
)
_SAVE: Final = (
    f"INSERT INTO {_C} (consumer, db, position) VALUES (?, ?, ?)"
    f" ON CONFLICT (consumer, db) DO UPDATE SET position = excluded.position"
    f" WHERE {_C}.position < excluded.position"
)


def stored_checkpoint(conn: Connection, consumer: str, db: str) -> int:
    found = execute(conn, _STORED, (consumer, db)).scalar()
    return int(found or 0)


def processed_after(
    conn: Connection, consumer: str, db: str, position: int, *, limit: int
) -> Iterator[int]:
    """Processed positions past `position`, ascending, at most `limit`; read
    lazily (on SQLite), so a caller that stops at a gap reads no further."""
    for row in execute(conn, _AFTER, (consumer, db, position, limit)):
        yield int(row[0])


def save_checkpoint(conn: Connection, consumer: str, db: str, position: int) -> None:
    """Raises the stored checkpoint to `position` (never lowers it)."""
    execute(conn, _SAVE, (consumer, db, position))


def execute(conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
    """One statement written with `?` marks, numbered for asyncpg on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        sql = _numbered(sql)
    return conn.exec_driver_sql(sql, params)


def _numbered(sql: str) -> str:
    counter = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)
