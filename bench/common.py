"""Shared set-up for benchmarks: a container on SQLite (default), PostgreSQL, or the
whole production stack (PostgreSQL, Kafka, OpenSearch, S3; see bench.stack)."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.settings import Settings
from bench.processes import worker_processes
from bench.stack import database, production_settings
from domain import commands as c
from domain.ids import new_command_id

BACKENDS = ("sqlite", "postgres", "production")
# In-process workers poll tightly (cheap on one event loop, and the figures in
# the README were measured so).
IN_PROCESS_POLLING = {"consumer_max_wait": 0.005, "relay_poll_interval": 0.005}

CUSTOMER = {
    "id": "Customer",
    "label": "Customer",
    "primary_key": "customer_id",
    "title_key": "name",
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "age", "type": "integer"},
        {"name": "balance", "type": "decimal"},
    ],
}


def parse_args(
    description: str,
    *,
    backend: bool = True,
    sections: Sequence[str] = (),
    rate: int | None = None,
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    if backend:
        parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    if rate is not None:
        parser.add_argument(
            "--rate", type=int, default=rate, help=f"commands/s (default {rate})"
        )
    if sections:
        parser.add_argument(
            "--only",
            choices=sections,
            action="append",
            help="measure only this section (repeatable); default: all",
        )
    parser.add_argument(
        "--runs", type=int, default=3, help="repetitions; the median is reported"
    )
    return parser.parse_args()


def _postgres_admin() -> str:
    admin = os.environ.get("SPICE_TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit(
            "set SPICE_TEST_POSTGRES_URL (scripts/services.sh up postgres; eval ...env)"
        )
    return admin


@asynccontextmanager
async def bench_container(backend: str, **overrides: Any) -> AsyncIterator[Container]:
    with tempfile.TemporaryDirectory() as tmp:
        values: dict[str, Any] = {
            "environment": "test",
            "search_url": f"sqlite:///{Path(tmp) / 'search.db'}",
            "bus_url": "memory://",
            "blob_url": f"file://{Path(tmp) / 'blobs'}",
        }
        async with AsyncExitStack() as stack:
            if backend == "production":
                # Its workers are processes of their own (workers_running), with
                # the production defaults: polling every 5 ms there burns CPU.
                values.update(await stack.enter_async_context(production_settings()))
            else:
                values.update(IN_PROCESS_POLLING)
            if backend == "postgres":
                # A database of its own, dropped again when the container is closed.
                values["database_url"] = await stack.enter_async_context(
                    database(_postgres_admin())
                )
            elif backend == "sqlite":
                values["database_url"] = f"sqlite+aiosqlite:///{Path(tmp) / 'spice.db'}"
            values.update(overrides)
            container = await stack.enter_async_context(
                open_container(Settings(**values))
            )
            yield container


@asynccontextmanager
async def workers_running(
    container: Container, db: str = "bench"
) -> AsyncIterator[None]:
    """The relay and every projection consumer, stopped on exit: in-process on the
    in-process bus, as `spice worker` processes on a durable one (as production
    runs them). Yields once they have caught up with what `db` holds, so a
    measurement never includes start-up or a consumer group's first join."""
    if container.bus.durable:
        async with worker_processes(container.settings):
            await caught_up(container, db)
            yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(container, WORKER_NAMES, stop))
    try:
        await caught_up(container, db)
        yield
    finally:
        stop.set()
        await task


async def caught_up(container: Container, db: str, *, within: float = 120) -> None:
    last = (await container.event_store.last_positions()).get(db, 0)
    for stage in ("APPLIED", "INDEXED"):
        if not await container.waiter.wait(stage, db, last, max_wait=within):
            raise SystemExit(f"the workers did not reach {stage} {last} in {within} s")


def meta() -> c.CommandMeta:
    return c.CommandMeta(command_id=new_command_id(), actor="bench")


async def prepare_database(container: Container, db: str = "bench") -> None:
    await container.handlers.dispatch(c.CreateDatabase(name=db), meta())
    await container.handlers.dispatch(c.DefineClass(db=db, definition=CUSTOMER), meta())
    # One instance write loads the write model's cache (dropped by the class
    # definition), as on a server that has been running: measurements start warm.
    warm = c.CreateInstance(db=db, class_id="Customer", data=customer(0, "warm-up"))
    await container.handlers.dispatch(warm, meta())


def customer(i: int, prefix: str = "C") -> dict[str, Any]:
    return {
        "customer_id": f"{prefix}{i}",
        "name": f"customer {i}",
        "age": i % 90,
        "balance": f"{i}.50",
    }


def median_of(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def repeat(runs: int, once: Callable[[], Awaitable[float]]) -> list[float]:
    return [await once() for _ in range(runs)]


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())
