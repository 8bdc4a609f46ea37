"""`<class>Changed(where)` over graphql-transport-ws and SSE: pushed changes with
seq, filtered per subscriber, one feed per shape, nothing left running after the
clients go away; and queries and `commandStatus` over SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from app.settings import Settings
from tests.api.served import Served, served
from tests.conftest import ADMIN_HEADERS, CONNECTION_INIT
from tests.graphql.client import CUSTOMER, PRODUCT, RESULT, GraphQL

SHOP = "/graphql/shop"
CHANGED = (
    "subscription($w: ProductWhere) { productChanged(where: $w) "
    "{ kind id seq classId commandId node { name ownedBy { name } } } }"
)


@asynccontextmanager
async def _shop(settings: Settings) -> AsyncIterator[tuple[Served, GraphQL]]:
    async with (
        served(settings) as server,
        httpx.AsyncClient(
            base_url=server.http, timeout=30, headers=ADMIN_HEADERS
        ) as http,
    ):
        gql = GraphQL(http, server.container)
        await gql.create_database("shop")
        await gql.define("shop", CUSTOMER, PRODUCT)
        yield server, gql


@asynccontextmanager
async def _subscribed(
    server: Served, query: str, **variables: Any
) -> AsyncIterator[ClientConnection]:
    async with connect(
        server.ws(SHOP), subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps(CONNECTION_INIT))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        yield ws


async def _next(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 15))
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    change: dict[str, Any] = message["payload"]["data"]["productChanged"]
    return change


async def _mutate(gql: GraphQL, mutation: str) -> dict[str, Any]:
    data = await gql.data(f"mutation {{ {mutation} {{ {RESULT} }} }}", SHOP)
    result: dict[str, Any] = next(iter(data.values()))
    assert result["__typename"] == "CommandReceipt", result
    return result


async def _until_open(server: Served, feeds: int) -> None:
    for _ in range(300):
        if server.container.changes.open_feeds == feeds:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {feeds} open feeds")


async def test_changes_are_pushed_with_seq_and_filtered(settings: Settings) -> None:
    async with _shop(settings) as (server, gql):
        await _mutate(gql, 'createCustomer(input: {customerId: "c1", name: "Acme"})')
        where = {"name": {"startsWith": "A"}}
        async with _subscribed(server, CHANGED, w=where) as ws:
            await _until_open(server, 1)
            await _mutate(
                gql,
                'createProduct(input: {productId: "p1", name: "Apple", ownedBy: "c1"})',
            )
            await _mutate(
                gql, 'createProduct(input: {productId: "p2", name: "Banana"})'
            )
            await _mutate(
                gql, 'updateProduct(id: "p1", patch: {name: "Avocado"}, expectedSeq: 1)'
            )
            await _mutate(gql, 'deleteProduct(id: "p1", expectedSeq: 2)')
            changes = [await _next(ws) for _ in range(3)]
    assert [(c["kind"], c["id"], c["seq"]) for c in changes] == [
        ("CREATED", "p1", 1),
        ("UPDATED", "p1", 2),
        ("DELETED", "p1", 3),
    ]
    assert changes[0]["node"] == {"name": "Apple", "ownedBy": {"name": "Acme"}}
    assert changes[1]["node"]["name"] == "Avocado"
    # The delete is filtered on the state before it, and has no node after it.
    assert changes[2]["node"] is None
    assert all(c["classId"] == "Product" and c["commandId"] for c in changes)


async def test_subscribers_of_one_shape_share_a_feed_and_leave_nothing_running(
    settings: Settings,
) -> None:
    async with _shop(settings) as (server, gql):
        feed = server.container.changes
        async with (
            _subscribed(server, CHANGED, w={"name": {"eq": "Kiwi"}}) as first,
            _subscribed(server, CHANGED, w={"name": {"eq": "Kiwi"}}) as second,
            _subscribed(server, CHANGED) as everything,
        ):
            await _until_open(server, 2)  # two shapes, three subscribers
            await _mutate(gql, 'createProduct(input: {productId: "k1", name: "Kiwi"})')
            seen = [await _next(ws) for ws in (first, second, everything)]
            assert [c["id"] for c in seen] == ["k1", "k1", "k1"]
            running = _subscription_tasks()
            # One tail, two pipelines (one per shape), three operations.
            assert sum("ChangeFeed._follow" in r for r in running) == 1
            assert sum("ChangeFeed._run" in r for r in running) == 2
            assert sum("_Session._operate" in r for r in running) == 3
        await _until_open(server, 0)
        for _ in range(300):
            if feed._tail is None and not _subscription_tasks():
                break
            await asyncio.sleep(0.01)
        assert feed._tail is None
        assert not _subscription_tasks()


# Coroutines that serve a subscription: none may outlive its clients.
_SUBSCRIPTION_CODE = ("ChangeFeed.", "_Session.", "_changes", "_changed")


def _subscription_tasks() -> list[str]:
    running = (repr(t.get_coro()) for t in asyncio.all_tasks() if not t.done())
    return [r for r in running if any(name in r for name in _SUBSCRIPTION_CODE)]


async def test_completing_a_subscription_stops_its_feed(settings: Settings) -> None:
    async with (
        _shop(settings) as (server, _gql),
        _subscribed(server, CHANGED) as ws,
    ):
        await _until_open(server, 1)
        await ws.send(json.dumps({"id": "1", "type": "complete"}))
        await _until_open(server, 0)
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}


async def test_protocol_errors_close_the_socket_with_their_codes(
    settings: Settings,
) -> None:
    async with _shop(settings) as (server, _gql):
        protocol = [Subprotocol("graphql-transport-ws")]
        async with connect(server.ws(SHOP), subprotocols=protocol) as ws:
            subscribe = {"id": "1", "type": "subscribe", "payload": {"query": CHANGED}}
            await ws.send(json.dumps(subscribe))  # before connection_init
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 4401
        async with connect(server.ws(SHOP), subprotocols=protocol) as ws:
            await ws.send(json.dumps(CONNECTION_INIT))
            await ws.recv()
            await ws.send("not json")
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 4400


async def test_invalid_subscription_gets_an_error_message(settings: Settings) -> None:
    async with (
        _shop(settings) as (server, _gql),
        _subscribed(server, "subscription { productChanged { nope } }") as ws,
    ):
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "error"
    assert "nope" in message["payload"][0]["message"]


async def _sse(http: httpx.AsyncClient, body: dict[str, Any]) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    headers = {"accept": "text/event-stream"}
    async with http.stream("POST", SHOP, json=body, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name is not None:
                data = line.removeprefix("data: ")
                events.append((name, json.loads(data) if data else None))
                if name == "complete":
                    break
    return events


async def test_sse_streams_command_status_until_it_completes(
    settings: Settings,
) -> None:
    async with _shop(settings) as (_server, gql):
        await _mutate(
            gql, 'createCustomer(input: {customerId: "c1"}, commandId: "cmd-9")'
        )
        subscription = 'subscription { commandStatus(commandId: "cmd-9") { status } }'
        events = await asyncio.wait_for(_sse(gql.http, {"query": subscription}), 20)
    statuses = [
        e[1]["data"]["commandStatus"]["status"] for e in events if e[0] == "next"
    ]
    assert statuses[0] == "ACCEPTED"
    assert statuses[-1] == "COMPLETED"
    assert events[-1] == ("complete", None)


async def test_sse_answers_a_query_with_one_result(settings: Settings) -> None:
    async with _shop(settings) as (_server, gql):
        events = await _sse(gql.http, {"query": "{ _schema { db } }"})
        rejected = await _sse(gql.http, {"query": "{ nope }"})
    assert events == [
        ("next", {"data": {"_schema": {"db": "shop"}}}),
        ("complete", None),
    ]
    assert rejected[0][0] == "next"
    assert "nope" in rejected[0][1]["errors"][0]["message"]
