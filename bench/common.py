"""Shared set-up for benchmarks: a container on SQLite (default) or PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from app.bootstrap import Container, open_container
from app.settings import Settings
from domain import commands as c
from domain.ids import new_command_id

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


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--runs", type=int, default=3, help="repetitions; the median is reported"
    )
    return parser.parse_args()


async def _postgres_url() -> str:
    import asyncpg

    admin = os.environ.get("SPICE_TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit(
            "set SPICE_TEST_POSTGRES_URL (scripts/services.sh up postgres; eval ...env)"
        )
    name = f"spice_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return admin.rsplit("/", 1)[0] + "/" + name


@asynccontextmanager
async def bench_container(backend: str, **overrides: Any) -> AsyncIterator[Container]:
    with tempfile.TemporaryDirectory() as tmp:
        url = (
            f"sqlite+aiosqlite:///{Path(tmp) / 'spice.db'}"
            if backend == "sqlite"
            else await _postgres_url()
        )
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": url,
            "search_url": f"sqlite:///{Path(tmp) / 'search.db'}",
            "bus_url": "memory://",
            "consumer_max_wait": 0.005,
            "relay_poll_interval": 0.005,
        }
        values.update(overrides)
        async with open_container(Settings(**values)) as container:
            yield container


def meta() -> c.CommandMeta:
    return c.CommandMeta(command_id=new_command_id(), actor="bench")


async def prepare_database(container: Container, db: str = "bench") -> None:
    await container.handlers.dispatch(c.CreateDatabase(name=db), meta())
    await container.handlers.dispatch(c.DefineClass(db=db, definition=CUSTOMER), meta())


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
