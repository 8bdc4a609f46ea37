"""An objectify run without `wait` answers at once (RUNNING) and is followed
with the `progress(runId)` subscription over graphql-transport-ws until its
final stage; `objectifyRun` then reads its outcome."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from app.cli import main
from app.settings import Settings
from tests.api.served import served
from tests.conftest import ADMIN_HEADERS, ADMIN_TOKEN, CONNECTION_INIT
from tests.dataplane.uploads import upload
from tests.graphql.client import GraphQL

ROWS = 1_200
CLIENT = {
    "id": "Client",
    "label": "Client",
    "primaryKey": "client_id",
    "properties": [
        {"name": "client_id", "type": "string", "required": True},
        {"name": "score", "type": "integer"},
    ],
}
MAP = 'mutation($i: MappingInput!) { defineMapping(db: "data", input: $i) { __typename } }'
RUN = """mutation { objectify(db: "data", mapping: "m") {
  ... on ObjectifyRun { id status rows } } }"""
PROGRESS = "subscription($r: ID!) { progress(runId: $r) { runId stage done total } }"


async def test_a_run_is_followed_to_its_end(settings: Settings) -> None:
    csv = "client_id,score\n" + "".join(f"C{i},{i}\n" for i in range(ROWS))
    async with (
        served(settings) as server,
        httpx.AsyncClient(base_url=server.http, headers=ADMIN_HEADERS, timeout=60) as http,
    ):  # fmt: skip
        gql = GraphQL(http, server.container)
        await _mapped(gql, csv.encode())
        started = (await gql.data(RUN))["objectify"]
        assert (started["status"], started["rows"]) == ("RUNNING", ROWS)
        stages = await _follow(server.ws("/graphql"), started["id"])
        assert stages[-1]["stage"] == "SUCCEEDED"
        assert stages[-1]["done"] == stages[-1]["total"] == ROWS
        assert all(s["runId"] == started["id"] for s in stages)
        final = await gql.data(
            f'{{ objectifyRun(db: "data", id: "{started["id"]}") {{ status created }} }}'
        )
        assert final["objectifyRun"] == {"status": "SUCCEEDED", "created": ROWS}
        unknown = await _follow(server.ws("/graphql"), "run-nope")
        assert unknown == [{"error": "NOT_FOUND"}]


async def _mapped(gql: GraphQL, csv: bytes) -> None:
    """Database `data` with class Client, dataset `clients` and mapping `m`."""
    await gql.create_database("data")
    await gql.define("data", CLIENT)
    await upload(gql, "clients.csv", csv, name="clients")
    columns = [{"column": c, "property": c} for c in ("client_id", "score")]
    spec = {"id": "m", "dataset": "clients", "classId": "Client", "properties": columns}
    assert (await gql.data(MAP, i=spec))["defineMapping"]["__typename"] == "Mapping"


async def _follow(url: str, run_id: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps(CONNECTION_INIT))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": PROGRESS, "variables": {"r": run_id}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message["type"] == "complete":
                return seen
            if message["type"] == "error" or message["payload"].get("errors"):
                errors = (
                    message["payload"]
                    if message["type"] == "error"
                    else message["payload"]["errors"]
                )
                return [{"error": errors[0]["extensions"]["code"]}]
            seen.append(message["payload"]["data"]["progress"])


async def test_spice_objectify_follows_the_run_and_prints_its_outcome(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "clients.csv"
    source.write_text("client_id,score\nC1,1\nC2,2\nC2,3\n", encoding="utf-8")
    async with served(settings) as server:
        async with httpx.AsyncClient(
            base_url=server.http, headers=ADMIN_HEADERS
        ) as http:
            await _mapped(GraphQL(http, server.container), source.read_bytes())
        argv = ["objectify", "--db", "data", "--mapping", "m", "--url", server.http,
                "--token", ADMIN_TOKEN, "--quiet"]  # fmt: skip
        assert await asyncio.to_thread(main, argv) == 1  # a duplicate key: FAILED
        failed = json.loads(capsys.readouterr().out)
        assert (failed["status"], failed["created"]) == ("FAILED", 0)
        assert failed["errors"][0]["code"] == "duplicate_primary_key"
        assert await asyncio.to_thread(main, [*argv, "--allow-partial"]) == 0
        partial = json.loads(capsys.readouterr().out)
        assert (partial["status"], partial["created"], partial["rejected"]) == (
            "PARTIAL",
            2,
            1,
        )
