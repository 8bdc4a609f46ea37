"""Generated aggregate types: `<Type>Aggregate { count sum avg min max groupBy }`."""

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
from schema.ontology.plan import ClassPlan, numeric_properties
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


def declare_aggregate(
    plan: ClassPlan, types: ClassTypes, *, group_by: FieldResolver
) -> None:
    types.aggregate = GraphQLObjectType(
        plan.names.aggregate,
        lambda: _fields(plan, group_by),
        description="Evaluated over the graph store's current nodes of the class.",
    )


def _fields(plan: ClassPlan, group_by: FieldResolver) -> dict[str, GraphQLField]:
    fields = {"count": GraphQLField(non_null(GraphQLInt), resolve=attribute("count"))}
    numbers = numeric_properties(plan)
    if numbers:
        for (attr, name), type_name in zip(
            _PARTS, plan.names.aggregate_parts, strict=True
        ):
            part = GraphQLObjectType(
                type_name,
                {
                    p.graphql_name: GraphQLField(
                        _number_type(p.prop, name), resolve=_key(p.python_name)
                    )
                    for p in numbers
                },
            )
            fields[name] = GraphQLField(non_null(part), resolve=attribute(attr))
    group = _group_by(plan, group_by)
    if group is not None:
        fields["groupBy"] = group
    return fields


def _group_by(plan: ClassPlan, resolve: FieldResolver) -> GraphQLField | None:
    groupable = [p for p in plan.properties if sortable(p.prop)]
    if not groupable:
        return None
    # The enum's values are the properties' python names.
    enum = GraphQLEnumType(
        plan.names.group_field,
        {p.graphql_name: GraphQLEnumValue(p.python_name) for p in groupable},
    )
    return GraphQLField(
        list_of(shared.AggregateGroup),
        args={"fields": GraphQLArgument(list_of(enum), out_name="fields")},
        resolve=resolve,
    )
