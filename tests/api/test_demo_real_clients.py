"""The README's demo against a real server with real clients: gql over HTTP
(httpx) for queries and mutations, gql over graphql-transport-ws (websockets)
to follow commandStatus until the command completes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from app.settings import Settings
from tests.api.served import Served, served
from tests.conftest import ADMIN_HEADERS
from tests.graphql.client import CUSTOMER, PRODUCT, RESULT

DEFINE = gql(
    f'mutation($i: ClassInput!) {{ defineClass(db: "shop", input: $i, wait: APPLIED) {{ {RESULT} }} }}'
)
STATUS = gql(
    "subscription($id: ID!) { commandStatus(commandId: $id) { commandId status seq } }"
)


@asynccontextmanager
async def _client(server: Served, path: str) -> AsyncIterator[Any]:
    transport = HTTPXAsyncTransport(
        url=f"{server.http}{path}", timeout=30, headers=ADMIN_HEADERS
    )
    async with Client(transport=transport) as session:
        yield session


async def _statuses(server: Served, command_id: str) -> list[str]:
    transport = WebsocketsTransport(
        url=server.ws("/graphql/shop"),
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=ADMIN_HEADERS,
    )
    async with Client(transport=transport) as session:
        return [
            result["commandStatus"]["status"]
            async for result in session.subscribe(
                GraphQLRequest(STATUS, variable_values={"id": command_id})
            )
        ]


async def test_demo_over_http_and_websocket(settings: Settings) -> None:
    async with served(settings) as server, _client(server, "/graphql") as system:
        created = await system.execute(
            gql(
                f'mutation {{ createDatabase(name: "shop", wait: APPLIED) {{ {RESULT} }} }}'
            )
        )
        assert created["createDatabase"]["__typename"] == "CommandReceipt"
        for definition in (CUSTOMER, PRODUCT):
            defined = await system.execute(
                GraphQLRequest(DEFINE, variable_values={"i": definition})
            )
            assert defined["defineClass"]["__typename"] == "CommandReceipt", defined
        async with _client(server, "/graphql/shop") as shop:
            await _demo(server, shop)


async def _demo(server: Served, shop: Any) -> None:
    follow = asyncio.create_task(_statuses(server, "demo-p1"))
    await shop.execute(
        gql(
            f'mutation {{ createCustomer(input: {{customerId: "c1", name: "Acme"}}, wait: APPLIED) {{ {RESULT} }} }}'
        )
    )
    await asyncio.sleep(0.2)  # the subscription is open before the command exists
    product = await shop.execute(
        gql(
            f'mutation {{ createProduct(input: {{productId: "p1", name: "Widget", ownedBy: "c1"}}, commandId: "demo-p1") {{ {RESULT} }} }}'
        )
    )
    assert product["createProduct"]["status"] == "ACCEPTED"
    statuses = await asyncio.wait_for(follow, 20)
    assert statuses[:2] == ["PENDING", "ACCEPTED"]
    assert statuses[-1] == "COMPLETED"

    read = await shop.execute(
        gql('{ product(id: "p1") { name ownedBy { name } _meta { seq dataStatus } } }')
    )
    assert read["product"] == {
        "name": "Widget",
        "ownedBy": {"name": "Acme"},
        "_meta": {"seq": 1, "dataStatus": "FULL"},
    }
    stale = await shop.execute(
        gql(
            f'mutation {{ updateProduct(id: "p1", patch: {{name: "Gadget"}}, expectedSeq: 5) {{ {RESULT} }} }}'
        )
    )
    assert stale["updateProduct"]["__typename"] == "ConflictError"
    assert (
        stale["updateProduct"]["expectedSeq"],
        stale["updateProduct"]["actualSeq"],
    ) == (5, 1)
    await _branch_leaves_main_unchanged(server)


async def _branch_leaves_main_unchanged(server: Served) -> None:
    async with _client(server, "/graphql") as system:
        branch = await system.execute(
            gql(
                f'mutation {{ createBranch(db: "shop", name: "feature", wait: APPLIED) {{ {RESULT} }} }}'
            )
        )
        assert branch["createBranch"]["__typename"] == "CommandReceipt"
    async with _client(server, "/graphql/shop/feature") as feature:
        changed = await feature.execute(
            gql(
                f'mutation {{ updateProduct(id: "p1", patch: {{name: "Gadget"}}, expectedSeq: 1, wait: APPLIED) {{ {RESULT} }} }}'
            )
        )
        assert changed["updateProduct"]["seq"] == 2
        on_branch = await feature.execute(gql('{ product(id: "p1") { name } }'))
    async with _client(server, "/graphql/shop") as main:
        on_main = await main.execute(
            gql('{ product(id: "p1") { name _meta { seq } } }')
        )
    assert on_branch["product"]["name"] == "Gadget"
    assert on_main["product"] == {"name": "Widget", "_meta": {"seq": 1}}
