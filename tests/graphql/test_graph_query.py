"""`graphQuery`: the reference's multi-hop query with nodes, edges, paths,
dataStatus per node and limit warnings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql.client import RESULT, GraphQL
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

SHOP = "/graphql/shop"
RESULT_FIELDS = (
    "nodes { key id classId hop seq dataStatus data document } "
    "edges { from to predicate hop } paths { nodes } warnings truncated"
)


@pytest.fixture
async def owned(shop: GraphQL) -> GraphQL:
    """c1 owns p1 and p2, c2 owns p3; p4 points at a customer that does not exist."""
    for mutation, kind, inputs in (
        ("createCustomers", "CustomerInput", [{"customerId": "c1", "name": "Ann"},
                                              {"customerId": "c2", "name": "Bob"}]),
        ("createProducts", "ProductInput", [{"productId": "p1", "name": "apple", "ownedBy": "c1"},
                                            {"productId": "p2", "name": "pear", "ownedBy": "c1"},
                                            {"productId": "p3", "name": "plum", "ownedBy": "c2"}]),
    ):  # fmt: skip
        data = await shop.data(
            f"mutation($i: [{kind}!]!) {{ {mutation}(inputs: $i, wait: INDEXED) {{ {RESULT} }} }}",
            SHOP,
            i=inputs,
        )
        assert data[mutation]["status"] == "COMPLETED", data
    return shop


async def _query(gql: GraphQL, **request: Any) -> dict[str, Any]:
    data = await gql.data(
        f"query($r: GraphQueryInput!) {{ graphQuery(input: $r) {{ {RESULT_FIELDS} }} }}",
        SHOP,
        r=request,
    )
    result: dict[str, Any] = data["graphQuery"]
    return result


async def test_one_hop_from_a_filtered_start(owned: GraphQL) -> None:
    result = await _query(
        owned,
        startClass="Product",
        hops=[{"predicate": "owned_by", "targetClass": "Customer"}],
        where={"productId": "p1"},
        includeDocuments=True,
        includePaths=True,
    )
    nodes = {n["key"]: n for n in result["nodes"]}
    assert set(nodes) == {"Product/p1", "Customer/c1"}
    assert nodes["Product/p1"]["hop"] == 0
    assert nodes["Customer/c1"]["hop"] == 1
    assert all(n["dataStatus"] == "FULL" for n in nodes.values())
    assert nodes["Customer/c1"]["data"]["name"] == "Ann"
    assert nodes["Customer/c1"]["document"] is not None
    assert result["edges"] == [
        {"from": "Product/p1", "to": "Customer/c1", "predicate": "owned_by", "hop": 1}
    ]
    assert result["paths"] == [{"nodes": ["Product/p1", "Customer/c1"]}]
    assert result["warnings"] == []
    assert result["truncated"] is False


async def test_inverse_hops_and_operator_filters(owned: GraphQL) -> None:
    result = await _query(
        owned,
        startClass="Customer",
        hops=[{"predicate": "owns"}],
        where={"name": {"in": ["Ann", "Bob"]}},
    )
    edges = sorted((e["from"], e["to"]) for e in result["edges"])
    assert edges == [
        ("Customer/c1", "Product/p1"),
        ("Customer/c1", "Product/p2"),
        ("Customer/c2", "Product/p3"),
    ]
    assert {e["predicate"] for e in result["edges"]} == {"owns"}


async def test_no_cycles_stops_at_known_nodes(owned: GraphQL) -> None:
    request = {
        "startClass": "Customer",
        "ids": ["c1"],
        "hops": [
            {"predicate": "owns"},
            {"predicate": "ownedBy"},
            {"predicate": "owns"},
        ],
        "includePaths": True,
    }
    acyclic = await _query(owned, **request)
    cyclic = await _query(owned, **request, noCycles=False)
    # Back at c1 after two hops: without cycles nothing goes on from there.
    assert [e["hop"] for e in acyclic["edges"]] == [1, 1, 2, 2]
    assert acyclic["paths"] == [
        {"nodes": ["Customer/c1", "Product/p1"]},
        {"nodes": ["Customer/c1", "Product/p2"]},
    ]
    assert sorted(e["hop"] for e in cyclic["edges"]) == [1, 1, 2, 2, 3, 3]
    assert len(cyclic["nodes"]) == len(acyclic["nodes"]) == 3


async def test_limits_cut_the_result_with_a_warning(owned: GraphQL) -> None:
    result = await _query(
        owned, startClass="Customer", hops=[{"predicate": "owns"}], maxNodes=3
    )
    assert len(result["nodes"]) == 3
    assert result["truncated"] is True
    assert result["warnings"] == ["maxNodes (3) reached at hop 1"]
    edges = await _query(
        owned, startClass="Customer", hops=[{"predicate": "owns"}], maxEdges=1
    )
    assert len(edges["edges"]) == 1
    assert edges["warnings"] == ["maxEdges (1) reached at hop 1"]


async def test_dangling_targets_are_missing_nodes(owned: GraphQL) -> None:
    await owned.data(
        f'mutation {{ defineClass(db: "shop", input: {{id: "Note", label: "Note", primaryKey: "note_id",'
        f' properties: [{{name: "note_id", type: "string"}}], relationships: [{{predicate: "about",'
        f' target: "Customer", cardinality: MANY_TO_ONE, danglingPolicy: ALLOW}}]}}, wait: APPLIED)'
        f" {{ {RESULT} }} }}"
    )
    await owned.data(
        f'mutation {{ createNote(input: {{noteId: "n1", about: "c9"}}, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    result = await _query(owned, startClass="Note", hops=[{"predicate": "about"}])
    missing = next(n for n in result["nodes"] if n["key"] == "Customer/c9")
    assert missing["dataStatus"] == "MISSING"
    assert missing["seq"] is None


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"startClass": "Nope"}, "startClass: unknown class 'Nope'"),
        ({"startClass": "Product", "hops": [{"predicate": "likes"}]}, "has no relationship 'likes'"),
        ({"startClass": "Product", "hops": [{"predicate": "owned_by", "targetClass": "Product"}]},
         "leads to Customer, not Product"),
        ({"startClass": "Product", "where": {"colour": "red"}}, "has no property 'colour'"),
        ({"startClass": "Product", "where": {"name": {"like": "x"}}}, "unknown operator 'like'"),
        ({"startClass": "Product", "maxNodes": 10**6}, "maxNodes must be between 0 and 10000"),
    ],
    ids=["class", "predicate", "target", "property", "operator", "cap"],
)  # fmt: skip
async def test_bad_requests_are_user_errors(
    owned: GraphQL, request_: dict[str, Any], message: str
) -> None:
    body = await owned.post(
        "query($r: GraphQueryInput!) { graphQuery(input: $r) { truncated } }",
        SHOP,
        r=request_,
    )
    assert body["data"] is None
    assert message in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
