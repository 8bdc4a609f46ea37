"""Aggregates over node rows in Python, the reference meaning of
`GraphStore.aggregate` (domain.queries), and the shape both evaluations take
for the schema: per group its key, count, and sum/avg/min/max per numeric
property.

- A property groups on its stored value (compared as JSON text, so 1, 1.0 and
  true are three groups); a relationship on each id its link lists, a node
  linking to several ids counting in the group of each (to-many), one
  linking to none in the null group. Grouping by an inverse relationship is
  not offered: the other class's `groupBy` on the relationship answers it.
- A measure reduces the values of its kind's type only (as filters compare
  only those); decimals are summed exactly, and averages are computed here
  from the exact sum and count, whichever side summed.
- Groups come largest first, then by their key as JSON text.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.queries import Group, GroupField, Measure, Totals, exact_sum
from resolvers.instances.filtering import fits, kind_of
from resolvers.instances.rows import NodeRow
from schema.ontology.plan import ClassPlan, numeric_properties


@dataclass(frozen=True, slots=True)
class Figures:
    """One group (or the whole selection) as the schema reads it; the
    per-property mappings are keyed by the properties' Python names."""

    key: Mapping[str, Any]  # grouped field's GraphQL name -> value
    count: int
    sum: Mapping[str, Any]
    avg: Mapping[str, Any]
    min_: Mapping[str, Any]
    max_: Mapping[str, Any]


def measures(plan: ClassPlan) -> list[Measure]:
    return [Measure(p.name, kind_of(p.prop)) for p in numeric_properties(plan)]


def group_fields(plan: ClassPlan, python_names: Sequence[str]) -> list[GroupField]:
    """The `fields:` of `groupBy` (properties' and relationships' Python names)."""
    found: list[GroupField] = []
    for name in python_names:
        prop, link = plan.property_for(name), plan.link_for(name)
        if prop is not None:
            found.append(GroupField(prop.name))
        elif link is not None and not link.inverse:
            found.append(GroupField(link.predicate, link=True))
    return found


def in_memory(
    rows: Sequence[NodeRow],
    fields: Sequence[GroupField],
    wanted: Sequence[Measure],
) -> list[Group]:
    """The groups of `rows` (without fields: one group, even of no rows)."""
    buckets: dict[str, tuple[tuple[Any, ...], list[NodeRow]]] = {}
    if not fields:
        buckets["[]"] = ((), [])
    for r in rows:
        for key in itertools.product(*(_keys_of(r, f) for f in fields)):
            text = json.dumps(key, default=str)
            buckets.setdefault(text, (key, []))[1].append(r)
    return [
        Group(key, len(members), {m.field: _totals(members, m) for m in wanted})
        for key, members in buckets.values()
    ]


def _keys_of(r: NodeRow, field: GroupField) -> list[Any]:
    if not field.link:
        return [r.values.get(field.name)]
    return sorted(set(r.linked(field.name))) or [None]


def _totals(rows: Sequence[NodeRow], measure: Measure) -> Totals:
    number = _NUMBER[measure.kind]
    values = [
        number(v)
        for v in (r.values.get(measure.field) for r in rows)
        if v is not None and fits(v, measure.kind)
    ]
    if not values:
        return Totals(0, None, None, None)
    total = exact_sum(values) if measure.kind == "decimal" else sum(values)
    return Totals(len(values), total, min(values), max(values))


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


_NUMBER: dict[str, Callable[[Any], Any]] = {
    "integer": int,
    "float": float,
    "decimal": _decimal,
}


def figures(
    groups: Sequence[Group], fields: Sequence[GroupField], plan: ClassPlan
) -> list[Figures]:
    """The groups for the schema, largest first, then by key."""
    names = [_graphql_name(plan, f) for f in fields]
    shaped = [_figures(g, names, plan) for g in groups]
    return sorted(
        shaped,
        key=lambda f: (-f.count, json.dumps(f.key, sort_keys=True, default=str)),
    )


def _graphql_name(plan: ClassPlan, field: GroupField) -> str:
    if field.link:
        links = (k for k in plan.links if not k.inverse)
        return next(k.graphql_name for k in links if k.predicate == field.name)
    return next(p.graphql_name for p in plan.properties if p.name == field.name)


def _figures(group: Group, names: Sequence[str], plan: ClassPlan) -> Figures:
    parts: dict[str, dict[str, Any]] = {"sum": {}, "avg": {}, "min": {}, "max": {}}
    for p in numeric_properties(plan):
        totals = group.totals.get(p.name, Totals(0, None, None, None))
        parts["sum"][p.python_name] = totals.sum
        parts["avg"][p.python_name] = _average(totals, kind_of(p.prop))
        parts["min"][p.python_name] = totals.least
        parts["max"][p.python_name] = totals.greatest
    return Figures(
        key=dict(zip(names, group.key, strict=True)),
        count=group.count,
        sum=parts["sum"],
        avg=parts["avg"],
        min_=parts["min"],
        max_=parts["max"],
    )


def _average(totals: Totals, kind: str) -> Any:
    if totals.count == 0:
        return None
    if kind == "decimal":
        return totals.sum / Decimal(totals.count)
    return float(totals.sum) / totals.count
