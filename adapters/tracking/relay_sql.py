"""Relay checkpoints on SQL: the last position published per database."""

from __future__ import annotations

from sqlalchemy import select

from adapters import tables as t
from adapters.sql_engine import SqlDatabase
from adapters.views.sql_common import upsert


class SqlRelayCheckpoints:
    def __init__(self, database: SqlDatabase) -> None:
        self._db = database

    async def load(self, relay: str) -> dict[str, int]:
        r = t.relay_checkpoints
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(r.c.db, r.c.position).where(r.c.relay == relay)
            )
            return {db: int(p) for db, p in rows}

    async def save(self, relay: str, db: str, position: int) -> None:
        r = t.relay_checkpoints
        async with self._db.write() as conn:
            stmt = upsert(conn, r).values(relay=relay, db=db, position=position)
            stmt = stmt.on_conflict_do_update(
                index_elements=[r.c.relay, r.c.db],
                set_={"position": stmt.excluded.position},
                where=r.c.position < stmt.excluded.position,
            )
            await conn.execute(stmt)
