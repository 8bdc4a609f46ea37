"""Each real service the integration tests use answers, and does what they rely on.

The servers come from `scripts/services.sh up`; `eval "$(scripts/services.sh env)"` sets
the SPICE_TEST_* variables read here. Without a variable the test skips locally and
fails in CI (CI=true), as shared/SERVICES.md asks.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest


def _service_url(variable: str, service: str) -> str:
    value = os.environ.get(variable)
    if value:
        return value
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{variable} is not set in CI: .ci/run must start the service with "
            f"scripts/services.sh up {service} and load scripts/services.sh env"
        )
    pytest.skip(
        f"{variable} is not set; start it with: scripts/services.sh up {service}"
    )


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}"


@pytest.mark.postgres
async def test_postgres_creates_and_drops_a_database() -> None:
    import asyncpg  # type: ignore[import-untyped,unused-ignore]

    url = _service_url("SPICE_TEST_POSTGRES_URL", "postgres")
    name = _unique("spice_probe_")
    admin = await asyncpg.connect(url, timeout=10)
    try:
        assert await admin.fetchval("SELECT 1") == 1
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            conn = await asyncpg.connect(url, database=name, timeout=10)
            try:
                await conn.execute("CREATE TABLE t (id int PRIMARY KEY, body text)")
                await conn.execute("INSERT INTO t VALUES (1, 'hello')")
                assert await conn.fetchval("SELECT body FROM t WHERE id = 1") == "hello"
                assert await conn.fetchval("SELECT current_database()") == name
            finally:
                await conn.close()
        finally:
            await admin.execute(f'DROP DATABASE "{name}"')
        assert not await admin.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name
        )
    finally:
        await admin.close()


@pytest.mark.kafka
async def test_kafka_round_trips_a_message_on_a_new_topic() -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    bootstrap = _service_url("SPICE_TEST_KAFKA_BOOTSTRAP", "kafka")
    topic = _unique("spice-probe-")
    payload = uuid.uuid4().bytes

    # The topic does not exist yet: the broker creates it on the first produce.
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, payload, key=b"probe")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=_unique("spice-probe-group-"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received = await asyncio.wait_for(consumer.getone(), timeout=60)
    finally:
        await consumer.stop()

    assert received.value == payload
    assert received.key == b"probe"
    assert (received.partition, received.offset) == (sent.partition, sent.offset)


@pytest.mark.opensearch
def test_opensearch_indexes_and_finds_a_document() -> None:
    import httpx

    base = _service_url("SPICE_TEST_SEARCH_URL", "opensearch")
    index = _unique("spice-probe-")
    with httpx.Client(base_url=base, timeout=30) as client:
        info = client.get("/").raise_for_status().json()
        assert info["version"]["distribution"] == "opensearch"

        client.put(
            f"/{index}",
            json={
                "mappings": {
                    "properties": {
                        "title": {"type": "text"},
                        "kind": {"type": "keyword"},
                    }
                }
            },
        ).raise_for_status()
        try:
            client.put(
                f"/{index}/_doc/1",
                params={"refresh": "true"},
                json={"title": "Event sourced ontology", "kind": "probe"},
            ).raise_for_status()
            found = (
                client.post(
                    f"/{index}/_search",
                    json={"query": {"match": {"title": "ontology"}}},
                )
                .raise_for_status()
                .json()
            )
            hits = found["hits"]["hits"]
            assert [hit["_id"] for hit in hits] == ["1"]
            assert hits[0]["_source"]["kind"] == "probe"
        finally:
            client.delete(f"/{index}").raise_for_status()


@pytest.mark.elasticsearch
def test_elasticsearch_keeps_the_newest_external_version() -> None:
    from elasticsearch import ConflictError, Elasticsearch

    base = _service_url("SPICE_TEST_ELASTICSEARCH_URL", "elasticsearch")
    index = _unique("spice-probe-")
    with Elasticsearch(base, request_timeout=30) as client:
        # The root endpoint (rest-root module) is not on Maven Central: ask the
        # cluster instead, which also names the node's build.
        nodes = client.nodes.info()["nodes"]
        assert all(node["version"].startswith("9.") for node in nodes.values())
        client.indices.create(
            index=index, mappings={"properties": {"title": {"type": "text"}}}
        )
        try:
            client.index(
                index=index,
                id="1",
                document={"title": "second"},
                version=2,
                version_type="external",
                refresh=True,
            )
            with pytest.raises(ConflictError):
                client.index(
                    index=index,
                    id="1",
                    document={"title": "first"},
                    version=1,
                    version_type="external",
                )
            found = client.search(index=index, query={"match": {"title": "second"}})
            assert [hit["_id"] for hit in found["hits"]["hits"]] == ["1"]
        finally:
            client.indices.delete(index=index)


@pytest.mark.s3
def test_s3_refuses_a_second_conditional_put() -> None:
    import boto3
    from botocore.exceptions import ClientError

    endpoint = _service_url("SPICE_TEST_S3_URL", "s3")
    bucket = _unique("spice-probe-")
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 (moto takes any credentials)
    )
    try:
        s3.create_bucket(Bucket=bucket)
        try:
            s3.put_object(Bucket=bucket, Key="events/1", Body=b"first", IfNoneMatch="*")
            with pytest.raises(ClientError) as refused:
                s3.put_object(
                    Bucket=bucket, Key="events/1", Body=b"second", IfNoneMatch="*"
                )
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
            body = s3.get_object(Bucket=bucket, Key="events/1")["Body"]
            try:
                assert body.read() == b"first"
            finally:
                body.close()
        finally:
            s3.delete_object(Bucket=bucket, Key="events/1")
            s3.delete_bucket(Bucket=bucket)
    finally:
        s3.close()
