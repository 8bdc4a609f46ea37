"""uploadDataset end to end: a real multipart request, the version, its rows."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
import pytest

from adapters.dataplane.parquet import CHUNK_ROWS
from app.settings import Settings
from tests.api.served import served
from tests.conftest import ADMIN_HEADERS
from tests.dataplane.test_readers import workbook
from tests.dataplane.uploads import follow_progress, post_upload, rows, upload
from tests.graphql.client import GraphQL, eventually, open_client

pytestmark = pytest.mark.asyncio

CSV = b"order_id,customer,amount\n1,Kim,10.5\n2,Lee,\n3,Park,7\n"


async def test_an_uploaded_csv_becomes_a_version_with_its_rows(data: GraphQL) -> None:
    version = await upload(data, "orders.csv", CSV)
    assert version["__typename"] == "DatasetVersion", version
    assert version["rowCount"] == 3
    assert version["format"] == "CSV"
    assert [c["name"] for c in version["columns"]] == ["order_id", "customer", "amount"]
    amount = version["columns"][2]
    assert (
        amount["nullCount"] == 1
    )  # profiled at upload (adapters/dataplane/profiling.py)
    assert amount["type"] == "decimal"
    page = await rows(data, version["id"])
    assert page["totalCount"] == 3
    assert page["rows"][1] == {"order_id": "2", "customer": "Lee", "amount": None}
    listed = await data.data(
        '{ datasets(db: "data") { name versions { id rowCount } } }'
    )
    assert listed["datasets"] == [
        {"name": "orders", "versions": [{"id": version["id"], "rowCount": 3}]}
    ]
    one = await data.data(
        """{ dataset(db: "data", name: "orders") { name versions { contentHash
             columns { name type confidence reason nullCount distinctCount min max
                       samples topValues { value count } histogram { bucket count } }
           } } }"""
    )
    stored = one["dataset"]["versions"][0]
    assert stored["contentHash"] == version["contentHash"]
    customer = stored["columns"][1]
    assert customer["distinctCount"] == 3
    assert {v["value"] for v in customer["topValues"]} == {"Kim", "Lee", "Park"}
    assert 0 <= customer["confidence"] <= 1
    assert stored["columns"][2]["min"] == "7"


async def test_rows_page_with_cursors(data: GraphQL) -> None:
    content = b"n\n" + b"".join(f"{i}\n".encode() for i in range(25))
    version = await upload(data, "numbers.csv", content, name="numbers")
    first = await rows(data, version["id"], first=10)
    assert [r["n"] for r in first["rows"]] == [str(i) for i in range(10)]
    assert first["pageInfo"]["hasNextPage"] is True
    second = await rows(
        data, version["id"], first=20, after=first["pageInfo"]["endCursor"]
    )
    assert [r["n"] for r in second["rows"]] == [str(i) for i in range(10, 25)]
    assert second["pageInfo"]["hasNextPage"] is False


async def test_the_same_file_twice_is_the_same_version(data: GraphQL) -> None:
    first = await upload(data, "orders.csv", CSV)
    again = await upload(data, "orders.csv", CSV)
    assert again["id"] == first["id"]
    assert again["duplicate"] is True
    other = await upload(data, "orders.csv", CSV + b"4,Choi,1\n")
    assert other["id"] != first["id"]
    listed = await data.data(
        '{ dataset(db: "data", name: "orders") { versions { id } } }'
    )
    assert len(listed["dataset"]["versions"]) == 2


async def test_an_idempotency_key_returns_the_same_version(data: GraphQL) -> None:
    first = await upload(data, "orders.csv", CSV, key="k-1")
    again = await upload(data, "orders.csv", CSV, key="k-1")
    assert again["id"] == first["id"]
    conflict = await upload(data, "orders.csv", CSV + b"4,Choi,1\n", key="k-1")
    assert conflict["__typename"] == "ValidationError"
    assert conflict["errors"][0]["path"] == ["idempotencyKey"]
    assert conflict["errors"][0]["code"] == "idempotency_conflict"


async def test_idempotency_keys_are_scoped_to_the_database(data: GraphQL) -> None:
    await data.create_database("other")
    first = await upload(data, "orders.csv", CSV, key="k-1")
    elsewhere = await upload(
        data, "orders.csv", CSV + b"4,Choi,1\n", key="k-1", db="other"
    )
    assert elsewhere["__typename"] == "DatasetVersion", elsewhere
    assert elsewhere["id"] != first["id"]


async def test_an_upload_to_a_missing_database_is_a_validation_error(
    gql: GraphQL,
) -> None:
    result = await upload(gql, "orders.csv", CSV, db="nowhere")
    assert result["__typename"] == "ValidationError"
    assert result["errors"][0]["code"] == "not_found"


async def test_a_version_event_is_recorded_with_the_actor(data: GraphQL) -> None:
    version = await upload(data, "orders.csv", CSV)
    events = await data.container.event_store.read_aggregate_type(
        "data", "main", "dataset"
    )
    assert [e.event_type for e in events] == ["dataset.version_registered.v1"]
    assert events[0].data["version_id"] == version["id"]
    assert events[0].actor

    async def statuses() -> list[str]:
        found = await data.data('{ commands(db: "data", first: 1) { status } }')
        return [c["status"] for c in found["commands"]]

    # Every projection consumer passes the event (none dead-letters it).
    assert await eventually(statuses, lambda s: s == ["COMPLETED"]) == ["COMPLETED"]
    assert (await data.data("{ deadLetters { id } }"))["deadLetters"] == []


async def test_a_multipart_request_without_operations_is_400(data: GraphQL) -> None:
    response = await data.http.post("/graphql", files={"0": ("a.csv", CSV, "text/csv")})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_MULTIPART"


async def test_an_upload_over_the_limit_is_413_and_leaves_nothing(
    settings: Settings,
) -> None:
    small = settings.model_copy(update={"upload_max_bytes": 2000})
    async with open_client(small) as gql:
        await gql.create_database("data")
        response = await post_upload(gql, "big.csv", b"a\n" + b"1\n" * 2000)
        assert response.status_code == 413, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "UPLOAD_TOO_LARGE"
        assert "2000" in error["message"]
        listed = await gql.data('{ datasets(db: "data") { name } }')
        assert listed["datasets"] == []
        fits = await upload(gql, "small.csv", b"a\n1\n")
        assert fits["__typename"] == "DatasetVersion"


async def test_spooled_upload_files_are_removed_after_the_request(
    data: GraphQL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    await upload(data, "orders.csv", CSV)
    assert _left_in(tmp_path) == []


def _left_in(directory: Path) -> list[Path]:
    return [*directory.glob("spice-upload-*"), *directory.glob("*.parquet")]


async def test_a_viewer_may_list_but_not_upload(data: GraphQL) -> None:
    viewer = await data.token("val", ("data", "VIEWER"))
    engineer = await data.token("eve", ("data", "DATA_ENGINEER"))
    denied = await post_upload(data, "orders.csv", CSV, headers=viewer)
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    allowed = await post_upload(data, "orders.csv", CSV, headers=engineer)
    assert allowed.json()["data"]["uploadDataset"]["__typename"] == "DatasetVersion"
    listed = await data.http.post(
        "/graphql",
        json={"query": '{ datasets(db: "data") { name } }'},
        headers=viewer,
    )
    assert listed.json()["data"]["datasets"] == [{"name": "orders"}]


async def test_a_multipart_request_without_a_token_is_401(data: GraphQL) -> None:
    response = await post_upload(data, "orders.csv", CSV, headers={"authorization": ""})
    assert response.status_code == 401


async def test_bad_input_is_a_validation_error_naming_the_rows(data: GraphQL) -> None:
    result = await upload(data, "orders.csv", b"a,b\n1,2\n3\n4,5,6\n")
    assert result["__typename"] == "ValidationError"
    assert [e["path"] for e in result["errors"]] == [
        ["file", "row 2"],
        ["file", "row 3"],
    ]
    assert "row 2 has 1 columns, expected 2" in result["message"]
    listed = await data.data('{ datasets(db: "data") { name } }')
    assert listed["datasets"] == []


@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("empty.csv", b"", "empty_file"),
        ("header.csv", b"a,b\n", "header_only"),
        ("binary.csv", bytes(range(256)) * 8, "binary_file"),
        ("book.xlsx", b"not a zip", "not_xlsx"),
    ],
)
async def test_unusable_files_are_refused(
    data: GraphQL, filename: str, content: bytes, code: str
) -> None:
    result = await upload(data, filename, content)
    assert result["__typename"] == "ValidationError"
    assert result["errors"][0]["code"] == code


async def test_a_cp949_file_and_an_xlsx_sheet_upload(data: GraphQL) -> None:
    korean = ("이름,도시\n" + "김민수,서울\n" * 30).encode("cp949")
    version = await upload(data, "people.csv", korean, name="people")
    assert [c["name"] for c in version["columns"]] == ["이름", "도시"]
    page = await rows(data, version["id"], first=1)
    assert page["rows"] == [{"이름": "김민수", "도시": "서울"}]
    book = await upload(
        data, "book.xlsx", workbook(), name="book", options={"sheet": "Orders"}
    )
    assert book["rowCount"] == 2
    assert book["format"] == "XLSX"


async def test_a_file_of_many_chunks_streams_through(data: GraphQL) -> None:
    count = CHUNK_ROWS + 1234
    content = b"n\n" + b"".join(b"%d\n" % i for i in range(count))
    version = await upload(data, "many.csv", content, name="many")
    assert version["rowCount"] == count
    last = await rows(data, version["id"], first=5, after=None)
    assert last["totalCount"] == count
    tail = await data.data(
        """query($v: ID!) { datasetRows(db: "data", version: $v, first: 2,
             after: "cm93OjUxMjMy") { rows } }""",  # base64 of row:51232
        v=version["id"],
    )
    assert tail["datasetRows"]["rows"] == [{"n": "51232"}, {"n": "51233"}]


async def test_reads_of_an_unknown_database_or_version(data: GraphQL) -> None:
    none = await data.data('{ datasets(db: "nowhere") { name } }')
    assert none["datasets"] == []
    missing = await data.data('{ dataset(db: "data", name: "nope") { name } }')
    assert missing["dataset"] is None
    body = await data.post('{ datasetRows(db: "data", version: "x") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_an_upload_with_a_key_is_a_run_that_progress_follows(
    settings: Settings,
) -> None:
    async with (
        served(settings) as server,
        httpx.AsyncClient(base_url=server.http, headers=ADMIN_HEADERS, timeout=60) as http,
    ):  # fmt: skip
        gql = GraphQL(http, server.container)
        await gql.create_database("data")
        version = await upload(gql, "orders.csv", CSV, key="k1")
        assert await follow_progress(server.ws("/graphql"), "ingest:data:k1") == [
            {"runId": "ingest:data:k1", "stage": "SUCCEEDED", "done": 4, "total": 4,
             "message": f"version {version['id']}"}
        ]  # fmt: skip
        await upload(gql, "header.csv", b"a,b\n", key="k2")
        failed = await follow_progress(server.ws("/graphql"), "ingest:data:k2")
        assert [(s["stage"], s["done"]) for s in failed] == [("FAILED", 0)]
        assert "no data rows" in failed[0]["message"]
