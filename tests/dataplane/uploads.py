"""Uploading files with the GraphQL multipart request spec, as clients do."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.conftest import CONNECTION_INIT
from tests.graphql.client import GraphQL

VERSION = """
  __typename
  ... on DatasetVersion { id dataset rowCount contentHash createdAt format filename
                          duplicate columns { name type nullCount } }
  ... on ValidationError { message errors { path code message } }
"""
UPLOAD = f"""
mutation($db: String!, $name: String!, $file: Upload!, $options: IngestOptions,
         $key: String) {{
  uploadDataset(db: $db, name: $name, file: $file, options: $options,
                idempotencyKey: $key) {{ {VERSION} }}
}}
"""


async def post_upload(
    gql: GraphQL,
    filename: str,
    content: bytes,
    *,
    name: str = "orders",
    db: str = "data",
    options: dict[str, Any] | None = None,
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    variables = {"db": db, "name": name, "file": None, "options": options, "key": key}
    operations = json.dumps({"query": UPLOAD, "variables": variables})
    return await gql.http.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content, "application/octet-stream")},
        headers=headers,
    )


async def upload(
    gql: GraphQL, filename: str, content: bytes, **kw: Any
) -> dict[str, Any]:
    response = await post_upload(gql, filename, content, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["uploadDataset"]
    return result


async def rows(
    gql: GraphQL, version: str, *, first: int = 100, after: str | None = None
) -> dict[str, Any]:
    data = await gql.data(
        """query($v: ID!, $first: Int, $after: String) {
             datasetRows(db: "data", version: $v, first: $first, after: $after) {
               rows totalCount pageInfo { endCursor hasNextPage } } }""",
        v=version, first=first, after=after,
    )  # fmt: skip
    result: dict[str, Any] = data["datasetRows"]
    return result


PROGRESS = """subscription($r: ID!) {
  progress(runId: $r) { runId stage done total message } }"""


async def follow_progress(url: str, run_id: str) -> list[dict[str, Any]]:
    """Every state `progress(runId)` sends over graphql-transport-ws until it
    completes (a finished run: its final state only)."""
    seen: list[dict[str, Any]] = []
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps(CONNECTION_INIT))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": PROGRESS, "variables": {"r": run_id}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while (message := json.loads(await asyncio.wait_for(ws.recv(), 30)))[
            "type"
        ] != "complete":
            assert message["type"] == "next", message
            assert not message["payload"].get("errors"), message
            seen.append(message["payload"]["data"]["progress"])
    return seen
