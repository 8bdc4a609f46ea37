"""SQL of `GraphStore.aggregate`: the matching live nodes grouped (GROUP BY) and
reduced in the database, with the exact meaning of domain.queries.

- A property groups on its stored JSON text (equal values, equal text; a
  missing value and a null share the null group); a relationship on each id
  its current version links to (a join to the version's edges; none: NULL).
- A measure counts the values of its kind's type and reduces only those. An
  integer sum is exact on both databases: PostgreSQL sums numerics; SQLite,
  whose 64-bit sum overflows with an error, sums the high and the low 32 bits
  apart and the caller adds them. A decimal sum is exact too: PostgreSQL
  sums numerics, SQLite (which has no exact decimal) hands the values over as
  one text per group for the caller to add as Decimals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from adapters.graph_store import sql_text as q
from adapters.graph_store.sql_filter import Compiler
from adapters.graph_store.sql_joins import Numbered
from domain.ports import ReadScope
from domain.queries import Group, GroupField, Measure, NodeFilter, Totals, exact_sum

_LOW_BITS = 2**32
_DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL_PATTERN = re.compile(_DECIMAL_TEXT)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """What to group and reduce, and how the result rows read back."""

    groups: Sequence[GroupField]
    measures: Sequence[Measure]
    postgres: bool

    def text(
        self,
        sql: Numbered,
        tables: tuple[str, str],
        scope: ReadScope,
        class_ids: Sequence[str],
        where: NodeFilter | None,
    ) -> str:
        nodes, edges = tables
        inner = q.live_nodes(sql, nodes, scope, class_ids)
        if where is not None:
            inner += f" AND {Compiler(sql).where(where)}"
        keys, joins = self._keys(sql, edges)
        compiler = Compiler(sql)
        reduced = [p for m in self.measures for p in self._reductions(compiler, m)]
        columns = ", ".join([*keys, "COUNT(*)", *reduced])
        text = f"SELECT {columns} FROM ({inner}) n {' '.join(joins)}"
        if keys:
            text += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(keys)))
        return text

    def _keys(self, sql: Numbered, edges: str) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        joins: list[str] = []
        for i, group in enumerate(self.groups):
            if group.link:
                alias = f"g{i}"
                joins.append(
                    f"LEFT JOIN {edges} {alias} ON {alias}.db = n.db "
                    f"AND {alias}.src_class = n.class_id AND {alias}.src_id = n.instance_id "
                    f"AND {alias}.branch = n.branch AND {alias}.src_seq = n.seq "
                    f"AND {alias}.predicate = {sql.bind(group.name)}"
                )
                keys.append(f"{alias}.dst_id")
            elif sql.postgres:
                path = f"CAST({sql.bind(group.name)} AS text)"
                keys.append(f"COALESCE(CAST(n.vals -> {path} AS text), 'null')")
            else:
                path = sql.bind('$."' + group.name.replace('"', '\\"') + '"')
                keys.append(f"COALESCE(n.vals -> {path}, 'null')")
        return keys, joins

    def _reductions(self, compiler: Compiler, measure: Measure) -> list[str]:
        """Columns: how many values fit, then sum(s), least, greatest (SQLite
        decimals: one text of every fitting value instead)."""
        guard = compiler.guard(measure.field, measure.kind)
        raw = compiler.raw(measure.field)
        if self.postgres:
            cast = "double precision" if measure.kind == "float" else "numeric"
            value = f"CASE WHEN {guard} THEN CAST({raw} AS {cast}) END"
            return [
                f"COUNT({value})",
                f"SUM({value})",
                f"MIN({value})",
                f"MAX({value})",
            ]
        value = f"CASE WHEN {guard} THEN {raw} END"
        if measure.kind == "decimal":
            # Only digits, signs and points: the separator cannot occur inside.
            text = f"CASE WHEN {guard} AND {raw} NOT GLOB '*[^0-9.-]*' THEN {raw} END"
            return [f"group_concat({text}, ',')"]
        if measure.kind == "integer":
            high = f"SUM({value} >> 32)"
            low = f"SUM({value} & {_LOW_BITS - 1})"
            return [f"COUNT({value})", high, low, f"MIN({value})", f"MAX({value})"]
        return [f"COUNT({value})", f"TOTAL({value})", f"MIN({value})", f"MAX({value})"]

    def groups_of(self, rows: Sequence[Sequence[Any]]) -> list[Group]:
        return [self._group(row) for row in rows]

    def _group(self, row: Sequence[Any]) -> Group:
        width = len(self.groups)
        key = tuple(
            value if group.link else orjson.loads(value)
            for group, value in zip(self.groups, row[:width], strict=True)
        )
        rest = list(row[width + 1 :])
        totals = {m.field: self._totals(m, rest) for m in self.measures}
        return Group(key=key, count=int(row[width]), totals=totals)

    def _totals(self, measure: Measure, rest: list[Any]) -> Totals:
        """Reads (and consumes) the measure's columns from the front of `rest`."""
        if not self.postgres and measure.kind == "decimal":
            return decimal_totals(rest.pop(0))
        count = int(rest.pop(0))
        if not self.postgres and measure.kind == "integer":
            high, low = rest.pop(0), rest.pop(0)
            total = None if count == 0 else int(high) * _LOW_BITS + int(low)
        else:
            total = rest.pop(0)
        least, greatest = rest.pop(0), rest.pop(0)
        if count == 0:
            return Totals(0, None, None, None)
        number = _NUMBER[measure.kind]
        return Totals(count, number(total), number(least), number(greatest))


def decimal_totals(joined: str | None) -> Totals:
    """Exact totals of decimal texts joined by commas (texts that are not
    decimals ignored)."""
    texts = (joined or "").split(",")
    values = [Decimal(v) for v in texts if _DECIMAL_PATTERN.fullmatch(v)]
    if not values:
        return Totals(0, None, None, None)
    return Totals(len(values), exact_sum(values), min(values), max(values))


def _integer(value: Any) -> int:
    return int(value)


def _float(value: Any) -> float:
    return float(value)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


_NUMBER = {"integer": _integer, "float": _float, "decimal": _decimal}
