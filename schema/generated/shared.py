"""Types every generated schema shares: meta, paging, money, filters, sort order."""

from __future__ import annotations

import types
from enum import Enum
from typing import Any

import strawberry
from strawberry.types.field import StrawberryField

from schema.scalars import JSON, Date, DateTime, Decimal, Long, Time


@strawberry.enum(description="How complete the returned object is.")
class DataStatus(Enum):
    FULL = "FULL"
    PARTIAL = "PARTIAL"
    MISSING = "MISSING"


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type
class IndexStatus:
    event_sequence: int | None
    last_indexed_at: DateTime | None
    index_age_seconds: float | None


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Money:
    amount: Decimal
    currency: str


@strawberry.input
class MoneyInput:
    amount: Decimal
    currency: str


@strawberry.type
class GeoPoint:
    lat: float
    lon: float


@strawberry.input
class GeoPointInput:
    lat: float
    lon: float


@strawberry.type
class SchemaInfo:
    db: str
    branch: str
    version: int = strawberry.field(
        description="The ontology version it was built from."
    )
    warnings: list[str] = strawberry.field(description="Names renamed or omitted.")


@strawberry.type(description="One group of `groupBy`: the grouped values and a count.")
class AggregateGroup:
    key: JSON = strawberry.field(description="Grouped field name -> value.")
    count: int


@strawberry.type(description="One event of an object's stream.")
class HistoryEvent:
    seq: int
    type: str
    actor: str
    command_id: strawberry.ID
    at: DateTime
    position: int
    branch: str


_EQUALITY = (("eq", "eq", False), ("ne", "ne", False))
_SETS = (("in_", "in", True), ("nin", "nin", True))
_ORDER = (
    ("gt", "gt", False),
    ("gte", "gte", False),
    ("lt", "lt", False),
    ("lte", "lte", False),
)
_TEXT = (
    ("contains", "contains", False),
    ("starts_with", "startsWith", False),
    ("ends_with", "endsWith", False),
)


def _filter(name: str, scalar: Any, *, ordered: bool, text: bool = False) -> type:
    """An input of the shared operators that make sense for `scalar`."""
    specs = [*_EQUALITY, *_SETS, *(_ORDER if ordered else ()), *(_TEXT if text else ())]
    namespace: dict[str, Any] = {}
    annotations: dict[str, Any] = {}
    for python_name, graphql_name, is_list in specs:
        annotation = list[scalar] | None if is_list else scalar | None
        annotations[python_name] = annotation
        namespace[python_name] = StrawberryField(
            python_name=python_name, graphql_name=graphql_name, default=strawberry.UNSET
        )
    annotations["is_null"] = bool | None
    namespace["is_null"] = StrawberryField(
        python_name="is_null", graphql_name="isNull", default=strawberry.UNSET
    )
    namespace["__annotations__"] = annotations
    cls = types.new_class(name, (), {}, lambda ns: ns.update(namespace))
    return strawberry.input(cls, name=name)


StringFilter = _filter("StringFilter", str, ordered=True, text=True)
IntFilter = _filter("IntFilter", int, ordered=True)
LongFilter = _filter("LongFilter", Long, ordered=True)
FloatFilter = _filter("FloatFilter", float, ordered=True)
DecimalFilter = _filter("DecimalFilter", Decimal, ordered=True)
DateFilter = _filter("DateFilter", Date, ordered=True)
DateTimeFilter = _filter("DateTimeFilter", DateTime, ordered=True)
TimeFilter = _filter("TimeFilter", Time, ordered=True)
BooleanFilter = _filter("BooleanFilter", bool, ordered=False)


@strawberry.input(description="For values that only compare by presence.")
class PresenceFilter:
    is_null: bool | None = strawberry.UNSET
