"""Fixtures for the production adapters, against the real servers started by
`scripts/services.sh up` (skipped locally without them, a failure under CI=true).

Every test gets its own Kafka topic prefix, OpenSearch index prefix and S3
bucket. The `open_*` context managers are importable by other suites that add
these adapters to their own parametrized fixtures: the search index and message
bus contracts (tests/contract/conftest.py) run on OpenSearch, Elasticsearch and
Kafka that way. The fixtures here serve the tests of one adapter's own promises
(`kafka_bus`, `cluster_index`) and the blob store suite (`blob_store`).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.blob_store.filesystem import FilesystemBlobStore
from domain.events import EventEnvelope
from domain.ports import BlobStore
from tests.conftest import require_service

KAFKA = ("SPICE_TEST_KAFKA_BOOTSTRAP", "kafka")
SEARCH = ("SPICE_TEST_SEARCH_URL", "opensearch")
ELASTICSEARCH = ("SPICE_TEST_ELASTICSEARCH_URL", "elasticsearch")
S3 = ("SPICE_TEST_S3_URL", "s3")
S3_PART_BYTES = 5 * 1024 * 1024


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def envelope(
    aggregate_id: str,
    seq: int,
    position: int,
    *,
    db: str = "shop",
    branch: str = "main",
    data: Mapping[str, Any] | None = None,
) -> EventEnvelope:
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        event_type="instance.updated.v1" if seq > 1 else "instance.created.v1",
        db=db,
        branch=branch,
        aggregate_type="instance",
        aggregate_id=aggregate_id,
        seq=seq,
        position=position,
        occurred_at=datetime.now(UTC),
        actor="tester",
        command_id=f"cmd-{position}",
        correlation_id=f"cmd-{position}",
        causation_id=None,
        ontology_version=1,
        data=data or {"n": seq},
    )


@asynccontextmanager
async def open_kafka_bus(**overrides: Any) -> AsyncIterator[Any]:
    """A KafkaMessageBus on fresh topics; they are deleted afterwards."""
    from aiokafka.admin import AIOKafkaAdminClient

    from adapters.message_bus.kafka import KafkaMessageBus
    from adapters.message_bus.kafka_common import KafkaConfig

    bootstrap = require_service(*KAFKA)
    options: dict[str, Any] = {"topic_prefix": unique(), "partitions": 3}
    options.update(overrides)
    bus = KafkaMessageBus(KafkaConfig(bootstrap_servers=bootstrap, **options))
    try:
        yield bus
    finally:
        await bus.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            await admin.delete_topics([bus.config.topic, bus.config.dead_letter_topic])
        finally:
            await admin.close()


def cluster_index_class(cluster: str) -> Any:
    """The DocumentSearchIndex adapter of "opensearch" or "elasticsearch"."""
    if cluster == "elasticsearch":
        from adapters.search_index.elastic import ElasticsearchSearchIndex

        return ElasticsearchSearchIndex
    from adapters.search_index.opensearch import OpenSearchSearchIndex

    return OpenSearchSearchIndex


CLUSTER_SERVICES = {"opensearch": SEARCH, "elasticsearch": ELASTICSEARCH}


@asynccontextmanager
async def open_cluster_index(cluster: str, **overrides: Any) -> AsyncIterator[Any]:
    """The cluster's search index under a fresh prefix; its indexes are deleted
    afterwards."""
    url = require_service(*CLUSTER_SERVICES[cluster])
    options: dict[str, Any] = {"prefix": unique(), "replicas": 0, "refresh": "true"}
    options.update(overrides)
    index = cluster_index_class(cluster).connect(url, **options)
    try:
        yield index
    finally:
        try:
            await index.backend.delete_indexes([f"{index.prefix}_*"])
        finally:
            await index.close()


@asynccontextmanager
async def open_s3_blob_store() -> AsyncIterator[Any]:
    """An S3BlobStore on a fresh bucket of the S3 endpoint; emptied and removed afterwards."""
    import boto3

    from adapters.blob_store.s3 import S3BlobStore

    endpoint = require_service(*S3)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 (moto takes any credentials)
    )
    bucket = unique("spice-test-")
    client.create_bucket(Bucket=bucket)
    # S3's smallest part (5 MiB), so that a test file of a few MiB goes multipart.
    store = S3BlobStore(client, bucket, prefix="blobs", part_bytes=S3_PART_BYTES)
    try:
        yield store
    finally:
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        for item in listed:
            client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
        await store.close()


@pytest.fixture
async def kafka_bus() -> AsyncIterator[Any]:
    async with open_kafka_bus() as bus:
        yield bus


CLUSTER_PARAMS = [
    pytest.param("opensearch", marks=pytest.mark.opensearch),
    pytest.param("elasticsearch", marks=pytest.mark.elasticsearch),
]


@pytest.fixture(params=CLUSTER_PARAMS)
async def cluster_index(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The document search index on each cluster: OpenSearch and Elasticsearch."""
    async with open_cluster_index(request.param) as index:
        yield index


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
async def blob_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path / "blobs")
        return
    async with open_s3_blob_store() as store:
        yield store
