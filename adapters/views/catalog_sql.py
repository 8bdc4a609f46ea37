"""CatalogView and AuditView on SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import tables as t
from adapters.event_store.lineage import visible_clause
from adapters.sql_engine import SqlDatabase
from adapters.views.sql_common import table_hash, upsert
from domain import events as ev
from domain.events import EventEnvelope
from domain.governance.rules import BRANCH_PROTECTED
from domain.ports import BranchSpan
from projections.views import AuditEntry, BranchRecord, ClassRecord, DatabaseRecord

_CATALOG_EVENTS = frozenset(
    {ev.DATABASE_CREATED, ev.DATABASE_DELETED, ev.BRANCH_CREATED, ev.BRANCH_DELETED}
    | {BRANCH_PROTECTED}
    | ev.CLASS_EVENTS
)


class SqlCatalogView:
    def __init__(
        self,
        database: SqlDatabase,
        *,
        databases: Table = t.catalog_databases,
        branches: Table = t.catalog_branches,
        classes: Table = t.catalog_classes,
    ) -> None:
        self._db = database
        self.databases_table = databases
        self.branches_table = branches
        self.classes_table = classes

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        relevant = [e for e in events if e.event_type in _CATALOG_EVENTS]
        if not relevant:
            return  # instance events: nothing to write, no transaction to open
        async with self._db.write() as conn:
            for event in relevant:
                if event.event_type in (ev.DATABASE_CREATED, ev.DATABASE_DELETED):
                    await self._database(conn, event)
                elif event.event_type in (ev.BRANCH_CREATED, ev.BRANCH_DELETED):
                    await self._branch(conn, event)
                elif event.event_type == BRANCH_PROTECTED:
                    await self._protected(conn, event)
                elif event.event_type in ev.CLASS_EVENTS:
                    await self._class(conn, event)

    async def _database(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        d = self.databases_table
        row = {
            "name": event.aggregate_id,
            "description": event.data.get("description"),
            "seq": event.seq,
            "position": event.position,
            "deleted": event.event_type == ev.DATABASE_DELETED,
            "created_at": event.occurred_at.isoformat(),
            "created_by": event.actor,
        }
        stmt = upsert(conn, d).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[d.c.name],
            set_={
                "seq": stmt.excluded.seq,
                "position": stmt.excluded.position,
                "deleted": stmt.excluded.deleted,
            },
            where=d.c.seq < stmt.excluded.seq,
        )
        await conn.execute(stmt)

    async def _branch(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        b = self.branches_table
        row = {
            "db": event.db,
            "name": event.aggregate_id,
            "parent": event.data.get("parent"),
            "fork_position": event.data.get("fork_position"),
            "seq": event.seq,
            "position": event.position,
            "deleted": event.event_type == ev.BRANCH_DELETED,
            "created_at": event.occurred_at.isoformat(),
        }
        stmt = upsert(conn, b).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[b.c.db, b.c.name],
            set_={
                "seq": stmt.excluded.seq,
                "position": stmt.excluded.position,
                "deleted": stmt.excluded.deleted,
            },
            where=b.c.seq < stmt.excluded.seq,
        )
        await conn.execute(stmt)

    async def _protected(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        """Protection rules are events of the branch's stream: its seq (the
        `expectedSeq` of deleteBranch) moves with them. main has no row."""
        b = self.branches_table
        await conn.execute(
            update(b)
            .where(
                b.c.db == event.db,
                b.c.name == event.aggregate_id,
                b.c.seq < event.seq,
            )
            .values(seq=event.seq, position=event.position)
        )

    async def _class(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        row = {
            "db": event.db,
            "branch": event.branch,
            "class_id": event.aggregate_id,
            "seq": event.seq,
            "position": event.position,
            "definition": dict(event.data["definition"]),
        }
        # Into this view's table: a rebuild's shadow view must not write the live one.
        await conn.execute(
            upsert(conn, self.classes_table).values(**row).on_conflict_do_nothing()
        )

    async def databases(self) -> list[DatabaseRecord]:
        d = self.databases_table
        query = select(d).where(d.c.deleted.is_(False)).order_by(d.c.name)
        async with self._db.read() as conn:
            return [
                DatabaseRecord(
                    name=r["name"],
                    description=r["description"],
                    seq=int(r["seq"]),
                    created_at=r["created_at"],
                    created_by=r["created_by"],
                )
                for r in (await conn.execute(query)).mappings()
            ]

    async def branches(self, db: str) -> list[BranchRecord]:
        b = self.branches_table
        query = select(b).where(b.c.db == db, b.c.deleted.is_(False)).order_by(b.c.name)
        async with self._db.read() as conn:
            return [
                BranchRecord(
                    db=r["db"],
                    name=r["name"],
                    parent=r["parent"],
                    fork_position=r["fork_position"],
                    seq=int(r["seq"]),
                    created_at=r["created_at"],
                )
                for r in (await conn.execute(query)).mappings()
            ]

    async def classes(
        self, db: str, lineage: Sequence[BranchSpan], as_of: int | None = None
    ) -> list[ClassRecord]:
        c = self.classes_table
        visible = visible_clause(c, lineage, as_of)
        heads = (
            select(c.c.class_id.label("k"), func.max(c.c.seq).label("s"))
            .where(c.c.db == db, visible)
            .group_by(c.c.class_id)
            .subquery()
        )
        query = (
            select(c)
            .join(heads, and_(c.c.class_id == heads.c.k, c.c.seq == heads.c.s))
            .where(c.c.db == db, visible)
            .order_by(c.c.class_id)
        )
        async with self._db.read() as conn:
            return [_class_record(r) for r in (await conn.execute(query)).mappings()]

    async def content_hash(self, db: str | None = None) -> str:
        # This view's tables, so a shadow's hash describes the shadow.
        parts = [
            await table_hash(self._db, self.classes_table, db=db),
            await table_hash(
                self._db, self.branches_table, db=db, exclude=("created_at",)
            ),
        ]
        return "-".join(parts)


def _class_record(r: Any) -> ClassRecord:
    return ClassRecord(
        db=r["db"],
        branch=r["branch"],
        class_id=r["class_id"],
        seq=int(r["seq"]),
        position=int(r["position"]),
        definition=r["definition"],
    )


class SqlAuditView:
    def __init__(self, database: SqlDatabase, *, log: Table = t.audit_log) -> None:
        self._db = database
        self.log_table = log

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        if not events:
            return
        rows = [
            {
                "db": e.db,
                "position": e.position,
                "branch": e.branch,
                "event_type": e.event_type,
                "aggregate_type": e.aggregate_type,
                "aggregate_id": e.aggregate_id,
                "seq": e.seq,
                "actor": e.actor,
                "command_id": e.command_id,
                "occurred_at": e.occurred_at.isoformat(),
            }
            for e in events
        ]
        statement = upsert(self._db.dialect, self.log_table).on_conflict_do_nothing()
        await self._db.execute_all([(statement, rows)])

    async def entries(
        self,
        *,
        db: str | None = None,
        actor: str | None = None,
        aggregate_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        a = self.log_table
        conditions = []
        if db is not None:
            conditions.append(a.c.db == db)
        if actor is not None:
            conditions.append(a.c.actor == actor)
        if aggregate_id is not None:
            conditions.append(a.c.aggregate_id == aggregate_id)
        if since is not None:
            conditions.append(a.c.occurred_at >= since)
        if until is not None:
            conditions.append(a.c.occurred_at < until)
        query = (
            select(a)
            .where(and_(True, *conditions))
            .order_by(a.c.occurred_at, a.c.db, a.c.position)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [
                AuditEntry(**dict(r)) for r in (await conn.execute(query)).mappings()
            ]

    async def content_hash(self, db: str | None = None) -> str:
        return await table_hash(self._db, self.log_table, db=db)
