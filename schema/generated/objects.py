"""Generated output types: one object, connection and edge type per class."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import strawberry

from resolvers.instances import history, meta, reads
from schema.generated import dynamic
from schema.generated.dynamic import Arg, Member
from schema.generated.fieldtypes import output_type
from schema.generated.plan import ClassPlan, LinkField
from schema.generated.shared import DataStatus, HistoryEvent, IndexStatus, PageInfo
from schema.scalars import DateTime


@strawberry.type(description="Where an object's data stands in the projections.")
class Meta:
    seq: int
    branch: str
    created_at: DateTime | None
    updated_at: DateTime | None
    data_status: DataStatus = strawberry.field(resolver=meta.data_status)
    index_status: IndexStatus | None = strawberry.field(resolver=meta.index_status)


@dataclass(slots=True)
class ClassTypes:
    """The run-time classes generated for one ontology class (blank until finished)."""

    object: type
    connection: type
    edge: type
    where: type
    order_by: type
    input: type
    patch: type
    relation_filter: type
    aggregate: type


def blanks(plan: ClassPlan) -> ClassTypes:
    n = plan.names
    return ClassTypes(
        object=dynamic.blank(n.object),
        connection=dynamic.blank(n.connection),
        edge=dynamic.blank(n.edge),
        where=dynamic.blank(n.where),
        order_by=dynamic.blank(n.order_by),
        input=dynamic.blank(n.input),
        patch=dynamic.blank(n.patch),
        relation_filter=dynamic.blank(n.relation_filter),
        aggregate=dynamic.blank(n.aggregate),
    )


def _itself(root: Any, _info: Any) -> Any:
    return root


def list_args(types: ClassTypes) -> list[Arg]:
    return [
        Arg("where", dynamic.optional(types.where)),
        Arg("order_by", dynamic.optional(dynamic.list_of(types.order_by))),
        Arg("first", int | None),
        Arg("after", str | None),
    ]


def finish_objects(
    plan: ClassPlan, types: ClassTypes, all_types: dict[str, ClassTypes]
) -> None:
    members = [dynamic.plain("id", "id", strawberry.ID)]
    members += [
        dynamic.plain(
            p.python_name,
            p.graphql_name,
            output_type(p.prop, required=p.is_key),
            description=p.prop.label.default if p.prop.label else None,
        )
        for p in plan.properties
    ]
    members += [_link(link, all_types[link.target.class_id]) for link in plan.links]
    members.append(dynamic.resolved("meta", "_meta", Meta, _itself))
    members.append(
        dynamic.resolved(
            "history",
            "_history",
            dynamic.list_of(HistoryEvent),
            partial(history.events, plan),
            description="The events of the object's stream, oldest first.",
        )
    )
    description = (
        plan.classdef.description.default if plan.classdef.description else None
    )
    dynamic.finish(
        types.object, members, name=plan.names.object, description=description
    )
    _finish_connection(plan, types)


def _link(link: LinkField, target: ClassTypes) -> Member:
    if link.many:
        return dynamic.resolved(
            link.python_name,
            link.graphql_name,
            target.connection,
            partial(reads.to_many, link),
            list_args(target),
        )
    return dynamic.resolved(
        link.python_name,
        link.graphql_name,
        dynamic.optional(target.object),
        partial(reads.to_one, link),
    )


def _finish_connection(plan: ClassPlan, types: ClassTypes) -> None:
    dynamic.finish(
        types.edge,
        [
            dynamic.plain("cursor", "cursor", str),
            dynamic.plain("node", "node", types.object),
        ],
        name=plan.names.edge,
    )
    dynamic.finish(
        types.connection,
        [
            dynamic.plain("edges", "edges", dynamic.list_of(types.edge)),
            dynamic.plain("nodes", "nodes", dynamic.list_of(types.object)),
            dynamic.plain("page_info", "pageInfo", PageInfo),
            dynamic.plain("total_count", "totalCount", int),
        ],
        name=plan.names.connection,
    )
