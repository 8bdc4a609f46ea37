"""Command append throughput through the handler (no HTTP).

Prints single-instance creates/s (one client in turn, and 64 concurrent clients
sharing group commits) and bulk creates of 100 instances per command, each the
median of --runs runs, with the ratio to a baseline measured in the same run: the
same event rows inserted with plain SQLAlchemy Core, one transaction per command,
with no validation, idempotency, OCC or outbox (the storage floor).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from adapters import tables as t
from app.bootstrap import Container
from bench.common import (
    bench_container,
    customer,
    median_of,
    meta,
    parse_args,
    prepare_database,
    run,
    workers_running,
)
from domain import commands as c


def maybe_workers(
    container: Container, workers: bool
) -> AbstractAsyncContextManager[None]:
    return workers_running(container) if workers else contextlib.nullcontext()


async def single_creates(
    backend: str, *, clients: int, count: int, workers: bool = False
) -> float:
    """Creates/s; with `workers`, the relay and every consumer run meanwhile."""
    async with bench_container(backend) as container:
        await prepare_database(container)
        prefix = uuid.uuid4().hex[:6]

        async def client(k: int) -> None:
            for i in range(k, count, clients):
                command = c.CreateInstance(
                    db="bench", class_id="Customer", data=customer(i, prefix)
                )
                await container.handlers.dispatch(command, meta())

        async with maybe_workers(container, workers):
            started = time.perf_counter()
            await asyncio.gather(*(client(k) for k in range(clients)))
            return count / (time.perf_counter() - started)


async def bulk_creates(
    backend: str, *, batch: int, count: int, clients: int = 1, workers: bool = False
) -> float:
    async with bench_container(backend) as container:
        await prepare_database(container)
        items = [customer(i) for i in range(count)]
        starts = list(range(0, count, batch))

        async def client(k: int) -> None:
            for start in starts[k::clients]:
                command = c.CreateInstances(
                    db="bench", class_id="Customer", items=items[start : start + batch]
                )
                await container.handlers.dispatch(command, meta())

        async with maybe_workers(container, workers):
            started = time.perf_counter()
            await asyncio.gather(*(client(k) for k in range(clients)))
            return count / (time.perf_counter() - started)


async def raw_inserts(backend: str, *, batch: int, count: int) -> float:
    """Baseline: the same rows with Core inserts, one transaction per command."""
    async with bench_container(backend) as container:
        now = datetime.now(UTC).isoformat()
        started = time.perf_counter()
        for start in range(0, count, batch):
            rows = [
                {
                    "db": "raw",
                    "position": i + 1,
                    "event_id": str(uuid.uuid4()),
                    "event_type": "instance.created.v1",
                    "schema_version": 1,
                    "branch": "main",
                    "aggregate_type": "instance",
                    "aggregate_id": f"Customer/C{i}",
                    "seq": 1,
                    "occurred_at": now,
                    "actor": "bench",
                    "command_id": f"cmd-{start}",
                    "correlation_id": f"cmd-{start}",
                    "causation_id": None,
                    "ontology_version": 0,
                    "data": {
                        "class_id": "Customer",
                        "values": customer(i),
                        "links": {},
                    },
                }
                for i in range(start, min(count, start + batch))
            ]
            async with container.database.write() as conn:
                await conn.execute(t.events.insert(), rows)
        return count / (time.perf_counter() - started)


async def main() -> None:
    args = parse_args(__doc__ or "")
    b = args.backend
    figures = {
        "single, 1 client": (
            [await single_creates(b, clients=1, count=1000) for _ in range(args.runs)],
            [await raw_inserts(b, batch=1, count=1000) for _ in range(args.runs)],
        ),
        "single, 64 clients": (
            [await single_creates(b, clients=64, count=5000) for _ in range(args.runs)],
            [await raw_inserts(b, batch=1, count=5000) for _ in range(args.runs)],
        ),
        "bulk of 100, 1 client": (
            [await bulk_creates(b, batch=100, count=20000) for _ in range(args.runs)],
            [await raw_inserts(b, batch=100, count=20000) for _ in range(args.runs)],
        ),
        "bulk of 100, 8 clients": (
            [
                await bulk_creates(b, batch=100, count=40000, clients=8)
                for _ in range(args.runs)
            ],
            [await raw_inserts(b, batch=100, count=40000) for _ in range(args.runs)],
        ),
    }
    print(f"command throughput on {b} (instances/s, median of {args.runs})")
    for label, (spice, raw) in figures.items():
        ours, floor = median_of(spice), median_of(raw)
        print(
            f"  {label:24s} {ours:9.0f}   raw-insert baseline {floor:9.0f}   ratio {ours / floor:5.2f}"
        )


if __name__ == "__main__":
    run(main)
