"""The production stack for benchmarks: a fresh PostgreSQL database, Kafka topic
prefix, OpenSearch index prefix and S3 bucket (the event-payload archive) on the
servers `scripts/services.sh` runs, all removed again afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

SERVICES = {
    "SPICE_TEST_POSTGRES_URL": "postgres",
    "SPICE_TEST_KAFKA_BOOTSTRAP": "kafka",
    "SPICE_TEST_SEARCH_URL": "opensearch",
    "SPICE_TEST_S3_URL": "s3",
}
HINT = 'scripts/services.sh up && eval "$(scripts/services.sh env)"'


def service_urls() -> dict[str, str]:
    """The service variables of `scripts/services.sh env`; exits naming the command."""
    missing = [name for name in SERVICES if not os.environ.get(name)]
    if missing:
        raise SystemExit(
            f"the production benchmark needs {', '.join(missing)}; start the services "
            f"and load their variables with: {HINT}"
        )
    return {name: os.environ[name] for name in SERVICES}


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def database(admin: str) -> AsyncIterator[str]:
    """A fresh database on the server of `admin` (a URL); dropped on exit."""
    name = _unique("spice_bench_")
    await _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def _topic_prefix(bootstrap: str) -> AsyncIterator[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    prefix = _unique("bench")
    try:
        yield prefix
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics(
                [f"{prefix}.events.v1", f"{prefix}.events.v1.dlq"]
            )
        finally:
            await admin.close()


@asynccontextmanager
async def _index_prefix(url: str) -> AsyncIterator[str]:
    from adapters.search_index.opensearch import OpenSearchSearchIndex

    prefix = _unique("bench")
    try:
        yield prefix
    finally:
        index = OpenSearchSearchIndex.connect(url, prefix=prefix)
        try:
            await index.backend.delete_indexes([f"{prefix}_*"])
        finally:
            await index.close()


@asynccontextmanager
async def _bucket(endpoint: str) -> AsyncIterator[str]:
    import boto3

    # moto accepts any credentials; a real endpoint brings its own.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    name = _unique("spice-bench-")
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
        for page in pages:
            for item in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)
        client.close()


@asynccontextmanager
async def production_settings() -> AsyncIterator[dict[str, Any]]:
    """Settings values for a fresh production stack; its resources go on exit."""
    urls = service_urls()
    async with AsyncExitStack() as stack:
        db_url = await stack.enter_async_context(
            database(urls["SPICE_TEST_POSTGRES_URL"])
        )
        bootstrap = urls["SPICE_TEST_KAFKA_BOOTSTRAP"]
        topics = await stack.enter_async_context(_topic_prefix(bootstrap))
        search = urls["SPICE_TEST_SEARCH_URL"]
        indexes = await stack.enter_async_context(_index_prefix(search))
        endpoint = urls["SPICE_TEST_S3_URL"]
        bucket = await stack.enter_async_context(_bucket(endpoint))
        yield {
            "database_url": db_url,
            "bus_url": f"kafka://{bootstrap}?topic_prefix={topics}",
            # A single node: no replicas; refresh stays the production default.
            "search_url": f"{search}?prefix={indexes}&replicas=0",
            "event_payloads_url": f"s3://{bucket}/events?endpoint_url={endpoint}",
        }
