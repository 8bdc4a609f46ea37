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
- sorting puts nulls last in either direction, then orders by instance id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
class SortKey:
    field: str | None
    descending: bool
    kind: str
