"""The SQL graph store's hot reads as driver SQL: built as text with bound
parameters (never with input in the text), in the placeholder style of the
dialect. Table and column names are the store's own constants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.event_store.lineage import min_limit
from domain.ports import ReadScope

NODE_COLUMNS = (
    "db", "branch", "class_id", "instance_id", "seq", "position", "deleted",
    "vals", "links", "created_at", "updated_at",
)  # fmt: skip
_NODE_OF_N = ", ".join(f"n.{c}" for c in NODE_COLUMNS)


# Up to this many values, `Statement.array` binds them one by one.
_ARRAY_BOUND_ONE_BY_ONE = 8


@dataclass(slots=True)
class Statement:
    """SQL text and its parameters. SQLite's `?` placeholders are positional:
    build the text in the order it reads, so binds are appended in that order."""

    postgres: bool
    params: list[Any] = field(default_factory=list)

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def each(self, values: Sequence[Any]) -> str:
        return ", ".join(self.bind(v) for v in values)

    def array(self, values: Sequence[str]) -> str:
        """PostgreSQL: `values` as a text[] expression. A few values are bound
        one by one, so the server's generic plan knows how many there are and
        is reused instead of planning each execution again (about 150 µs, as
        much as a by-id read takes); many travel as one array parameter, so a
        statement's text does not depend on how many there are."""
        if len(values) <= _ARRAY_BOUND_ONE_BY_ONE:
            return f"ARRAY[{self.each(values)}]::text[]"
        return f"{self.bind(list(values))}::text[]"

    def visible(self, alias: str, scope: ReadScope, *, plus: str = "") -> str:
        """Rows of the lineage: a branch whole, its ancestors up to the fork (and
        everything up to `as_of`, when given). `plus="+"` keeps the columns out of
        SQLite's index choice."""
        parts = []
        for span in scope.lineage:
            limit = min_limit(span.until_position, scope.as_of)
            branch = f"{plus}{alias}.branch = {self.bind(span.branch)}"
            if limit is None:
                parts.append(branch)
            else:
                position = f"{plus}{alias}.position <= {self.bind(limit)}"
                parts.append(f"({branch} AND {position})")
        return "(" + " OR ".join(parts) + ")"

    def false(self) -> str:
        return "false" if self.postgres else "0"


def _no_newer(
    sql: Statement, nodes: str, alias: str, scope: ReadScope, **cols: str
) -> str:
    """No visible version of the same instance has a higher seq. An anti-join on
    the primary key, cheap whatever the planner believes about table sizes."""
    return (
        f"NOT EXISTS (SELECT 1 FROM {nodes} m WHERE m.db = {alias}.db "
        f"AND m.class_id = {alias}.{cols['class_id']} "
        f"AND m.instance_id = {alias}.{cols['instance_id']} "
        f"AND m.seq > {alias}.{cols['seq']} AND {sql.visible('m', scope)})"
    )


_NODE = {"class_id": "class_id", "instance_id": "instance_id", "seq": "seq"}
_EDGE_SOURCE = {"class_id": "src_class", "instance_id": "src_id", "seq": "src_seq"}


def latest_nodes(
    sql: Statement,
    nodes: str,
    scope: ReadScope,
    class_ids: Sequence[str],
    instance_ids: Sequence[str],
) -> str:
    """The latest visible version of each id, if live (seqs continue across
    forks, so the highest visible seq wins, wherever it lives)."""
    if sql.postgres:
        return _latest_nodes_postgres(sql, nodes, scope, class_ids, instance_ids)
    columns = ", ".join(f"n.{c}" for c in NODE_COLUMNS)
    return (
        f"SELECT {columns} FROM {nodes} n "
        f"WHERE n.db = {sql.bind(scope.db)} AND n.class_id IN ({sql.each(class_ids)}) "
        f"AND n.instance_id IN ({sql.each(instance_ids)}) AND {sql.visible('n', scope)} "
        f"AND {_no_newer(sql, nodes, 'n', scope, **_NODE)} "
        f"AND n.deleted = {sql.false()}"
    )


def _latest_nodes_postgres(
    sql: Statement,
    nodes: str,
    scope: ReadScope,
    class_ids: Sequence[str],
    instance_ids: Sequence[str],
) -> str:
    """One primary-key probe per (class, id): the newest visible version by an
    index range read backwards, so the cost follows the ids asked for, never
    the size of the class (an anti-join over the class was planned as a scan
    of the whole table once statistics showed the ids to be a large share)."""
    ids = f"unnest({sql.array(instance_ids)})"
    newest = _newest_of_each(sql, nodes, scope, class_ids)
    return f"SELECT {_NODE_OF_N} FROM {ids} i(id) {newest} WHERE NOT n.deleted"


def _newest_of_each(
    sql: Statement, nodes: str, scope: ReadScope, class_ids: Sequence[str]
) -> str:
    """PostgreSQL joins, after a FROM naming ids as `i(id)`: `n`, the newest
    visible version of each id in each of the classes (a backward range read of
    the primary key per pair, none where the id has no version there)."""
    return (
        f"CROSS JOIN unnest({sql.array(class_ids)}) k(cls) "
        f"CROSS JOIN LATERAL (SELECT * FROM {nodes} v WHERE v.db = {sql.bind(scope.db)} "
        "AND v.class_id = k.cls AND v.instance_id = i.id "
        f"AND {sql.visible('v', scope)} ORDER BY v.seq DESC LIMIT 1) n"
    )


def next_ids(
    sql: Statement,
    nodes: str,
    scope: ReadScope,
    class_ids: Sequence[str],
    after_id: str | None,
    limit: int,
) -> str:
    text = (
        f"SELECT DISTINCT n.instance_id FROM {nodes} n "
        f"WHERE n.db = {sql.bind(scope.db)} AND n.class_id IN ({sql.each(class_ids)}) "
        f"AND {sql.visible('n', scope)} "
    )
    if after_id is not None:
        text += f"AND n.instance_id > {sql.bind(after_id)} "
    return text + f"ORDER BY n.instance_id LIMIT {sql.bind(limit)}"


def latest_page(
    sql: Statement,
    nodes: str,
    scope: ReadScope,
    class_ids: Sequence[str],
    after_id: str | None,
    limit: int,
) -> str:
    """PostgreSQL: the next `limit` ids of the classes in id order, with the
    latest visible version of each, deleted ones included (so the caller knows
    how far the page read): `next_ids` and `latest_nodes` in one round trip."""
    ids = next_ids(sql, nodes, scope, class_ids, after_id, limit)
    newest = _newest_of_each(sql, nodes, scope, class_ids)
    return f"SELECT {_NODE_OF_N} FROM ({ids}) i(id) {newest} ORDER BY n.instance_id"


def current_links(
    sql: Statement,
    nodes: str,
    edges: str,
    scope: ReadScope,
    class_ids: Sequence[str],
    predicate: str,
    targets: Sequence[str],
) -> str:
    """(dst, src) edges of the sources' latest visible versions: an edge of an
    older version (since unlinked, or deleted) does not count."""
    return (
        "SELECT e.dst_id AS dst, e.src_id AS src, e.src_class AS cls, "
        f"e.branch AS branch, e.src_seq AS seq FROM {edges} e "
        f"WHERE e.db = {sql.bind(scope.db)} AND e.predicate = {sql.bind(predicate)} "
        f"AND e.dst_id IN ({sql.each(targets)}) "
        f"AND e.src_class IN ({sql.each(class_ids)}) AND {sql.visible('e', scope)} "
        f"AND {_no_newer(sql, nodes, 'e', scope, **_EDGE_SOURCE)}"
    )


def first_sources(
    sql: Statement,
    nodes: str,
    edges: str,
    scope: ReadScope,
    class_ids: Sequence[str],
    predicate: str,
    targets: Sequence[str],
    limit: int,
) -> str:
    """The node rows of each target's first `limit` current sources by id: one
    ordered, limited index range per target (UNION ALL), so a target with ten
    thousand sources costs a page, not ten thousand rows. On SQLite the unary +
    keeps the planner on the (db, predicate, dst_id, src_id) index, whose order
    is the page's order. (SQLite only: see `linked_sources`.)"""
    plus = "" if sql.postgres else "+"
    parts = []
    for target in targets:
        parts.append(
            "SELECT * FROM (SELECT e.src_id AS src, e.src_class AS cls, "
            f"e.branch AS branch, e.src_seq AS seq FROM {edges} e "
            f"WHERE e.db = {sql.bind(scope.db)} AND e.predicate = {sql.bind(predicate)} "
            f"AND e.dst_id = {sql.bind(target)} "
            f"AND {plus}e.src_class IN ({sql.each(class_ids)}) "
            f"AND {sql.visible('e', scope, plus=plus)} "
            f"AND {_no_newer(sql, nodes, 'e', scope, **_EDGE_SOURCE)} "
            f"ORDER BY e.src_id LIMIT {sql.bind(limit)}) s"
        )
    columns = ", ".join(f"n.{c}" for c in NODE_COLUMNS)
    return (
        f"SELECT {columns} FROM ({' UNION ALL '.join(parts)}) c JOIN {nodes} n "
        f"ON n.db = {sql.bind(scope.db)} AND n.class_id = c.cls "
        "AND n.instance_id = c.src AND n.branch = c.branch AND n.seq = c.seq"
    )


def linked_sources(
    sql: Statement, nodes: str, db: str, links: str, limit: int | None = None
) -> str:
    """The node rows behind `links` (a current edge names its source's current
    version exactly); with `limit`, each target's first sources by id (a
    window over all of a target's current edges: PostgreSQL plans this one
    well even before it has statistics, where one subquery per target, as
    `first_sources`, is planned badly on a fresh table)."""
    columns = ", ".join(f"n.{c}" for c in NODE_COLUMNS)
    if limit is not None:
        links = (
            "SELECT r.src, r.cls, r.branch, r.seq FROM (SELECT l.src, l.cls, "
            "l.branch, l.seq, ROW_NUMBER() OVER (PARTITION BY l.dst ORDER BY l.src) "
            f"AS rank FROM ({links}) l) r WHERE r.rank <= {sql.bind(limit)}"
        )
    return (
        f"SELECT {columns} FROM ({links}) c JOIN {nodes} n "
        f"ON n.db = {sql.bind(db)} AND n.class_id = c.cls AND n.instance_id = c.src "
        "AND n.branch = c.branch AND n.seq = c.seq"
    )


def counts_per_target(links: str) -> str:
    return f"SELECT l.dst, COUNT(*) FROM ({links}) l GROUP BY l.dst"


def live_count(
    sql: Statement, nodes: str, scope: ReadScope, class_ids: Sequence[str]
) -> str:
    """Instances whose latest visible version is live."""
    return (
        f"SELECT COUNT(*) FROM {nodes} n "
        f"WHERE n.db = {sql.bind(scope.db)} AND n.class_id IN ({sql.each(class_ids)}) "
        f"AND {sql.visible('n', scope)} "
        f"AND {_no_newer(sql, nodes, 'n', scope, **_NODE)} "
        f"AND n.deleted = {sql.false()}"
    )


def live_nodes(
    sql: Statement, nodes: str, scope: ReadScope, class_ids: Sequence[str]
) -> str:
    """The start of a query over every live node of the classes (its latest
    visible version); callers add conditions with AND, then ORDER BY."""
    columns = ", ".join(f"n.{c}" for c in NODE_COLUMNS)
    return (
        f"SELECT {columns} FROM {nodes} n "
        f"WHERE n.db = {sql.bind(scope.db)} AND n.class_id IN ({sql.each(class_ids)}) "
        f"AND {sql.visible('n', scope)} "
        f"AND {_no_newer(sql, nodes, 'n', scope, **_NODE)} "
        f"AND n.deleted = {sql.false()}"
    )


def latest_live(
    sql: Statement, nodes: str, alias: str, scope: ReadScope, class_ids: Sequence[str]
) -> str:
    """Conditions making the row `alias` of `nodes` the latest visible version
    of a live instance among the classes (for joins to related nodes)."""
    return (
        f"{alias}.db = {sql.bind(scope.db)} "
        f"AND {alias}.class_id IN ({sql.each(class_ids)}) "
        f"AND {sql.visible(alias, scope)} "
        f"AND {_no_newer(sql, nodes, alias, scope, **_NODE)} "
        f"AND {alias}.deleted = {sql.false()}"
    )


def current_edges_from(
    sql: Statement,
    nodes: str,
    edges: str,
    scope: ReadScope,
    class_ids: Sequence[str],
    predicate: str,
    sources: Sequence[str],
) -> str:
    """(src, dst) edges of the sources' latest visible versions: the ids each
    source's `predicate` link lists now (forward nested lists)."""
    return (
        f"SELECT e.src_id AS src, e.dst_id AS dst FROM {edges} e "
        f"WHERE e.db = {sql.bind(scope.db)} AND e.predicate = {sql.bind(predicate)} "
        f"AND e.src_id IN ({sql.each(sources)}) "
        f"AND e.src_class IN ({sql.each(class_ids)}) AND {sql.visible('e', scope)} "
        f"AND {_no_newer(sql, nodes, 'e', scope, **_EDGE_SOURCE)}"
    )
