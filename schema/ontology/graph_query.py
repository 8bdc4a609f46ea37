"""`graphQuery(input)`: the reference's multi-hop graph query, typed.

Starts from a class (by ids or a `where` given as JSON), follows relationship hops
(forward predicates or declared inverses), and returns nodes, edges and optionally
paths, each node with its dataStatus, within node and edge limits (warnings say
when a limit cut the result short).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from schema.ontology import shared
from schema.ontology.plan import SchemaPlan, plans_by_name
from schema.ontology.shared import attribute, input_field, list_of, non_null
from schema.ontology.wiring import GraphResolver


def _json() -> Any:
    return shared.scalar_of("JSON")


GraphHopInput = GraphQLInputObjectType(
    "GraphHopInput",
    {
        "predicate": GraphQLInputField(
            non_null(GraphQLString),
            description="A relationship predicate of the current class, or the "
            "predicate of an inverse declared on it (ontology or GraphQL name).",
        ),
        "targetClass": input_field(GraphQLString, "target_class"),
    },
    description="One hop: which relationship to follow, optionally to which class.",
)

GraphQueryInput = GraphQLInputObjectType(
    "GraphQueryInput",
    lambda: {
        "startClass": input_field(non_null(GraphQLString), "start_class"),
        "hops": GraphQLInputField(
            GraphQLList(GraphQLNonNull(GraphHopInput)), default_value=[]
        ),
        "ids": GraphQLInputField(GraphQLList(GraphQLNonNull(GraphQLID))),
        "where": GraphQLInputField(
            _json(),
            description='Conditions on the start nodes: {"name": "Ada"} or '
            '{"price": {"gt": "5"}}, with the shared filter operators.',
        ),
        "first": GraphQLInputField(GraphQLInt),
        "offset": GraphQLInputField(GraphQLInt, default_value=0),
        "maxNodes": input_field(GraphQLInt, "max_nodes"),
        "maxEdges": input_field(GraphQLInt, "max_edges"),
        "noCycles": GraphQLInputField(
            GraphQLBoolean, default_value=True, out_name="no_cycles"
        ),
        "includeDocuments": GraphQLInputField(
            GraphQLBoolean, default_value=False, out_name="include_documents"
        ),
        "includePaths": GraphQLInputField(
            GraphQLBoolean, default_value=False, out_name="include_paths"
        ),
        "asOf": input_field(GraphQLInt, "as_of"),
        "asOfTime": input_field(shared.scalar_of("DateTime"), "as_of_time"),
    },
)

GraphNode = GraphQLObjectType(
    "GraphNode",
    lambda: {
        "key": GraphQLField(non_null(GraphQLID), resolve=attribute("key")),
        "id": GraphQLField(non_null(GraphQLID), resolve=attribute("id")),
        "classId": GraphQLField(non_null(GraphQLString), resolve=attribute("class_id")),
        "hop": GraphQLField(
            non_null(GraphQLInt),
            resolve=attribute("hop"),
            description="The hop it was first reached at (0: a start node).",
        ),
        "seq": GraphQLField(GraphQLInt, resolve=attribute("seq")),
        "branch": GraphQLField(GraphQLString, resolve=attribute("branch")),
        "dataStatus": GraphQLField(
            non_null(shared.DataStatus), resolve=attribute("data_status")
        ),
        "data": GraphQLField(_json(), resolve=attribute("data")),
        "links": GraphQLField(_json(), resolve=attribute("links")),
        "document": GraphQLField(
            _json(),
            resolve=attribute("document"),
            description="The search document, with includeDocuments.",
        ),
        "indexStatus": GraphQLField(
            shared.IndexStatus, resolve=attribute("index_status")
        ),
    },
)

GraphEdge = GraphQLObjectType(
    "GraphEdge",
    {
        "from": GraphQLField(non_null(GraphQLID), resolve=attribute("source")),
        "to": GraphQLField(non_null(GraphQLID), resolve=attribute("target")),
        "predicate": GraphQLField(
            non_null(GraphQLString), resolve=attribute("predicate")
        ),
        "hop": GraphQLField(non_null(GraphQLInt), resolve=attribute("hop")),
    },
)

GraphPath = GraphQLObjectType(
    "GraphPath",
    {"nodes": GraphQLField(list_of(GraphQLID), resolve=attribute("nodes"))},
    description="Node keys from a start node along the hops.",
)

GraphQueryResult = GraphQLObjectType(
    "GraphQueryResult",
    {
        "nodes": GraphQLField(list_of(GraphNode), resolve=attribute("nodes")),
        "edges": GraphQLField(list_of(GraphEdge), resolve=attribute("edges")),
        "paths": GraphQLField(list_of(GraphPath), resolve=attribute("paths")),
        "warnings": GraphQLField(list_of(GraphQLString), resolve=attribute("warnings")),
        "truncated": GraphQLField(
            non_null(GraphQLBoolean), resolve=attribute("truncated")
        ),
    },
)


def graph_query_field(plan: SchemaPlan, *, run: GraphResolver) -> GraphQLField:
    plans = plans_by_name(plan.classes)

    async def resolve(_root: Any, info: Any, *, input: Any) -> Any:
        return await run(plans, info, request=input)

    return GraphQLField(
        non_null(GraphQueryResult),
        args={"input": GraphQLArgument(non_null(GraphQueryInput))},
        resolve=resolve,
        description="Nodes and edges reached from a start class along hops.",
    )
