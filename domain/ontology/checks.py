"""Constraint checks on normalised values: lengths, patterns, bounds, digits, members."""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.errors import FieldError
from domain.ontology import formats as fmt
from domain.ontology.ptypes import Family

Path = tuple[str, ...]
Check = Callable[[Mapping[str, Any], object, Path], list[FieldError]]
KeyOf = Callable[[object], Any]

_BOUNDS: tuple[tuple[str, str, Callable[[Any, Any], Any], str], ...] = (
    ("minimum", "minimum", operator.ge, "at least"),
    ("exclusiveMinimum", "exclusive_minimum", operator.gt, "greater than"),
    ("maximum", "maximum", operator.le, "at most"),
    ("exclusiveMaximum", "exclusive_maximum", operator.lt, "less than"),
)


def check_constraints(
    family: Family, constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    """Errors of a normalised scalar against its constraints (malformed ones are skipped:
    definitions are checked by `validate_constraints` before they are stored)."""
    if not constraints:
        return []  # no check finds anything without constraints (the bulk-write hot path)
    return [
        error
        for check in _CHECKS.get(family, ())
        for error in check(constraints, value, path)
    ]


def check_items(
    constraints: Mapping[str, Any], items: Sequence[object], path: Path
) -> list[FieldError]:
    """Errors of a normalised list against minItems, maxItems and uniqueItems."""
    errors: list[FieldError] = []
    low, high = (
        int_constraint(constraints, "minItems"),
        int_constraint(constraints, "maxItems"),
    )
    if low is not None and len(items) < low:
        errors.append(
            FieldError(
                path, "min_items", f"needs at least {low} items, got {len(items)}"
            )
        )
    if high is not None and len(items) > high:
        errors.append(
            FieldError(
                path, "max_items", f"allows at most {high} items, got {len(items)}"
            )
        )
    repeated = _first_repeat(items) if constraints.get("uniqueItems") is True else None
    if repeated is not None:
        message = f"item {repeated} repeats an earlier item; items must be unique"
        errors.append(FieldError((*path, str(repeated)), "unique_items", message))
    return errors


def int_constraint(constraints: Mapping[str, Any], name: str) -> int | None:
    value = constraints.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def enum_values(constraints: Mapping[str, Any]) -> list[object] | None:
    """The allowed values of an enum, from `enumValues` or its alias `values`."""
    values = constraints.get("enumValues", constraints.get("values"))
    return list(values) if isinstance(values, list | tuple) else None


def aware_datetime(value: object) -> datetime | None:
    parsed = fmt.parse_datetime(value)
    return parsed if parsed is not None and parsed.utcoffset() is not None else None


def bound_key(family: Family) -> KeyOf | None:
    """How to compare values and minimum/maximum bounds of a family; None if unbounded."""
    return _BOUND_KEYS.get(family)


def _first_repeat(items: Sequence[object]) -> int | None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        key = json.dumps(item, sort_keys=True)
        if key in seen:
            return index
        seen.add(key)
    return None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _length(
    constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    if not isinstance(value, str):
        return []
    errors: list[FieldError] = []
    low, high = (
        int_constraint(constraints, "minLength"),
        int_constraint(constraints, "maxLength"),
    )
    if low is not None and len(value) < low:
        message = f"must be at least {low} characters long, got {len(value)}"
        errors.append(FieldError(path, "min_length", message))
    if high is not None and len(value) > high:
        message = f"must be at most {high} characters long, got {len(value)}"
        errors.append(FieldError(path, "max_length", message))
    return errors


def _pattern(
    constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    pattern = constraints.get("pattern")
    if not isinstance(pattern, str) or not isinstance(value, str):
        return []
    compiled = _compiled(pattern)
    if compiled is None or compiled.fullmatch(value):
        return []
    message = (
        f"{fmt.show_value(value)} does not match the pattern {fmt.show_value(pattern)}"
    )
    return [FieldError(path, "pattern_mismatch", message)]


def _bounds(
    key: object, shown: str, constraints: Mapping[str, Any], key_of: KeyOf, path: Path
) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, code, holds, phrase in _BOUNDS:
        limit = key_of(constraints.get(name))
        if limit is not None and not holds(key, limit):
            message = (
                f"must be {phrase} {fmt.show_value(constraints[name])}, got {shown}"
            )
            errors.append(FieldError(path, code, message))
    return errors


def _multiple_of(
    number: Decimal, constraints: Mapping[str, Any], path: Path
) -> list[FieldError]:
    step = fmt.parse_decimal(constraints.get("multipleOf"))
    if step is None or step <= 0 or fmt.DECIMAL_CONTEXT.remainder(number, step) == 0:
        return []
    message = f"must be a multiple of {fmt.show_value(constraints['multipleOf'])}"
    return [FieldError(path, "multiple_of", message)]


def _numeric(
    constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    number = fmt.parse_decimal(value)
    if number is None:
        return []
    shown = fmt.show_value(value)
    return _bounds(number, shown, constraints, fmt.parse_decimal, path) + _multiple_of(
        number, constraints, path
    )


def _digits(
    constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    number = fmt.parse_decimal(value)
    if number is None:
        return []
    integer, fraction = fmt.decimal_digits(number)
    precision, scale = (
        int_constraint(constraints, "precision"),
        int_constraint(constraints, "scale"),
    )
    errors: list[FieldError] = []
    if scale is not None and fraction > scale:
        message = f"has {fraction} decimal places; scale allows {scale}"
        errors.append(FieldError(path, "scale", message))
    if precision is None:
        return errors
    if scale is None and integer + fraction > precision:
        message = (
            f"has {integer + fraction} significant digits; precision allows {precision}"
        )
        errors.append(FieldError(path, "precision", message))
    elif scale is not None and integer > precision - scale:
        room = max(precision - scale, 0)
        message = f"has {integer} digits before the decimal point; precision {precision} with scale {scale} allows {room}"
        errors.append(FieldError(path, "precision", message))
    return errors


def _decimal(
    constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    return _numeric(constraints, value, path) + _digits(constraints, value, path)


def _money(
    constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    if not isinstance(value, Mapping):
        return []
    errors = _decimal(constraints, value.get("amount"), (*path, "amount"))
    allowed = constraints.get("allowedCurrencies")
    currency = value.get("currency")
    if isinstance(allowed, list | tuple) and currency not in {
        str(c).upper() for c in allowed
    }:
        listed = ", ".join(sorted(str(c).upper() for c in allowed))
        message = (
            f"currency {fmt.show_value(currency)} is not allowed; use one of {listed}"
        )
        errors.append(FieldError((*path, "currency"), "currency_not_allowed", message))
    return errors


def _temporal(key_of: KeyOf) -> Check:
    def check(
        constraints: Mapping[str, Any], value: object, path: Path
    ) -> list[FieldError]:
        key = key_of(value)
        if key is None:
            return []
        return _bounds(key, fmt.show_value(value), constraints, key_of, path)

    return check


def _enum(
    constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    allowed = enum_values(constraints)
    if allowed is None or value in allowed:
        return []
    listed = ", ".join(fmt.show_value(v) for v in allowed[:10]) + (
        ", …" if len(allowed) > 10 else ""
    )
    message = f"{fmt.show_value(value)} is not one of {listed}"
    return [FieldError(path, "enum_value", message)]


def _dimension(
    constraints: Mapping[str, Any], value: object, path: Path
) -> list[FieldError]:
    dimension = int_constraint(constraints, "dimension")
    if dimension is None or not isinstance(value, list) or len(value) == dimension:
        return []
    message = f"expected {dimension} components, got {len(value)}"
    return [FieldError(path, "dimension_mismatch", message)]


_BOUND_KEYS: dict[Family, KeyOf] = {
    Family.INTEGER: fmt.parse_decimal,
    Family.FLOAT: fmt.parse_decimal,
    Family.DECIMAL: fmt.parse_decimal,
    Family.MONEY: fmt.parse_decimal,
    Family.DATE: fmt.parse_date,
    Family.DATETIME: aware_datetime,
    Family.TIME: fmt.parse_time,
}
_TEXT_CHECKS: tuple[Check, ...] = (_length, _pattern)
_CHECKS: dict[Family, tuple[Check, ...]] = {
    Family.STRING: _TEXT_CHECKS,
    Family.TEXT: _TEXT_CHECKS,
    Family.EMAIL: _TEXT_CHECKS,
    Family.URL: _TEXT_CHECKS,
    Family.PHONE: _TEXT_CHECKS,
    Family.INTEGER: (_numeric,),
    Family.FLOAT: (_numeric,),
    Family.DECIMAL: (_decimal,),
    Family.MONEY: (_money,),
    Family.DATE: (_temporal(fmt.parse_date),),
    Family.DATETIME: (_temporal(aware_datetime),),
    Family.TIME: (_temporal(fmt.parse_time),),
    Family.ENUM: (_enum,),
    Family.VECTOR: (_dimension,),
}
