"""Where the CPU goes while the production stack takes 500 commands/s.

Runs bench.projection_lag once per --runs on the production stack and reads, from
/proc, the CPU time every process on the machine spent during the measured part
(the services, the `spice worker` processes and this process, which is the API
here). Prints the median CPU milliseconds per command of each part, the machine's
budget per command at that rate (cores / rate) as the baseline, and each part's
ratio to it: when the parts add up to more than the budget, commands queue in
front of the append whatever the code does with its waits. `--rate` sets another
command rate (default RATE). Linux only.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from adapters.event_store.sql import GroupCommitStats
from bench.common import (
    bench_container,
    median_of,
    parse_args,
    percentile,
    prepare_database,
    run,
    workers_running,
)
from bench.projection_lag import RATE, SECONDS, measure
from bench.stack import service_urls

_TICKS = os.sysconf("SC_CLK_TCK")
# The first marker found in a process's command line names its part.
_PARTS = (
    ("SpiceOpenSearchNode", "OpenSearch"),
    ("kafka.Kafka", "Kafka"),
    ("moto_server", "S3 (moto)"),
    ("postgres", "PostgreSQL"),
    ("worker relay", "worker relay"),
    ("worker graph", "worker graph"),
    ("worker search", "worker search"),
    ("worker catalog", "worker catalog"),
    ("worker audit", "worker audit"),
)


def cpu_seconds() -> dict[int, tuple[float, str]]:
    """pid -> (user + system CPU seconds, command line) of every readable process."""
    found: dict[int, tuple[float, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in parentheses may hold spaces: split after it.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_text().replace("\0", " ")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        found[int(entry.name)] = ((int(fields[11]) + int(fields[12])) / _TICKS, command)
    return found


def _part(pid: int, command: str) -> str:
    if pid == os.getpid():
        return "API (this process)"
    return next((part for mark, part in _PARTS if mark in command), "other")


def per_part(
    before: dict[int, tuple[float, str]], after: dict[int, tuple[float, str]]
) -> dict[str, float]:
    spent: dict[str, float] = defaultdict(float)
    for pid, (seconds, command) in after.items():
        spent[_part(pid, command)] += seconds - before.get(pid, (0.0, ""))[0]
    return dict(spent)


@dataclass(frozen=True, slots=True)
class Run:
    cpu: dict[str, float]  # CPU seconds per part
    accepted_rate: float  # commands accepted per second
    applied_p99: float  # seconds
    groups: GroupCommitStats  # the API's group writer during the run


async def one_run(rate: int) -> Run:
    async with bench_container("production") as container:
        await prepare_database(container)
        async with workers_running(container):
            stats = container.event_store.group_stats
            before, stats_before = cpu_seconds(), replace(stats)
            lags = await measure(container, rate, SECONDS)
            after = cpu_seconds()
    return Run(
        per_part(before, after),
        lags["achieved_rate"][0],
        percentile(lags["APPLIED"], 0.99),
        stats.since(stats_before),
    )


async def main() -> None:
    args = parse_args(__doc__ or "", backend=False, rate=RATE)
    service_urls()
    runs = [await one_run(args.rate) for _ in range(args.runs)]
    commands = args.rate * SECONDS
    budget = (os.cpu_count() or 1) / args.rate * 1000
    parts = sorted({part for r in runs for part in r.cpu})
    per_command = {
        part: median_of([r.cpu.get(part, 0.0) for r in runs]) / commands * 1000
        for part in parts
    }
    print(
        f"CPU per command at {args.rate} commands/s for {SECONDS} s on the production"
        f" stack (ms, median of {args.runs})"
    )
    print(
        f"  accepted {median_of([r.accepted_rate for r in runs]):.0f} commands/s,"
        f" APPLIED p99 {median_of([r.applied_p99 for r in runs]) * 1000:.0f} ms"
    )
    print_groups([r.groups for r in runs])
    label = f"budget ({os.cpu_count()} cores / rate)"
    print(f"  {label:34s} {budget:6.2f}   ratio 1.00")
    for part, ms in sorted(per_command.items(), key=lambda kv: -kv[1]):
        print(f"  {part:34s} {ms:6.2f}   ratio {ms / budget:4.2f}")
    total = sum(per_command.values())
    print(f"  {'all parts':34s} {total:6.2f}   ratio {total / budget:4.2f}")


def print_groups(groups: list[GroupCommitStats]) -> None:
    """The API's append transactions: how full and how long, and how much of the
    run the group writer spent inside one (near the run's length: saturated)."""
    size = median_of([g.batches / max(g.groups, 1) for g in groups])
    took = median_of([g.seconds / max(g.groups, 1) for g in groups]) * 1000
    busy = median_of([g.seconds for g in groups])
    print(
        f"  append transactions: {median_of([g.groups for g in groups]):.0f},"
        f" {size:.1f} commands and {took:.1f} ms each on average,"
        f" {busy:.1f} s inside one"
    )


if __name__ == "__main__":
    run(main)
