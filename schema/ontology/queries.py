"""Root query fields per class: `product(id)`, `products(...)`, `productsAggregate`."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLArgument, GraphQLField, GraphQLID, GraphQLInt

from schema.ontology.objects import Built, ClassTypes, list_args
from schema.ontology.plan import ClassPlan, SchemaPlan
from schema.ontology.shared import non_null, scalar_of
from schema.ontology.wiring import Resolvers


def query_fields(
    plan: SchemaPlan, built: Built, resolvers: Resolvers
) -> dict[str, GraphQLField]:
    fields: dict[str, GraphQLField] = {}
    for class_plan in plan.classes:
        types = built[class_plan.class_id]
        fields.update(_class_fields(class_plan, types, resolvers))
    return fields


def _as_of() -> dict[str, GraphQLArgument]:
    """`asOf` (a position) or `asOfTime` (the last position committed by then)."""
    return {
        "asOf": GraphQLArgument(GraphQLInt, out_name="as_of"),
        # The last commit at or before the instant; not together with asOf.
        "asOfTime": GraphQLArgument(scalar_of("DateTime"), out_name="as_of_time"),
    }


def _class_fields(
    plan: ClassPlan, types: ClassTypes, resolvers: Resolvers
) -> dict[str, GraphQLField]:
    deprecated = "the class is deprecated" if plan.classdef.deprecated else None

    async def one(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await resolvers.one(plan, info, **kwargs)

    async def many(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await resolvers.many(plan, info, **kwargs)

    async def aggregate(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await resolvers.aggregate(plan, info, **kwargs)

    return {
        plan.single: GraphQLField(
            types.read,
            args={"id": GraphQLArgument(non_null(GraphQLID)), **_as_of()},
            resolve=one,
            deprecation_reason=deprecated,
        ),
        plan.plural: GraphQLField(
            non_null(types.connection),
            args={**list_args(types), **_as_of()},
            resolve=many,
            deprecation_reason=deprecated,
        ),
        plan.aggregate: GraphQLField(
            non_null(types.aggregate),
            args={
                "where": GraphQLArgument(types.where, out_name="where"),
                **_as_of(),
            },
            resolve=aggregate,
            deprecation_reason=deprecated,
        ),
    }
