"""Column types of a pipeline's schema: the ontology's type names (SPEC §6.1).

Each name has a physical kind, what an engine holds it as: `email`, `url`, `enum`
and the other text-shaped names are text, `money` arrives as its amount (decimal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

INTEGER: Final = "integer"
DECIMAL: Final = "decimal"
BOOLEAN: Final = "boolean"
DATE: Final = "date"
DATETIME: Final = "datetime"
TIME: Final = "time"
STRING: Final = "string"
JSON: Final = "json"
NULL: Final = "null"  # the type of a bare NULL literal: fits any column

NUMERIC: Final = frozenset({INTEGER, DECIMAL})
TEMPORAL: Final = frozenset({DATE, DATETIME, TIME})
# What `cast` converts to (and what an expression's CAST may name).
CASTABLE: Final = frozenset({INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, TIME, STRING})


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str


Schema = tuple[Column, ...]


def kind_of(type_name: str) -> str:
    """The physical kind: the type itself for numbers, booleans and temporals,
    `string` for every text-shaped type."""
    if type_name == "money":
        return DECIMAL
    if type_name in NUMERIC | TEMPORAL | {BOOLEAN, NULL}:
        return type_name
    return STRING


def source_type(profiled: str | None) -> str:
    """A dataset column's type as a pipeline reads it (money: its amount)."""
    if not profiled:
        return STRING
    return DECIMAL if profiled == "money" else profiled


def comparable(left: str, right: str) -> bool:
    a, b = kind_of(left), kind_of(right)
    return a == b or NULL in (a, b) or {a, b} <= NUMERIC


def unified(left: str, right: str) -> str | None:
    """The type both sides fit into, or None when they do not mix."""
    if left == right:
        return left
    a, b = kind_of(left), kind_of(right)
    if NULL in (a, b):
        return right if a == NULL else left
    if {a, b} <= NUMERIC:
        return DECIMAL
    return STRING if a == b == STRING else None


def satisfies(actual: str, expected: str) -> bool:
    """A contract's type holds for a column: the same name, or `string` for
    any text-shaped column."""
    return actual == expected or (expected == STRING and kind_of(actual) == STRING)


def names(schema: Schema) -> list[str]:
    return [c.name for c in schema]


def column(schema: Schema, name: str) -> Column | None:
    return next((c for c in schema if c.name == name), None)
