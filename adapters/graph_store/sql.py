"""GraphStore on SQL: versioned nodes and edges per branch, read through the
branch lineage and as of a position (copy-on-write: a branch stores only its
own writes)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import tables as t
from adapters.errors import StoreUnavailable
from adapters.event_store.lineage import visible_clause
from adapters.serialization import canonical_json
from adapters.sql_engine import SqlDatabase
from domain.ports import NodeVersion, ReadScope

_CHUNK = 500
_TOMBSTONE_SLACK = 8  # over-read per page so a few deleted nodes cost no extra round


class SqlGraphStore:
    def __init__(
        self,
        database: SqlDatabase,
        *,
        nodes: Table = t.graph_nodes,
        edges: Table = t.graph_edges,
    ) -> None:
        self._db = database
        self.nodes = nodes
        self.edges = edges
        self.calls = 0  # port calls (each a batch), for batching tests and metrics

    async def close(self) -> None:
        return None

    async def put(self, versions: Sequence[NodeVersion]) -> None:
        if not versions:
            return
        node_rows = [_node_row(v) for v in versions]
        edge_rows = [row for v in versions for row in _edge_rows(v)]
        statements = [
            (self._insert_ignore(self.nodes), node_rows),
            (self._insert_ignore(self.edges), edge_rows),
        ]
        try:
            await self._db.execute_all(statements)
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"graph store unavailable: {error}") from error

    def _insert_ignore(self, table: Table) -> Any:
        dialect = postgresql if self._db.dialect == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()

    async def get_many(
        self, scope: ReadScope, class_ids: Sequence[str], instance_ids: Sequence[str]
    ) -> dict[str, NodeVersion]:
        self.calls += 1
        return await self._get_many(scope, class_ids, instance_ids)

    async def _get_many(
        self, scope: ReadScope, class_ids: Sequence[str], instance_ids: Sequence[str]
    ) -> dict[str, NodeVersion]:
        found: dict[str, NodeVersion] = {}
        ids = sorted(set(instance_ids))
        for start in range(0, len(ids), _CHUNK):
            query = self._latest(
                scope,
                class_ids,
                self.nodes.c.instance_id.in_(ids[start : start + _CHUNK]),
            )
            for node in await self._fetch(query):
                found[node.instance_id] = node
        return found

    async def list_nodes(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[NodeVersion]:
        """Walks instance ids in order through the index, then loads the latest
        versions of just that page: the cost follows the page, not the class size.
        A page short of live nodes (tombstones) reads further."""
        self.calls += 1
        found: list[NodeVersion] = []
        cursor = after_id
        while len(found) < limit:
            wanted = limit - len(found) + _TOMBSTONE_SLACK
            ids = await self._next_ids(scope, class_ids, cursor, wanted)
            nodes = await self._get_many(scope, class_ids, ids)
            found.extend(nodes[i] for i in ids if i in nodes)
            if len(ids) < wanted:
                break
            cursor = ids[-1]
        return found[:limit]

    async def _next_ids(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        after_id: str | None,
        limit: int,
    ) -> list[str]:
        n = self.nodes
        query = (
            select(n.c.instance_id)
            .distinct()
            .where(
                n.c.db == scope.db,
                n.c.class_id.in_(list(class_ids)),
                visible_clause(n, scope.lineage, scope.as_of),
            )
            .order_by(n.c.instance_id)
            .limit(limit)
        )
        if after_id is not None:
            query = query.where(n.c.instance_id > after_id)
        async with self._reading() as conn:
            return [row[0] for row in await conn.execute(query)]

    async def count(self, scope: ReadScope, class_ids: Sequence[str]) -> int:
        self.calls += 1
        latest = self._latest(scope, class_ids, None).subquery()
        async with self._reading() as conn:
            return int(
                (
                    await conn.execute(select(func.count()).select_from(latest))
                ).scalar_one()
            )

    async def linking_to(
        self,
        scope: ReadScope,
        source_class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
    ) -> list[NodeVersion]:
        self.calls += 1
        e = self.edges
        candidates: set[str] = set()
        targets = sorted(set(target_ids))
        async with self._reading() as conn:
            for start in range(0, len(targets), _CHUNK):
                query = (
                    select(e.c.src_id)
                    .distinct()
                    .where(
                        e.c.db == scope.db,
                        e.c.predicate == predicate,
                        e.c.dst_id.in_(targets[start : start + _CHUNK]),
                        e.c.src_class.in_(list(source_class_ids)),
                        visible_clause(e, scope.lineage, scope.as_of),
                    )
                )
                candidates.update(row[0] for row in await conn.execute(query))
        # An old version may have linked; keep sources whose current version still does.
        wanted = set(targets)
        current = await self._get_many(scope, source_class_ids, sorted(candidates))
        return [
            n
            for n in current.values()
            if wanted.intersection(_as_list(n.links.get(predicate)))
        ]

    def _latest(
        self, scope: ReadScope, class_ids: Sequence[str], condition: Any
    ) -> Any:
        """Latest visible version per instance; seqs continue across forks, so the
        highest visible seq wins even when it lives on an ancestor branch."""
        n = self.nodes
        visible = visible_clause(n, scope.lineage, scope.as_of)
        filters = [n.c.db == scope.db, n.c.class_id.in_(list(class_ids)), visible]
        if condition is not None:
            filters.append(condition)
        heads = (
            select(
                n.c.class_id.label("k"),
                n.c.instance_id.label("i"),
                func.max(n.c.seq).label("s"),
            )
            .where(*filters)
            .group_by(n.c.class_id, n.c.instance_id)
            .subquery()
        )
        join = and_(
            n.c.class_id == heads.c.k,
            n.c.instance_id == heads.c.i,
            n.c.seq == heads.c.s,
        )
        # Restrict the outer side with the same filters: without them PostgreSQL,
        # before its first ANALYZE of a fresh table (a rebuild's shadow), joins
        # every node of the database against the heads (quadratic get_many).
        return select(n).join(heads, join).where(*filters, n.c.deleted.is_(False))

    async def _fetch(self, query: Any) -> list[NodeVersion]:
        async with self._reading() as conn:
            return [_node(row) for row in (await conn.execute(query)).mappings()]

    async def content_hash(self, db: str | None = None) -> str:
        n = self.nodes
        query = select(n).order_by(
            n.c.db, n.c.class_id, n.c.instance_id, n.c.branch, n.c.seq
        )
        if db is not None:
            query = query.where(n.c.db == db)
        digest = hashlib.sha256()
        async with self._reading() as conn:
            for row in (await conn.execute(query)).mappings():
                digest.update(canonical_json(_hashable(row)).encode())
        return digest.hexdigest()

    def _reading(self) -> Any:
        return _Reading(self._db)


class _Reading:
    def __init__(self, database: SqlDatabase) -> None:
        self._cm = database.read()

    async def __aenter__(self) -> AsyncConnection:
        try:
            return await self._cm.__aenter__()
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"graph store unavailable: {error}") from error

    async def __aexit__(self, *exc: Any) -> None:
        await self._cm.__aexit__(*exc)


def _node_row(v: NodeVersion) -> dict[str, Any]:
    return {
        "db": v.db,
        "branch": v.branch,
        "class_id": v.class_id,
        "instance_id": v.instance_id,
        "seq": v.seq,
        "position": v.position,
        "deleted": v.deleted,
        "vals": dict(v.values),
        "links": {
            k: list(x) if isinstance(x, list | tuple) else x for k, x in v.links.items()
        },
        "created_at": v.created_at,
        "updated_at": v.updated_at,
    }


def _edge_rows(v: NodeVersion) -> list[dict[str, Any]]:
    if v.deleted:
        return []
    return [
        {
            "db": v.db,
            "branch": v.branch,
            "src_class": v.class_id,
            "src_id": v.instance_id,
            "src_seq": v.seq,
            "predicate": predicate,
            "dst_id": str(target),
            "position": v.position,
        }
        for predicate, targets in v.links.items()
        for target in _as_list(targets)
    ]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(x) for x in value] if isinstance(value, list | tuple) else [str(value)]


def _node(row: Any) -> NodeVersion:
    return NodeVersion(
        db=row["db"],
        branch=row["branch"],
        class_id=row["class_id"],
        instance_id=row["instance_id"],
        seq=int(row["seq"]),
        position=int(row["position"]),
        deleted=bool(row["deleted"]),
        values=row["vals"],
        links=row["links"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _hashable(row: Any) -> list[Any]:
    return [
        row["db"],
        row["class_id"],
        row["instance_id"],
        row["branch"],
        int(row["seq"]),
        int(row["position"]),
        bool(row["deleted"]),
        row["vals"],
        row["links"],
        row["created_at"],
        row["updated_at"],
    ]
