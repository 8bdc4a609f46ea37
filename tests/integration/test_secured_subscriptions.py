"""Subscriptions on the production stack (PostgreSQL and Kafka) under
authentication and an access policy: a VIEWER's change feed delivers only the
rows its row filter admits, without the masked field's value; a socket with no
or a foreign token is closed before it can subscribe."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.api.served import Served, served
from tests.conftest import ADMIN_HEADERS, make_settings, require_service
from tests.graphql.client import RESULT, GraphQL
from tests.integration.conftest import KAFKA, unique
from tests.integration.test_production_stack import _delete_topics

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.timeout(180)]

STAFF = {
    "id": "Staff",
    "label": "Staff",
    "primaryKey": "staff_id",
    "properties": [
        {"name": "staff_id", "type": "string", "required": True},
        {"name": "region", "type": "string"},
        {"name": "salary", "type": "integer"},
    ],
}
CHANGED = "subscription { staffChanged { kind id node { id region salary } } }"
PROTOCOL = [Subprotocol("graphql-transport-ws")]


@pytest.fixture
async def stack(tmp_path: Path, postgres_database: str) -> AsyncIterator[tuple[Served, GraphQL]]:  # fmt: skip
    bootstrap = require_service(*KAFKA)
    prefix = unique()
    settings = make_settings(
        postgres_database, tmp_path,
        bus_url=f"kafka://{bootstrap}?topic_prefix={prefix}&partitions=3",
    )  # fmt: skip
    try:
        async with (
            served(settings) as server,
            httpx.AsyncClient(base_url=server.http, headers=ADMIN_HEADERS, timeout=60) as http,
        ):  # fmt: skip
            client = GraphQL(http, server.container)
            await client.create_database("shop")
            await client.define("shop", STAFF)
            await client.data(
                'mutation { setAccessPolicy(db: "shop", classId: "Staff", role: VIEWER, '
                'rowFilter: {region: {eq: "north"}}, maskFields: ["salary"]) { role } }'
            )
            yield server, client
    finally:
        await _delete_topics(bootstrap, prefix)


@asynccontextmanager
async def _socket(server: Served, headers: dict[str, str]) -> AsyncIterator[ClientConnection]:  # fmt: skip
    async with connect(server.ws("/graphql/shop"), subprotocols=PROTOCOL) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
        yield ws


async def test_a_viewer_feed_carries_only_its_rows_and_no_masked_value(
    stack: tuple[Served, GraphQL],
) -> None:
    server, client = stack
    viewer = await client.token("watcher", ("shop", "VIEWER"))
    async with _socket(server, viewer) as ws:
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": CHANGED}}))  # fmt: skip
        # The feed tails the bus from when it joins: write a pair (one row in
        # the filter, one outside) until the first change arrives.
        message: dict[str, Any] = {}
        for n in range(20):
            for staff_id, region in ((f"s{n}", "south"), (f"n{n}", "north")):
                await client.data(
                    f'mutation {{ createStaff(input: {{staffId: "{staff_id}", region: "{region}", salary: 5}}, wait: APPLIED) {{ {RESULT} }} }}',
                    "/graphql/shop",
                )
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 3))
                break
            except TimeoutError:
                continue
    assert message["type"] == "next", message
    change = message["payload"]["data"]["staffChanged"]
    assert change["id"].startswith("n"), change  # never a row outside the filter
    assert change["node"]["region"] == "north"
    assert change["node"]["salary"] is None
    assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("grant", [None, ("zoo", "OWNER")])
async def test_a_socket_without_a_role_on_the_database_is_closed(
    stack: tuple[Served, GraphQL], grant: tuple[str, str] | None
) -> None:
    server, client = stack
    headers = await client.token("stranger", grant) if grant else {}
    async with _socket(server, headers) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == (4403 if grant else 4401)
