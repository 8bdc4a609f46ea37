"""Fixtures for the reliability catalogue on the production stack (RELIABILITY.md
R4, R7-R14 with the real PostgreSQL, Kafka, OpenSearch and S3 started by
scripts/services.sh). Each test gets a fresh PostgreSQL database, Kafka topic
prefix and OpenSearch index prefix, removed afterwards. Without the services a test
skips locally and fails under CI=true (`require_service`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import Container, open_container
from app.settings import Settings
from tests.conftest import make_settings, require_service
from tests.production.support import delete_topics

POSTGRES = ("SPICE_TEST_POSTGRES_URL", "postgres")
KAFKA = ("SPICE_TEST_KAFKA_BOOTSTRAP", "kafka")
SEARCH = ("SPICE_TEST_SEARCH_URL", "opensearch")
S3 = ("SPICE_TEST_S3_URL", "s3")


def unique(prefix: str = "p") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


async def admin_execute(admin: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def pg_url(postgres_database: str) -> str:
    """A fresh, migrated PostgreSQL database on the shared server (tests/conftest)."""
    return postgres_database


@dataclass(frozen=True, slots=True)
class Topics:
    bootstrap: str
    prefix: str

    @property
    def events(self) -> str:
        return f"{self.prefix}.events.v1"

    @property
    def dead_letters(self) -> str:
        return f"{self.events}.dlq"

    def bus_url(self, **options: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"partitions": 3, **options}.items())
        return f"kafka://{self.bootstrap}?topic_prefix={self.prefix}&{query}"


@pytest.fixture
async def topics() -> AsyncIterator[Topics]:
    """A fresh topic prefix on the shared Kafka; its topics are deleted afterwards."""
    made = Topics(require_service(*KAFKA), unique())
    try:
        yield made
    finally:
        await delete_topics(made.bootstrap, [made.events, made.dead_letters])


@dataclass(frozen=True, slots=True)
class Indexes:
    url: str
    prefix: str

    def search_url(self, **options: Any) -> str:
        values = {"prefix": self.prefix, "replicas": 0, **options}
        return f"{self.url}?" + "&".join(f"{k}={v}" for k, v in values.items())


async def delete_indexes(url: str, prefix: str) -> None:
    from adapters.search_index.opensearch import OpenSearchSearchIndex

    index = OpenSearchSearchIndex.connect(url, prefix=prefix)
    try:
        await index.backend.delete_indexes([f"{prefix}_*"])
    finally:
        await index.close()


@pytest.fixture
async def indexes() -> AsyncIterator[Indexes]:
    """A fresh index prefix on the shared OpenSearch; its indexes are deleted afterwards."""
    made = Indexes(require_service(*SEARCH), unique())
    try:
        yield made
    finally:
        await delete_indexes(made.url, made.prefix)


def production_settings(
    database_url: str, tmp_path: Path, **overrides: Any
) -> Settings:
    """make_settings with a little more patience for real servers."""
    values: dict[str, Any] = {"consumer_max_wait": 0.05, "retry_base_delay": 0.01}
    values.update(overrides)
    return make_settings(database_url, tmp_path, **values)


# The graph stores a suite may run its tests on: `pytestmark` of the module lists
# `pytest.mark.parametrize("graph_url", GRAPH_STORES, indirect=True)`.
GRAPH_STORES = ["sql", pytest.param("terminusdb", marks=pytest.mark.terminus)]


@pytest.fixture
async def graph_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The SQL graph store in the events' database unless a test asks for
    TerminusDB: then a fresh database prefix on the test server, dropped after."""
    if getattr(request, "param", "sql") == "sql":
        yield "sql://"
        return
    from adapters.registry import terminus_config
    from tests.stacks import drop_terminus_databases, terminus_graph_url, unique_prefix

    url = terminus_graph_url(unique_prefix())
    try:
        yield url
    finally:
        await asyncio.to_thread(drop_terminus_databases, terminus_config(url))


@pytest.fixture
async def kafka_pg_settings(
    pg_url: str, topics: Topics, graph_url: str, tmp_path: Path
) -> Settings:
    """PostgreSQL + Kafka, with the SQLite search index (R9-R13: the bus under test)."""
    return production_settings(
        pg_url, tmp_path, bus_url=topics.bus_url(), graph_url=graph_url
    )


@pytest.fixture
async def kafka_pg(kafka_pg_settings: Settings) -> AsyncIterator[Container]:
    async with open_container(kafka_pg_settings) as container:
        yield container


@pytest.fixture
async def stack_settings(
    pg_url: str, topics: Topics, indexes: Indexes, graph_url: str, tmp_path: Path
) -> Settings:
    """The full production stack: PostgreSQL, Kafka and OpenSearch, with the
    graph store of `graph_url`."""
    return production_settings(
        pg_url,
        tmp_path,
        bus_url=topics.bus_url(),
        search_url=indexes.search_url(refresh="false"),
        graph_url=graph_url,
    )


@pytest.fixture
async def stack(stack_settings: Settings) -> AsyncIterator[Container]:
    async with open_container(stack_settings) as container:
        yield container
