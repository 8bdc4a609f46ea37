"""End-to-end projection lag at a steady command rate, all workers in-process.

For each command (a single-instance create, issued at --rate per second for
--seconds), the lag is the time from its receipt to the moment the graph (APPLIED)
and search (INDEXED) checkpoints pass its last position. Baseline in the same run:
the append latency alone (receipt received), which any projection lag includes.
"""

from __future__ import annotations

import asyncio
import time

from app.bootstrap import WORKER_NAMES, run_workers
from bench.common import (
    bench_container,
    customer,
    median_of,
    meta,
    percentile,
    prepare_database,
    run,
)
from domain import commands as c

RATE = 500
SECONDS = 10


async def one_run(backend: str, rate: int, seconds: int) -> dict[str, list[float]]:
    async with bench_container(backend) as container:
        await prepare_database(container)
        stop = asyncio.Event()
        workers = asyncio.create_task(run_workers(container, WORKER_NAMES, stop))
        lags: dict[str, list[float]] = {"APPLIED": [], "INDEXED": [], "accepted": []}
        pending: list[asyncio.Task[None]] = []

        async def issue(i: int, sent: float) -> None:
            # Open loop: each command starts on its schedule, whatever the others do;
            # its lag counts from that moment, so append latency is included.
            receipt = await container.handlers.dispatch(
                c.CreateInstance(db="bench", class_id="Customer", data=customer(i)),
                meta(),
            )
            lags["accepted"].append(time.perf_counter() - sent)
            for stage in ("APPLIED", "INDEXED"):
                if await container.waiter.wait(
                    stage, "bench", receipt.last_position, max_wait=60
                ):
                    lags[stage].append(time.perf_counter() - sent)

        interval = 1 / rate
        start = time.perf_counter()
        for i in range(rate * seconds):
            await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
            pending.append(asyncio.create_task(issue(i, time.perf_counter())))
        achieved = rate * seconds / (time.perf_counter() - start)
        await asyncio.gather(*pending)
        stop.set()
        await workers
        lags["achieved_rate"] = [achieved]
        return lags


async def main() -> None:
    from bench.common import parse_args

    args = parse_args(__doc__ or "")
    runs = [await one_run(args.backend, RATE, SECONDS) for _ in range(args.runs)]
    print(
        f"projection lag on {args.backend} at {RATE} commands/s for {SECONDS} s (ms, median of {args.runs} runs)"
    )
    print(
        f"  achieved rate {median_of([r['achieved_rate'][0] for r in runs]):.0f} commands/s"
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
