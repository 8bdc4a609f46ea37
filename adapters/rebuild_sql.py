"""Swapping a rebuilt shadow into a live projection, atomically, on SQL.

The shadow holds the replay of every event up to a per-database horizon H. The
live rows derived from events after H are kept (the live consumer may already
have applied them); rows up to H are replaced by the shadow's. Tracking is
merged the same way, so the live consumer resumes without loss or repeats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import MetaData, String, Table, delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import tables as t
from adapters.sql_engine import SqlDatabase
from adapters.views.sql_common import upsert


async def create_shadow(database: SqlDatabase, shadows: Sequence[Table]) -> None:
    def recreate(sync: Any) -> None:
        for table in shadows:
            table.drop(sync, checkfirst=True)
            table.create(sync)

    async with database.write() as conn:
        await conn.run_sync(recreate)


async def drop_shadow(database: SqlDatabase, shadows: Sequence[Table]) -> None:
    def drop(sync: Any) -> None:
        for table in shadows:
            table.drop(sync, checkfirst=True)

    async with database.write() as conn:
        await conn.run_sync(drop)


async def swap_tables(
    database: SqlDatabase,
    pairs: Sequence[tuple[Table, Table]],
    horizon: Mapping[str, int],
    *,
    db_key: str = "db",
) -> None:
    """In one transaction: live rows up to the horizon are replaced by the shadow's."""
    async with database.write() as conn:
        for live, shadow in pairs:
            await _swap_table(
                conn,
                live,
                shadow,
                horizon,
                db_key=db_key if live.name != "catalog_databases" else "name",
            )


async def _swap_table(
    conn: AsyncConnection,
    live: Table,
    shadow: Table,
    horizon: Mapping[str, int],
    *,
    db_key: str,
) -> None:
    for db, position in horizon.items():
        await conn.execute(
            delete(live).where(live.c[db_key] == db, live.c.position <= position)
        )
        rows = select(*shadow.columns).where(
            shadow.c[db_key] == db, shadow.c.position <= position
        )
        names = [c.name for c in shadow.columns]
        await conn.execute(
            upsert(conn, live).from_select(names, rows).on_conflict_do_nothing()
        )


async def merge_tracking(database: SqlDatabase, *, live: str, shadow: str) -> None:
    """Moves the shadow consumer's tracking onto the live consumer and removes it."""
    async with database.write() as conn:
        await _merge_processed(conn, live, shadow)
        await _drop_replayed_parked(conn, live)
        await _merge_versions(conn, live, shadow)
        await _merge_checkpoints(conn, live, shadow)
        for table in (
            t.processed_events,
            t.aggregate_versions,
            t.consumer_checkpoints,
            t.parked_events,
        ):
            await conn.execute(delete(table).where(table.c.consumer == shadow))
        await conn.execute(
            update(t.dead_letters)
            .where(t.dead_letters.c.consumer == shadow)
            .values(consumer=live)
        )


async def _merge_processed(conn: AsyncConnection, live: str, shadow: str) -> None:
    p = t.processed_events
    rows = select(literal(live, String), p.c.event_id, p.c.db, p.c.position).where(
        p.c.consumer == shadow
    )
    stmt = upsert(conn, p).from_select(["consumer", "event_id", "db", "position"], rows)
    await conn.execute(stmt.on_conflict_do_nothing())


async def _drop_replayed_parked(conn: AsyncConnection, live: str) -> None:
    """A live parked event the replay processed would wait for ever: its missing
    predecessor now counts as processed too, so it is never delivered again."""
    pk, p = t.parked_events, t.processed_events
    replayed = select(p.c.event_id).where(p.c.consumer == live)
    await conn.execute(
        delete(pk).where(pk.c.consumer == live, pk.c.event_id.in_(replayed))
    )


async def _merge_versions(conn: AsyncConnection, live: str, shadow: str) -> None:
    v = t.aggregate_versions
    columns = ["consumer", "db", "branch", "aggregate_type", "aggregate_id", "seq"]
    rows = select(
        literal(live, String),
        v.c.db,
        v.c.branch,
        v.c.aggregate_type,
        v.c.aggregate_id,
        v.c.seq,
    ).where(v.c.consumer == shadow)
    stmt = upsert(conn, v).from_select(columns, rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            v.c.consumer,
            v.c.db,
            v.c.branch,
            v.c.aggregate_type,
            v.c.aggregate_id,
        ],
        set_={"seq": stmt.excluded.seq},
        where=v.c.seq < stmt.excluded.seq,
    )
    await conn.execute(stmt)


async def _merge_checkpoints(conn: AsyncConnection, live: str, shadow: str) -> None:
    c = t.consumer_checkpoints
    rows = select(literal(live, String), c.c.db, c.c.position).where(
        c.c.consumer == shadow
    )
    stmt = upsert(conn, c).from_select(["consumer", "db", "position"], rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.c.consumer, c.c.db],
        set_={"position": stmt.excluded.position},
        where=c.c.position < stmt.excluded.position,
    )
    await conn.execute(stmt)


def shadow_tables(tables: Sequence[Table]) -> list[Table]:
    meta = MetaData(naming_convention=t.NAMING_CONVENTION)
    return [t.shadow_of(table, meta) for table in tables]


async def clear_tracking(database: SqlDatabase, consumer: str) -> None:
    """Forgets everything a consumer recorded (a shadow starting over)."""
    async with database.write() as conn:
        for table in (
            t.processed_events,
            t.aggregate_versions,
            t.consumer_checkpoints,
            t.parked_events,
            t.dead_letters,
        ):
            await conn.execute(delete(table).where(table.c.consumer == consumer))
