"""Node values in a form WOQL compares exactly: one `Scalar` subdocument per
non-null value, with typed properties that hold what each domain.queries kind
compares (pure, no I/O).

TerminusDB's xsd:decimal keeps about 16 significant digits of a fraction
(measured on v11.1: 1.5000000000000001 equals 1.5), so numbers are stored as
*sortable text* instead: an exact decimal spelled so that code point order,
which WOQL's Less, Greater and OrderBy use on strings, is numeric order. Every
JSON integer, float (its exact binary value) and decimal text gets one, so
integers, floats and decimals compare with each other exactly, as Python does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

SCALAR = "Scalar"
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # filtering.fits' pattern
_EXPONENT_WIDTH = 10
_EXPONENT_OFFSET = 5 * 10**9
_COMPLEMENT = str.maketrans("0123456789", "9876543210")
# Around every finite number: "0..." negative, "1" zero, "2..." positive.
_MINUS_INFINITY = "/"
_PLUS_INFINITY = "3"

SCALAR_CLASS: dict[str, Any] = {
    "@type": "Class",
    "@id": SCALAR,
    "@subdocument": [],
    # Unique within its version (values are a mapping), and deterministic.
    "@key": {"@type": "Lexical", "@fields": ["name"]},
    "name": "xsd:string",
    "text": {"@type": "Optional", "@class": "xsd:string"},  # any string
    "instant": {"@type": "Optional", "@class": "xsd:string"},  # text without "Z"
    "decimal": {"@type": "Optional", "@class": "xsd:string"},  # sortable, of text
    "number": {"@type": "Optional", "@class": "xsd:string"},  # sortable, of a number
    "whole": {"@type": "Optional", "@class": "xsd:boolean"},  # a JSON integer
    "boolean": {"@type": "Optional", "@class": "xsd:boolean"},
}


def scalar_documents(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One subdocument per non-null value, by name (a null is absent, as a
    missing value is: both satisfy only `is_null`)."""
    return [
        _scalar(name, values[name])
        for name in sorted(values)
        if values[name] is not None
    ]


def _scalar(name: str, value: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"@type": SCALAR, "name": name}
    if isinstance(value, bool):
        document["boolean"] = value
    elif isinstance(value, int):
        document["number"] = sortable(Decimal(value))
        document["whole"] = True
    elif isinstance(value, float):
        if not math.isnan(value):  # NaN equals nothing and orders nowhere
            document["number"] = sortable_float(value)
    elif isinstance(value, str):
        document.update(_text(value))
    # Lists and objects are present (not null) and compare as nothing.
    return document


def _text(value: str) -> dict[str, Any]:
    found: dict[str, Any] = {"text": value}
    if value.endswith("Z"):
        # Instants compare as their canonical UTC text without the Z, as on
        # SQL (sql_filter.py): text order is then time order.
        found["instant"] = value.rstrip("Z")
    if _DECIMAL_TEXT.fullmatch(value):
        found["decimal"] = sortable(Decimal(value))
    return found


def is_decimal_text(value: str) -> bool:
    return _DECIMAL_TEXT.fullmatch(value) is not None


def sortable_float(value: float) -> str:
    if math.isinf(value):
        return _PLUS_INFINITY if value > 0 else _MINUS_INFINITY
    return sortable(Decimal(value))  # the exact binary value, not its repr


def sortable(value: Decimal) -> str:
    """Text whose code point order is the numeric order of finite decimals,
    equal for equal values (10.5 and 10.50): sign class, then the exponent of
    0.ddd x 10^e in fixed width, then the digits (complemented when negative,
    and closed by "~", above every digit, so that a longer negative mantissa,
    of a larger magnitude, sorts first)."""
    sign, digit_tuple, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # "n", "N" or "F"
        raise ValueError(f"not a finite decimal: {value}")
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return "1"
    stripped = digits.rstrip("0")
    magnitude = len(digits) + exponent  # value = 0.digits x 10^magnitude
    if not sign:
        return f"2{magnitude + _EXPONENT_OFFSET:0{_EXPONENT_WIDTH}d}{stripped}"
    flipped = stripped.translate(_COMPLEMENT)
    return f"0{_EXPONENT_OFFSET - magnitude:0{_EXPONENT_WIDTH}d}{flipped}~"
