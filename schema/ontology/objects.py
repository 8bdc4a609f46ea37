"""Generated output types: per class an object type (concrete classes), an
interface (classes with subclasses), a connection and an edge.

Types are graphql-core objects whose fields are thunks, so they may refer to each
other in cycles; every thunk runs once, when the schema is assembled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
)

from schema.batching import BATCH
from schema.ontology import shared
from schema.ontology.fieldtypes import output_type
from schema.ontology.plan import ClassPlan, LinkField
from schema.ontology.shared import attribute, list_of, non_null
from schema.ontology.wiring import Resolvers

Built = dict[str, "ClassTypes"]


@dataclass(slots=True)
class ClassTypes:
    """The graphql-core types generated for one ontology class."""

    plan: ClassPlan
    object: GraphQLObjectType | None = None  # None for an abstract class
    interface: GraphQLInterfaceType | None = None
    # Set by the declare_* functions, before any field thunk runs.
    connection: GraphQLObjectType = field(init=False)
    edge: GraphQLObjectType = field(init=False)
    where: GraphQLInputObjectType = field(init=False)
    order_by: GraphQLInputObjectType = field(init=False)
    input: GraphQLInputObjectType = field(init=False)
    patch: GraphQLInputObjectType = field(init=False)
    relation_filter: GraphQLInputObjectType = field(init=False)
    aggregate: GraphQLObjectType = field(init=False)
    change: GraphQLObjectType = field(init=False)
    _fields: dict[str, GraphQLField] | None = None

    def fields(self, built: Built, resolvers: Resolvers) -> dict[str, GraphQLField]:
        """Made once and shared by the object type and the interface."""
        if self._fields is None:
            self._fields = class_fields(self.plan, built, resolvers)
        return self._fields

    @property
    def read(self) -> GraphQLOutputType:
        """The type fields returning this class's instances have."""
        found = self.interface or self.object
        if found is None:  # a class is concrete or has subclasses (an interface)
            raise LookupError(f"class {self.plan.class_id} has no output type")
        return found


def _itself(source: Any, _info: Any) -> Any:
    return source


def _instance_id(source: Any, _info: Any) -> Any:
    return source.instance_id


def _value(name: str) -> Any:
    def resolve(source: Any, _info: Any) -> Any:
        return source.values.get(name)

    return resolve


def list_args(types: ClassTypes) -> dict[str, GraphQLArgument]:
    return {
        "where": GraphQLArgument(types.where, out_name="where"),
        "orderBy": GraphQLArgument(
            GraphQLList(GraphQLNonNull(types.order_by)),
            out_name="order_by",
        ),
        "first": GraphQLArgument(GraphQLInt, out_name="first"),
        "after": GraphQLArgument(GraphQLString, out_name="after"),
    }


def class_fields(
    plan: ClassPlan, built: Built, resolvers: Resolvers
) -> dict[str, GraphQLField]:
    """The fields of a class's object type and interface alike."""
    fields: dict[str, GraphQLField] = {
        "id": GraphQLField(non_null(GraphQLID), resolve=_instance_id)
    }
    for p in plan.properties:
        fields[p.graphql_name] = GraphQLField(
            output_type(p.prop, required=p.is_key),
            resolve=_value(p.name),
            description=p.prop.label.default if p.prop.label else None,
        )
    for link in plan.links:
        target = built[link.target.class_id]
        fields[link.graphql_name] = _link(link, target, resolvers)
    meta = shared.meta_type(resolvers)
    fields["_meta"] = GraphQLField(non_null(meta), resolve=_itself)
    fields["_history"] = GraphQLField(
        list_of(shared.HistoryEvent),
        resolve=partial(resolvers.history, plan),
        description="The events of the object's stream, oldest first.",
    )
    fields["_diff"] = GraphQLField(
        non_null(shared.ObjectDiff),
        args={
            "branch": GraphQLArgument(GraphQLString, out_name="branch"),
            "asOf": GraphQLArgument(GraphQLInt, out_name="as_of"),
            "asOfTime": GraphQLArgument(
                shared.scalar_of("DateTime"), out_name="as_of_time"
            ),
        },
        resolve=partial(resolvers.diff, plan),
        description="This object against itself on another branch (default: this "
        "one) as of a position (default: now).",
    )
    return fields


def _link(link: LinkField, target: ClassTypes, resolvers: Resolvers) -> GraphQLField:
    if link.many:
        return GraphQLField(
            non_null(target.connection),
            args=list_args(target),
            resolve=partial(resolvers.to_many, link),
        )
    return GraphQLField(
        target.read,
        resolve=partial(resolvers.to_one, link),
        extensions={BATCH: partial(resolvers.to_one_batch, link)},
    )


def declare_objects(
    plan: ClassPlan, types: ClassTypes, built: Built, resolvers: Resolvers
) -> None:
    """Creates the class's output types; their fields are filled in lazily."""
    names = plan.names
    description = (
        plan.classdef.description.default if plan.classdef.description else None
    )

    def fields() -> dict[str, GraphQLField]:
        return types.fields(built, resolvers)

    if names.interface is not None:
        types.interface = GraphQLInterfaceType(
            names.interface,
            fields,
            interfaces=lambda: [
                i for i in _ancestor_interfaces(plan, built) if compatible(fields(), i)
            ],
            description=description,
        )
    if plan.concrete:
        types.object = GraphQLObjectType(
            names.object,
            fields,
            interfaces=lambda: _interfaces_of(plan, types, built, resolvers),
            description=description,
        )
    _declare_connection(plan, types)


def _ancestor_interfaces(plan: ClassPlan, built: Built) -> list[GraphQLInterfaceType]:
    found = []
    for ancestor in plan.ancestors:
        interface = built[ancestor].interface if ancestor in built else None
        if interface is not None:
            found.append(interface)
    return found


def _interfaces_of(
    plan: ClassPlan, types: ClassTypes, built: Built, resolvers: Resolvers
) -> list[GraphQLInterfaceType]:
    """Its own interface and its ancestors', each only if the fields agree: a
    subclass that overrides an inherited property with another type cannot
    implement the parent's interface (it is then returned as the parent's type)."""
    own = [types.interface] if types.interface is not None else []
    candidates = [*own, *_ancestor_interfaces(plan, built)]
    mine = types.fields(built, resolvers)
    return [i for i in candidates if compatible(mine, i)]


def compatible(mine: dict[str, GraphQLField], interface: GraphQLInterfaceType) -> bool:
    for name, wanted in interface.fields.items():
        have = mine.get(name)
        if have is None or str(have.type) != str(wanted.type):
            return False
        if set(have.args) != set(wanted.args):
            return False
    return True


def _declare_connection(plan: ClassPlan, types: ClassTypes) -> None:
    names = plan.names
    types.edge = GraphQLObjectType(
        names.edge,
        lambda: {
            "cursor": GraphQLField(
                non_null(GraphQLString), resolve=attribute("cursor")
            ),
            "node": GraphQLField(non_null(types.read), resolve=attribute("node")),
        },
    )
    types.connection = GraphQLObjectType(
        names.connection,
        lambda: {
            "edges": GraphQLField(list_of(types.edge), resolve=attribute("edges")),
            "nodes": GraphQLField(list_of(types.read), resolve=attribute("nodes")),
            "pageInfo": GraphQLField(
                non_null(shared.PageInfo), resolve=attribute("page_info")
            ),
            "totalCount": GraphQLField(
                non_null(GraphQLInt), resolve=attribute("total_count")
            ),
        },
    )
