"""CPU by stage for bench.lag_trace: py-spy samples of a process, each sample put
in the stage its stack shows. Samples of threads waiting (the event loop in
epoll, idle pool threads) are dropped, so the shares are of the CPU the process
spent; SQLite's own work in worker threads counts where its caller is known."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

# First match wins: each stage is named by markers found anywhere in a stack.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("relay archive", ("EventPayloads.archive", "payloads.py")),
    ("relay read", ("read_positions", "last_positions")),
    ("relay send", ("OutboxRelay._send", "OutboxRelay.pump")),
    ("consumer lookups", ("ProjectionConsumer._progress", "processed_ids")),
    ("consumer store write", ("ProjectionConsumer._apply", "execute_all")),
    ("consumer tracking record", ("SqlConsumerState.record",)),
    ("consumer checkpoint hook", ("_checkpoints_moved", "mark_stage")),
    ("consumer bus commit", ("Subscription.commit",)),
    ("consumer other", ("ProjectionConsumer.", "run_consumer")),
    ("bus fetch + decode", ("Subscription.fetch", "aiokafka", "kafka_")),
    ("append (API)", ("CommandHandlers", "_append_group", "_write_pending")),
    ("stage waiter", ("StageWaiter",)),
    ("load generator", ("measure.<locals>", "bench/common.py")),
    ("tracing", ("opentelemetry",)),
    ("SQLite via aiosqlite (caller unknown)", ("aiosqlite/core.py",)),
)
# Leaf frames of a thread that waits rather than works.
IDLE = (
    "EpollSelector.select",
    "select (",
    "Condition.wait",
    "Queue.get",
    "Event.wait",
    "_worker (concurrent/futures/thread.py",
    "_connection_worker_thread (aiosqlite/core.py:59)",
)


def py_spy() -> str | None:
    """The py-spy next to this interpreter, or on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


@asynccontextmanager
async def sampled(
    pids: dict[str, int], seconds: float, folder: Path
) -> AsyncIterator[dict[str, Path]]:
    """Samples each named process for `seconds` (py-spy record, raw stacks);
    yields the files, complete once the block has ended."""
    spy = py_spy()
    if spy is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    files = {name: folder / f"{name.replace(' ', '_')}.txt" for name in pids}
    runs = [
        await asyncio.create_subprocess_exec(
            spy, "record", "--pid", str(pid), "--duration", str(int(seconds)),
            "--rate", "200", "--format", "raw", "--nonblocking",
            "--output", str(files[name]),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]  # fmt: skip
    try:
        yield files
    finally:
        await asyncio.gather(*(r.wait() for r in runs))


def stage_shares(path: Path) -> dict[str, float]:
    """stage -> share of the process's busy samples (0..1)."""
    counts: Counter[str] = Counter()
    if not path.exists():
        return {}
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if frames and frames[-1].startswith(IDLE):
            continue
        counts[_stage(stack)] += int(n)
    busy = sum(counts.values()) or 1
    return {stage: n / busy for stage, n in counts.most_common()}


def _stage(stack: str) -> str:
    for stage, markers in STAGES:
        if any(m in stack for m in markers):
            return stage
    return "event loop, other"
