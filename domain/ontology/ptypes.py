"""Property types: canonical families, their aliases, and parsing of type specs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import FieldError, ValidationFailed


class Family(StrEnum):
    """Canonical property type families (SPEC §2); the value is the wire name."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    DURATION = "duration"
    UUID = "uuid"
    EMAIL = "email"
    URL = "url"
    PHONE = "phone"
    IP = "ip"
    MONEY = "money"
    ENUM = "enum"
    JSON = "json"
    ARRAY = "array"
    GEOPOINT = "geopoint"
    VECTOR = "vector"


_EXTRA_ALIASES: dict[str, Family] = {
    "str": Family.STRING,
    "xsd:string": Family.STRING,
    "int": Family.INTEGER,
    "long": Family.INTEGER,
    "xsd:integer": Family.INTEGER,
    "xsd:int": Family.INTEGER,
    "xsd:long": Family.INTEGER,
    "xsd:decimal": Family.DECIMAL,
    "numeric": Family.DECIMAL,
    "double": Family.FLOAT,
    "number": Family.FLOAT,
    "xsd:double": Family.FLOAT,
    "xsd:float": Family.FLOAT,
    "bool": Family.BOOLEAN,
    "xsd:boolean": Family.BOOLEAN,
    "xsd:date": Family.DATE,
    "timestamp": Family.DATETIME,
    "xsd:datetime": Family.DATETIME,
    "xsd:time": Family.TIME,
    "xsd:duration": Family.DURATION,
    "uri": Family.URL,
    "xsd:anyuri": Family.URL,
    "struct": Family.JSON,
    "object": Family.JSON,
}
# `array` itself is only reachable through the `array<T>` syntax.
ALIASES: dict[str, Family] = {
    **{f.value: f for f in Family if f is not Family.ARRAY},
    **_EXTRA_ALIASES,
}
_ARRAY_SPEC = re.compile(
    r"(?:array|list)\s*<\s*(?P<item>.*?)\s*>|(?P<short>.*?)\s*\[\]"
)
_MAX_SPEC_LENGTH = 100


@dataclass(frozen=True, slots=True)
class PropertyType:
    """A parsed property type: a family, plus the item type when the family is array."""

    family: Family
    item: PropertyType | None = None

    def __post_init__(self) -> None:
        # Arrays of arrays would make item constraints ambiguous; keep one level.
        if (self.family is Family.ARRAY) != (self.item is not None):
            raise ValueError(
                "an array type needs an item type, and only arrays have one"
            )
        if self.item is not None and self.item.family is Family.ARRAY:
            raise ValueError("nested arrays are not supported")

    def __str__(self) -> str:
        return f"array<{self.item}>" if self.item is not None else self.family.value

    @property
    def is_array(self) -> bool:
        return self.item is not None

    @property
    def element(self) -> PropertyType:
        """The type of each stored scalar: the item type of an array, else self."""
        return self.item if self.item is not None else self


def try_parse_type(spec: object) -> PropertyType | None:
    """Parse a type spec case-insensitively; None when it names no known type."""
    if not isinstance(spec, str) or len(spec) > _MAX_SPEC_LENGTH:
        return None
    text = spec.strip().lower()
    match = _ARRAY_SPEC.fullmatch(text)
    if match is None:
        family = ALIASES.get(text)
        return PropertyType(family) if family is not None else None
    item = try_parse_type(match.group("item") or match.group("short"))
    if item is None or item.is_array:
        return None
    return PropertyType(Family.ARRAY, item)


def parse_type(spec: str) -> PropertyType:
    """Parse a type spec such as `int`, `xsd:dateTime` or `array<string>`.

    Raises:
        ValidationFailed: with one `unknown_type` error when the spec names no type.
    """
    parsed = try_parse_type(spec)
    if parsed is None:
        error = FieldError((), "unknown_type", unknown_type_message(spec))
        raise ValidationFailed(errors=[error], summary=error.message)
    return parsed


def unknown_type_message(spec: object) -> str:
    shown = repr(spec) if not isinstance(spec, str) else repr(spec[:_MAX_SPEC_LENGTH])
    return (
        f"unknown property type {shown}; use one of "
        f"{', '.join(f.value for f in Family if f is not Family.ARRAY)} or array<T>"
    )
