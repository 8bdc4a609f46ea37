"""The README's demo, end to end over HTTP: classes, instances, status, traversal,
a stale update, and a branch that leaves main unchanged."""

from __future__ import annotations

from typing import Any

from tests.graphql.client import RESULT, GraphQL, eventually
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

SHOP = "/graphql/shop"


async def _command(gql: GraphQL, command_id: str) -> dict[str, Any]:
    data = await gql.data(
        "query($id: ID!) { command(id: $id) { id status seq aggregateId history { status at } } }",
        id=command_id,
    )
    command: dict[str, Any] = data["command"]
    return command


async def test_readme_demo_scenario(shop: GraphQL) -> None:
    gql = shop
    created = await gql.data(
        f'mutation {{ createCustomer(input: {{customerId: "c1", name: "Acme"}}) {{ {RESULT} }} }}',
        SHOP,
    )
    assert created["createCustomer"]["__typename"] == "CommandReceipt"
    product = await gql.data(
        f'mutation {{ createProduct(input: {{productId: "p1", name: "Widget", ownedBy: "c1"}}) {{ {RESULT} }} }}',
        SHOP,
    )
    receipt = product["createProduct"]
    assert receipt["status"] == "ACCEPTED"
    assert receipt["aggregateId"] == "Product/p1"

    status = await eventually(
        lambda: _command(gql, receipt["commandId"]),
        lambda c: c["status"] == "COMPLETED",
    )
    assert status["status"] == "COMPLETED"
    assert [h["status"] for h in status["history"]] == [
        "ACCEPTED",
        "APPLIED",
        "INDEXED",
        "COMPLETED",
    ]

    read = await gql.data(
        '{ product(id: "p1") { id name ownedBy { customerId name owns { totalCount nodes { id } } } _meta { seq dataStatus branch } } }',
        SHOP,
    )
    assert read["product"] == {
        "id": "p1",
        "name": "Widget",
        "ownedBy": {
            "customerId": "c1",
            "name": "Acme",
            "owns": {"totalCount": 1, "nodes": [{"id": "p1"}]},
        },
        "_meta": {"seq": 1, "dataStatus": "FULL", "branch": "main"},
    }

    stale = await gql.data(
        f'mutation {{ updateProduct(id: "p1", patch: {{name: "Gadget"}}, expectedSeq: 7) {{ {RESULT} }} }}',
        SHOP,
    )
    assert stale["updateProduct"] == {
        "__typename": "ConflictError",
        "message": stale["updateProduct"]["message"],
        "aggregateId": "Product/p1",
        "expectedSeq": 7,
        "actualSeq": 1,
    }

    branch = await gql.data(
        f'mutation {{ createBranch(db: "shop", name: "feature", wait: APPLIED) {{ {RESULT} }} }}'
    )
    assert branch["createBranch"]["__typename"] == "CommandReceipt"
    changed = await gql.data(
        f'mutation {{ updateProduct(id: "p1", patch: {{name: "Gadget"}}, expectedSeq: 1, wait: INDEXED) {{ {RESULT} }} }}',
        f"{SHOP}/feature",
    )
    assert changed["updateProduct"]["seq"] == 2
    assert changed["updateProduct"]["status"] == "COMPLETED"

    query = '{ product(id: "p1") { name _meta { seq branch } } }'
    on_branch = await gql.data(query, f"{SHOP}/feature")
    on_main = await gql.data(query, SHOP)
    assert on_branch["product"] == {
        "name": "Gadget",
        "_meta": {"seq": 2, "branch": "feature"},
    }
    assert on_main["product"] == {
        "name": "Widget",
        "_meta": {"seq": 1, "branch": "main"},
    }
