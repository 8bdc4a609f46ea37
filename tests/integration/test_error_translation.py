"""Each production adapter turns its driver's errors into adapters.errors (STYLE B6):
a server that does not answer is StoreUnavailable (retriable), quickly."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.errors import StoreError, StoreUnavailable
from adapters.search_index.document_index import status_error
from domain.ports import SearchDocument
from tests.integration.conftest import closed_port, cluster_index_class, envelope

pytestmark = pytest.mark.timeout(30)

Call = Callable[[Any], Awaitable[Any]]


@asynccontextmanager
async def kafka_down() -> AsyncIterator[Any]:
    from adapters.message_bus.kafka import KafkaMessageBus
    from adapters.message_bus.kafka_common import KafkaConfig

    config = KafkaConfig(
        bootstrap_servers=f"127.0.0.1:{closed_port()}", request_timeout_ms=2000
    )
    bus = KafkaMessageBus(config)
    try:
        yield bus
    finally:
        await bus.close()


@asynccontextmanager
async def cluster_down(cluster: str) -> AsyncIterator[Any]:
    url = f"http://127.0.0.1:{closed_port()}"
    index = cluster_index_class(cluster).connect(url, timeout=2, max_retries=0)
    try:
        yield index
    finally:
        await index.close()


opensearch_down = functools.partial(cluster_down, "opensearch")
elasticsearch_down = functools.partial(cluster_down, "elasticsearch")


@asynccontextmanager
async def s3_down() -> AsyncIterator[Any]:
    from adapters.blob_store.s3 import S3BlobStore

    store = S3BlobStore.connect(
        "bucket",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        region="us-east-1",
        connect_timeout=1,
        read_timeout=1,
        max_attempts=1,
    )
    try:
        yield store
    finally:
        await store.close()


DOCUMENT = SearchDocument(
    db="shop",
    branch="main",
    class_id="Product",
    instance_id="P1",
    seq=1,
    position=1,
    deleted=False,
    data={"name": "x"},
)
CASES: list[tuple[str, Callable[[], Any], Call]] = [
    (
        "kafka publish",
        kafka_down,
        lambda bus: bus.publish([envelope("Product/P1", 1, 1)]),
    ),
    ("kafka subscribe", kafka_down, lambda bus: bus.subscribe("graph")),
    ("opensearch upsert", opensearch_down, lambda index: index.upsert([DOCUMENT])),
    (
        "opensearch search",
        opensearch_down,
        lambda index: index.search("shop", ["main"]),
    ),
    (
        "opensearch get_many",
        opensearch_down,
        lambda index: index.get_many("shop", ["main"], [("Product", "P1")]),
    ),
    ("opensearch content_hash", opensearch_down, lambda index: index.content_hash()),
    (
        "elasticsearch upsert",
        elasticsearch_down,
        lambda index: index.upsert([DOCUMENT]),
    ),
    (
        "elasticsearch search",
        elasticsearch_down,
        lambda index: index.search("shop", ["main"]),
    ),
    (
        "elasticsearch get_many",
        elasticsearch_down,
        lambda index: index.get_many("shop", ["main"], [("Product", "P1")]),
    ),
    (
        "elasticsearch content_hash",
        elasticsearch_down,
        lambda index: index.content_hash(),
    ),
    ("s3 put", s3_down, lambda store: store.put("k", b"x", if_absent=True)),
    ("s3 get", s3_down, lambda store: store.get("k")),
    ("s3 exists", s3_down, lambda store: store.exists("k")),
    # Any existing file serves as the source; with the server down nothing is written.
    ("s3 put_file", s3_down, lambda store: store.put_file("k", Path(__file__))),
    (
        "s3 get_file",
        s3_down,
        lambda store: store.get_file("k", Path(tempfile.gettempdir()) / "unwritten"),
    ),
]


@pytest.mark.parametrize(
    ("opened", "call"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_translates_an_unreachable_server_into_store_unavailable(
    opened: Callable[[], Any], call: Call
) -> None:
    async with opened() as adapter:
        with pytest.raises(StoreUnavailable) as raised:
            await call(adapter)
    assert raised.value.retriable
    assert raised.value.__cause__ is not None


@pytest.mark.parametrize(
    ("status", "retriable"),
    [(429, True), (500, True), (503, True), ("N/A", True), (400, False), (403, False)],
)
def test_maps_cluster_statuses_onto_retriable_or_not(
    status: object, retriable: bool
) -> None:
    error = status_error(status, "boom")
    assert isinstance(error, StoreError)
    assert error.retriable is retriable
