"""Root query fields per class: `product(id)`, `products(...)`, `productsAggregate`."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLArgument, GraphQLField, GraphQLID, GraphQLInt

from resolvers.instances import aggregates, reads
from schema.ontology.objects import Built, ClassTypes, list_args
from schema.ontology.plan import ClassPlan, SchemaPlan
from schema.ontology.shared import non_null


def query_fields(plan: SchemaPlan, built: Built) -> dict[str, GraphQLField]:
    fields: dict[str, GraphQLField] = {}
    for class_plan in plan.classes:
        fields.update(_class_fields(class_plan, built[class_plan.class_id]))
    return fields


def _as_of() -> GraphQLArgument:
    return GraphQLArgument(GraphQLInt, out_name="as_of")


def _class_fields(plan: ClassPlan, types: ClassTypes) -> dict[str, GraphQLField]:
    deprecated = "the class is deprecated" if plan.classdef.deprecated else None

    async def one(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await reads.one(plan, info, **kwargs)

    async def many(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await reads.many(plan, info, **kwargs)

    async def aggregate(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await aggregates.aggregate(plan, info, **kwargs)

    return {
        plan.single: GraphQLField(
            types.read,
            args={"id": GraphQLArgument(non_null(GraphQLID)), "asOf": _as_of()},
            resolve=one,
            deprecation_reason=deprecated,
        ),
        plan.plural: GraphQLField(
            non_null(types.connection),
            args={**list_args(types), "asOf": _as_of()},
            resolve=many,
            deprecation_reason=deprecated,
        ),
        plan.aggregate: GraphQLField(
            non_null(types.aggregate),
            args={
                "where": GraphQLArgument(types.where, out_name="where"),
                "asOf": _as_of(),
            },
            resolve=aggregate,
            deprecation_reason=deprecated,
        ),
    }
