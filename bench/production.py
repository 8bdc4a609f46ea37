"""The production stack against the embedded default, measured in the same run.

Production: PostgreSQL event store and graph store, Kafka bus, OpenSearch search
index, S3 event-payload archive (the servers of `scripts/services.sh`, read from
SPICE_TEST_POSTGRES_URL, SPICE_TEST_KAFKA_BOOTSTRAP, SPICE_TEST_SEARCH_URL and
SPICE_TEST_S3_URL), with the relay and every projection consumer running as
`spice worker` processes, as production runs them. Embedded: SQLite, the
in-process bus and SQLite FTS5, with every worker in the benchmark's process.

Prints, each figure the median of --runs runs: command throughput (single creates
with 1 and 64 clients, bulk creates of 100 with 1 and 8 clients), projection lag
p50/p99 at 500 commands/s for 10 s (bench.projection_lag), each with the ratio
production / embedded, and the lag once more on the production stack without the
S3 payload archive (what the archive costs); and the rate of `rebuild search`
(bulk indexing into a shadow generation of OpenSearch indexes, then the alias
swap) against a read baseline measured in the same run (bench.rebuild).
`--only lag` (repeatable) measures one section.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from app.rebuild import rebuild
from bench.commands import bulk_creates, single_creates
from bench.common import (
    bench_container,
    median_of,
    parse_args,
    percentile,
    prepare_database,
    run,
)
from bench.projection_lag import RATE, SECONDS, one_run
from bench.rebuild import fill, read_rate
from bench.stack import service_urls

STACKS = ("production", "sqlite")
REBUILD_EVENTS = 20_000

Figure = Callable[[str], Awaitable[float]]

THROUGHPUT: dict[str, Figure] = {
    "single, 1 client": lambda b: single_creates(b, clients=1, count=500, workers=True),
    "single, 64 clients": lambda b: single_creates(
        b, clients=64, count=3000, workers=True
    ),
    "bulk of 100, 1 client": lambda b: bulk_creates(
        b, batch=100, count=10_000, workers=True
    ),
    "bulk of 100, 8 clients": lambda b: bulk_creates(
        b, batch=100, count=20_000, clients=8, workers=True
    ),
}


async def throughput(runs: int) -> dict[str, dict[str, float]]:
    """label -> stack -> median instances/s; the stacks alternate run by run, so
    machine noise falls on both alike."""
    found: dict[str, dict[str, list[float]]] = {}
    for label, figure in THROUGHPUT.items():
        per_stack = found.setdefault(label, {s: [] for s in STACKS})
        for _ in range(runs):
            for stack in STACKS:
                per_stack[stack].append(await figure(stack))
    return {
        label: {s: median_of(v) for s, v in per_stack.items()}
        for label, per_stack in found.items()
    }


# The lag also runs without the S3 payload archive, to show what the archive
# (one object per append transaction, written before the relay may publish it)
# costs.
NO_ARCHIVE = "production, no S3 archive"
LAG_STACKS: dict[str, tuple[str, dict[str, Any]]] = {
    "production": ("production", {}),
    NO_ARCHIVE: ("production", {"event_payloads_url": None}),
    "sqlite": ("sqlite", {}),
}


async def lag(runs: int) -> dict[str, dict[str, tuple[float, float]]]:
    """stack -> stage -> (median p50, median p99) in seconds."""
    samples: dict[str, list[dict[str, list[float]]]] = {s: [] for s in LAG_STACKS}
    for _ in range(runs):
        for name, (backend, overrides) in LAG_STACKS.items():
            samples[name].append(await one_run(backend, RATE, SECONDS, **overrides))
    return {
        stack: {
            stage: (
                median_of([percentile(r[stage], 0.50) for r in found]),
                median_of([percentile(r[stage], 0.99) for r in found]),
            )
            for stage in ("accepted", "APPLIED", "INDEXED")
        }
        | {"rate": (median_of([r["achieved_rate"][0] for r in found]), 0.0)}
        for stack, found in samples.items()
    }


async def rebuild_search(stack: str) -> tuple[float, float]:
    """(rebuild search events/s, read baseline events/s) of one run."""
    async with bench_container(stack) as container:
        await prepare_database(container)
        await fill(container, REBUILD_EVENTS)
        baseline = await read_rate(container)
        started = time.perf_counter()
        report = await rebuild(container, "search")
        rate = report.events / (time.perf_counter() - started)
        if report.shadow_hash != report.live_hash:
            raise SystemExit(
                f"{stack}: the rebuilt search index differs from its shadow"
            )
        return rate, baseline


async def rebuild_rates(runs: int) -> dict[str, tuple[float, float]]:
    found: dict[str, list[tuple[float, float]]] = {s: [] for s in STACKS}
    for _ in range(runs):
        for stack in STACKS:
            found[stack].append(await rebuild_search(stack))
    return {
        s: (median_of([r for r, _ in v]), median_of([b for _, b in v]))
        for s, v in found.items()
    }


def print_throughput(figures: dict[str, dict[str, float]]) -> None:
    print("  command throughput (instances/s)   production    embedded   ratio")
    for label, by_stack in figures.items():
        ours, embedded = by_stack["production"], by_stack["sqlite"]
        print(f"    {label:28s} {ours:9.0f}   {embedded:9.0f}   {ours / embedded:5.2f}")


def print_lag(figures: dict[str, dict[str, tuple[float, float]]]) -> None:
    production, embedded = figures["production"], figures["sqlite"]
    bare = figures[NO_ARCHIVE]
    print(
        f"  projection lag at {RATE} commands/s for {SECONDS} s (ms)"
        "   production p50 / p99     embedded p50 / p99   ratio p99"
    )
    print(
        f"    accepted commands/s {production['rate'][0]:25.0f}"
        f" {embedded['rate'][0]:22.0f}"
    )
    for stage in ("accepted", "APPLIED", "INDEXED"):
        (p50, p99), (e50, e99) = production[stage], embedded[stage]
        print(
            f"    {stage:10s} {p50 * 1000:23.1f} / {p99 * 1000:7.1f}"
            f" {e50 * 1000:12.1f} / {e99 * 1000:7.1f} {p99 / e99:10.2f}"
        )
    print(f"    {NO_ARCHIVE}: accepted commands/s {bare['rate'][0]:.0f}")
    for stage in ("accepted", "APPLIED", "INDEXED"):
        p50, p99 = bare[stage]
        print(f"      {stage:10s} {p50 * 1000:21.1f} / {p99 * 1000:7.1f}")


def print_rebuild(figures: dict[str, tuple[float, float]]) -> None:
    print(f"  rebuild search, {REBUILD_EVENTS} events (events/s)")
    for stack, name in (("production", "OpenSearch"), ("sqlite", "SQLite FTS5")):
        rate, baseline = figures[stack]
        print(
            f"    {name:12s} {rate:9.0f}   read baseline {baseline:9.0f}"
            f"   ratio to read baseline {rate / baseline:5.2f}"
        )


SECTIONS = ("throughput", "lag", "rebuild")


async def main() -> None:
    args = parse_args(__doc__ or "", backend=False, sections=SECTIONS)
    chosen = set(args.only or SECTIONS)
    service_urls()  # fail before any work if the services are not there
    figures = await throughput(args.runs) if "throughput" in chosen else None
    lags = await lag(args.runs) if "lag" in chosen else None
    rebuilds = await rebuild_rates(args.runs) if "rebuild" in chosen else None
    print(
        "production stack (PostgreSQL + Kafka + OpenSearch + S3 payloads) vs embedded"
        f" (SQLite + in-process bus + FTS5), all workers running, median of {args.runs}"
    )
    if figures is not None:
        print_throughput(figures)
    if lags is not None:
        print_lag(lags)
    if rebuilds is not None:
        print_rebuild(rebuilds)


if __name__ == "__main__":
    run(main)
