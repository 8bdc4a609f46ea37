"""Generated aggregate types: `<Type>Aggregate { count sum avg min max groupBy }`,
and `<Type>AggregateGroup { key count sum avg min max }` for its groups."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLObjectType,
)

from domain.ontology import Family, PropertyDef
from schema.ontology import shared
from schema.ontology.fieldtypes import sortable
from schema.ontology.objects import ClassTypes
from schema.ontology.plan import ClassPlan, PropertyField, numeric_properties
from schema.ontology.shared import attribute, list_of, non_null
from schema.ontology.wiring import FieldResolver

# (python attribute of Aggregation, GraphQL field)
_PARTS = (("sum", "sum"), ("avg", "avg"), ("min_", "min"), ("max_", "max"))


def _number_type(prop: PropertyDef, part: str) -> Any:
    """Sums of integers may leave 32 bits (Long); decimals stay exact (Decimal)."""
    family = prop.type.family
    if family is Family.DECIMAL:
        return shared.scalar_of("Decimal")
    if family is Family.INTEGER and part != "avg":
        return shared.scalar_of("Long")
    return GraphQLFloat


def _key(name: str) -> Any:
    def resolve(source: Any, _info: Any) -> Any:
        return source.get(name)

    return resolve


# GraphQL field -> (python attribute of the aggregate and of its groups, type)
Parts = dict[str, tuple[str, GraphQLObjectType]]


def declare_aggregate(
    plan: ClassPlan, types: ClassTypes, *, group_by: FieldResolver
) -> None:
    parts = _parts(plan)
    types.aggregate = GraphQLObjectType(
        plan.names.aggregate,
        lambda: _fields(plan, parts, group_by),
        description="Evaluated over the graph store's current nodes of the class.",
    )


def _parts(plan: ClassPlan) -> Parts:
    """The sum/avg/min/max types, one of each shared by the aggregate and its
    groups (graphql-core wants one object per type name)."""
    numbers = numeric_properties(plan)
    if not numbers:
        return {}
    parts: Parts = {}
    for (attr, name), type_name in zip(_PARTS, plan.names.aggregate_parts, strict=True):
        parts[name] = (attr, GraphQLObjectType(type_name, _part_fields(numbers, name)))
    return parts


def _part_fields(numbers: list[PropertyField], part: str) -> Any:
    def fields() -> dict[str, GraphQLField]:
        return {
            p.graphql_name: GraphQLField(
                _number_type(p.prop, part), resolve=_key(p.python_name)
            )
            for p in numbers
        }

    return fields


def _fields(
    plan: ClassPlan, parts: Parts, group_by: FieldResolver
) -> dict[str, GraphQLField]:
    fields = {"count": GraphQLField(non_null(GraphQLInt), resolve=attribute("count"))}
    fields.update(_part_field(parts))
    group = _group_by(plan, parts, group_by)
    if group is not None:
        fields["groupBy"] = group
    return fields


def _part_field(parts: Parts) -> dict[str, GraphQLField]:
    return {
        name: GraphQLField(non_null(part), resolve=attribute(attr))
        for name, (attr, part) in parts.items()
    }


def _group_by(
    plan: ClassPlan, parts: Parts, resolve: FieldResolver
) -> GraphQLField | None:
    """Groups by properties and by relationships (each linked id a group; an
    inverse relationship is grouped on from the other class)."""
    values = {
        p.graphql_name: GraphQLEnumValue(p.python_name)
        for p in plan.properties
        if sortable(p.prop)
    }
    for link in plan.links:
        if not link.inverse:
            values[link.graphql_name] = GraphQLEnumValue(link.python_name)
    if not values:
        return None
    # The enum's values are the fields' python names.
    enum = GraphQLEnumType(plan.names.group_field, values)
    return GraphQLField(
        list_of(_group_type(plan, parts)),
        args={"fields": GraphQLArgument(list_of(enum), out_name="fields")},
        resolve=resolve,
    )


def _group_type(plan: ClassPlan, parts: Parts) -> GraphQLObjectType:
    def fields() -> dict[str, GraphQLField]:
        return {
            "key": GraphQLField(
                non_null(shared.scalar_of("JSON")),
                resolve=attribute("key"),
                description="Grouped field name -> value (a relationship: the "
                "linked id).",
            ),
            "count": GraphQLField(non_null(GraphQLInt), resolve=attribute("count")),
            **_part_field(parts),
        }

    return GraphQLObjectType(
        plan.names.aggregate_group,
        fields,
        description="One group of `groupBy`: the grouped values, a count, and "
        "the sums, averages, least and greatest values of its objects.",
    )
