"""GraphStore on SQL: versioned nodes and edges per branch, read through the
branch lineage and as of a position (copy-on-write: a branch stores only its
own writes)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError

from adapters import tables as t
from adapters.errors import StoreUnavailable
from adapters.graph_store import sql_text as q
from adapters.graph_store.sql_aggregate import Aggregate
from adapters.graph_store.sql_filter import Compiler, Unsupported
from adapters.graph_store.sql_joins import Numbered
from adapters.graph_store.sql_related import related_pages, sorted_page
from adapters.serialization import canonical_json, loads_exact
from adapters.sql_engine import SqlDatabase, reading_or_unavailable
from domain.ports import NodeVersion, ReadScope, RelatedPage
from domain.queries import Group, GroupField, Measure, NodeFilter, Relation, SortKey

_CHUNK = 500
# On PostgreSQL ids travel as one array parameter: no limit on binds applies.
_ARRAY_CHUNK = 10_000
_TOMBSTONE_SLACK = 8
# Lookups of up to this many ids read inline on SQLite (see SqlDatabase.fetch).
_SMALL_READ = 16
_TARGETS_PER_UNION = (
    200  # over-read per page so a few deleted nodes cost no extra round
)


class StatisticsSchedule:
    """When the graph tables have changed enough since they were last analyzed
    for the planner's statistics to be stale: 2,000 new versions, or a fifth of
    the versions there were, whichever is more. Counted per process, from the
    row count of the table's last statistics (`start`)."""

    MIN_ROWS = 2_000
    GROWTH = 0.2

    def __init__(self) -> None:
        self.started = False
        self.analyzed_at = 0  # versions there were when last analyzed
        self.written = 0  # versions there are, as far as this process knows

    def start(self, analyzed_rows: int) -> None:
        self.started = True
        self.analyzed_at = self.written = max(analyzed_rows, 0)

    def due(self, written: int) -> bool:
        self.written += written
        changed = self.written - self.analyzed_at
        if changed < max(self.MIN_ROWS, self.GROWTH * self.analyzed_at):
            return False
        self.analyzed_at = self.written
        return True


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
        self.statements = 0  # SQL statements sent, for the same tests
        self._statistics = StatisticsSchedule()

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
            if self._db.dialect == "postgresql" and await self._stale(len(node_rows)):
                await self._analyze()
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"graph store unavailable: {error}") from error

    async def _stale(self, written: int) -> bool:
        if not self._statistics.started:
            # reltuples is -1 for a table never analyzed.
            rows = await self._db.fetch(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass",
                [self.nodes.name],
            )
            self._statistics.start(int(rows[0][0]) if rows else 0)
        return self._statistics.due(written)

    async def _analyze(self) -> None:
        """Fresh statistics for PostgreSQL's planner. Without them (a table
        filled faster than autovacuum looks at it, once a minute) it plans the
        "no newer version" anti-joins as nested loops over whole tables: a
        count over 10,000 nodes took 24 s right after a bulk load, 20 ms once
        analyzed. ANALYZE samples at most 30,000 rows and blocks no reader or
        writer."""
        await self._db.execute_all(
            [
                (text(f"ANALYZE {table.name}"), None)
                for table in (self.nodes, self.edges)
            ]
        )

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
        chunk = _ARRAY_CHUNK if self._db.dialect == "postgresql" else _CHUNK
        for start in range(0, len(ids), chunk):
            sql = self._statement()
            text = q.latest_nodes(
                sql, self.nodes.name, scope, class_ids, ids[start : start + chunk]
            )
            small = len(ids) <= _SMALL_READ
            for raw in await self._rows(text, sql, small=small):
                node = _node_of(raw)
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
            ids, nodes = await self._page(scope, class_ids, cursor, wanted)
            found.extend(nodes[i] for i in ids if i in nodes)
            if len(ids) < wanted:
                break
            cursor = ids[-1]
        return found[:limit]

    async def _page(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        after_id: str | None,
        limit: int,
    ) -> tuple[list[str], dict[str, NodeVersion]]:
        """The next `limit` ids in order, and the live nodes among them."""
        if self._db.dialect != "postgresql":
            walked = await self._next_ids(scope, class_ids, after_id, limit)
            return walked, await self._get_many(scope, class_ids, walked)
        sql = self._statement()
        text = q.latest_page(sql, self.nodes.name, scope, class_ids, after_id, limit)
        ids: list[str] = []
        live: dict[str, NodeVersion] = {}
        for raw in await self._rows(text, sql):
            node = _node_of(raw)
            if not ids or ids[-1] != node.instance_id:
                ids.append(node.instance_id)
            if not node.deleted:
                live.setdefault(node.instance_id, node)
        return ids, live

    async def _next_ids(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        after_id: str | None,
        limit: int,
    ) -> list[str]:
        sql = self._statement()
        text = q.next_ids(sql, self.nodes.name, scope, class_ids, after_id, limit)
        return [row[0] for row in await self._rows(text, sql)]

    async def count(self, scope: ReadScope, class_ids: Sequence[str]) -> int:
        self.calls += 1
        sql = self._statement()
        text = q.live_count(sql, self.nodes.name, scope, class_ids)
        return int((await self._rows(text, sql))[0][0])

    async def linking_to(
        self,
        scope: ReadScope,
        source_class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
        *,
        limit_per_target: int | None = None,
    ) -> list[NodeVersion]:
        self.calls += 1
        found: dict[str, NodeVersion] = {}
        targets = sorted(set(target_ids))
        # A limited read on SQLite is one subquery per target, and SQLite takes
        # at most 500 in one compound statement.
        union = limit_per_target is not None and self._db.dialect != "postgresql"
        chunk = _TARGETS_PER_UNION if union else _CHUNK
        for start in range(0, len(targets), chunk):
            sql = self._statement()
            text = self._sources_text(
                sql, scope, source_class_ids, predicate,
                targets[start : start + chunk], limit_per_target,
            )  # fmt: skip
            for raw in await self._rows(text, sql):
                node = _node_of(raw)
                found[node.instance_id] = node
        return [found[i] for i in sorted(found)]

    def _sources_text(
        self,
        sql: q.Statement,
        scope: ReadScope,
        class_ids: Sequence[str],
        predicate: str,
        targets: Sequence[str],
        limit: int | None,
    ) -> str:
        nodes, edges = self.nodes.name, self.edges.name
        if limit is not None and not sql.postgres:
            return q.first_sources(
                sql, nodes, edges, scope, class_ids, predicate, targets, limit
            )
        links = q.current_links(sql, nodes, edges, scope, class_ids, predicate, targets)
        return q.linked_sources(sql, nodes, scope.db, links, limit)

    async def count_linking_to(
        self,
        scope: ReadScope,
        source_class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
    ) -> dict[str, int]:
        self.calls += 1
        targets = sorted(set(target_ids))
        counts = dict.fromkeys(targets, 0)
        for start in range(0, len(targets), _CHUNK):
            sql = self._statement()
            links = q.current_links(
                sql, self.nodes.name, self.edges.name, scope, source_class_ids,
                predicate, targets[start : start + _CHUNK],
            )  # fmt: skip
            rows = await self._rows(q.counts_per_target(links), sql)
            counts.update({dst: int(n) for dst, n in rows})
        return counts

    async def find(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        order: Sequence[SortKey] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> list[NodeVersion] | None:
        self.calls += 1
        if any(key.via for key in order):
            return await self._find_sorted_by_related(
                scope, class_ids, where, order, offset, limit
            )
        sql = self._statement()
        text = q.live_nodes(sql, self.nodes.name, scope, class_ids)
        compiler = Compiler(sql)
        try:
            if where is not None:
                text += f" AND {compiler.where(where)}"
            text += f" ORDER BY {compiler.order(order)}"
        except Unsupported:
            return None
        text += f" LIMIT {sql.bind(limit)} OFFSET {sql.bind(offset)}"
        return [_node_of(raw) for raw in await self._rows(text, sql)]

    async def count_where(
        self, scope: ReadScope, class_ids: Sequence[str], where: NodeFilter | None
    ) -> int | None:
        self.calls += 1
        sql = self._statement()
        text = q.live_nodes(sql, self.nodes.name, scope, class_ids)
        try:
            if where is not None:
                text += f" AND {Compiler(sql).where(where)}"
        except Unsupported:
            return None
        rows = await self._rows(f"SELECT COUNT(*) FROM ({text}) matching", sql)
        return int(rows[0][0])

    async def _find_sorted_by_related(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        where: NodeFilter | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
    ) -> list[NodeVersion] | None:
        """`find` with sort keys on related nodes: each joined once to the
        filtered rows (the latest live version of the id the link names)."""
        sql = self._numbered()
        try:
            text = sorted_page(
                sql, self.nodes.name, scope, class_ids, where, order, offset, limit
            )
        except Unsupported:
            return None
        return [_node_of(raw) for raw in await self._rows(text, sql)]

    async def aggregate(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        measures: Sequence[Measure],
        group_by: Sequence[GroupField] = (),
    ) -> list[Group] | None:
        """One GROUP BY statement (see sql_aggregate)."""
        self.calls += 1
        sql = self._numbered()
        plan = Aggregate(group_by, measures, postgres=sql.postgres)
        tables = (self.nodes.name, self.edges.name)
        try:
            text = plan.text(sql, tables, scope, class_ids, where)
        except Unsupported:
            return None
        return plan.groups_of(await self._rows(text, sql))

    async def find_related(
        self,
        scope: ReadScope,
        relation: Relation,
        parent_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        order: Sequence[SortKey] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> dict[str, RelatedPage] | None:
        """One statement per chunk of parents: every parent's page and total
        (see sql_related)."""
        self.calls += 1
        parents = sorted(set(parent_ids))
        pages = {p: RelatedPage(0, ()) for p in parents}
        tables = (self.nodes.name, self.edges.name)
        for start in range(0, len(parents), _CHUNK):
            sql = self._numbered()
            chunk = parents[start : start + _CHUNK]
            try:
                text = related_pages(
                    sql, tables, scope, relation, chunk, where, order,
                    (offset, offset + limit),
                )  # fmt: skip
            except Unsupported:
                return None
            pages.update(_related_pages(await self._rows(text, sql), offset))
        return pages

    def _numbered(self) -> Numbered:
        return Numbered(postgres=self._db.dialect == "postgresql")

    def _statement(self) -> q.Statement:
        return q.Statement(postgres=self._db.dialect == "postgresql")

    async def _rows(
        self, text: str, sql: q.Statement, *, small: bool = False
    ) -> list[Any]:
        self.statements += 1
        try:
            return await self._db.fetch(text, sql.params, small=small)
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"graph store unavailable: {error}") from error

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
        return reading_or_unavailable(self._db, "graph store")


def _related_pages(rows: Sequence[Any], offset: int) -> dict[str, RelatedPage]:
    """Rows of `sql_related.related_pages` as pages: each parent's total, and
    its items after `offset` in rank order (a dangling item as its id)."""
    totals: dict[str, int] = {}
    items: dict[str, list[tuple[int, NodeVersion | str]]] = {}
    for parent, total, dangling, position, *node in rows:
        totals[parent] = int(total)
        ranked = items.setdefault(parent, [])
        if int(position) > offset:
            item = node[3] if dangling else _node_of(node)
            ranked.append((int(position), item))
    return {
        parent: RelatedPage(total, tuple(i for _, i in sorted(items[parent])))
        for parent, total in totals.items()
    }


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


def _json(value: Any) -> Any:
    return loads_exact(value) if isinstance(value, str | bytes) else value


def _node_of(raw: Sequence[Any]) -> NodeVersion:
    """A row of `sql_text.NODE_COLUMNS` as the driver returns it."""
    db, branch, class_id, instance_id, seq, position, deleted, *rest = raw
    vals, links, created_at, updated_at = rest
    return NodeVersion(
        db=db,
        branch=branch,
        class_id=class_id,
        instance_id=instance_id,
        seq=int(seq),
        position=int(position),
        deleted=bool(deleted),
        values=_json(vals),
        links=_json(links),
        created_at=created_at,
        updated_at=updated_at,
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
