"""Canonical text forms: decimals, dates and times, durations, identifiers, contacts."""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

# Bounds keep every accepted decimal printable in plain notation in a few hundred
# characters, and keep arithmetic below exact in DECIMAL_CONTEXT.
MAX_DECIMAL_DIGITS = 128
MAX_DECIMAL_MAGNITUDE = 128
DECIMAL_CONTEXT = Context(prec=1000, Emax=10_000, Emin=-10_000, traps=[])
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
JS_SAFE_INTEGER = 2**53

_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,5})?")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.{0,40}")
_TIME_TEXT = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?")
_DURATION_TEXT = re.compile(
    r"-?P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?"
    r"(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?"
)
_EMAIL_LOCAL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# An optional `+`, then digits with spaces, dots, hyphens and parenthesised digit
# groups (an area code: `(555) 123-4567`, `+82 (10) 1234-5678`); brackets balanced.
_PHONE_TEXT = re.compile(r"\+?(?:\([0-9]+\)|[0-9])(?:[0-9 .-]|\([0-9]+\))*")
_PHONE_SEPARATORS = re.compile(r"[ ().-]")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_UUID_TEXT = re.compile(
    r"(?:urn:uuid:)?(\{)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?(1)\})",
    re.IGNORECASE,
)


def parse_decimal(value: object) -> Decimal | None:
    """A finite Decimal from an int, float, Decimal or decimal text; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr() is the shortest text that round-trips, so 9.99 stays 9.99.
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and len(value) <= 400 and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    return None


def decimal_in_range(number: Decimal) -> bool:
    """Whether a decimal fits the supported digits and magnitude."""
    if number.is_zero():
        return True
    reduced = DECIMAL_CONTEXT.normalize(number)
    digits = len(reduced.as_tuple().digits)
    return (
        digits <= MAX_DECIMAL_DIGITS
        and abs(reduced.adjusted()) <= MAX_DECIMAL_MAGNITUDE
    )


def decimal_digits(number: Decimal) -> tuple[int, int]:
    """(integer digits, fraction digits) of a decimal, ignoring insignificant zeros."""
    if number.is_zero():
        return 0, 0
    reduced = DECIMAL_CONTEXT.normalize(number)
    exponent = int(reduced.as_tuple().exponent)
    digits = len(reduced.as_tuple().digits)
    return max(0, digits + exponent), max(0, -exponent)


def canonical_decimal(number: Decimal, scale: int | None = None) -> str:
    """Plain notation without insignificant zeros, padded to `scale` places if given."""
    reduced = Decimal(0) if number.is_zero() else DECIMAL_CONTEXT.normalize(number)
    if scale is not None and decimal_digits(reduced)[1] < scale:
        reduced = DECIMAL_CONTEXT.quantize(reduced, Decimal(1).scaleb(-scale))
    return format(reduced, "f")


def parse_date(value: object) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        return _or_none(date.fromisoformat, value)
    return None


def parse_datetime(value: object) -> datetime | None:
    """A datetime from ISO-8601 text or a datetime; it may be naive."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATETIME_TEXT.fullmatch(value):
        return _or_none(datetime.fromisoformat, value)
    return None


def canonical_datetime(moment: datetime) -> str | None:
    """ISO-8601 in UTC with a `Z`; None if the instant falls outside years 1-9999 in UTC."""
    try:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except OverflowError:
        return None


def parse_time(value: object) -> time | None:
    """A wall-clock time without offset from `HH:MM[:SS[.ffffff]]` or a naive time."""
    if isinstance(value, time):
        return value if value.tzinfo is None else None
    if isinstance(value, str) and _TIME_TEXT.fullmatch(value):
        return _or_none(time.fromisoformat, value)
    return None


def canonical_duration(text: str) -> str | None:
    upper = text.upper()
    return upper if _DURATION_TEXT.fullmatch(upper) else None


def canonical_uuid(text: str) -> str | None:
    """Lower-case hyphenated form of a UUID given with or without hyphens, braces or urn."""
    if not _UUID_TEXT.fullmatch(text):
        return None
    return str(uuid.UUID(text.lower()))


def canonical_email(text: str) -> str | None:
    """The address with its domain lower-cased; the local part is case-sensitive."""
    local, at, domain = text.rpartition("@")
    if not at or len(text) > 254 or len(local) > 64:
        return None
    if not (_EMAIL_LOCAL.fullmatch(local) and _EMAIL_DOMAIN.fullmatch(domain)):
        return None
    return f"{local}@{domain.lower()}"


def canonical_url(text: str) -> str | None:
    """The URL unchanged if it has a scheme and a host and no whitespace."""
    if len(text) > 2048 or any(ch.isspace() for ch in text):
        return None
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        return None
    if not (_URL_SCHEME.fullmatch(parts.scheme) and parts.hostname):
        return None
    return text


def canonical_phone(text: str) -> str | None:
    """Digits only, keeping a leading `+`: `(555) 123-4567` becomes `5551234567`.
    The one definition of a phone number: the `phone` type checks values with it
    and type inference (domain/dataplane/inference.py) detects columns with it."""
    if not _PHONE_TEXT.fullmatch(text):
        return None
    compact = _PHONE_SEPARATORS.sub("", text)
    digits = compact.removeprefix("+")
    return compact if 7 <= len(digits) <= 15 else None


def canonical_ip(text: str) -> str | None:
    address = _or_none(ipaddress.ip_address, text) if len(text) <= 64 else None
    return str(address) if address is not None else None


def canonical_currency(value: object) -> str | None:
    if isinstance(value, str) and _CURRENCY.fullmatch(value):
        return value.upper()
    return None


def _or_none(parse: Callable[[str], T], text: str) -> T | None:
    try:
        return parse(text)
    except ValueError:
        return None


def show_value(value: object, limit: int = 40) -> str:
    """A short, safe rendering of a value for messages; never echoes huge input."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value.bit_length() > 128
    ):
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, list | tuple | dict) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
