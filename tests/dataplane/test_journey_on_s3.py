"""The data plane journey with dataset versions in S3 (the production blob
store), on SQLite and PostgreSQL: upload over HTTP multipart, map, objectify,
a new version with a row gone and one changed, objectify again with deletes,
and the rows read back from the stored version."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.dataplane.uploads import upload
from tests.graphql.client import GraphQL, open_client
from tests.integration.conftest import S3, require_service, unique

pytestmark = [pytest.mark.s3]

CLIENT = {
    "id": "Client",
    "label": "Client",
    "primaryKey": "client_id",
    "properties": [
        {"name": "client_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "score", "type": "integer"},
    ],
}
FIRST = b"client_id,name,score\nC1,Acme,10\nC2,Beta,20\nC3,Cora,30\n"
SECOND = b"client_id,name,score\nC1,Acme,11\nC3,Cora,30\n"
MAP = """mutation($i: MappingInput!) { defineMapping(db: "data", input: $i) {
  __typename ... on Mapping { version } } }"""
RUN = """mutation($v: ID, $del: Boolean) {
  objectify(db: "data", mapping: "m", datasetVersion: $v, deleteMissing: $del, wait: APPLIED) {
    __typename ... on ObjectifyRun { status created updated unchanged deleted rejected } } }"""
ROWS = """query($v: ID!) { datasetRows(db: "data", version: $v, first: 10) {
  rows totalCount } }"""


@pytest.fixture
def s3_blob_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The SPICE_BLOB_URL of a fresh bucket; emptied and removed afterwards.
    moto takes any credentials; the store reads them from boto3's usual chain."""
    import boto3

    endpoint = require_service(*S3)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = unique("spice-data-")
    client.create_bucket(Bucket=bucket)
    try:
        yield f"s3://{bucket}/datasets?endpoint_url={endpoint}&region=us-east-1"
    finally:
        for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)


@pytest.fixture
async def on_s3(
    database_url: str, tmp_path: Path, s3_blob_url: str
) -> AsyncIterator[GraphQL]:
    settings = make_settings(database_url, tmp_path, blob_url=s3_blob_url)
    async with open_client(settings) as client:
        await client.create_database("data")
        yield client


async def test_the_journey_with_versions_in_s3(on_s3: GraphQL) -> None:
    await on_s3.define("data", CLIENT)
    first = await upload(on_s3, "clients.csv", FIRST, name="clients")
    columns = [{"column": c, "property": c} for c in ("client_id", "name", "score")]
    mapping: dict[str, Any] = {"id": "m", "dataset": "clients", "classId": "Client", "properties": columns}  # fmt: skip
    assert (await on_s3.data(MAP, i=mapping))["defineMapping"]["version"] == 1
    created = (await on_s3.data(RUN, v=first["id"]))["objectify"]
    assert (created["status"], created["created"]) == ("SUCCEEDED", 3)

    second = await upload(on_s3, "clients.csv", SECOND, name="clients")
    assert second["id"] != first["id"]
    rows = (await on_s3.data(ROWS, v=second["id"]))["datasetRows"]
    assert rows["totalCount"] == 2
    assert rows["rows"][0] == {"client_id": "C1", "name": "Acme", "score": "11"}
    again = (await on_s3.data(RUN, v=second["id"], **{"del": True}))["objectify"]
    assert (again["updated"], again["unchanged"], again["deleted"]) == (1, 1, 1)
    listed = await on_s3.data("{ clients { totalCount } }", "/graphql/data")
    assert listed["clients"]["totalCount"] == 2
