"""End-to-end projection lag at a steady command rate, with every worker running
(in-process on the in-process bus, as `spice worker` processes on Kafka).

For each command (a single-instance create, issued at RATE per second for
SECONDS), the lag is the time from the moment it was due to be sent to the moment
the graph (APPLIED) and search (INDEXED) checkpoints pass its last position.
Baseline in the same run: the append latency alone (receipt received), which any
projection lag includes. `--rate` sets another command rate (default RATE).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from app.bootstrap import Container
from bench.common import (
    bench_container,
    customer,
    median_of,
    meta,
    percentile,
    prepare_database,
    run,
    workers_running,
)
from domain import commands as c

RATE = 500
SECONDS = 10
MAX_WAIT = 120


async def one_run(
    backend: str, rate: int, seconds: int, **overrides: Any
) -> dict[str, list[float]]:
    async with bench_container(backend, **overrides) as container:
        await prepare_database(container)
        async with workers_running(container):
            return await measure(container, rate, seconds)


@dataclass(slots=True)
class CommandTimes:
    """One command's way through the stack, in wall-clock seconds (time.time)."""

    due: float
    accepted: float = 0.0
    position: int = 0
    reached: dict[str, float] = field(default_factory=dict)  # stage -> when


async def measure(
    container: Container,
    rate: int,
    seconds: int,
    *,
    trace: list[CommandTimes] | None = None,
) -> dict[str, list[float]]:
    """Lags per stage (seconds); `trace`, when given, gets every command's times."""
    lags: dict[str, list[float]] = {"APPLIED": [], "INDEXED": [], "accepted": []}
    accepted_at: list[float] = []
    # perf_counter -> wall clock, which the workers' spans are stamped with.
    wall = time.time() - time.perf_counter()

    async def issue(i: int, due: float) -> None:
        # Every lag counts from when the command was due, so append latency (and
        # any delay in sending it) is included.
        receipt = await container.handlers.dispatch(
            c.CreateInstance(db="bench", class_id="Customer", data=customer(i)),
            meta(),
        )
        accepted_at.append(time.perf_counter())
        lags["accepted"].append(accepted_at[-1] - due)
        times = CommandTimes(due + wall, accepted_at[-1] + wall, receipt.last_position)
        if trace is not None:
            trace.append(times)
        for stage in ("APPLIED", "INDEXED"):
            # A wait that times out still counts (as at least MAX_WAIT): dropping
            # it would flatter the percentiles.
            await container.waiter.wait(
                stage, "bench", receipt.last_position, max_wait=MAX_WAIT
            )
            lags[stage].append(time.perf_counter() - due)
            times.reached[stage] = lags[stage][-1] + due + wall

    pending: list[asyncio.Task[None]] = []
    total, start = rate * seconds, time.perf_counter()
    issued = 0
    while issued < total:
        # Open loop without coordinated omission: every command that is due is
        # sent now, and its lag counts from when it was due, so a process that
        # falls behind its schedule shows up in the figures instead of hiding.
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        for i in range(issued, due):
            pending.append(asyncio.create_task(issue(i, start + i / rate)))
        issued = due
        await asyncio.sleep(max(0.0, start + issued / rate - time.perf_counter()))
    await asyncio.gather(*pending)
    # Commands accepted per second over the run: below the rate when appends
    # cannot keep up with it.
    lags["achieved_rate"] = [total / (max(accepted_at) - start)]
    return lags


async def main() -> None:
    from bench.common import parse_args

    args = parse_args(__doc__ or "", rate=RATE)
    runs = [await one_run(args.backend, args.rate, SECONDS) for _ in range(args.runs)]
    print(
        f"projection lag on {args.backend} at {args.rate} commands/s for {SECONDS} s (ms, median of {args.runs} runs)"
    )
    print(
        f"  accepted {median_of([r['achieved_rate'][0] for r in runs]):.0f} commands/s over the run"
    )
    for stage in ("accepted", "APPLIED", "INDEXED"):
        p50 = median_of([percentile(r[stage], 0.50) for r in runs]) * 1000
        p99 = median_of([percentile(r[stage], 0.99) for r in runs]) * 1000
        print(f"  {stage:10s} p50 {p50:7.1f}   p99 {p99:7.1f}")
    base = median_of([percentile(r["accepted"], 0.99) for r in runs])
    applied = median_of([percentile(r["APPLIED"], 0.99) for r in runs])
    print(
        f"  ratio p99 APPLIED / p99 accepted (append latency baseline): {applied / base:.2f}"
    )


if __name__ == "__main__":
    run(main)
