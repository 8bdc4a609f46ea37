"""Subscriptions of a generated schema: `commandStatus` and `<class>Changed(where)`."""

from __future__ import annotations

from functools import partial
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLString,
)

from schema.ontology.borrowed import borrowed
from schema.ontology.objects import Built, ClassTypes
from schema.ontology.plan import ClassPlan, SchemaPlan
from schema.ontology.shared import attribute, non_null
from schema.ontology.wiring import Resolvers

CHANGE_KINDS = ("CREATED", "UPDATED", "DELETED")
ChangeKind = GraphQLEnumType(
    "ChangeKind",
    {k: GraphQLEnumValue(k) for k in CHANGE_KINDS},
    description="What happened to an object.",
)


def declare_change(plan: ClassPlan, types: ClassTypes) -> None:
    types.change = GraphQLObjectType(
        plan.names.change,
        lambda: {
            "kind": GraphQLField(non_null(ChangeKind), resolve=attribute("kind")),
            "id": GraphQLField(non_null(GraphQLID), resolve=attribute("id")),
            "classId": GraphQLField(
                non_null(GraphQLString), resolve=attribute("class_id")
            ),
            "seq": GraphQLField(non_null(GraphQLInt), resolve=attribute("seq")),
            "position": GraphQLField(
                non_null(GraphQLInt), resolve=attribute("position")
            ),
            "at": GraphQLField(non_null(borrowed().date_time), resolve=attribute("at")),
            "actor": GraphQLField(non_null(GraphQLString), resolve=attribute("actor")),
            "commandId": GraphQLField(
                non_null(GraphQLID), resolve=attribute("command_id")
            ),
            "node": GraphQLField(
                types.read,
                resolve=attribute("node"),
                description="The object after the change; null after a delete.",
            ),
        },
        description="One change of an object, pushed once the graph shows it.",
    )


def _identity(event: Any, info: Any, **_kwargs: Any) -> Any:
    # Each event is executed like a request of its own: fresh loaders, so
    # nested fields read the store as it is now, not as an earlier event saw it.
    info.context.loaders.clear()
    return event


def subscription_fields(
    plan: SchemaPlan, built: Built, resolvers: Resolvers
) -> dict[str, GraphQLField]:
    async def command_status(_root: Any, info: Any, *, command_id: Any) -> Any:
        async for event in resolvers.command_status(info, command_id):
            yield event

    fields = {
        "commandStatus": GraphQLField(
            non_null(borrowed().command_status_event),
            args={
                "commandId": GraphQLArgument(non_null(GraphQLID), out_name="command_id")
            },
            subscribe=command_status,
            resolve=_identity,
        )
    }
    for class_plan in plan.classes:
        types = built[class_plan.class_id]
        fields[class_plan.changed] = GraphQLField(
            non_null(types.change),
            args={"where": GraphQLArgument(types.where, out_name="where")},
            subscribe=partial(_changed, resolvers, class_plan),
            resolve=_identity,
            description="Created, updated and deleted objects of the class "
            "(subclasses too), on this branch.",
        )
    return fields


async def _changed(
    resolvers: Resolvers, plan: ClassPlan, _root: Any, info: Any, **kwargs: Any
) -> Any:
    async for change in resolvers.changed(plan, info, **kwargs):
        yield change
