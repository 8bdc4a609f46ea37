"""Root mutation fields per class: create, update, delete, bulk create and upsert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
)

from schema.ontology.borrowed import borrowed
from schema.ontology.objects import Built, ClassTypes
from schema.ontology.plan import ClassPlan, SchemaPlan
from schema.ontology.shared import list_of, non_null
from schema.ontology.wiring import Resolvers


def mutation_fields(
    plan: SchemaPlan, built: Built, resolvers: Resolvers
) -> dict[str, GraphQLField]:
    fields: dict[str, GraphQLField] = {}
    for class_plan in plan.classes:
        if not class_plan.classdef.deprecated:
            types = built[class_plan.class_id]
            fields.update(_class_fields(class_plan, types, resolvers))
    return fields


def _options(*, validate: bool = True) -> dict[str, GraphQLArgument]:
    args = {"commandId": GraphQLArgument(GraphQLID, out_name="command_id")}
    if validate:
        args["validateOnly"] = GraphQLArgument(
            GraphQLBoolean, default_value=False, out_name="validate_only"
        )
    args["wait"] = GraphQLArgument(borrowed().command_stage, out_name="wait")
    return args


def _bound(plan: ClassPlan, action: Callable[..., Any]) -> Callable[..., Any]:
    async def run(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await action(plan, info, **kwargs)

    return run


def _field(
    plan: ClassPlan, action: Callable[..., Any], args: dict[str, GraphQLArgument]
) -> GraphQLField:
    return GraphQLField(
        non_null(borrowed().command_result), args=args, resolve=_bound(plan, action)
    )


def _class_fields(
    plan: ClassPlan, types: ClassTypes, writes: Resolvers
) -> dict[str, GraphQLField]:
    names = plan.mutations
    the_id = GraphQLArgument(non_null(GraphQLID), out_name="id")
    expected = GraphQLArgument(non_null(GraphQLInt), out_name="expected_seq")
    update = _field(
        plan,
        writes.update,
        {
            "id": the_id,
            "patch": GraphQLArgument(non_null(types.patch), out_name="patch"),
            "expectedSeq": expected,
            **_options(),
        },
    )
    delete = _field(
        plan,
        writes.delete,
        {"id": the_id, "expectedSeq": expected, **_options(validate=False)},
    )
    if plan.classdef.abstract:
        return {names["update"]: update, names["delete"]: delete}
    bulk = {
        "inputs": GraphQLArgument(list_of(types.input), out_name="inputs"),
        **_options(validate=False),
    }
    create = _field(
        plan,
        writes.create,
        {
            "input": GraphQLArgument(non_null(types.input), out_name="input"),
            **_options(),
        },
    )
    return {
        names["create"]: create,
        names["update"]: update,
        names["delete"]: delete,
        names["createMany"]: _field(plan, writes.create_many, bulk),
        names["upsertMany"]: _field(plan, writes.upsert_many, bulk),
    }
