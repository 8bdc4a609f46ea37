"""Value validation: check a value against its property type and normalise it for storage."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from domain.errors import FieldError
from domain.ontology import formats as fmt
from domain.ontology.checks import check_constraints, check_items
from domain.ontology.ptypes import Family, PropertyType
from domain.strings import nul_error, nul_path

Path = tuple[str, ...]
Result = tuple[object, list[FieldError]]
Normaliser = Callable[[object, Path], Result]

ARRAY_ONLY_CONSTRAINTS = frozenset({"minItems", "maxItems", "uniqueItems"})
# Bound the report for long lists: the first errors say enough.
MAX_ITEM_ERRORS = 20
MAX_JSON_DEPTH = 64
_LONG_TEXT = re.compile(r"-?\d{1,20}")


def validate_value(
    ptype: PropertyType,
    constraints: Mapping[str, Any],
    value: object,
    path: Path,
) -> Result:
    """Check `value` against a property type and its constraints.

    Returns the normalised, JSON-compatible value and the errors; the value is meaningful
    only when there are no errors. None (absent) is valid: being required is decided by
    the instance, not the type.
    """
    if value is None:
        return None, []
    # Before any normaliser: the rule holds for every type (texts, enums, the
    # strings inside JSON values, money and list items alike).
    nul = nul_path(value, path)
    if nul is not None:
        return value, [nul_error(nul)]
    if ptype.item is None:
        return _scalar(ptype.family, constraints, value, path)
    return _array(ptype.item.family, constraints, value, path)


def _scalar(
    family: Family, constraints: Mapping[str, Any], value: object, path: Path
) -> Result:
    normalised, errors = _NORMALISERS[family](value, path)
    if errors:
        return value, errors
    errors = check_constraints(family, constraints, normalised, path)
    return _pad_to_scale(family, constraints, normalised), errors


def _pad_to_scale(
    family: Family, constraints: Mapping[str, Any], value: object
) -> object:
    """Render decimals with the declared scale so that equal values store identically."""
    scale = constraints.get("scale")
    if not isinstance(scale, int) or isinstance(scale, bool):
        return value
    if not 0 <= scale <= fmt.MAX_DECIMAL_DIGITS:
        return value
    if family is Family.DECIMAL and isinstance(value, str):
        return fmt.canonical_decimal(Decimal(value), scale)
    if family is Family.MONEY and isinstance(value, dict):
        return {
            **value,
            "amount": fmt.canonical_decimal(Decimal(value["amount"]), scale),
        }
    return value


def _array(
    item_family: Family, constraints: Mapping[str, Any], value: object, path: Path
) -> Result:
    if not isinstance(value, list | tuple):
        return value, _mismatch(path, "a list", value)
    item_constraints = {
        k: v for k, v in constraints.items() if k not in ARRAY_ONLY_CONSTRAINTS
    }
    items: list[object] = []
    errors: list[FieldError] = []
    for index, item in enumerate(value):
        item_path = (*path, str(index))
        if item is None:
            errors.append(
                FieldError(item_path, "type_mismatch", "list items cannot be null")
            )
            continue
        normalised, item_errors = _scalar(
            item_family, item_constraints, item, item_path
        )
        items.append(normalised)
        errors.extend(item_errors)
    if errors:
        return value, errors[:MAX_ITEM_ERRORS]
    return items, check_items(constraints, items, path)


def _mismatch(path: Path, expected: str, value: object) -> list[FieldError]:
    message = f"expected {expected}, got {fmt.show_value(value)}"
    return [FieldError(path, "type_mismatch", message)]


def _bad(path: Path, what: str, value: object) -> list[FieldError]:
    """Text in the wrong format is `invalid_format`; anything else is a type mismatch."""
    if not isinstance(value, str):
        return _mismatch(path, f"a {what}", value)
    message = f"{fmt.show_value(value)} is not a valid {what}"
    return [FieldError(path, "invalid_format", message)]


def _out_of_range(path: Path, value: object, limits: str) -> list[FieldError]:
    message = f"{fmt.show_value(value)} is out of range: {limits}"
    return [FieldError(path, "out_of_range", message)]


def _string(value: object, path: Path) -> Result:
    return (
        (value, [])
        if isinstance(value, str)
        else (value, _mismatch(path, "a string", value))
    )


def _text_format(what: str, canonical: Callable[[str], str | None]) -> Normaliser:
    def normalise(value: object, path: Path) -> Result:
        result = canonical(value) if isinstance(value, str) else None
        return (result, []) if result is not None else (value, _bad(path, what, value))

    return normalise


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 40:
        return int(value) if value == value.to_integral_value() else None
    # Integers beyond JavaScript's safe range may arrive as text (the Long scalar).
    if isinstance(value, str) and _LONG_TEXT.fullmatch(value):
        number = int(value)
        return number if abs(number) > fmt.JS_SAFE_INTEGER else None
    return None


def _integer(value: object, path: Path) -> Result:
    number = _as_int(value)
    if number is None:
        return value, _mismatch(path, "an integer", value)
    if not fmt.INT64_MIN <= number <= fmt.INT64_MAX:
        return value, _out_of_range(path, value, "integers are signed 64-bit")
    return number, []


def _float(value: object, path: Path) -> Result:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return value, _mismatch(path, "a number", value)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        return value, _mismatch(path, "a finite number", value)
    return number, []


def _boolean(value: object, path: Path) -> Result:
    return (
        (value, [])
        if isinstance(value, bool)
        else (value, _mismatch(path, "a boolean", value))
    )


def _decimal(value: object, path: Path) -> Result:
    number = fmt.parse_decimal(value)
    if number is None:
        return value, _bad(path, "decimal number", value)
    if not fmt.decimal_in_range(number):
        limits = f"at most {fmt.MAX_DECIMAL_DIGITS} digits and magnitude 1e{fmt.MAX_DECIMAL_MAGNITUDE}"
        return value, _out_of_range(path, value, limits)
    return fmt.canonical_decimal(number), []


def _date(value: object, path: Path) -> Result:
    parsed = fmt.parse_date(value)
    if parsed is None:
        return value, _bad(path, "date (YYYY-MM-DD)", value)
    return parsed.isoformat(), []


def _datetime(value: object, path: Path) -> Result:
    parsed = fmt.parse_datetime(value)
    if parsed is None:
        return value, _bad(path, "ISO-8601 datetime", value)
    if parsed.utcoffset() is None:
        message = f"{fmt.show_value(value)} has no UTC offset; add one such as 'Z' or '+09:00'"
        return value, [FieldError(path, "timezone_required", message)]
    canonical = fmt.canonical_datetime(parsed)
    if canonical is None:
        return value, _out_of_range(
            path, value, "the instant must fall within years 1 to 9999 in UTC"
        )
    return canonical, []


def _time(value: object, path: Path) -> Result:
    parsed = fmt.parse_time(value)
    if parsed is None:
        return value, _bad(path, "time without offset (HH:MM[:SS[.ffffff]])", value)
    return parsed.isoformat(), []


def _enum(value: object, path: Path) -> Result:
    return (
        (value, [])
        if isinstance(value, str)
        else (value, _mismatch(path, "an enum value (string)", value))
    )


def _part(
    mapping: Mapping[Any, object], key: str, path: Path, normalise: Normaliser
) -> Result:
    if mapping.get(key) is None:
        return None, [FieldError((*path, key), "required", f"{key} is required")]
    return normalise(mapping[key], (*path, key))


def _unknown_keys(
    mapping: Mapping[Any, object], allowed: tuple[str, ...], path: Path
) -> list[FieldError]:
    expected = " and ".join(allowed)
    return [
        FieldError(
            (*path, str(key)),
            "unknown_property",
            f"unexpected key {fmt.show_value(key)}; expected {expected}",
        )
        for key in mapping
        if key not in allowed
    ]


def _currency(value: object, path: Path) -> Result:
    code = fmt.canonical_currency(value)
    return (code, []) if code else (value, _bad(path, "ISO 4217 currency code", value))


def _money(value: object, path: Path) -> Result:
    if not isinstance(value, Mapping):
        return value, _mismatch(path, "an object with amount and currency", value)
    amount, amount_errors = _part(value, "amount", path, _decimal)
    currency, currency_errors = _part(value, "currency", path, _currency)
    errors = (
        _unknown_keys(value, ("amount", "currency"), path)
        + amount_errors
        + currency_errors
    )
    return (value, errors) if errors else ({"amount": amount, "currency": currency}, [])


def _coordinate(value: object, path: Path, limit: float) -> Result:
    number, errors = _float(value, path)
    if errors or (isinstance(number, float) and abs(number) <= limit):
        return number, errors
    return value, _out_of_range(
        path, value, f"must be between -{limit:g} and {limit:g}"
    )


def _latitude(value: object, path: Path) -> Result:
    return _coordinate(value, path, 90.0)


def _longitude(value: object, path: Path) -> Result:
    return _coordinate(value, path, 180.0)


def _geopoint(value: object, path: Path) -> Result:
    if not isinstance(value, Mapping):
        return value, _mismatch(path, "an object with lat and lon", value)
    lat, lat_errors = _part(value, "lat", path, _latitude)
    lon, lon_errors = _part(value, "lon", path, _longitude)
    errors = _unknown_keys(value, ("lat", "lon"), path) + lat_errors + lon_errors
    return (value, errors) if errors else ({"lat": lat, "lon": lon}, [])


def _vector(value: object, path: Path) -> Result:
    if not isinstance(value, list | tuple):
        return value, _mismatch(path, "a list of numbers", value)
    components: list[object] = []
    errors: list[FieldError] = []
    for index, item in enumerate(value):
        number, item_errors = _float(item, (*path, str(index)))
        components.append(number)
        errors.extend(item_errors)
    return (value, errors[:MAX_ITEM_ERRORS]) if errors else (components, [])


def _to_json(value: object, depth: int) -> object:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"it nests deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, list | tuple):
        return [_to_json(item, depth + 1) for item in value]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: _to_json(item, depth + 1) for key, item in value.items()}
    raise ValueError(f"{fmt.show_value(value)} has no JSON form")


def _json(value: object, path: Path) -> Result:
    try:
        return _to_json(value, 0), []
    except ValueError as error:
        return value, [
            FieldError(path, "type_mismatch", f"expected a JSON value, but {error}")
        ]


_NORMALISERS: dict[Family, Normaliser] = {
    Family.STRING: _string,
    Family.TEXT: _string,
    Family.INTEGER: _integer,
    Family.DECIMAL: _decimal,
    Family.FLOAT: _float,
    Family.BOOLEAN: _boolean,
    Family.DATE: _date,
    Family.DATETIME: _datetime,
    Family.TIME: _time,
    Family.DURATION: _text_format(
        "ISO-8601 duration (e.g. P1DT2H)", fmt.canonical_duration
    ),
    Family.UUID: _text_format("UUID", fmt.canonical_uuid),
    Family.EMAIL: _text_format("email address", fmt.canonical_email),
    Family.URL: _text_format("URL with a scheme and host", fmt.canonical_url),
    Family.PHONE: _text_format("phone number (7 to 15 digits)", fmt.canonical_phone),
    Family.IP: _text_format("IPv4 or IPv6 address", fmt.canonical_ip),
    Family.MONEY: _money,
    Family.ENUM: _enum,
    Family.JSON: _json,
    Family.GEOPOINT: _geopoint,
    Family.VECTOR: _vector,
}
