"""R12 Gapless offset commit: four partitions handled in parallel with random
latency; a low-position event keeps failing with a retriable error while higher
positions complete; the consumer is abandoned mid-retry (a crash). The checkpoint
must never pass the unprocessed position, so a restart from it skips nothing."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from app.bootstrap import Container
from domain.events import EventEnvelope
from projections.graph import GraphProjection
from tests.reliability.conftest import DB, create_item, send, update_item
from tests.reliability.support import (
    Faulty,
    all_events,
    checkpoint,
    clean_hashes,
    processed_positions,
    wait_until,
)
from workers.consumer import ProjectionConsumer, RetryPolicy

PARTITIONS = 4


async def write_history(container: Container) -> None:
    skus = [f"p{i}" for i in range(8)]
    for sku in skus:
        await send(container, create_item(sku=sku))
    for seq in range(1, 15):
        for sku in skus:
            await send(container, update_item(sku=sku, expected_seq=seq, n=seq))


def partitions(events: Sequence[EventEnvelope]) -> list[list[EventEnvelope]]:
    """Per-aggregate partitions, as a keyed topic would have them."""
    keys = sorted({e.aggregate_id for e in events})
    parts: list[list[EventEnvelope]] = [[] for _ in range(PARTITIONS)]
    for event in events:
        parts[keys.index(event.aggregate_id) % PARTITIONS].append(event)
    return parts


async def consume(
    consumer: ProjectionConsumer, events: Sequence[EventEnvelope], rng: random.Random
) -> None:
    start = 0
    while start < len(events):
        batch = events[start : start + rng.randint(1, 5)]
        start += len(batch)
        await consumer.handle(batch)


async def sample_checkpoints(
    container: Container, samples: list[int], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        samples.append(await checkpoint(container, "graph"))
        await asyncio.sleep(0.005)


async def test_checkpoint_never_passes_an_event_still_retrying_and_restart_skips_nothing(
    shop: Container,
) -> None:
    await write_history(shop)
    events = await all_events(shop)
    end = events[-1].position
    parts = partitions(events)
    # The victim: an early update, in a partition of its own, far below the end.
    victim = next(e for e in parts[1] if e.seq == 2)
    rng = random.Random(12)
    faulty = Faulty(
        GraphProjection(shop.graph),
        victim.event_id,
        latency=lambda: rng.random() * 0.01,
    )
    stubborn = RetryPolicy(attempts=100_000, base_delay=0.002, max_delay=0.01)

    samples: list[int] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_checkpoints(shop, samples, stop))
    tasks = [
        asyncio.create_task(
            consume(
                ProjectionConsumer(
                    faulty, shop.consumer_state, shop.event_store, retry=stubborn
                ),
                part,
                rng,
            )
        )
        for part in parts
    ]
    others = [task for k, task in enumerate(tasks) if k != 1]
    await asyncio.wait_for(asyncio.gather(*others), timeout=60)

    async def victim_retried() -> bool:
        return len(faulty.attempts) >= 5

    await wait_until(victim_retried, max_wait=30, what="the victim to be retried")
    tasks[1].cancel()  # the crash: abandoned while the low offset is still retrying
    await asyncio.gather(tasks[1], return_exceptions=True)
    stop.set()
    await sampler

    processed = await processed_positions(shop, "graph")
    assert victim.position not in processed
    assert max(processed) > victim.position + 10, (
        "higher positions were not handled in parallel"
    )
    crashed_at = await checkpoint(shop, "graph")
    assert crashed_at < victim.position, (
        f"checkpoint {crashed_at} passed unprocessed position {victim.position}"
    )
    assert samples
    assert max(samples) < victim.position

    # Restart: fresh consumers, everything after the checkpoint redelivered; the
    # projection fails the victim three more times, then recovers.
    faulty.failures_left = 3
    retry = RetryPolicy(attempts=5, base_delay=0.002)
    redelivered = [[e for e in part if e.position > crashed_at] for part in parts]
    await asyncio.gather(
        *(
            consume(
                ProjectionConsumer(
                    faulty, shop.consumer_state, shop.event_store, retry=retry
                ),
                part,
                rng,
            )
            for part in redelivered
        )
    )

    assert await processed_positions(shop, "graph") == list(range(1, end + 1))
    assert await checkpoint(shop, "graph") == end
    assert await shop.consumer_state.dead_letters() == []
    assert await shop.consumer_state.parked_streams("graph") == []
    assert await shop.graph.content_hash(DB) == (await clean_hashes(shop, events))[0]
