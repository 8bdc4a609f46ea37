"""R7 Relay crash on Kafka: `spice worker relay` (a real process, PostgreSQL outbox,
Kafka bus) dies like kill -9 before a send and after a send (acked by Kafka, before
its checkpoint is saved), several times, with writes going on in between. Read back,
the topic must hold every event at least once; a duplicate is the same event (same
event_id header and payload); each aggregate's events sit on one partition, first
seen in seq order, never ahead of their predecessor."""

from __future__ import annotations

import asyncio
import signal
from collections import defaultdict
from pathlib import Path

import pytest

from app.bootstrap import Container
from app.settings import Settings
from domain.events import EventEnvelope, StreamId
from tests.production.conftest import Topics
from tests.production.support import TopicRecord, all_events, read_topic, tail
from tests.reliability.conftest import create_items, define_shop, send, upsert_items
from tests.reliability.support import spice_env, start_python

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.timeout(90)]

# The relay publishes up to 1000 events per send: the counts below fall mid-stream.
CRASHES = (
    "relay_before_send:1",
    "relay_after_send:1",
    "relay_before_send:2",
    "relay_after_send:2",
    "relay_after_send:1",
)
KILLED = 137


async def write_round(container: Container, round_: int, *, aggregates: int) -> None:
    """New aggregates in bulk, then one update of every aggregate so far."""
    first = round_ * aggregates
    skus = [f"r{i:05}" for i in range(first, first + aggregates)]
    for start in range(0, aggregates, 250):
        chunk = skus[start : start + 250]
        await send(container, create_items(items=[{"sku": s} for s in chunk]))
    everyone = [f"r{i:05}" for i in range(first + aggregates)]
    for start in range(0, len(everyone), 500):
        items = [{"sku": s, "n": round_} for s in everyone[start : start + 500]]
        await send(container, upsert_items(items=items))


async def run_relay(
    settings: Settings, tmp_path: Path, crash: str | None
) -> asyncio.subprocess.Process:
    extra = {"SPICE_AUTO_MIGRATE": "false"}
    if crash is not None:
        extra["SPICE_CRASH_AT"] = crash
    return await start_python(
        ["-m", "app.cli", "worker", "relay"],
        env=spice_env(settings, **extra),
        cwd=tmp_path,
        log=tmp_path / "relay.log",
        pipe_stdout=False,
    )


def check_delivery(
    records: list[TopicRecord], events: list[EventEnvelope]
) -> dict[str, int]:
    """The R7 invariants over what the topic holds; returns some counts."""
    stored = {e.event_id: e for e in events}
    seen: dict[str, int] = defaultdict(int)
    partitions: dict[StreamId, set[int]] = defaultdict(set)
    order: dict[StreamId, list[int]] = defaultdict(list)
    for record in records:
        envelope = record.envelope
        event_id = record.headers["event_id"].decode()
        assert event_id == envelope.event_id, "header and payload disagree"
        assert envelope == stored[event_id], f"{event_id} differs from the stored event"
        seen[event_id] += 1
        stream = envelope.stream
        partitions[stream].add(record.partition)
        order[stream].append(envelope.seq)
    missing = set(stored) - set(seen)
    assert not missing, f"{len(missing)} events never reached Kafka"
    assert all(len(p) == 1 for p in partitions.values()), "a stream spans partitions"
    for stream, seqs in order.items():
        highest = 0
        for seq in seqs:
            # A redelivery may repeat older seqs, but nothing ever skips ahead.
            assert seq <= highest + 1, f"{stream}: seq {seq} after {highest} in {seqs}"
            highest = max(highest, seq)
        firsts = list(dict.fromkeys(seqs))
        assert firsts == list(range(1, len(firsts) + 1)), f"{stream}: {seqs}"
    return {
        "records": len(records),
        "events": len(stored),
        "duplicated": sum(1 for n in seen.values() if n > 1),
    }


async def test_relay_killed_at_each_crash_point_delivers_everything_in_order(
    kafka_pg: Container, kafka_pg_settings: Settings, topics: Topics, tmp_path: Path
) -> None:
    container, settings = kafka_pg, kafka_pg_settings
    await define_shop(container)
    history: list[tuple[str, int | None]] = []
    for round_, crash in enumerate(CRASHES):
        await write_round(container, round_, aggregates=300)
        relay = await run_relay(settings, tmp_path, crash)
        try:
            code = await asyncio.wait_for(relay.wait(), timeout=30)
        except TimeoutError:
            relay.kill()
            code = await relay.wait()
        history.append((crash, code))
    assert [code for _, code in history] == [KILLED] * len(CRASHES), (
        f"{history}\n{tail(tmp_path / 'relay.log')}"
    )
    mid_stream = await read_topic(topics.bootstrap, topics.events)

    # Writes go on while a healthy relay runs; it must catch up with all of them.
    relay = await run_relay(settings, tmp_path, None)
    try:
        await write_round(container, len(CRASHES), aggregates=300)
        events = await all_events(container)
        deadline = asyncio.get_running_loop().time() + 40
        while True:
            records = await read_topic(topics.bootstrap, topics.events)
            delivered = {r.headers["event_id"].decode() for r in records}
            if delivered >= {e.event_id for e in events}:
                break
            assert asyncio.get_running_loop().time() < deadline, (
                f"{len(delivered)}/{len(events)} delivered\n{tail(tmp_path / 'relay.log')}"
            )
            await asyncio.sleep(0.5)
    finally:
        relay.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(relay.wait(), timeout=30)
    assert code == 0, tail(tmp_path / "relay.log")

    counts = check_delivery(records, events)
    # The crashes happened mid-stream: some, not all, was on the topic before the
    # healthy run, and a send that was acked but not checkpointed was repeated.
    assert 0 < len(mid_stream) < len(records)
    assert counts["duplicated"] > 0, counts
    assert "Traceback" not in tail(tmp_path / "relay.log", 200_000)
