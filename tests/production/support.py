"""Helpers for the reliability catalogue on the production stack: services of our
own that a test may stop and start, reading Kafka topics back, clean-run references
that work whatever the live search index is, and waiting for command statuses."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, text

from adapters import tables as t
from adapters.graph_store.sql import SqlGraphStore
from adapters.rebuild_sql import create_shadow
from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex
from adapters.serialization import envelope_from_bytes
from adapters.sql_engine import open_database
from app.bootstrap import Container
from domain.events import EventEnvelope
from projections.graph import GraphProjection
from projections.search import SearchProjection
from tests.reliability.conftest import DB

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = ROOT / "scripts" / "services.sh"


# --- services of our own ---------------------------------------------------------------


class PrivateServices:
    """`scripts/services.sh` under a private state folder: the services it starts are
    this test's own, so stopping one (an outage) never touches the shared services
    other tests and other people are using. `start` brings a stopped service back on
    the same port with the data it had."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.env: dict[str, str] = {}
        self.history: list[tuple[str, str, float]] = []  # (action, name, seconds)

    async def up(self, name: str) -> dict[str, str]:
        await self._run("up", name)
        for line in (await self._run("env")).splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            if key.startswith("SPICE_TEST_"):
                self.env[key] = value
        return self.env

    async def stop(self, name: str) -> None:
        await self._run("stop", name)

    async def start(self, name: str) -> None:
        await self._run("start", name)

    async def down(self) -> None:
        await self._run("down")

    async def _run(self, *args: str) -> str:
        env = {**os.environ, "SPICE_SERVICES_STATE": str(self.state)}
        began = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            "bash",
            str(SERVICES_SCRIPT),
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=240)
        self.history.append((args[0], " ".join(args[1:]), time.monotonic() - began))
        if process.returncode != 0:
            raise AssertionError(
                f"scripts/services.sh {' '.join(args)} failed "
                f"({process.returncode}):\n{err.decode(errors='replace')[-3000:]}"
            )
        return out.decode()


@asynccontextmanager
async def private_services() -> AsyncIterator[PrivateServices]:
    """Stops everything it started, also when the test fails.

    The state folder is a fresh world-readable one under /tmp: the PostgreSQL server
    runs as the `postgres` user and must reach it (pytest's tmp_path is private)."""
    state = _state_folder()
    services = PrivateServices(state)
    try:
        yield services
    finally:
        try:
            await services.down()
        finally:
            shutil.rmtree(state, ignore_errors=True)


def _state_folder() -> Path:
    state = Path(tempfile.mkdtemp(prefix="spice-services-"))
    state.chmod(0o755)
    return state


# --- Kafka topics, read back --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    @property
    def envelope(self) -> EventEnvelope:
        assert self.value is not None
        return envelope_from_bytes(self.value)


async def read_topic(
    bootstrap: str, topic: str, *, partitions: int = 3, within: float = 30.0
) -> list[TopicRecord]:
    """Every record of the topic (which has `partitions` partitions), in (partition,
    offset) order, read without a consumer group (so nothing is committed anywhere)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        records: list[TopicRecord] = []
        deadline = time.monotonic() + within
        while any([await consumer.position(p) < ends[p] for p in assigned]):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {within} s")
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for partition, batch in batches.items():
                records.extend(
                    TopicRecord(
                        partition.partition,
                        r.offset,
                        r.key,
                        r.value,
                        {k: bytes(v) for k, v in (r.headers or ())},
                    )
                    for r in batch
                )
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def delete_topics(bootstrap: str, topics: Sequence[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        await admin.delete_topics(list(topics))
    finally:
        await admin.close()


async def committed_offsets(bootstrap: str, group: str) -> dict[int, int]:
    """Partition -> the group's committed offset (what a restarted member resumes at)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


async def group_members(bootstrap: str, group: str) -> tuple[str, int]:
    """(state, number of members) of a consumer group, as its coordinator sees it."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    _error, _group, state, _protocol_type, _protocol, members, *_ = response.groups[0]
    return str(state), len(members)


# --- the store, read back ------------------------------------------------------------------


async def all_events(container: Container, db: str = DB) -> list[EventEnvelope]:
    events: list[EventEnvelope] = []
    while True:
        after = events[-1].position if events else 0
        chunk = await container.event_store.read_positions(
            db, after_position=after, limit=2000
        )
        if not chunk:
            return events
        events.extend(chunk)


CONSISTENCY = text(
    """
    SELECT command_id, SUM(e) AS events, SUM(o) AS outbox, SUM(c) AS commands FROM (
        SELECT command_id, 1 AS e, 0 AS o, 0 AS c FROM events WHERE db = :db
        UNION ALL SELECT command_id, 0, 1, 0 FROM outbox WHERE db = :db
        UNION ALL SELECT command_id, 0, 0, 1 FROM commands WHERE db = :db
    ) AS everything GROUP BY command_id
    """
)


async def stored_commands(
    container: Container, db: str = DB
) -> dict[str, tuple[int, int, int]]:
    """command id -> (events, outbox rows, command rows), read in one statement."""
    async with container.database.read() as conn:
        rows = await conn.execute(CONSISTENCY, {"db": db})
        return {
            r.command_id: (int(r.events), int(r.outbox), int(r.commands)) for r in rows
        }


async def positions(container: Container, db: str = DB) -> list[int]:
    query = text("SELECT position FROM events WHERE db = :db ORDER BY position")
    async with container.database.read() as conn:
        return [int(r[0]) for r in await conn.execute(query, {"db": db})]


async def tracked_ids(container: Container, consumer: str, db: str = DB) -> list[str]:
    p = t.processed_events
    query = p.select().where(p.c.consumer == consumer, p.c.db == db)
    async with container.database.read() as conn:
        return [row.event_id for row in await conn.execute(query)]


# --- clean single runs -------------------------------------------------------------------


async def clean_run_hashes(
    container: Container,
    events: Sequence[EventEnvelope],
    tmp_path: Path,
    *,
    db: str = DB,
    name: str = "clean",
) -> tuple[str, str]:
    """(graph, search) content hashes of a clean single run over the events: graph
    versions on shadow tables of the same database, search documents in a fresh
    SQLite FTS index (its hash is computed exactly as OpenSearch's is)."""
    meta = MetaData()
    nodes = t.graph_nodes_table(meta, f"graph_nodes_{name}")
    edges = t.graph_edges_table(meta, f"graph_edges_{name}")
    await create_shadow(container.database, [nodes, edges])
    graph_store = SqlGraphStore(container.database, nodes=nodes, edges=edges)
    database = open_database(f"sqlite:///{tmp_path / f'{name}-search.db'}")
    try:
        search_index = SqliteFtsSearchIndex(database)
        await search_index.open()
        graph, search = GraphProjection(graph_store), SearchProjection(search_index)
        for start in range(0, len(events), 500):
            chunk = events[start : start + 500]
            await graph.apply(chunk)
            await search.apply(chunk)
        return await graph_store.content_hash(db), await search_index.content_hash(db)
    finally:
        await database.dispose()


async def live_hashes(container: Container, db: str = DB) -> tuple[str, str]:
    return await container.graph.content_hash(db), await container.search.content_hash(
        db
    )


# --- waiting ---------------------------------------------------------------------------------


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    *,
    within: float,
    what: str,
    interval: float = 0.05,
) -> None:
    """Polls until the condition holds; fails naming what did not happen."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


# --- statuses -------------------------------------------------------------------------------


async def states(container: Container, command_ids: Iterable[str]) -> dict[str, str]:
    found = {}
    for command_id in command_ids:
        status = await container.status.status(command_id)
        found[command_id] = status.state if status is not None else "UNKNOWN"
    return found


async def wait_for_states(
    container: Container, command_ids: Sequence[str], wanted: str, *, within: float
) -> dict[str, str]:
    """Polls until every command is in `wanted`; fails with the states it saw."""
    deadline = time.monotonic() + within
    while True:
        seen = await states(container, command_ids)
        if all(s == wanted for s in seen.values()):
            return seen
        if time.monotonic() > deadline:
            counts: dict[str, int] = {}
            for state in seen.values():
                counts[state] = counts.get(state, 0) + 1
            raise AssertionError(
                f"after {within} s not all {len(seen)} commands are {wanted}: {counts}"
            )
        await asyncio.sleep(0.1)


def tail(path: Path, size: int = 4000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def describe(values: Any, limit: int = 5) -> str:
    listed = list(values)
    return f"{len(listed)}: {listed[:limit]}"
