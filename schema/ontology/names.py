"""Deterministic, sanitised GraphQL names with local collision handling."""

from __future__ import annotations

import re
from collections.abc import Iterable

_INVALID = re.compile(r"[^_0-9A-Za-z]")

# Names the generated schema defines itself; a class cannot take them.
RESERVED_TYPE_NAMES = frozenset(
    {
        "Query", "Mutation", "Subscription", "Meta", "DataStatus", "IndexStatus",
        "PageInfo", "Money", "MoneyInput", "GeoPoint", "GeoPointInput", "SortDirection",
        "SchemaInfo", "CommandResult", "CommandReceipt", "ConflictError",
        "ValidationError", "FieldError", "NotFoundError", "PermissionError",
        "CommandStage", "CommandState", "CommandStatusEvent", "CommandError",
        "String", "Int", "Float", "Boolean", "ID", "JSON", "Decimal", "Long",
        "DateTime", "Date", "Time", "StringFilter", "IntFilter", "LongFilter",
        "FloatFilter", "DecimalFilter", "BooleanFilter", "DateFilter",
        "DateTimeFilter", "TimeFilter", "PresenceFilter", "AggregateGroup",
        "HistoryEvent", "SearchResult", "SearchEdge", "SearchConnection",
        "GraphQueryInput", "GraphHopInput", "GraphQueryResult", "GraphNode",
        "GraphEdge", "GraphPath", "ChangeKind", "HopDirection", "DiffStatus",
        "FieldChange", "ObjectDiff",
    }
)  # fmt: skip


def sanitise(name: str) -> str:
    """A valid GraphQL name: invalid characters become _, no leading digit or __."""
    clean = _INVALID.sub("_", name) or "_"
    if clean[0].isdigit():
        clean = f"_{clean}"
    while clean.startswith("__"):
        clean = clean[1:]
    return clean


def camel(name: str) -> str:
    """`unit_price` -> `unitPrice`; leading underscores and inner case are kept."""
    stripped = name.lstrip("_")
    prefix = name[: len(name) - len(stripped)]
    head, *rest = stripped.split("_") if stripped else [""]
    return sanitise(prefix + head + "".join(p[:1].upper() + p[1:] for p in rest))


def pascal(name: str) -> str:
    """`product_line` -> `ProductLine`, `Product` -> `Product`."""
    text = camel(name)
    stripped = text.lstrip("_")
    return sanitise(
        text[: len(text) - len(stripped)] + stripped[:1].upper() + stripped[1:]
    )


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def plural(word: str) -> str:
    """English-ish plural of the last word of a camelCase name."""
    lower = word.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if lower.endswith("y") and len(word) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


class NameSpace:
    """Hands out unique names in one scope (types, or the fields of one type).

    A clash degrades locally: the later claimant gets a numeric suffix and a
    warning names both, so the schema still builds.
    """

    def __init__(self, scope: str, warnings: list[str], reserved: Iterable[str] = ()):
        self._scope = scope
        self._warnings = warnings
        self._taken: dict[str, str] = dict.fromkeys(reserved, "the schema")

    def claim(self, wanted: str, *, owner: str) -> str:
        name = sanitise(wanted)
        if name not in self._taken:
            self._taken[name] = owner
            return name
        index = 2
        while f"{name}{index}" in self._taken:
            index += 1
        renamed = f"{name}{index}"
        self._warnings.append(
            f"{self._scope}: {owner} wants {name!r}, already used by "
            f"{self._taken[name]}; it is named {renamed!r}"
        )
        self._taken[renamed] = owner
        return renamed
