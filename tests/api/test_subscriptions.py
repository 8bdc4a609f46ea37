"""commandStatus subscriptions: in-process on each database, and over a real
graphql-transport-ws WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from graphql import ExecutionResult
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from app.graphql import ports_of
from app.graphql.system_schema import build_system_schema
from app.settings import Settings
from domain.security import SYSTEM
from resolvers.context import Context
from schema.limits import Limits
from tests.api.served import served
from tests.conftest import ADMIN_HEADERS, CONNECTION_INIT
from tests.graphql.client import CUSTOMER, RESULT, GraphQL

SUBSCRIBE = "subscription($id: ID!) { commandStatus(commandId: $id) { commandId status seq at } }"
CREATE = (
    'mutation { createCustomer(input: {customerId: "c1", name: "Acme"}, '
    f'commandId: "cmd-1") {{ {RESULT} }} }}'
)


async def _statuses(gql: GraphQL) -> list[str]:
    schema = build_system_schema()
    context = Context(
        ports=ports_of(gql.container, Limits(poll_interval_seconds=0.02)),
        principal=SYSTEM,
    )
    stream = await schema.subscribe(
        SUBSCRIBE, variable_values={"id": "cmd-1"}, context_value=context
    )
    statuses: list[str] = []
    assert not isinstance(stream, ExecutionResult), stream
    async for result in stream:
        assert result.errors is None, result.errors
        assert result.data is not None
        statuses.append(result.data["commandStatus"]["status"])
    return statuses


async def test_command_status_streams_every_transition_then_completes(
    shop: GraphQL,
) -> None:
    watcher = asyncio.create_task(_statuses(shop))
    await asyncio.sleep(0.1)  # subscribed before the command exists: PENDING first
    data = await shop.data(CREATE, "/graphql/shop")
    assert data["createCustomer"]["__typename"] == "CommandReceipt"
    statuses = await asyncio.wait_for(watcher, timeout=15)
    assert statuses[:2] == ["PENDING", "ACCEPTED"]
    assert statuses[-1] == "COMPLETED"
    # The graph and search consumers run independently: APPLIED and INDEXED come
    # in either order, each once.
    assert sorted(statuses[2:-1]) == ["APPLIED", "INDEXED"]


async def test_subscribing_to_a_finished_command_replays_its_history(
    shop: GraphQL,
) -> None:
    await shop.data(
        CREATE.replace('commandId: "cmd-1"', 'commandId: "cmd-1", wait: INDEXED'),
        "/graphql/shop",
    )
    statuses = await asyncio.wait_for(_statuses(shop), timeout=15)
    assert statuses == ["ACCEPTED", "APPLIED", "INDEXED", "COMPLETED"]


async def test_command_status_over_graphql_transport_ws(settings: Settings) -> None:
    async with (
        served(settings) as server,
        httpx.AsyncClient(base_url=server.http, headers=ADMIN_HEADERS) as http,
    ):
        gql = GraphQL(http, container=None)  # type: ignore[arg-type]
        await gql.create_database("shop")
        await gql.define("shop", CUSTOMER)
        created = await gql.data(CREATE, "/graphql/shop")
        assert created["createCustomer"]["__typename"] == "CommandReceipt"
        uri = server.ws("/graphql/shop")
        async with connect(
            uri, subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(json.dumps(CONNECTION_INIT))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            subscribe = {"query": SUBSCRIBE, "variables": {"id": "cmd-1"}}
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": subscribe})
            )
            messages: list[dict[str, Any]] = []
            while not messages or messages[-1]["type"] not in ("complete", "error"):
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 15)))
    statuses = [m["payload"]["data"]["commandStatus"]["status"] for m in messages[:-1]]
    assert messages[-1] == {"id": "1", "type": "complete"}
    assert statuses[0] == "ACCEPTED"
    assert statuses[-1] == "COMPLETED"
