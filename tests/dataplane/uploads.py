"""Uploading files with the GraphQL multipart request spec, as clients do."""

from __future__ import annotations

import json
from typing import Any

import httpx

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
