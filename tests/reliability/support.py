"""Helpers for the reliability tests: reading the log, clean reference runs,
projection shims that inject faults, waiting, and worker subprocesses."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, func, select

from adapters import tables as t
from adapters.graph_store.sql import SqlGraphStore
from adapters.rebuild_sql import create_shadow
from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex
from app.bootstrap import Container
from app.settings import Settings
from domain.events import INSTANCE, MAIN_BRANCH, EventEnvelope, StreamId
from domain.ports import BranchSpan, ReadScope
from projections.base import Projection
from projections.graph import GraphProjection
from projections.search import SearchProjection
from tests.conftest import ADMIN_TOKEN
from tests.reliability.conftest import DB

ROOT = Path(__file__).resolve().parents[2]


def item_stream(sku: str, *, db: str = DB) -> StreamId:
    return StreamId(db, MAIN_BRANCH, INSTANCE, f"Item/{sku}")


def main_scope(db: str = DB) -> ReadScope:
    return ReadScope(
        db=db, lineage=[BranchSpan(branch=MAIN_BRANCH, until_position=None)]
    )


async def all_events(
    container: Container, db: str = DB, *, page: int = 2000
) -> list[EventEnvelope]:
    """Every committed event of the database, in position order."""
    events: list[EventEnvelope] = []
    while True:
        after = events[-1].position if events else 0
        chunk = await container.event_store.read_positions(
            db, after_position=after, limit=page
        )
        if not chunk:
            return events
        events.extend(chunk)


async def last_position(container: Container, db: str = DB) -> int:
    return (await container.event_store.last_positions()).get(db, 0)


async def count_rows(container: Container, table: Any, *where: Any) -> int:
    query = select(func.count()).select_from(table).where(*where)
    async with container.database.read() as conn:
        return int((await conn.execute(query)).scalar_one())


async def processed_positions(
    container: Container, consumer: str, db: str = DB
) -> list[int]:
    p = t.processed_events
    query = (
        select(p.c.position)
        .where(p.c.consumer == consumer, p.c.db == db)
        .order_by(p.c.position)
    )
    async with container.database.read() as conn:
        return [int(row[0]) for row in await conn.execute(query)]


async def checkpoint(container: Container, consumer: str, db: str = DB) -> int:
    return (await container.consumer_state.checkpoints(consumer)).get(db, 0)


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    *,
    max_wait: float,
    what: str,
    interval: float = 0.02,
) -> None:
    """Polls until the condition holds; fails naming what did not happen."""
    deadline = time.monotonic() + max_wait
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {max_wait} s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_for_checkpoints(
    container: Container,
    consumers: Sequence[str],
    position: int,
    *,
    max_wait: float = 60,
    db: str = DB,
) -> None:
    async def reached() -> bool:
        return all([await checkpoint(container, n, db) >= position for n in consumers])

    await wait_until(
        reached,
        max_wait=max_wait,
        what=f"{list(consumers)} to reach position {position}",
    )


# --- clean reference runs ----------------------------------------------------------


@dataclass(slots=True)
class Reference:
    """Read models on their own tables, fed every event once, in position order:
    what a clean single run produces."""

    graph: SqlGraphStore
    search: SqliteFtsSearchIndex

    async def feed(self, events: Sequence[EventEnvelope], *, batch: int = 500) -> None:
        graph, search = GraphProjection(self.graph), SearchProjection(self.search)
        for start in range(0, len(events), batch):
            chunk = events[start : start + batch]
            await graph.apply(chunk)
            await search.apply(chunk)


async def reference_stores(container: Container, *, name: str = "ref") -> Reference:
    meta = MetaData()
    nodes = t.graph_nodes_table(meta, f"graph_nodes_{name}")
    edges = t.graph_edges_table(meta, f"graph_edges_{name}")
    await create_shadow(container.database, [nodes, edges])
    assert container.search_database is not None, (
        "the reference needs the SQLite search index"
    )
    search = SqliteFtsSearchIndex(container.search_database, prefix=f"search_{name}")
    await search.drop()
    await search.open()
    return Reference(
        SqlGraphStore(container.database, nodes=nodes, edges=edges), search
    )


async def clean_hashes(
    container: Container, events: Sequence[EventEnvelope], *, db: str = DB
) -> tuple[str, str]:
    """(graph, search) content hashes of a clean single run over the events."""
    reference = await reference_stores(container)
    await reference.feed(events)
    return await reference.graph.content_hash(db), await reference.search.content_hash(
        db
    )


async def live_hashes(container: Container, *, db: str = DB) -> tuple[str, str]:
    return await container.graph.content_hash(db), await container.search.content_hash(
        db
    )


# --- projection shims (wrap a real projection to inject faults) ---------------------


class RetriableFault(Exception):
    """Behaves like an infrastructure outage: the consumer retries it with backoff."""

    retriable = True


class SimulatedCrash(BaseException):
    """A process death inside the consumer: nothing catches it, nothing cleans up."""


@dataclass(slots=True)
class Recording:
    """Wraps a projection; records every batch it was asked to apply and what was
    applied, so tests check histories afterwards."""

    inner: Projection
    name: str = ""
    applied: list[EventEnvelope] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or self.inner.name

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        await self.inner.apply(events)
        self.applied.extend(events)


@dataclass(slots=True)
class Faulty:
    """Wraps a projection: batches holding `event_id` fail (with `error()`) while
    `failures_left` lasts (-1: for ever); every call waits a random latency first."""

    inner: Projection
    event_id: str
    error: Callable[[], BaseException] = lambda: RetriableFault("injected fault")
    failures_left: int = -1
    latency: Callable[[], float] = lambda: 0.0
    name: str = ""
    attempts: list[float] = field(
        default_factory=list
    )  # monotonic time of each failing call
    applied: list[EventEnvelope] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or self.inner.name

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        delay = self.latency()
        if delay:
            await asyncio.sleep(delay)
        if self.failures_left != 0 and any(e.event_id == self.event_id for e in events):
            self.attempts.append(time.monotonic())
            if self.failures_left > 0:
                self.failures_left -= 1
            raise self.error()
        await self.inner.apply(events)
        self.applied.extend(events)


def applied_seqs_by_stream(
    events: Sequence[EventEnvelope],
) -> dict[StreamId, list[int]]:
    seqs: dict[StreamId, list[int]] = {}
    for event in events:
        seqs.setdefault(event.stream, []).append(event.seq)
    return seqs


# --- worker subprocesses --------------------------------------------------------------


def spice_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a `spice` process needs to use the test's stores."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPICE_")}
    env.update(
        PYTHONPATH=str(ROOT),
        SPICE_ENVIRONMENT="test",
        SPICE_DATABASE_URL=settings.database_url,
        SPICE_SEARCH_URL=settings.search_url,
        SPICE_BUS_URL=settings.bus_url,
        SPICE_GRAPH_URL=settings.graph_url,
        SPICE_BLOB_URL=settings.blob_url,
        SPICE_RETRY_BASE_DELAY=str(settings.retry_base_delay),
        SPICE_RETRY_ATTEMPTS=str(settings.retry_attempts),
        SPICE_CONSUMER_MAX_WAIT=str(settings.consumer_max_wait),
        SPICE_RELAY_POLL_INTERVAL=str(settings.relay_poll_interval),
        SPICE_ADMIN_TOKEN=settings.admin_token or ADMIN_TOKEN,
    )
    env.update(extra)
    return env


async def start_python(
    args: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log: Path,
    pipe_stdout: bool = True,
) -> asyncio.subprocess.Process:
    """Starts `python ARGS`; stderr (and stdout unless piped) goes to `log`."""
    with log.open("ab") as sink:
        stdout: Any = asyncio.subprocess.PIPE if pipe_stdout else sink
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=cwd, env=env, stdout=stdout, stderr=sink
        )
