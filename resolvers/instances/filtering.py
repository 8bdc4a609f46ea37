"""Scalar `where` conditions evaluated over node rows in Python (logic and
relationship conditions are in `where.py`, `orderBy` in `ordering.py`), with
the meaning domain/queries.py defines, which the graph store's `find`
reproduces: lists whose filter it can evaluate are filtered and sorted in the
store (pushdown.py, related.py); relationship conditions and what a store
declines are evaluated here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.ontology import Family, PropertyDef
from resolvers.instances import patterns
from resolvers.instances.rows import NodeRow
from schema.ontology.plan import ClassPlan

Key = Callable[[Any], Any]


def _decimal(value: Any) -> Any:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _instant(value: Any) -> Any:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


_KEYS: dict[Family, Key] = {
    Family.DECIMAL: _decimal,
    Family.DATETIME: _instant,
}
_BY_KIND: dict[str, Key] = {"decimal": _decimal, "datetime": _instant}
_KINDS: dict[Family, str] = {
    Family.INTEGER: "integer",
    Family.FLOAT: "float",
    Family.DECIMAL: "decimal",
    Family.BOOLEAN: "boolean",
    Family.DATE: "date",
    Family.TIME: "time",
    Family.DATETIME: "datetime",
}
_PRESENCE_ONLY = frozenset(
    {Family.JSON, Family.MONEY, Family.GEOPOINT, Family.VECTOR, Family.ARRAY}
)
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def kind_of(prop: PropertyDef) -> str:
    """How the property's stored values compare (domain.queries kinds)."""
    family = prop.type.family
    if prop.type.is_array or family in _PRESENCE_ONLY:
        return "other"
    return _KINDS.get(family, "text")


def fits(value: Any, kind: str) -> bool:
    """Whether a stored value has the type its kind compares (data written
    under an older property type may not)."""
    if kind in ("text", "date", "time", "datetime"):
        return isinstance(value, str)
    if kind == "decimal":
        return isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value) is not None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def comparable(value: Any, kind: str) -> Any:
    """A value that fits the kind as it sorts (decimals and instants parsed)."""
    return _BY_KIND.get(kind, _identity)(value)


def set_fields(value: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The input fields the client gave, by Python name (absent ones are absent)."""
    return list(value.items())


def holds(node: NodeRow, name: str, condition: Any, plan: ClassPlan) -> bool:
    """One scalar condition (on `id` or a property) of a `where` input."""
    if condition is None:
        return True
    if name == "id":
        return _compare(node.instance_id, _patterns(condition, "id"), str, "text")
    prop = plan.property_for(name)
    if prop is None:
        return True
    condition = _patterns(condition, prop.graphql_name)
    key = _KEYS.get(prop.prop.type.family, _identity)
    return _compare(node.values.get(prop.name), condition, key, kind_of(prop.prop))


def condition_test(
    name: str, condition: Any, plan: ClassPlan
) -> Callable[[NodeRow], bool]:
    """`holds` for one condition, with the lookups done once: for a condition
    evaluated on every object a request reads (an access policy's row filter)."""
    if condition is None:
        return _always
    if name == "id":
        id_condition = _patterns(condition, "id")
        return lambda node: _compare(node.instance_id, id_condition, str, "text")
    prop = plan.property_for(name)
    if prop is None:
        return _always
    checked = _patterns(condition, prop.graphql_name)
    key = _KEYS.get(prop.prop.type.family, _identity)
    kind, stored = kind_of(prop.prop), prop.name
    return lambda node: _compare(node.values.get(stored), checked, key, kind)


def _always(node: NodeRow) -> bool:
    del node
    return True


def _identity(value: Any) -> Any:
    return value


def _patterns(condition: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    """The condition with its `regex` operand parsed (a bad one is an error)."""
    if condition.get("regex") is None:
        return condition
    return {**condition, "regex": patterns.checked(condition["regex"], field)}


def _compare(value: Any, condition: Any, key: Key, kind: str) -> bool:
    """SQL-like: a null value satisfies only `isNull: true`; a value of another
    type than the kind's satisfies only `ne` and `nin`."""
    for op, operand in set_fields(condition):
        if operand is None:
            continue
        if op == "is_null":
            if (value is None) != operand:
                return False
        elif value is None:
            return False
        elif not fits(value, kind):
            if op not in ("ne", "nin"):
                return False
        elif not _apply(op, key(value), operand, key):
            return False
    return True


def _apply(op: str, value: Any, operand: Any, key: Key) -> bool:
    try:
        if op == "regex":
            return patterns.matches(operand, str(value))
        if op in ("in_", "nin"):
            found = value in {key(o) for o in operand}
            return found if op == "in_" else not found
        if op in ("contains", "starts_with", "ends_with"):
            return _text(op, str(value), str(operand))
        return bool(_ORDER[op](value, key(operand)))
    except TypeError:  # values of another type than the property declares
        return False


def _text(op: str, value: str, operand: str) -> bool:
    if op == "contains":
        return operand in value
    if op == "starts_with":
        return value.startswith(operand)
    return value.endswith(operand)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
