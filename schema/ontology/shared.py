"""graphql-core types every generated schema shares: meta, paging, money, filters,
sort order, history. Module-level singletons: a type may sit in many schemas.
The one type with resolvers of its own, `Meta`, is built once per resolver bundle."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
)

from schema.ontology.borrowed import borrowed
from schema.ontology.wiring import Resolvers

Resolver = Callable[..., Any]


def non_null(kind: Any) -> Any:
    return GraphQLNonNull(kind)


def list_of(kind: Any) -> Any:
    """`[kind!]!`: lists never hold nulls here."""
    return GraphQLNonNull(GraphQLList(GraphQLNonNull(kind)))


def attribute(name: str) -> Resolver:
    """Reads a snake_case attribute (GraphQL names are camelCase)."""

    def resolve(source: Any, _info: Any) -> Any:
        return getattr(source, name)

    return resolve


def field(
    kind: GraphQLOutputType,
    python_name: str | None = None,
    *,
    description: str | None = None,
    resolve: Resolver | None = None,
    args: dict[str, GraphQLArgument] | None = None,
    deprecation_reason: str | None = None,
) -> GraphQLField:
    """A field reading `python_name` (or resolved by `resolve`)."""
    return GraphQLField(
        kind,
        args=args,
        resolve=resolve or (attribute(python_name) if python_name else None),
        description=description,
        deprecation_reason=deprecation_reason,
    )


def argument(
    kind: GraphQLInputType,
    python_name: str,
    *,
    default: Any = None,
    has_default: bool = False,
    description: str | None = None,
) -> GraphQLArgument:
    if has_default:
        return GraphQLArgument(
            kind,
            default_value=default,
            out_name=python_name,
            description=description,
        )
    return GraphQLArgument(kind, out_name=python_name, description=description)


def input_field(kind: GraphQLInputType, python_name: str) -> GraphQLInputField:
    return GraphQLInputField(kind, out_name=python_name)


def _enum(name: str, values: Iterable[str], description: str) -> GraphQLEnumType:
    return GraphQLEnumType(
        name, {v: GraphQLEnumValue(v) for v in values}, description=description
    )


DataStatus = _enum(
    "DataStatus", ("FULL", "PARTIAL", "MISSING"), "How complete the returned object is."
)
SortDirection = _enum("SortDirection", ("ASC", "DESC"), "Sort order of one key.")

IndexStatus = GraphQLObjectType(
    "IndexStatus",
    lambda: {
        "eventSequence": field(GraphQLInt, "event_sequence"),
        "lastIndexedAt": field(borrowed().date_time, "last_indexed_at"),
        "indexAgeSeconds": field(GraphQLFloat, "index_age_seconds"),
    },
)

PageInfo = GraphQLObjectType(
    "PageInfo",
    lambda: {
        "hasNextPage": field(non_null(GraphQLBoolean), "has_next_page"),
        "hasPreviousPage": field(non_null(GraphQLBoolean), "has_previous_page"),
        "startCursor": field(GraphQLString, "start_cursor"),
        "endCursor": field(GraphQLString, "end_cursor"),
    },
)


def _key(name: str) -> Resolver:
    def resolve(source: Any, _info: Any) -> Any:
        return source.get(name) if isinstance(source, dict) else getattr(source, name)

    return resolve


Money = GraphQLObjectType(
    "Money",
    lambda: {
        "amount": field(non_null(borrowed().decimal), resolve=_key("amount")),
        "currency": field(non_null(GraphQLString), resolve=_key("currency")),
    },
)
MoneyInput = GraphQLInputObjectType(
    "MoneyInput",
    lambda: {
        "amount": GraphQLInputField(non_null(borrowed().decimal)),
        "currency": GraphQLInputField(non_null(GraphQLString)),
    },
)
GeoPoint = GraphQLObjectType(
    "GeoPoint",
    {
        "lat": field(non_null(GraphQLFloat), resolve=_key("lat")),
        "lon": field(non_null(GraphQLFloat), resolve=_key("lon")),
    },
)
GeoPointInput = GraphQLInputObjectType(
    "GeoPointInput",
    {
        "lat": GraphQLInputField(non_null(GraphQLFloat)),
        "lon": GraphQLInputField(non_null(GraphQLFloat)),
    },
)

SchemaInfo = GraphQLObjectType(
    "SchemaInfo",
    {
        "db": field(non_null(GraphQLString), "db"),
        "branch": field(non_null(GraphQLString), "branch"),
        "version": field(
            non_null(GraphQLInt),
            "version",
            description="The ontology version it was built from.",
        ),
        "warnings": field(
            list_of(GraphQLString), "warnings", description="Names renamed or omitted."
        ),
    },
)

HistoryEvent = GraphQLObjectType(
    "HistoryEvent",
    lambda: {
        "seq": field(non_null(GraphQLInt), "seq"),
        "type": field(non_null(GraphQLString), "type"),
        "actor": field(non_null(GraphQLString), "actor"),
        "commandId": field(non_null(GraphQLID), "command_id"),
        "at": field(non_null(borrowed().date_time), "at"),
        "position": field(non_null(GraphQLInt), "position"),
        "branch": field(non_null(GraphQLString), "branch"),
    },
    description="One event of an object's stream.",
)

DiffStatus = _enum(
    "DiffStatus",
    ("SAME", "CHANGED", "ADDED", "REMOVED"),
    "The object here against the other side: ADDED exists only here.",
)

FieldChange = GraphQLObjectType(
    "FieldChange",
    lambda: {
        "field": field(non_null(GraphQLString), "field"),
        "before": field(borrowed().json, "before", description="On the other side."),
        "after": field(borrowed().json, "after", description="Here."),
    },
)

ObjectDiff = GraphQLObjectType(
    "ObjectDiff",
    lambda: {
        "status": field(non_null(DiffStatus), "status"),
        "otherBranch": field(non_null(GraphQLString), "other_branch"),
        "otherSeq": field(GraphQLInt, "other_seq"),
        "changes": field(list_of(FieldChange), "changes"),
    },
    description="Field-level differences of one object between two reads.",
)


@cache
def meta_type(resolvers: Resolvers) -> GraphQLObjectType:
    """The `_meta` type of every object. Cached per bundle like a module-level
    singleton: graphql-core wants one object per type name within a schema, and
    the schemas built with one bundle share it."""
    return GraphQLObjectType(
        "Meta",
        lambda: {
            "seq": field(non_null(GraphQLInt), "seq"),
            "branch": field(non_null(GraphQLString), "branch"),
            "createdAt": field(borrowed().date_time, "created_at"),
            "updatedAt": field(borrowed().date_time, "updated_at"),
            "dataStatus": field(non_null(DataStatus), resolve=resolvers.data_status),
            "indexStatus": field(IndexStatus, resolve=resolvers.index_status),
        },
        description="Where an object's data stands in the projections.",
    )


# --- filters ---------------------------------------------------------------------

_EQUALITY = (("eq", "eq", False), ("ne", "ne", False))
_SETS = (("in_", "in", True), ("nin", "nin", True))
_ORDER = (("gt", "gt", False), ("gte", "gte", False), ("lt", "lt", False),
          ("lte", "lte", False))  # fmt: skip
_TEXT = (("contains", "contains", False), ("starts_with", "startsWith", False),
         ("ends_with", "endsWith", False), ("regex", "regex", False))  # fmt: skip


def _filter(
    name: str, scalar: Callable[[], GraphQLScalarType], *, ordered: bool, text: bool
) -> GraphQLInputObjectType:
    """An input of the shared operators that make sense for the scalar."""
    specs = [*_EQUALITY, *_SETS, *(_ORDER if ordered else ()), *(_TEXT if text else ())]

    def fields() -> dict[str, GraphQLInputField]:
        kind = scalar()
        found = {
            graphql: input_field(
                GraphQLList(GraphQLNonNull(kind)) if many else kind, python
            )
            for python, graphql, many in specs
        }
        found["isNull"] = input_field(GraphQLBoolean, "is_null")
        return found

    return GraphQLInputObjectType(name, fields)


StringFilter = _filter("StringFilter", lambda: GraphQLString, ordered=True, text=True)
IntFilter = _filter("IntFilter", lambda: GraphQLInt, ordered=True, text=False)
LongFilter = _filter("LongFilter", lambda: borrowed().long, ordered=True, text=False)
FloatFilter = _filter("FloatFilter", lambda: GraphQLFloat, ordered=True, text=False)
DecimalFilter = _filter(
    "DecimalFilter", lambda: borrowed().decimal, ordered=True, text=False
)
DateFilter = _filter("DateFilter", lambda: borrowed().date, ordered=True, text=False)
DateTimeFilter = _filter(
    "DateTimeFilter", lambda: borrowed().date_time, ordered=True, text=False
)
TimeFilter = _filter("TimeFilter", lambda: borrowed().time, ordered=True, text=False)
BooleanFilter = _filter(
    "BooleanFilter", lambda: GraphQLBoolean, ordered=False, text=False
)
PresenceFilter = GraphQLInputObjectType(
    "PresenceFilter",
    {"isNull": input_field(GraphQLBoolean, "is_null")},
    description="For values that only compare by presence.",
)


@cache
def scalar_of(name: str) -> GraphQLScalarType:
    """A shared custom scalar by name (Decimal, Long, DateTime, Date, Time, JSON)."""
    b = borrowed()
    scalars = {
        "Decimal": b.decimal,
        "Long": b.long,
        "DateTime": b.date_time,
        "Date": b.date,
        "Time": b.time,
        "JSON": b.json,
    }
    return scalars[name]
