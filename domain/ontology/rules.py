"""Definition-time checks of constraints: known for the type, well-formed, consistent."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from domain.errors import FieldError
from domain.ontology import formats as fmt
from domain.ontology.checks import bound_key
from domain.ontology.ptypes import Family, PropertyType

Path = tuple[str, ...]
Problem = Callable[[PropertyType, object], str | None]

_TEXT = frozenset({"minLength", "maxLength", "pattern"})
_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_NUMERIC = _BOUNDS | {"multipleOf"}
_DIGITS = frozenset({"precision", "scale"})
ARRAY_CONSTRAINTS = frozenset({"minItems", "maxItems", "uniqueItems"})
FAMILY_CONSTRAINTS: dict[Family, frozenset[str]] = {
    Family.STRING: _TEXT,
    Family.TEXT: _TEXT,
    Family.EMAIL: _TEXT,
    Family.URL: _TEXT,
    Family.PHONE: _TEXT,
    Family.INTEGER: _NUMERIC,
    Family.FLOAT: _NUMERIC,
    Family.DECIMAL: _NUMERIC | _DIGITS,
    Family.MONEY: _NUMERIC | _DIGITS | {"allowedCurrencies"},
    Family.DATE: _BOUNDS,
    Family.DATETIME: _BOUNDS,
    Family.TIME: _BOUNDS,
    Family.ENUM: frozenset({"enumValues", "values"}),
    Family.VECTOR: frozenset({"dimension"}),
}
MAX_PATTERN_LENGTH = 1000
MAX_ENUM_VALUES = 1000
MAX_DIMENSION = 65536
# Pairs (lower, upper) that must not cross; exclusive bounds must leave a gap.
_ORDERED = (
    ("minLength", "maxLength", False),
    ("minItems", "maxItems", False),
    ("minimum", "maximum", False),
    ("exclusiveMinimum", "exclusiveMaximum", True),
    ("scale", "precision", False),
)


def allowed_constraints(ptype: PropertyType) -> frozenset[str]:
    """Constraint names that apply to a type (an array takes its item's and its own)."""
    own = FAMILY_CONSTRAINTS.get(ptype.element.family, frozenset())
    return own | ARRAY_CONSTRAINTS if ptype.is_array else own


def validate_constraints(
    ptype: PropertyType, constraints: object, path: Path
) -> list[FieldError]:
    """Errors of a definition's constraints (`unknown_constraint`, `invalid_constraint`)."""
    if not isinstance(constraints, Mapping):
        return [FieldError(path, "invalid_constraint", "constraints must be an object")]
    allowed = allowed_constraints(ptype)
    errors: list[FieldError] = []
    for name, value in constraints.items():
        if name not in allowed:
            errors.append(_unknown(ptype, str(name), allowed, path))
            continue
        problem = _PROBLEMS[name](ptype, value)
        if problem is not None:
            errors.append(
                FieldError((*path, name), "invalid_constraint", f"{name} {problem}")
            )
    if errors:
        return errors
    return _crossed(ptype, constraints, path) + _missing(ptype, constraints, path)


def _unknown(
    ptype: PropertyType, name: str, allowed: frozenset[str], path: Path
) -> FieldError:
    choices = ", ".join(sorted(allowed)) if allowed else "none"
    message = (
        f"{fmt.show_value(name)} is not a constraint of {ptype} (allowed: {choices})"
    )
    return FieldError((*path, name), "unknown_constraint", message)


def _missing(
    ptype: PropertyType, constraints: Mapping[str, Any], path: Path
) -> list[FieldError]:
    family = ptype.element.family
    if family is Family.ENUM and ("enumValues" in constraints) == (
        "values" in constraints
    ):
        message = "an enum needs its values in exactly one of enumValues or values"
        return [FieldError((*path, "enumValues"), "invalid_constraint", message)]
    if family is Family.VECTOR and "dimension" not in constraints:
        message = "a vector needs a dimension"
        return [FieldError((*path, "dimension"), "invalid_constraint", message)]
    return []


def _crossed(
    ptype: PropertyType, constraints: Mapping[str, Any], path: Path
) -> list[FieldError]:
    errors: list[FieldError] = []
    key_of = bound_key(ptype.element.family)
    for low_name, high_name, strict in _ORDERED:
        if low_name not in constraints or high_name not in constraints:
            continue
        low: Any = constraints[low_name]
        high: Any = constraints[high_name]
        if low_name in _BOUNDS and key_of is not None:
            low, high = key_of(low), key_of(high)
        if low > high or (strict and low == high):
            message = f"{high_name} must not be below {low_name}" + (
                " or equal to it" if strict else ""
            )
            errors.append(FieldError((*path, high_name), "invalid_constraint", message))
    return errors


def _count(limit: int) -> Problem:
    def problem(_: PropertyType, value: object) -> str | None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= limit
        ):
            return f"must be an integer from 0 to {limit}"
        return None

    return problem


def _positive(limit: int) -> Problem:
    def problem(_: PropertyType, value: object) -> str | None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= limit
        ):
            return f"must be an integer from 1 to {limit}"
        return None

    return problem


def _bound(ptype: PropertyType, value: object) -> str | None:
    family = ptype.element.family
    key_of = bound_key(family)
    if key_of is not None and key_of(value) is not None:
        number = fmt.parse_decimal(value)
        if number is None or fmt.decimal_in_range(number):
            return None
    if family in (Family.DATE, Family.DATETIME, Family.TIME):
        return f"must be a {family} in ISO-8601 form" + (
            " with an offset" if family is Family.DATETIME else ""
        )
    return "must be a number (or decimal text) within the supported range"


def _multiple_of(_: PropertyType, value: object) -> str | None:
    number = fmt.parse_decimal(value)
    if number is None or number <= 0 or not fmt.decimal_in_range(number):
        return "must be a positive number"
    return None


def _pattern(_: PropertyType, value: object) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_PATTERN_LENGTH:
        return (
            f"must be a regular expression of at most {MAX_PATTERN_LENGTH} characters"
        )
    try:
        re.compile(value)
    except re.error as error:
        return f"is not a valid regular expression: {error}"
    return None


def _flag(_: PropertyType, value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _enum_values(_: PropertyType, value: object) -> str | None:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_ENUM_VALUES:
        return f"must be a list of 1 to {MAX_ENUM_VALUES} strings"
    if not all(isinstance(v, str) and v for v in value):
        return "must contain only non-empty strings"
    return None if len(set(value)) == len(value) else "must not repeat a value"


def _currencies(_: PropertyType, value: object) -> str | None:
    if not isinstance(value, list | tuple) or not value:
        return "must be a non-empty list of ISO 4217 currency codes"
    bad = [v for v in value if fmt.canonical_currency(v) is None]
    return f"has invalid currency codes: {fmt.show_value(bad)}" if bad else None


_PROBLEMS: dict[str, Problem] = {
    "minLength": _count(2**31),
    "maxLength": _count(2**31),
    "minItems": _count(2**31),
    "maxItems": _count(2**31),
    "scale": _count(fmt.MAX_DECIMAL_DIGITS),
    "precision": _positive(fmt.MAX_DECIMAL_DIGITS),
    "dimension": _positive(MAX_DIMENSION),
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    "multipleOf": _multiple_of,
    "pattern": _pattern,
    "uniqueItems": _flag,
    "enumValues": _enum_values,
    "values": _enum_values,
    "allowedCurrencies": _currencies,
}
