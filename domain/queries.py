"""What a list read may ask the graph store to evaluate: conditions on node
properties, combined with and/or/not, and sort keys.

The meaning is the in-memory evaluation's (resolvers/instances/filtering.py),
which the store must reproduce exactly or decline:
- `field` is a property name, or None for the instance id;
- `kind` says how stored values compare: "text" (code point order), "integer",
  "float", "decimal" (exact), "boolean", "date", "time", "datetime" (instants);
- a missing or null value satisfies only `is_null: True`; a value stored under
  another type than `kind` (data older than a type change) matches only `ne`
  and `nin`;
- `regex` takes a domain.regex.Regex and holds when its pattern matches
  anywhere in a text value (RE2's reading of the checked subset);
- sorting puts nulls last in either direction, then orders by instance id;
  a key reached through to-one relationships (`SortKey.via`) sorts by the value
  on the related node's latest live version, and a missing or dangling related
  node sorts like a null;
- aggregates count every matching node and reduce the values of the measured
  field that have its kind's type (others count like nulls); decimals are
  summed exactly, floats as floats (the last bits may differ between
  evaluations that add in another order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.ontology.formats import DECIMAL_CONTEXT

KINDS = frozenset(
    {"text", "integer", "float", "decimal", "boolean", "date", "time", "datetime"}
)
OPERATORS = frozenset(
    {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "starts_with",
     "ends_with", "is_null", "regex"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Condition:
    field: str | None
    op: str
    value: Any
    kind: str


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[NodeFilter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[NodeFilter, ...]


@dataclass(frozen=True, slots=True)
class Negated:
    part: NodeFilter


NodeFilter = Condition | AllOf | AnyOf | Negated


@dataclass(frozen=True, slots=True)
class Hop:
    """One step along a to-one relationship: from a node to the node among
    `class_ids` whose id its `predicate` link names (the first one listed)."""

    predicate: str
    class_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str | None
    descending: bool
    kind: str
    # Hops to the related node whose field sorts; none: the node's own field.
    via: tuple[Hop, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupField:
    """What `groupBy` groups on: a property's stored value (`link` False) or
    the ids a relationship `name` links to (`link` True). A node linking to
    several ids is in the group of each (to-many); one linking to none is in
    the null group."""

    name: str
    link: bool = False


@dataclass(frozen=True, slots=True)
class Measure:
    """A numeric property (kind integer, float or decimal) an aggregate
    reduces: how many values it has, their sum, least and greatest."""

    field: str
    kind: str


@dataclass(frozen=True, slots=True)
class Totals:
    """One measure over one group: `count` values of the kind's type (the
    others ignored); sum/least/greatest None when there is none. Integers are
    ints, decimals Decimals (exact), floats floats."""

    count: int
    sum: Any
    least: Any
    greatest: Any


@dataclass(frozen=True, slots=True)
class Group:
    """One group of an aggregate: its key (per group field, the decoded stored
    value or the linked id, None for none), how many nodes, and the totals of
    each measured field."""

    key: tuple[Any, ...]
    count: int
    totals: Mapping[str, Totals]


@dataclass(frozen=True, slots=True)
class Relation:
    """How parent nodes reach related ones for a nested list. Forward: each
    parent's `predicate` link lists the related ids (a dangling id is an item
    whose only value is `key`, the related class's key property, set to the
    id). Inverse: the related nodes' `predicate` links name the parent."""

    predicate: str
    class_ids: tuple[str, ...]
    parent_class_ids: tuple[str, ...]
    inverse: bool
    key: str | None = None


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The sum of decimals without rounding (the default context keeps 28
    digits): every evaluation of an aggregate adds decimals this way."""
    total = Decimal(0)
    for value in values:
        total = DECIMAL_CONTEXT.add(total, value)
    return total
