"""R9 Worker kill -9 mid-stream: 10k events over 1k aggregates; the graph and search
workers (`spice worker graph`, `spice worker search`, real processes) die at each
crash point (after the sink write, after tracking, before the offset commit), then
run to the end. The result must equal a clean single run, with every event tracked
exactly once per consumer."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters import tables as t
from app.bootstrap import Container
from app.settings import Settings
from tests.reliability.conftest import DB, create_items, send, upsert_items
from tests.reliability.support import (
    all_events,
    clean_hashes,
    count_rows,
    last_position,
    live_hashes,
    spice_env,
    start_python,
    wait_for_checkpoints,
)

CONSUMERS = ("graph", "search")
CRASHES = ("after_sink:3", "after_tracking:4", "before_commit:5")
KILLED = 137  # workers.faults exits like kill -9 would report


async def load(container: Container, *, aggregates: int, updates: int) -> int:
    """`aggregates` instances created in bulk, then each updated `updates` times."""
    skus = [f"agg-{i:05}" for i in range(aggregates)]
    chunks = [skus[start : start + 500] for start in range(0, aggregates, 500)]
    for chunk in chunks:
        await send(container, create_items(items=[{"sku": s, "n": 0} for s in chunk]))
    for round_ in range(1, updates + 1):
        for chunk in chunks:
            items = [{"sku": s, "n": round_, "note": f"round {round_}"} for s in chunk]
            await send(container, upsert_items(items=items))
    return await last_position(container)


async def start_worker(
    settings: Settings, tmp_path: Path, name: str, crash: str | None
) -> asyncio.subprocess.Process:
    extra = {"SPICE_AUTO_MIGRATE": "false", "SPICE_CONSUMER_BATCH_SIZE": "250"}
    if crash is not None:
        extra["SPICE_CRASH_AT"] = crash
    env = spice_env(settings, **extra)
    args = ["-m", "app.cli", "worker", name]
    return await start_python(
        args, env=env, cwd=tmp_path, log=tmp_path / f"{name}.log", pipe_stdout=False
    )


def logs(tmp_path: Path) -> str:
    return "\n".join(
        (tmp_path / f"{n}.log").read_text(errors="replace")[-3000:] for n in CONSUMERS
    )


async def crash_workers(
    settings: Settings, tmp_path: Path, crash: str, history: list[tuple[str, str, int]]
) -> None:
    processes = [
        await start_worker(settings, tmp_path, name, crash) for name in CONSUMERS
    ]
    codes = await asyncio.wait_for(
        asyncio.gather(*(p.wait() for p in processes)), timeout=60
    )
    history.extend(
        (name, crash, code) for name, code in zip(CONSUMERS, codes, strict=True)
    )


async def finish_workers(
    container: Container, settings: Settings, tmp_path: Path, end: int
) -> list[int]:
    processes = [
        await start_worker(settings, tmp_path, name, None) for name in CONSUMERS
    ]
    try:
        await wait_for_checkpoints(container, CONSUMERS, end, max_wait=60)
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        codes = await asyncio.wait_for(
            asyncio.gather(*(p.wait() for p in processes)), timeout=30
        )
    return list(codes)


async def tracked_ids(container: Container, consumer: str) -> list[str]:
    p = t.processed_events
    query = select(p.c.event_id).where(p.c.consumer == consumer, p.c.db == DB)
    async with container.database.read() as conn:
        return [row[0] for row in await conn.execute(query)]


async def check_converged(container: Container, end: int, *, aggregates: int) -> None:
    events = await all_events(container)
    assert [e.position for e in events] == list(range(1, end + 1))
    assert await live_hashes(container) == await clean_hashes(container, events), (
        "graph or search differs from a clean single run"
    )
    expected = sorted(e.event_id for e in events)
    for consumer in CONSUMERS:
        assert sorted(await tracked_ids(container, consumer)) == expected, (
            f"{consumer} tracking is not once per event"
        )
        assert await container.consumer_state.checkpoints(consumer) == {DB: end}
        assert await container.consumer_state.parked_streams(consumer) == []
    assert await container.consumer_state.dead_letters() == []
    instance_events = sum(1 for e in events if e.aggregate_type == "instance")
    assert (
        await count_rows(container, t.graph_nodes, t.graph_nodes.c.db == DB)
        == instance_events
    )
    assert (
        len(
            await container.search.search(
                DB, ["main"], class_ids=["Item"], limit=aggregates + 1
            )
        )
        == aggregates
    )


async def kill_and_finish(
    container: Container,
    settings: Settings,
    tmp_path: Path,
    *,
    aggregates: int,
    updates: int,
    rounds: int,
) -> None:
    end = await load(container, aggregates=aggregates, updates=updates)
    history: list[tuple[str, str, int]] = []
    for _ in range(rounds):
        for crash in CRASHES:
            await crash_workers(settings, tmp_path, crash, history)
    assert [code for *_, code in history] == [KILLED] * len(history), (
        f"{history}\n{logs(tmp_path)}"
    )
    # Each crash happened mid-stream: some progress, not the end.
    progress = [await container.consumer_state.checkpoints(n) for n in CONSUMERS]
    assert all(0 < p.get(DB, 0) < end for p in progress), progress

    codes = await finish_workers(container, settings, tmp_path, end)
    assert codes == [0, 0], logs(tmp_path)
    assert "Traceback" not in logs(tmp_path), logs(tmp_path)
    await check_converged(container, end, aggregates=aggregates)


async def test_workers_killed_at_every_crash_point_converge_to_a_clean_run(
    shop: Container, settings: Settings, tmp_path: Path
) -> None:
    await kill_and_finish(
        shop, settings, tmp_path, aggregates=1000, updates=9, rounds=1
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(
    not os.environ.get("SPICE_RUN_SLOW"), reason="long variant: set SPICE_RUN_SLOW=1"
)
async def test_workers_killed_repeatedly_on_a_larger_log_converge_to_a_clean_run(
    shop: Container, settings: Settings, tmp_path: Path
) -> None:
    await kill_and_finish(
        shop, settings, tmp_path, aggregates=3000, updates=9, rounds=3
    )
