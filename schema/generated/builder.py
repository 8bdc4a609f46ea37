"""Assembles the generated schema of one ontology version."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import strawberry

from domain.ontology import Ontology
from resolvers import subscriptions
from resolvers.context import Context, Limits
from resolvers.instances import aggregates, reads, writes
from resolvers.instances.rows import field_value
from schema import extensions
from schema.generated import dynamic
from schema.generated.aggregates import finish_aggregate
from schema.generated.dynamic import Arg, Member
from schema.generated.inputs import finish_inputs
from schema.generated.objects import ClassTypes, blanks, finish_objects, list_args
from schema.generated.plan import ClassPlan, SchemaPlan, plan_schema
from schema.generated.search import search_field
from schema.generated.shared import SchemaInfo
from schema.results import CommandResult, CommandStage
from schema.types import CommandStatusEvent

Info = strawberry.Info[Context, None]


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def command_status(
        self, info: Info, command_id: strawberry.ID
    ) -> AsyncGenerator[CommandStatusEvent, None]:
        async for event in subscriptions.command_status(info, command_id):
            yield event


@dataclass(frozen=True, slots=True)
class GeneratedSchema:
    schema: strawberry.Schema
    plan: SchemaPlan
    version: int


def build_generated_schema(
    ontology: Ontology,
    *,
    db: str,
    branch: str,
    version: int,
    dev_mode: bool = False,
    limits: Limits | None = None,
) -> GeneratedSchema:
    limits = limits or Limits()
    plan = plan_schema(ontology)
    built = {p.class_id: blanks(p) for p in plan.classes}
    for class_plan in plan.classes:
        finish_objects(class_plan, built[class_plan.class_id], built)
        finish_inputs(class_plan, built[class_plan.class_id], built)
        finish_aggregate(class_plan, built[class_plan.class_id])
    info = SchemaInfo(
        db=db, branch=branch, version=version, warnings=list(plan.warnings)
    )
    query = _query(plan, built, info)
    mutation = _mutation(plan, built)
    schema = strawberry.Schema(
        query=query,
        mutation=mutation,
        subscription=Subscription,
        config=extensions.config(limits, default_resolver=field_value),
        extensions=extensions.extensions(dev_mode=dev_mode, limits=limits),
    )
    return GeneratedSchema(schema, plan, version)


def _query(plan: SchemaPlan, built: dict[str, ClassTypes], info: SchemaInfo) -> type:
    def schema_info(_root: Any, _info: Any) -> SchemaInfo:
        return info

    members = [dynamic.resolved("schema_info", "_schema", SchemaInfo, schema_info)]
    for class_plan in plan.classes:
        members += _query_fields(class_plan, built[class_plan.class_id])
    search = search_field(plan, built)
    if search is not None:
        members.append(search)
    return dynamic.finish(dynamic.blank("Query"), members, name="Query")


def _query_fields(plan: ClassPlan, types: ClassTypes) -> list[Member]:
    deprecated = "the class is deprecated" if plan.classdef.deprecated else None

    async def one(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await reads.one(plan, info, **kwargs)

    async def many(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await reads.many(plan, info, **kwargs)

    async def aggregate(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await aggregates.aggregate(plan, info, **kwargs)

    return [
        dynamic.resolved(
            f"one_{plan.class_id}",
            plan.single,
            dynamic.optional(types.object),
            one,
            [Arg("id", strawberry.ID), Arg("as_of", int | None)],
            deprecation_reason=deprecated,
        ),
        dynamic.resolved(
            f"many_{plan.class_id}",
            plan.plural,
            types.connection,
            many,
            [*list_args(types), Arg("as_of", int | None)],
            deprecation_reason=deprecated,
        ),
        dynamic.resolved(
            f"aggregate_{plan.class_id}",
            plan.aggregate,
            types.aggregate,
            aggregate,
            [Arg("where", dynamic.optional(types.where)), Arg("as_of", int | None)],
            deprecation_reason=deprecated,
        ),
    ]


def _mutation(plan: SchemaPlan, built: dict[str, ClassTypes]) -> type | None:
    members: list[Member] = []
    for class_plan in plan.classes:
        if not class_plan.classdef.deprecated:
            members += _mutation_fields(class_plan, built[class_plan.class_id])
    if not members:
        return None
    return dynamic.finish(dynamic.blank("Mutation"), members, name="Mutation")


def _options(*, validate: bool = True) -> list[Arg]:
    args = [Arg("command_id", strawberry.ID | None)]
    if validate:
        args.append(Arg("validate_only", bool | None, False))
    return [*args, Arg("wait", CommandStage | None)]


def _mutation_fields(plan: ClassPlan, types: ClassTypes) -> list[Member]:
    def bound(action: Any) -> Any:
        async def run(_root: Any, info: Any, **kwargs: Any) -> Any:
            return await action(plan, info, **kwargs)

        return run

    names, cid = plan.mutations, plan.class_id
    fields = [
        dynamic.resolved(
            f"update_{cid}",
            names["update"],
            CommandResult,
            bound(writes.update),
            [
                Arg("id", strawberry.ID),
                Arg("patch", types.patch),
                Arg("expected_seq", int),
                *_options(),
            ],
        ),
        dynamic.resolved(
            f"delete_{cid}",
            names["delete"],
            CommandResult,
            bound(writes.delete),
            [
                Arg("id", strawberry.ID),
                Arg("expected_seq", int),
                *_options(validate=False),
            ],
        ),
    ]
    if plan.classdef.abstract:
        return fields
    bulk = [Arg("inputs", dynamic.list_of(types.input)), *_options(validate=False)]
    return [
        dynamic.resolved(
            f"create_{cid}",
            names["create"],
            CommandResult,
            bound(writes.create),
            [Arg("input", types.input), *_options()],
        ),
        *fields,
        dynamic.resolved(
            f"create_many_{cid}",
            names["createMany"],
            CommandResult,
            bound(writes.create_many),
            bulk,
        ),
        dynamic.resolved(
            f"upsert_many_{cid}",
            names["upsertMany"],
            CommandResult,
            bound(writes.upsert_many),
            bulk,
        ),
    ]
