"""Full rebuild rate of each projection, in events per second.

The store is filled with --events instance creates (bulk commands of 500), then each
projection is rebuilt from the event store into a shadow and swapped. Baseline in the
same run: reading every event from the store in the same pages (the floor any replay
pays).
"""

from __future__ import annotations

import time

from app.bootstrap import Container
from app.rebuild import REPLAY_BATCH, rebuild
from bench.common import (
    bench_container,
    customer,
    median_of,
    meta,
    parse_args,
    prepare_database,
    run,
)
from domain import commands as c

EVENTS = 20_000


async def fill(container: Container, count: int) -> None:
    items = [customer(i) for i in range(count)]
    for start in range(0, count, 500):
        command = c.CreateInstances(
            db="bench", class_id="Customer", items=items[start : start + 500]
        )
        await container.handlers.dispatch(command, meta())


async def read_rate(container: Container) -> float:
    started = time.perf_counter()
    after, count = 0, 0
    while events := await container.event_store.read_positions(
        "bench", after_position=after, limit=REPLAY_BATCH
    ):
        after = events[-1].position
        count += len(events)
    return count / (time.perf_counter() - started)


async def main() -> None:
    args = parse_args(__doc__ or "")
    rates: dict[str, list[float]] = {
        "graph": [],
        "search": [],
        "audit": [],
        "read baseline": [],
    }
    for _ in range(args.runs):
        async with bench_container(args.backend) as container:
            await prepare_database(container)
            await fill(container, EVENTS)
            rates["read baseline"].append(await read_rate(container))
            for name in ("graph", "search", "audit"):
                started = time.perf_counter()
                report = await rebuild(container, name)
                rates[name].append(report.events / (time.perf_counter() - started))
                if report.shadow_hash != report.live_hash:
                    raise SystemExit(
                        f"{name}: rebuilt projection differs from its shadow"
                    )
    base = median_of(rates["read baseline"])
    print(
        f"rebuild rate on {args.backend}, {EVENTS} events (events/s, median of {args.runs})"
    )
    for name, values in rates.items():
        print(
            f"  {name:14s} {median_of(values):9.0f}   ratio to read baseline {median_of(values) / base:5.2f}"
        )


if __name__ == "__main__":
    run(main)
