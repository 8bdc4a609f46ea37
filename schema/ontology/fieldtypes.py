"""Property types -> graphql-core types for outputs, inputs and filters."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLString,
)

from domain.ontology import Family, PropertyDef, PropertyType
from schema.ontology import shared

_INT32 = (-(2**31), 2**31 - 1)

_SCALARS: dict[Family, Any] = {
    Family.DECIMAL: lambda: shared.scalar_of("Decimal"),
    Family.FLOAT: lambda: GraphQLFloat,
    Family.BOOLEAN: lambda: GraphQLBoolean,
    Family.DATE: lambda: shared.scalar_of("Date"),
    Family.DATETIME: lambda: shared.scalar_of("DateTime"),
    Family.TIME: lambda: shared.scalar_of("Time"),
    Family.JSON: lambda: shared.scalar_of("JSON"),
}
_OUTPUT_OBJECTS: dict[Family, Any] = {
    Family.MONEY: shared.Money,
    Family.GEOPOINT: shared.GeoPoint,
}
_INPUT_OBJECTS: dict[Family, Any] = {
    Family.MONEY: shared.MoneyInput,
    Family.GEOPOINT: shared.GeoPointInput,
}
_FILTERS: dict[Family, GraphQLInputObjectType] = {
    Family.DECIMAL: shared.DecimalFilter,
    Family.FLOAT: shared.FloatFilter,
    Family.BOOLEAN: shared.BooleanFilter,
    Family.DATE: shared.DateFilter,
    Family.DATETIME: shared.DateTimeFilter,
    Family.TIME: shared.TimeFilter,
}
_UNORDERED = frozenset(
    {Family.JSON, Family.MONEY, Family.GEOPOINT, Family.VECTOR, Family.ARRAY}
)


def fits_int32(prop: PropertyDef) -> bool:
    """Int when the constraints keep values in 32 bits, else the Long scalar."""
    low, high = prop.constraints.get("minimum"), prop.constraints.get("maximum")
    return (
        isinstance(low, int)
        and isinstance(high, int)
        and _INT32[0] <= low
        and high <= _INT32[1]
    )


def _element(ptype: PropertyType, prop: PropertyDef, objects: dict[Family, Any]) -> Any:
    family = ptype.family
    if family is Family.INTEGER:
        return GraphQLInt if fits_int32(prop) else shared.scalar_of("Long")
    if family is Family.VECTOR:
        return GraphQLList(GraphQLNonNull(GraphQLFloat))
    if family in objects:
        return objects[family]
    scalar = _SCALARS.get(family)
    return scalar() if scalar is not None else GraphQLString


def output_type(prop: PropertyDef, *, required: bool) -> Any:
    return _wrap(prop, _OUTPUT_OBJECTS, required=required)


def input_type(prop: PropertyDef, *, required: bool) -> Any:
    return _wrap(prop, _INPUT_OBJECTS, required=required)


def _wrap(prop: PropertyDef, objects: dict[Family, Any], *, required: bool) -> Any:
    ptype = prop.type
    item = _element(ptype.element, prop, objects)
    kind = GraphQLList(GraphQLNonNull(item)) if ptype.is_array else item
    return GraphQLNonNull(kind) if required else kind


def filter_type(prop: PropertyDef) -> GraphQLInputObjectType:
    family = prop.type.family
    if prop.type.is_array or family in _UNORDERED:
        return shared.PresenceFilter
    if family is Family.INTEGER:
        return shared.IntFilter if fits_int32(prop) else shared.LongFilter
    return _FILTERS.get(family, shared.StringFilter)


def sortable(prop: PropertyDef) -> bool:
    return not prop.type.is_array and prop.type.family not in _UNORDERED
