"""SQL pieces for reads that reach past a node's own row: statements whose parts
are built in any order, and joins to the node a to-one relationship names.

A related node is the latest visible, live version of the first id a node's
link lists (domain.queries.Hop); a missing or dangling one joins as NULLs, so
its values sort like nulls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters.graph_store import sql_text as q
from domain.ports import ReadScope
from domain.queries import Hop


class Numbered(q.Statement):
    """A statement with numbered placeholders on SQLite too (`?1`, as `$1` on
    PostgreSQL): a window's ORDER BY reads before the FROM it sorts, so pieces
    are bound in another order than they read, and a bound value may be used
    twice."""

    __slots__ = ()

    def bind(self, value: object) -> str:
        self.params.append(value)
        number = len(self.params)
        return f"${number}" if self.postgres else f"?{number}"


def first_link(sql: q.Statement, alias: str, predicate: str) -> str:
    """The first id the `predicate` link of row `alias` lists (a link holds one
    id or a list of them), as text; NULL when it lists none."""
    if sql.postgres:
        key = f"CAST({sql.bind(predicate)} AS text)"
        link = f"{alias}.links -> {key}"
        return (
            f"CASE json_typeof({link}) WHEN 'string' THEN {alias}.links ->> {key} "
            f"WHEN 'array' THEN ({link}) ->> 0 END"
        )
    path = sql.bind('$."' + predicate.replace('"', '\\"') + '"')
    return (
        f"CASE json_type({alias}.links, {path}) "
        f"WHEN 'text' THEN json_extract({alias}.links, {path}) "
        f"WHEN 'array' THEN CAST(json_extract({alias}.links, {path} || '[0]') AS TEXT) "
        "END"
    )


@dataclass(slots=True)
class Joins:
    """LEFT JOINs from the rows of `base` to the related nodes sort keys reach,
    one per distinct path of hops (shared by keys with a common prefix)."""

    sql: Numbered
    nodes: str
    scope: ReadScope
    base: str = "n"
    _aliases: dict[tuple[Hop, ...], str] = field(default_factory=dict)
    _texts: list[str] = field(default_factory=list)

    def alias(self, via: Sequence[Hop]) -> str:
        """The alias of the node at the end of `via`, joined if it was not."""
        path = tuple(via)
        if not path:
            return self.base
        found = self._aliases.get(path)
        if found is not None:
            return found
        start = self.alias(path[:-1])
        hop = path[-1]
        alias = f"j{len(self._aliases) + 1}"
        on = q.latest_live(self.sql, self.nodes, alias, self.scope, hop.class_ids)
        target = first_link(self.sql, start, hop.predicate)
        self._texts.append(
            f"LEFT JOIN {self.nodes} {alias} ON {on} AND {alias}.instance_id = {target}"
        )
        self._aliases[path] = alias
        return alias

    @property
    def text(self) -> str:
        return " ".join(self._texts)
