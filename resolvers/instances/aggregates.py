"""`<plural>Aggregate(where)`: count, sum/avg/min/max and groupBy.

Evaluated in Python over the graph store, like filtering: the class's live nodes
are read in store pages, filtered, and aggregated here. The GraphStore port has no
aggregate pushdown yet, so the cost grows with the class's size.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from domain.ontology import Family
from resolvers.context import Info
from resolvers.instances.as_of import read_position
from resolvers.instances.reads import scan
from resolvers.instances.rows import NodeRow
from resolvers.instances.where import Where
from resolvers.plain import given
from schema.ontology.plan import ClassPlan, numeric_properties


@dataclass(frozen=True, slots=True)
class AggregateGroup:
    key: Mapping[str, Any]  # grouped field's GraphQL name -> value
    count: int


def _number(family: Family, value: Any) -> Any:
    """The value as a number of its property's kind; None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if family is Family.INTEGER:
            return int(value)
        if family is Family.DECIMAL:
            return Decimal(str(value))
        return float(value)
    except (TypeError, ValueError, InvalidOperation):
        return None


class Aggregation:
    """Aggregates over the filtered rows, each computed when asked for."""

    def __init__(self, rows: Sequence[NodeRow], plan: ClassPlan) -> None:
        self._rows = rows
        self._plan = plan

    @property
    def count(self) -> int:
        return len(self._rows)

    def _per_property(
        self, reduce: Callable[[list[Any], Family], Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for p in numeric_properties(self._plan):
            family = p.prop.type.family
            values = [_number(family, r.values.get(p.name)) for r in self._rows]
            present = [v for v in values if v is not None]
            result[p.python_name] = reduce(present, family) if present else None
        return result

    @cached_property
    def sum(self) -> dict[str, Any]:
        return self._per_property(lambda values, _family: sum(values))

    @cached_property
    def avg(self) -> dict[str, Any]:
        def mean(values: list[Any], family: Family) -> Any:
            total = sum(values)
            if family is Family.DECIMAL:
                return total / Decimal(len(values))
            return float(total) / len(values)

        return self._per_property(mean)

    @cached_property
    def min_(self) -> dict[str, Any]:
        return self._per_property(lambda values, _family: min(values))

    @cached_property
    def max_(self) -> dict[str, Any]:
        return self._per_property(lambda values, _family: max(values))

    def group_by(self, python_names: Sequence[str]) -> list[AggregateGroup]:
        """Groups by the values of the fields, largest first (then by key)."""
        props = [p for n in python_names if (p := self._plan.property_for(n))]
        counts: Counter[str] = Counter()
        keys: dict[str, dict[str, Any]] = {}
        for r in self._rows:
            key = {p.graphql_name: r.values.get(p.name) for p in props}
            text = json.dumps(key, sort_keys=True, default=str)
            counts[text] += 1
            keys.setdefault(text, key)
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return [AggregateGroup(key=keys[text], count=n) for text, n in ordered]


async def aggregate(
    plan: ClassPlan,
    info: Info,
    *,
    where: Any = None,
    as_of: Any = None,
    as_of_time: Any = None,
) -> Aggregation:
    ctx = info.context
    position = await read_position(ctx, as_of, as_of_time)
    rows = await scan(ctx, plan, position)
    kept = await Where(ctx, position).select(rows, given(where), plan)
    return Aggregation(kept, plan)


def group_by(root: Aggregation, _info: Info, *, fields: Sequence[str]) -> Any:
    # The GroupField enum's values are the properties' python names.
    return root.group_by(list(fields))
