"""Where a command's projection lag goes, stage by stage, on either stack.

Runs bench.projection_lag's load (single creates at --rate per second for
SECONDS) with the workers' spans on (workers/tracing.py: relay read, archive,
send, checkpoint; per consumer the batch and its lookups, store write, tracking
record, checkpoint hook and bus commit) and prints, for --runs runs each:

- per command, p50 and p99 of each leg of its way: append (due -> receipt), relay
  pickup and read, archive + send + relay checkpoint, per projection the bus and
  the wait for the consumer, the consumer's batch, and until the waiter saw the
  checkpoint (the legs' p99s do not add up; their p50s roughly do);
- per batch, each span's count, mean and p99, and how busy it kept its worker
  (share of the run's wall time);
- CPU milliseconds per command of every process (from /proc), and with
  --profile, each process's CPU split by stage from py-spy samples.

The embedded stack runs every worker in this process, spans kept in memory; the
production stack runs them as `spice worker` processes that post their spans to
a receiver in this process (OTLP over HTTP). The spans cost some CPU of their
own (a few per batch, not per event). Load average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from app.bootstrap import Container
from app.observability.tracing import configure_tracing
from bench.common import (
    BACKENDS,
    bench_container,
    prepare_database,
    run,
    workers_running,
)
from bench.lag_cpu import cpu_seconds, per_part
from bench.lag_profile import sampled, stage_shares
from bench.lag_spans import SpanRecord, by_position, from_sdk, otlp_receiver
from bench.projection_lag import RATE, SECONDS, CommandTimes, measure

STAGES = {"graph": "APPLIED", "search": "INDEXED"}
THIS_PROCESS = "API (this process)"


@dataclass(slots=True)
class Trace:
    commands: list[CommandTimes] = field(default_factory=list)
    spans: list[SpanRecord] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # part -> CPU seconds
    shares: dict[str, dict[str, float]] = field(default_factory=dict)
    load: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    accepted: float = 0.0  # commands accepted per second

    @property
    def seconds(self) -> float:
        """From the first span's start to the last one's end: the run's length,
        longer than SECONDS when the stack fell behind."""
        if not self.spans:
            return float(SECONDS)
        return max(s.end for s in self.spans) - min(s.start for s in self.spans)


async def traced_run(backend: str, rate: int, *, profile: bool) -> Trace:
    trace = Trace()
    async with AsyncExitStack() as stack:
        overrides = await stack.enter_async_context(_span_sink(backend, trace))
        container = await stack.enter_async_context(
            bench_container(backend, **overrides)
        )
        await prepare_database(container)
        async with workers_running(container):
            await _measured(container, rate, trace, profile=profile)
        if not container.bus.durable:
            configure_tracing(container.settings)  # off again (otel_exporter=none)
    return trace


async def _measured(
    container: Container, rate: int, trace: Trace, *, profile: bool
) -> None:
    pids = _worker_pids() if container.bus.durable else {}
    pids[THIS_PROCESS] = os.getpid()
    load_before, before = os.getloadavg(), cpu_seconds()
    with tempfile.TemporaryDirectory() as folder:
        async with AsyncExitStack() as stack:
            if profile:
                files = await stack.enter_async_context(
                    sampled(pids, SECONDS, Path(folder))
                )
            lags = await measure(container, rate, SECONDS, trace=trace.commands)
        if profile:
            trace.shares = {name: stage_shares(f) for name, f in files.items()}
    trace.cpu = per_part(before, cpu_seconds())
    trace.accepted = lags["achieved_rate"][0]
    trace.load = (load_before, os.getloadavg())


@asynccontextmanager
async def _span_sink(backend: str, trace: Trace) -> AsyncIterator[dict[str, Any]]:
    """Settings overrides that send the workers' spans to `trace.spans`."""
    if backend != "production":
        exporter = InMemorySpanExporter()
        from app.settings import Settings

        configure_tracing(Settings(environment="test"), exporter)
        try:
            yield {}
        finally:
            trace.spans.extend(from_sdk(exporter.get_finished_spans()))
        return
    # The workers' batch processors post every half second instead of five.
    os.environ["OTEL_BSP_SCHEDULE_DELAY"] = "500"
    async with otlp_receiver() as (url, spans):
        yield {"otel_exporter": "otlp", "otel_endpoint": url}
        await asyncio.sleep(0.5)  # the last posts of exiting workers
        trace.spans.extend(spans)


def _worker_pids() -> dict[str, int]:
    """This process's `spice worker` children, by part name (as bench.lag_cpu)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_text().split("\0")
        except (OSError, IndexError):
            continue
        if int(stat[1]) == os.getpid() and "worker" in command:
            found[f"worker {command[command.index('worker') + 1]}"] = int(entry.name)
    return found


def legs(trace: Trace) -> dict[str, list[float]]:
    """Leg name -> milliseconds per command."""
    reads = by_position(trace.spans, "relay read")
    sends = by_position(trace.spans, "relay publish")
    found: dict[str, list[float]] = defaultdict(list)
    for consumer, stage in STAGES.items():
        batches = by_position(trace.spans, f"project {consumer}")
        for cmd in trace.commands:
            read, send, batch = (m.get(cmd.position) for m in (reads, sends, batches))
            if read is None or send is None or batch is None:
                continue
            marks = [
                ("append (due -> receipt)", cmd.accepted),
                ("relay pickup + read", read.end),
                ("relay archive + send + checkpoint", send.end),
                (f"{consumer}: bus + wait for consumer", batch.start),
                (f"{consumer}: consumer batch", batch.end),
                (f"{consumer}: until the waiter sees {stage}", cmd.reached[stage]),
            ]
            last = cmd.due
            for name, when in marks:
                found[name].append(max(0.0, when - last) * 1000)
                last = max(last, when)
            found[f"= {stage} lag"].append((cmd.reached[stage] - cmd.due) * 1000)
    return found


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def print_legs(traces: list[Trace]) -> None:
    print("  per command (ms)                                       p50       p99")
    per_run = [legs(t) for t in traces]
    for name in per_run[0]:
        p50 = statistics.median(percentile(r[name], 0.5) for r in per_run)
        p99 = statistics.median(percentile(r[name], 0.99) for r in per_run)
        print(f"    {name:50s} {p50:7.1f}   {p99:7.1f}")


def print_batches(traces: list[Trace]) -> None:
    print("  per batch (ms)                     batches  events   mean    p99   busy")
    names = sorted({s.name for t in traces for s in t.spans})
    for name in names:
        runs = [[s for s in t.spans if s.name == name] for t in traces]
        count = statistics.median(len(r) for r in runs)
        events = statistics.median(_mean([s.count for s in r]) for r in runs)
        mean = statistics.median(_mean([s.ms for s in r]) for r in runs)
        p99 = statistics.median(percentile([s.ms for s in r], 0.99) for r in runs)
        busy = statistics.median(
            sum(s.ms for s in r) / (t.seconds * 1000)
            for r, t in zip(runs, traces, strict=True)
        )
        print(
            f"    {name:32s} {count:8.0f} {events:7.1f} {mean:6.1f} {p99:6.1f}"
            f"  {busy * 100:4.0f}%"
        )


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def print_cpu(traces: list[Trace], rate: int) -> None:
    commands = rate * SECONDS
    parts = sorted({p for t in traces for p in t.cpu}, key=lambda p: p)
    per_command = {
        p: statistics.median(t.cpu.get(p, 0.0) for t in traces) / commands * 1000
        for p in parts
    }
    print(f"  CPU per command (ms; budget {(os.cpu_count() or 1) * 1000 / rate:.2f})")
    for part, ms in sorted(per_command.items(), key=lambda kv: -kv[1]):
        print(f"    {part:34s} {ms:6.2f}")
        for stage, ms_stage in _stage_split(traces, part, ms).items():
            print(f"      {stage:40s} {ms_stage:6.2f}")


def _stage_split(traces: list[Trace], part: str, ms: float) -> dict[str, float]:
    shares = [t.shares[part] for t in traces if part in t.shares]
    if not shares:
        return {}
    stages = {s for share in shares for s in share}
    split = {s: statistics.median(x.get(s, 0.0) for x in shares) * ms for s in stages}
    return dict(sorted(split.items(), key=lambda kv: -kv[1]))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--rate", type=int, default=RATE, help="commands/s")
    parser.add_argument("--runs", type=int, default=1, help="the median is printed")
    parser.add_argument(
        "--profile", action="store_true", help="CPU by stage (py-spy samples)"
    )
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    traces = [
        await traced_run(args.backend, args.rate, profile=args.profile)
        for _ in range(args.runs)
    ]
    loads = ", ".join(f"{b[0]:.1f} -> {a[0]:.1f}" for b, a in (t.load for t in traces))
    print(
        f"lag trace on {args.backend} at {args.rate} commands/s for {SECONDS} s"
        f" (median of {args.runs} runs; 1-minute load average {loads})"
    )
    accepted = statistics.median(t.accepted for t in traces)
    print(f"  accepted {accepted:.0f} commands/s")
    print_legs(traces)
    print_batches(traces)
    print_cpu(traces, args.rate)


if __name__ == "__main__":
    run(main)
