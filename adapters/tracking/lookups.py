"""Key lookups in the tracking tables on PostgreSQL that stay index lookups
whatever the planner's statistics say.

Without column statistics (a fresh database, a new consumer, a rebuild's shadow
consumer, any table in the minute before autovacuum analyzes it) PostgreSQL
estimates that an IN list of a few dozen keys matches most of the table and
scans all of it, so each batch costs more the more the consumer has processed.
One probe per key, with every primary-key column bound by equality, can only be
answered by the primary-key index.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import tables as t

_PROCESSED = text(
    f"""
    SELECT p.event_id FROM unnest(CAST(:ids AS varchar[])) AS k(id)
    CROSS JOIN LATERAL (
        SELECT event_id FROM {t.processed_events.name}
        WHERE consumer = :consumer AND event_id = k.id
    ) AS p
    """  # table names are ours; every value is a bound parameter
).bindparams(bindparam("ids", type_=ARRAY(String)))

_VERSIONS = text(
    f"""
    SELECT v.aggregate_id, v.seq FROM unnest(CAST(:ids AS varchar[])) AS k(id)
    CROSS JOIN LATERAL (
        SELECT aggregate_id, seq FROM {t.aggregate_versions.name}
        WHERE consumer = :consumer AND db = :db AND branch = :branch
          AND aggregate_type = :kind AND aggregate_id = k.id
    ) AS v
    """  # table names are ours; every value is a bound parameter
).bindparams(bindparam("ids", type_=ARRAY(String)))


async def processed(
    conn: AsyncConnection, consumer: str, event_ids: Sequence[str]
) -> set[str]:
    rows = await conn.execute(
        _PROCESSED, {"consumer": consumer, "ids": list(event_ids)}
    )
    return {row[0] for row in rows}


async def versions(
    conn: AsyncConnection,
    consumer: str,
    prefix: tuple[str, str, str],
    aggregate_ids: Sequence[str],
) -> dict[str, int]:
    """aggregate id -> seq, for the ids under one (db, branch, aggregate type)."""
    db, branch, kind = prefix
    parameters = {
        "consumer": consumer,
        "db": db,
        "branch": branch,
        "kind": kind,
        "ids": list(aggregate_ids),
    }
    rows = await conn.execute(_VERSIONS, parameters)
    return {aggregate_id: int(seq) for aggregate_id, seq in rows}
