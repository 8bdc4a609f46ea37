"""Scalar `where` conditions and `orderBy` evaluated over node rows in Python
(logic and relationship conditions are in `where.py`).

The GraphStore port has no filter pushdown yet, so a filtered or ordered list reads
every live node of the class and filters here; unfiltered lists stay keyset-paged
in the store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.ontology import Family
from resolvers.instances.rows import NodeRow
from schema.generated.plan import ClassPlan

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


def set_fields(value: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The input fields the client gave, by Python name (absent ones are absent)."""
    return list(value.items())


def holds(node: NodeRow, name: str, condition: Any, plan: ClassPlan) -> bool:
    """One scalar condition (on `id` or a property) of a `where` input."""
    if condition is None:
        return True
    if name == "id":
        return _compare(node.instance_id, condition, str)
    prop = plan.property_for(name)
    if prop is None:
        return True
    key = _KEYS.get(prop.prop.type.family, _identity)
    return _compare(node.values.get(prop.name), condition, key)


def _identity(value: Any) -> Any:
    return value


def _compare(value: Any, condition: Any, key: Key) -> bool:
    """SQL-like: a null value satisfies only `isNull: true`."""
    for op, operand in set_fields(condition):
        if operand is None:
            continue
        if op == "is_null":
            if (value is None) != operand:
                return False
        elif value is None or not _apply(op, key(value), operand, key):
            return False
    return True


def _apply(op: str, value: Any, operand: Any, key: Key) -> bool:
    try:
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


def ordered(
    rows: Sequence[NodeRow], order_by: Sequence[Any], plan: ClassPlan
) -> list[NodeRow]:
    """Sorted by each key in turn (nulls last either way), then by id."""
    result = sorted(rows, key=lambda r: r.instance_id)
    for spec in reversed(order_by):
        for name, direction in reversed(set_fields(spec)):
            if direction is None:
                continue
            result = _sorted_by(result, name, descending=direction == "DESC", plan=plan)
    return result


def _sorted_by(
    rows: list[NodeRow], name: str, *, descending: bool, plan: ClassPlan
) -> list[NodeRow]:
    prop = plan.property_for(name)
    key = _KEYS.get(prop.prop.type.family, _identity) if prop else _identity

    def value(node: NodeRow) -> Any:
        return node.instance_id if prop is None else key(node.values.get(prop.name))

    present = [r for r in rows if value(r) is not None]
    absent = [r for r in rows if value(r) is None]
    # Mixed types after a schema change cannot sort: keep the previous order.
    with contextlib.suppress(TypeError):
        present.sort(key=value, reverse=descending)
    return present + absent
