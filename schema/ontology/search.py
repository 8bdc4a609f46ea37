"""The generated `search` root field: a union of every concrete class's type."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    GraphQLUnionType,
)

from schema.ontology import shared
from schema.ontology.objects import Built
from schema.ontology.plan import SchemaPlan, plans_by_name
from schema.ontology.shared import attribute, list_of, non_null
from schema.ontology.wiring import SearchResolver


def search_field(
    plan: SchemaPlan, built: Built, resolve_type: Any, *, search: SearchResolver
) -> GraphQLField | None:
    """None when no class can have instances (a union needs a member)."""
    objects = [built[p.class_id].object for p in plan.classes if p.concrete]
    if not objects:
        return None
    union = GraphQLUnionType(
        "SearchResult",
        lambda: objects,  # type: ignore[arg-type, return-value]
        resolve_type=resolve_type,
        description="An object of any class.",
    )
    edge = GraphQLObjectType(
        "SearchEdge",
        {
            "cursor": GraphQLField(
                non_null(GraphQLString), resolve=attribute("cursor")
            ),
            "node": GraphQLField(non_null(union), resolve=attribute("node")),
        },
    )
    connection = GraphQLObjectType(
        "SearchConnection",
        {
            "edges": GraphQLField(list_of(edge), resolve=attribute("edges")),
            "nodes": GraphQLField(list_of(union), resolve=attribute("nodes")),
            "pageInfo": GraphQLField(
                non_null(shared.PageInfo), resolve=attribute("page_info")
            ),
            "totalCount": GraphQLField(
                non_null(GraphQLInt), resolve=attribute("total_count")
            ),
        },
        description="Hits best first; totalCount counts this page.",
    )
    plans = plans_by_name(plan.classes)

    async def resolve(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await search(info, plans=plans, **kwargs)

    return GraphQLField(
        non_null(connection),
        args={
            "query": GraphQLArgument(non_null(GraphQLString), out_name="query"),
            "classes": GraphQLArgument(
                GraphQLList(GraphQLNonNull(GraphQLString)), out_name="classes"
            ),
            "first": GraphQLArgument(GraphQLInt, out_name="first"),
        },
        resolve=resolve,
        description="Full text across classes (ids or type names; subclasses too).",
    )
