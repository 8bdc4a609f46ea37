"""Custom scalars: Decimal and Long keep precision, DateTime/Date/Time stay ISO-8601.

Stored instance values are already normalised by the domain (decimals and instants as
canonical strings), so serialisation mostly passes them through; parsing checks the
shape and hands the domain a plain value to validate properly.
"""

from __future__ import annotations

from decimal import Decimal as PyDecimal
from decimal import InvalidOperation
from typing import Any, NewType

import strawberry
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

Decimal = NewType("Decimal", str)
Long = NewType("Long", int)
DateTime = NewType("DateTime", str)
Date = NewType("Date", str)
Time = NewType("Time", str)

# Integers beyond this lose precision in JavaScript clients, so they travel as text.
JS_SAFE_INTEGER = 2**53 - 1


def _decimal_out(value: Any) -> str:
    return str(value)


def _decimal_in(value: Any) -> str:
    # A float literal has already lost precision; text or integers are exact.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"Decimal cannot represent {value!r}")
    try:
        number = PyDecimal(str(value))
    except InvalidOperation as error:
        raise ValueError(f"Decimal cannot represent {value!r}") from error
    if not number.is_finite():
        raise ValueError(f"Decimal cannot represent {value!r}")
    return str(value)


def _long_out(value: Any) -> int | str:
    number = int(value)
    return number if abs(number) <= JS_SAFE_INTEGER else str(number)


def _long_in(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"Long cannot represent {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"Long cannot represent {value!r}")


def _text_in(kind: str) -> Any:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"{kind} must be an ISO-8601 string, got {value!r}")
        return value

    return parse


SCALAR_MAP: dict[object, ScalarDefinition] = {
    Decimal: strawberry.scalar(
        name="Decimal",
        description='An exact decimal number, serialized as a string such as "9.99".',
        serialize=_decimal_out,
        parse_value=_decimal_in,
    ),
    Long: strawberry.scalar(
        name="Long",
        description="A signed 64-bit integer; beyond 2^53 it is serialized as a string.",
        serialize=_long_out,
        parse_value=_long_in,
    ),
    DateTime: strawberry.scalar(
        name="DateTime",
        description="An ISO-8601 instant with a UTC offset.",
        serialize=str,
        parse_value=_text_in("DateTime"),
    ),
    Date: strawberry.scalar(
        name="Date",
        description="An ISO-8601 calendar date (YYYY-MM-DD).",
        serialize=str,
        parse_value=_text_in("Date"),
    ),
    Time: strawberry.scalar(
        name="Time",
        description="An ISO-8601 time of day without offset.",
        serialize=str,
        parse_value=_text_in("Time"),
    ),
}

__all__ = ["JSON", "SCALAR_MAP", "Date", "DateTime", "Decimal", "Long", "Time"]
