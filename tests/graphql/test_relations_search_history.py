"""Relationship filters (some/every/none, nested to-one), `search` and `_history`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql.client import RESULT, GraphQL
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

SHOP = "/graphql/shop"


@pytest.fixture
async def owned(shop: GraphQL) -> GraphQL:
    """c1 Ann owns p1 apple and p2 pear; c2 Bob owns p3 apple; c3 Cy owns nothing."""
    customers = [
        {"customerId": "c1", "name": "Ann"},
        {"customerId": "c2", "name": "Bob"},
        {"customerId": "c3", "name": "Cy"},
    ]
    products = [
        {"productId": "p1", "name": "apple", "ownedBy": "c1"},
        {"productId": "p2", "name": "pear", "ownedBy": "c1"},
        {"productId": "p3", "name": "apple", "ownedBy": "c2"},
    ]
    for mutation, kind, inputs in (
        ("createCustomers", "CustomerInput", customers),
        ("createProducts", "ProductInput", products),
    ):
        data = await shop.data(
            f"mutation($i: [{kind}!]!) {{ {mutation}(inputs: $i, wait: INDEXED) {{ {RESULT} }} }}",
            SHOP,
            i=inputs,
        )
        assert data[mutation]["status"] == "COMPLETED", data
    return shop


async def _ids(gql: GraphQL, plural: str, kind: str, where: Any) -> list[str]:
    query = f"query($w: {kind}Where) {{ {plural}(where: $w) {{ nodes {{ id }} }} }}"
    data = await gql.data(query, SHOP, w=where)
    return [n["id"] for n in data[plural]["nodes"]]


RELATION_CASES = [
    ("products", "Product", {"ownedBy": {"name": {"eq": "Ann"}}}, ["p1", "p2"]),
    ("products", "Product", {"not": {"ownedBy": {"name": {"eq": "Ann"}}}}, ["p3"]),
    ("customers", "Customer", {"owns": {"some": {"name": {"eq": "pear"}}}}, ["c1"]),
    ("customers", "Customer", {"owns": {"every": {"name": {"eq": "apple"}}}}, ["c2", "c3"]),
    ("customers", "Customer", {"owns": {"none": {"name": {"eq": "apple"}}}}, ["c3"]),
    (
        "customers",
        "Customer",
        {"owns": {"some": {"name": {"eq": "apple"}}, "none": {"name": {"eq": "pear"}}}},
        ["c2"],
    ),
    (
        "customers",
        "Customer",
        {"or": [{"owns": {"some": {"name": {"eq": "pear"}}}}, {"name": {"eq": "Cy"}}]},
        ["c1", "c3"],
    ),
    (
        "customers",
        "Customer",
        {"owns": {"some": {"ownedBy": {"name": {"startsWith": "B"}}}}},
        ["c2"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("plural", "kind", "where", "expected"),
    RELATION_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(RELATION_CASES)],
)
async def test_relationship_filters(
    owned: GraphQL, plural: str, kind: str, where: Any, expected: list[str]
) -> None:
    assert await _ids(owned, plural, kind, where) == expected


async def test_relationship_filters_on_nested_lists_and_aggregates(
    owned: GraphQL,
) -> None:
    data = await owned.data(
        """{ customer(id: "c1") { owns(where: {ownedBy: {name: {eq: "Ann"}}}) { totalCount } }
             productsAggregate(where: {ownedBy: {name: {eq: "Ann"}}}) { count } }""",
        SHOP,
    )
    assert data == {
        "customer": {"owns": {"totalCount": 2}},
        "productsAggregate": {"count": 2},
    }


SEARCH = """query($q: String!, $c: [String!]) { search(query: $q, classes: $c) {
  totalCount
  nodes { __typename ... on Product { id name _meta { seq dataStatus branch } }
                     ... on Customer { id name } } } }"""


async def test_search_across_classes_returns_nodes_with_meta(owned: GraphQL) -> None:
    data = await owned.data(SEARCH, SHOP, q="apple")
    nodes = sorted(data["search"]["nodes"], key=lambda n: n["id"])
    assert data["search"]["totalCount"] == 2
    assert nodes == [
        {
            "__typename": "Product",
            "id": p,
            "name": "apple",
            "_meta": {"seq": 1, "dataStatus": "FULL", "branch": "main"},
        }
        for p in ("p1", "p3")
    ]
    only = await owned.data(SEARCH, SHOP, q="Ann", c=["Customer"])
    assert only["search"]["nodes"] == [
        {"__typename": "Customer", "id": "c1", "name": "Ann"}
    ]
    none = await owned.data(SEARCH, SHOP, q="Ann", c=["Product"])
    assert none["search"]["nodes"] == []


async def test_search_rejects_unknown_classes(owned: GraphQL) -> None:
    body = await owned.post(SEARCH, SHOP, q="x", c=["Nope"])
    assert "unknown class 'Nope'" in body["errors"][0]["message"]


async def test_search_follows_the_branch_lineage(owned: GraphQL) -> None:
    await owned.data(
        f'mutation {{ createBranch(db: "shop", name: "dev", wait: APPLIED) {{ {RESULT} }} }}'
    )
    changed = await owned.data(
        f'mutation {{ updateProduct(id: "p1", patch: {{name: "banana"}}, expectedSeq: 1, wait: INDEXED) {{ {RESULT} }} }}',
        f"{SHOP}/dev",
    )
    assert changed["updateProduct"]["status"] == "COMPLETED", changed
    on_dev = await owned.data(SEARCH, f"{SHOP}/dev", q="banana")
    assert [n["id"] for n in on_dev["search"]["nodes"]] == ["p1"]
    assert on_dev["search"]["nodes"][0]["_meta"]["branch"] == "dev"
    inherited = await owned.data(SEARCH, f"{SHOP}/dev", q="pear")
    assert [n["id"] for n in inherited["search"]["nodes"]] == ["p2"]
    on_main = await owned.data(SEARCH, SHOP, q="banana")
    assert on_main["search"]["nodes"] == []


HISTORY = 'query($at: Int) { product(id: "p1", asOf: $at) { _history { seq type actor commandId at position branch } } }'


async def test_history_lists_the_stream_events(owned: GraphQL) -> None:
    updated = await owned.http.post(
        SHOP,
        json={
            "query": f'mutation {{ updateProduct(id: "p1", patch: {{name: "plum"}}, expectedSeq: 1, commandId: "cmd-up", wait: APPLIED) {{ {RESULT} }} }}'
        },
        headers=await owned.token("alice", ("shop", "EDITOR")),
    )
    assert updated.json()["data"]["updateProduct"]["seq"] == 2
    events = (await owned.data(HISTORY, SHOP))["product"]["_history"]
    assert [(e["seq"], e["type"]) for e in events] == [
        (1, "instance.created.v1"),
        (2, "instance.updated.v1"),
    ]
    assert events[1]["actor"] == "alice"
    assert events[1]["commandId"] == "cmd-up"
    assert events[0]["position"] < events[1]["position"]
    assert events[1]["at"]
    assert events[1]["branch"] == "main"
    then = await owned.data(HISTORY, SHOP, at=events[0]["position"])
    assert [e["seq"] for e in then["product"]["_history"]] == [1]
