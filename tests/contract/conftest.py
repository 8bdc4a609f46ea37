"""Port fixtures for the contract suites: one fixture per port, one param per adapter.

SQL adapters run on every kind of `sql_database` (SQLite and PostgreSQL). To add
an adapter, add a param to the port's fixture and build it in the matching branch.
The search index also runs on OpenSearch and Elasticsearch and the message bus
on Kafka, built by the `open_*` helpers of tests/integration/conftest.py (a
fresh index prefix or topic per test) under the same markers and service rules.
The graph store also runs on TerminusDB (SPICE_TEST_TERMINUSDB_URL, built and
started by scripts/services.sh); like every service, missing in CI is a failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import MetaData

from adapters.event_store.sql import SqlEventStore
from adapters.graph_store.sql import SqlGraphStore
from adapters.graph_store.terminus.config import TerminusConfig
from adapters.message_bus.memory import InMemoryMessageBus
from adapters.migrations import upgrade
from adapters.rebuild_sql import create_shadow
from adapters.registry import terminus_config
from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex
from adapters.sql_engine import SqlDatabase, open_database
from adapters.tables import graph_edges_table, graph_nodes_table
from adapters.tracking.sql import SqlConsumerState
from domain.ports import GraphStore, MessageBus, SearchIndex
from tests.conftest import require_service
from tests.integration.conftest import (
    CLUSTER_PARAMS,
    CLUSTER_SERVICES,
    open_cluster_index,
    open_kafka_bus,
)
from tests.stacks import drop_terminus_databases

T = TypeVar("T")


async def _admin_execute(admin_url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped,unused-ignore]

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _migrated_postgres_database(admin_url: str) -> str:
    name = f"spice_contract_{uuid.uuid4().hex[:12]}"
    await _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    database = open_database(url)
    try:
        await upgrade(database)
    finally:
        await database.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the session, emptied before each test.

    Unlike `database_url` (tests/conftest.py), which creates a database per test:
    with the PostgreSQL server shared, that took most of this suite's time.
    """
    admin = require_service("SPICE_TEST_POSTGRES_URL", "postgres")
    url = _run_aside(_migrated_postgres_database(admin))
    yield url
    name = url.rpartition("/")[2]
    _run_aside(_admin_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _run_aside(work: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to completion on its own loop in another thread: session
    fixtures are first asked for from inside a test's running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


async def _delete_every_row(database: SqlDatabase) -> None:
    """Empties every table and keeps the schema: a fresh database, cheaply."""
    listed = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    async with database.write() as conn:
        names = [row[0] for row in await conn.exec_driver_sql(listed)]
        for name in sorted(set(names) - {"alembic_version"}):
            await conn.exec_driver_sql(f'DELETE FROM "{name}"')


@asynccontextmanager
async def _empty_sql_database(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SqlDatabase]:
    if kind == "sqlite":
        database = open_database(f"sqlite:///{tmp_path / 'spice.db'}")
        await upgrade(database)
    else:
        database = open_database(request.getfixturevalue("postgres_url"))
        await _delete_every_row(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sql_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SqlDatabase]:
    """A migrated database of the parametrized kind, with no rows."""
    async with _empty_sql_database(request.param, request, tmp_path) as database:
        yield database


@pytest.fixture
async def event_store(sql_database: SqlDatabase) -> AsyncIterator[SqlEventStore]:
    store = SqlEventStore(sql_database)
    yield store
    await store.close()


@pytest.fixture
async def other_event_store(sql_database: SqlDatabase) -> AsyncIterator[SqlEventStore]:
    """A second store on the same database through its own engines, as another
    process would have."""
    database = open_database(sql_database.url)
    store = SqlEventStore(database)
    try:
        yield store
    finally:
        await store.close()
        await database.dispose()


TERMINUS_VARIABLE = "SPICE_TEST_TERMINUSDB_URL"


class GraphBackend:
    """Where the graph stores of one test live; `open()` gives the store under
    test, `open(other=True)` a second, empty one beside it (a SQL shadow's own
    tables, or its own TerminusDB prefix). Everything opened is closed after."""

    def __init__(
        self, database: SqlDatabase | None, terminus: TerminusConfig | None
    ) -> None:
        self.database = database
        self.terminus = terminus
        self.stores: list[GraphStore] = []
        self.prefixes: list[str] = []

    async def open(self, *, other: bool = False) -> GraphStore:
        store = await (self._terminus(other) if self.terminus else self._sql(other))
        self.stores.append(store)
        return store

    async def _sql(self, other: bool) -> GraphStore:
        assert self.database is not None
        if not other:
            return SqlGraphStore(self.database)
        meta = MetaData()
        nodes = graph_nodes_table(meta, "graph_nodes_other")
        edges = graph_edges_table(meta, "graph_edges_other")
        await create_shadow(self.database, [nodes, edges])
        return SqlGraphStore(self.database, nodes=nodes, edges=edges)

    async def _terminus(self, other: bool) -> GraphStore:
        from adapters.graph_store.terminus.store import TerminusGraphStore

        assert self.terminus is not None
        prefix = f"t{uuid.uuid4().hex[:12]}{'o' if other else ''}"
        self.prefixes.append(prefix)
        return TerminusGraphStore(dataclasses.replace(self.terminus, prefix=prefix))

    async def close(self) -> None:
        for store in self.stores:
            await store.close()
        if self.terminus is not None:
            for prefix in self.prefixes:
                config = dataclasses.replace(self.terminus, prefix=prefix)
                await asyncio.to_thread(drop_terminus_databases, config)


def _terminus_config() -> TerminusConfig:
    """The test server: in CI a missing one fails, locally it skips."""
    url = require_service(TERMINUS_VARIABLE, "terminusdb")
    if find_spec("terminusdb") is None:
        pytest.fail(
            f"{TERMINUS_VARIABLE} is set but the client is missing: "
            "pip install -e '.[terminus]'"
        )
    return terminus_config(url)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("terminus", marks=pytest.mark.terminus),
    ]
)
async def graph_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[GraphBackend]:
    if request.param == "terminus":
        backend = GraphBackend(None, _terminus_config())
        try:
            yield backend
        finally:
            await backend.close()
        return
    async with _empty_sql_database(request.param, request, tmp_path) as database:
        backend = GraphBackend(database, None)
        try:
            yield backend
        finally:
            await backend.close()


@pytest.fixture
async def graph_store(graph_backend: GraphBackend) -> GraphStore:
    return await graph_backend.open()


@pytest.fixture
async def other_graph_store(graph_backend: GraphBackend) -> GraphStore:
    """A second, empty graph store of the same adapter (as a rebuild's shadow)."""
    return await graph_backend.open(other=True)


@pytest.fixture
async def consumer_state(sql_database: SqlDatabase) -> SqlConsumerState:
    return SqlConsumerState(sql_database)


@asynccontextmanager
async def _open_search_index(
    adapter: str, tmp_path: Path, *, prefix: str = "search"
) -> AsyncIterator[SearchIndex]:
    """A new, empty index: SQLite tables under `prefix` in the test's file, or a
    fresh index prefix on the cluster (its indexes deleted afterwards)."""
    if adapter in CLUSTER_SERVICES:
        async with open_cluster_index(adapter) as cluster_index:
            yield cluster_index
        return
    database = open_database(f"sqlite:///{tmp_path / 'search.db'}")
    index = SqliteFtsSearchIndex(database, prefix=prefix)
    try:
        await index.open()
        yield index
    finally:
        await index.close()
        await database.dispose()


@pytest.fixture(params=["sqlite_fts", *CLUSTER_PARAMS])
def search_adapter(request: pytest.FixtureRequest) -> str:
    """The search index adapter under test; both index fixtures below use it."""
    return str(request.param)


@pytest.fixture
async def search_index(
    search_adapter: str, tmp_path: Path
) -> AsyncIterator[SearchIndex]:
    async with _open_search_index(search_adapter, tmp_path) as index:
        yield index


@pytest.fixture
async def other_search_index(
    search_adapter: str, tmp_path: Path
) -> AsyncIterator[SearchIndex]:
    """A second, empty index of the same adapter (other tables, other prefix)."""
    async with _open_search_index(
        search_adapter, tmp_path, prefix="search_other"
    ) as index:
        yield index


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
async def message_bus(request: pytest.FixtureRequest) -> AsyncIterator[MessageBus]:
    """The in-process bus, or Kafka on fresh topics (deleted afterwards)."""
    if request.param == "kafka":
        async with open_kafka_bus() as kafka_bus:
            yield kafka_bus
        return
    bus: MessageBus = InMemoryMessageBus()
    yield bus
    await bus.close()


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _let_failed_connections_stop() -> None:
    """aiosqlite stops the worker thread of a connection that failed to open
    without waiting for it; let the thread finish while the loop still runs."""
    workers = [t for t in threading.enumerate() if "_connection_worker" in t.name]
    for _ in range(200):
        if not any(t.is_alive() for t in workers):
            return
        await asyncio.sleep(0.01)


@pytest.fixture(params=["sqlite-unreadable", "postgres-refused"])
async def unreachable_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SqlDatabase]:
    """A database the driver cannot open: a directory as the SQLite file, or a
    PostgreSQL port nothing listens on (no server needed)."""
    if request.param == "sqlite-unreadable":
        url = f"sqlite:///{tmp_path}"
    else:
        url = f"postgresql://spice@127.0.0.1:{_unused_port()}/spice"
    database = open_database(url)
    yield database
    await database.dispose()
    await _let_failed_connections_stop()
