"""`spice objectify --db DB --mapping ID [--version ID]`: starts an objectify
run on a running server and follows it with the `progress(runId)` subscription
(graphql-transport-ws), a progress bar on stderr; the run's outcome is JSON on
stdout."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

START = """mutation($db: String!, $m: ID!, $v: ID, $partial: Boolean, $del: Boolean) {
  objectify(db: $db, mapping: $m, datasetVersion: $v, allowPartial: $partial,
            deleteMissing: $del) {
    __typename ... on ObjectifyRun { id status rows }
    ... on ValidationError { message errors { path code message } } } }"""
FOLLOW = "subscription($r: ID!) { progress(runId: $r) { stage done total message } }"
OUTCOME = """query($db: String!, $r: ID!) { objectifyRun(db: $db, id: $r) {
  id status rows created updated unchanged deleted rejected errors { row column code message }
  mapping datasetVersion } }"""
# A run is recorded a moment after its last progress message.
RECORD_ATTEMPTS = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectifyCall:
    db: str
    mapping: str
    version: str | None
    allow_partial: bool
    delete_missing: bool = False
    url: str
    token: str


def objectify(call: ObjectifyCall, *, show_progress: bool = True) -> dict[str, Any]:
    return asyncio.run(_objectify(call, show_progress))


async def _objectify(call: ObjectifyCall, show_progress: bool) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {call.token}"}
    async with httpx.AsyncClient(
        base_url=call.url, headers=headers, timeout=600
    ) as http:
        variables = {"db": call.db, "m": call.mapping, "v": call.version,
                     "partial": call.allow_partial, "del": call.delete_missing}  # fmt: skip
        started = (await _graphql(http, START, variables))["objectify"]
        if started["__typename"] != "ObjectifyRun":
            return dict(started)
        await _follow(call, started["id"], started["rows"], show_progress)
        for _ in range(RECORD_ATTEMPTS):
            found = (
                await _graphql(http, OUTCOME, {"db": call.db, "r": started["id"]})
            )["objectifyRun"]
            if found is not None:
                return {"__typename": "ObjectifyRun", **found}
            await asyncio.sleep(0.1)
    raise RuntimeError(f"run {started['id']} ended but its outcome was not recorded")


async def _follow(
    call: ObjectifyCall, run_id: str, rows: int, show_progress: bool
) -> None:
    url = call.url.replace("http", "ws", 1) + "/graphql"
    console = Console(stderr=True)
    columns = (
        TextColumn("objectify"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not show_progress) as bar:
        task = bar.add_task("rows", total=rows)
        async with connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as ws:
            init = {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {call.token}"},
            }
            await ws.send(json.dumps(init))
            json.loads(await ws.recv())  # connection_ack
            payload = {"query": FOLLOW, "variables": {"r": run_id}}
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": payload})
            )
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] != "next" or not message["payload"].get("data"):
                    return  # complete, or an error: the outcome query tells the rest
                state = message["payload"]["data"]["progress"]
                bar.update(task, completed=state["done"], total=state["total"] or rows)


async def _graphql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(
            f"HTTP {response.status_code}: {json.dumps(body.get('errors') or body)[:500]}"
        )
    data: dict[str, Any] = body["data"]
    return data
