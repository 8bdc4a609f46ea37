"""SQL text of the graph store's reads through relationships: a class list
sorted by related nodes' values, and nested lists (filtered, sorted and paged)
for every parent of a hop in one statement.

A nested list ranks each parent's related rows with a window (ROW_NUMBER per
parent) and counts them with another (COUNT per parent), so one statement
returns every parent's page and total; the row ranked first is returned even
when the page starts after it, so that a parent whose page is empty still
reports its total.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.graph_store import sql_text as q
from adapters.graph_store.sql_filter import Compiler
from adapters.graph_store.sql_joins import Joins, Numbered
from domain.ports import ReadScope
from domain.queries import NodeFilter, Relation, SortKey

_COLUMNS = ", ".join(f"n.{c}" for c in q.NODE_COLUMNS)


def sorted_page(
    sql: Numbered,
    nodes: str,
    scope: ReadScope,
    class_ids: Sequence[str],
    where: NodeFilter | None,
    order: Sequence[SortKey],
    offset: int,
    limit: int,
) -> str:
    """Live nodes matching `where`, in an order whose keys may reach related
    nodes (joined to the filtered rows), a page of them."""
    inner = q.live_nodes(sql, nodes, scope, class_ids)
    if where is not None:
        inner += f" AND {Compiler(sql).where(where)}"
    joins = Joins(sql, nodes, scope)
    ordering = Compiler(sql).order(order, joins.alias)
    return (
        f"SELECT {_COLUMNS} FROM ({inner}) n {joins.text} ORDER BY {ordering} "
        f"LIMIT {sql.bind(limit)} OFFSET {sql.bind(offset)}"
    )


def related_pages(
    sql: Numbered,
    tables: tuple[str, str],
    scope: ReadScope,
    relation: Relation,
    parents: Sequence[str],
    where: NodeFilter | None,
    order: Sequence[SortKey],
    window: tuple[int, int],
) -> str:
    """Rows (parent, total, dangling, position, *NODE_COLUMNS) of each parent's
    related items ranked `window[0] + 1` to `window[1]`, plus each parent's
    first (for its total). `tables` are the nodes and edges tables."""
    nodes, _ = tables
    candidates = (
        _inverse_candidates(sql, tables, scope, relation, parents)
        if relation.inverse
        else _forward_candidates(sql, tables, scope, relation, parents)
    )
    joins = Joins(sql, nodes, scope)
    ordering = Compiler(sql).order(order, joins.alias)
    matching = f" WHERE {Compiler(sql).where(where)}" if where is not None else ""
    ranked = (
        f"SELECT n.parent, n.dangling, {_COLUMNS}, "
        f"ROW_NUMBER() OVER (PARTITION BY n.parent ORDER BY {ordering}) AS pos, "
        "COUNT(*) OVER (PARTITION BY n.parent) AS total "
        f"FROM ({candidates}) n {joins.text}{matching}"
    )
    start, end = window
    columns = ", ".join(f"r.{c}" for c in q.NODE_COLUMNS)
    return (
        f"SELECT r.parent, r.total, r.dangling, r.pos, {columns} FROM ({ranked}) r "
        f"WHERE (r.pos > {sql.bind(start)} AND r.pos <= {sql.bind(end)}) OR r.pos = 1"
    )


def _inverse_candidates(
    sql: Numbered,
    tables: tuple[str, str],
    scope: ReadScope,
    relation: Relation,
    parents: Sequence[str],
) -> str:
    """Live nodes whose current `predicate` link names a parent, per parent."""
    nodes, edges = tables
    links = q.current_links(
        sql, nodes, edges, scope, relation.class_ids, relation.predicate, parents
    )
    return (
        f"SELECT l.dst AS parent, 0 AS dangling, {_COLUMNS} FROM ({links}) l "
        f"JOIN {nodes} n ON n.db = {sql.bind(scope.db)} AND n.class_id = l.cls "
        "AND n.instance_id = l.src AND n.branch = l.branch AND n.seq = l.seq"
    )


def _forward_candidates(
    sql: Numbered,
    tables: tuple[str, str],
    scope: ReadScope,
    relation: Relation,
    parents: Sequence[str],
) -> str:
    """The ids each parent's current `predicate` link lists, with the latest
    live node of each among the related classes; a dangling id keeps its id,
    and as values only its key (as the in-memory evaluation's stub)."""
    nodes, edges = tables
    links = q.current_edges_from(
        sql, nodes, edges, scope, relation.parent_class_ids, relation.predicate,
        parents,
    )  # fmt: skip
    live = q.latest_live(sql, nodes, "t", scope, relation.class_ids)
    rest = ", ".join(
        f"t.{c}" for c in q.NODE_COLUMNS if c not in ("instance_id", "vals")
    )
    return (
        "SELECT l.src AS parent, "
        "CASE WHEN t.instance_id IS NULL THEN 1 ELSE 0 END AS dangling, "
        f"{rest}, l.dst AS instance_id, COALESCE(t.vals, {_stub(sql, relation)}) AS vals "
        f"FROM ({links}) l LEFT JOIN {nodes} t ON {live} AND t.instance_id = l.dst"
    )


def _stub(sql: Numbered, relation: Relation) -> str:
    """The values of a dangling id: its key property set to the id."""
    if sql.postgres:
        if relation.key is None:
            return "CAST('{}' AS json)"
        return f"json_build_object(CAST({sql.bind(relation.key)} AS text), l.dst)"
    if relation.key is None:
        return "json_object()"
    return f"json_object({sql.bind(relation.key)}, l.dst)"
