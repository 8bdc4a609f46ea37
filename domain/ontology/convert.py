"""Value conversions of a migration's type change (string "42" → integer 42).

Only the families with an obvious textual reading convert here; any other
target gets the value as is and instance validation against the new type
decides (a string that is a valid date stays valid as a date).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


class ConversionError(ValueError):
    """A value that the target type cannot represent."""


def convert(value: Any, family: str) -> Any:
    """`value` in the target family's wire form; ConversionError if impossible."""
    converter = _CONVERTERS.get(family)
    return value if converter is None else converter(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ConversionError(f"{value!r} is not a whole number")
    return int(number)


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConversionError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ConversionError(f"{value!r} is not a finite number")
    return number


def _float(value: Any) -> float:
    return float(_decimal(value))


def _decimal_text(value: Any) -> str:
    # Decimals travel as strings so that no digit is lost (SPEC §4).
    return str(_decimal(value))


def _boolean(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConversionError(f"{value!r} is not a boolean")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "integer": _integer,
    "decimal": _decimal_text,
    "float": _float,
    "boolean": _boolean,
    "string": _text,
    "text": _text,
}
