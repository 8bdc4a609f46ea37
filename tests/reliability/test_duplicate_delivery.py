"""R10 Duplicate delivery: a shim between the log and the real consumers delivers
every message 1-3 times and, like a rebalance, re-sends uncommitted batches and
swaps batches. The projections must equal the no-duplicate run."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest

from app.bootstrap import Container
from domain.events import EventEnvelope
from projections.graph import GraphProjection
from projections.search import SearchProjection
from tests.reliability.conftest import (
    DB,
    create_item,
    create_items,
    delete_item,
    item_data,
    send,
    update_item,
)
from tests.reliability.support import (
    Recording,
    all_events,
    clean_hashes,
    last_position,
    live_hashes,
    processed_positions,
)
from workers.consumer import ProjectionConsumer


async def write_history(container: Container, rng: random.Random) -> None:
    """Bulk and single creates, several updates per instance, some deletes."""
    bulk = [item_data(sku=f"bulk-{i:02}") for i in range(30)]
    await send(container, create_items(items=bulk))
    singles = [f"one-{i:02}" for i in range(30)]
    for sku in singles:
        await send(container, create_item(sku=sku))
    seqs = {i["sku"]: 1 for i in bulk} | dict.fromkeys(singles, 1)
    for _ in range(150):
        sku = rng.choice(sorted(seqs))
        await send(
            container,
            update_item(
                sku=sku, expected_seq=seqs[sku], n=seqs[sku], note=f"v{seqs[sku]}"
            ),
        )
        seqs[sku] += 1
    for sku in rng.sample(sorted(seqs), 10):
        await send(container, delete_item(sku=sku, expected_seq=seqs[sku]))


def deliveries(
    events: Sequence[EventEnvelope], rng: random.Random
) -> Iterator[list[EventEnvelope]]:
    """Batches as an at-least-once bus with rebalances would hand them out."""
    batches: list[list[EventEnvelope]] = []
    start = 0
    while start < len(events):
        size = rng.randint(3, 30)
        batches.append(list(events[start : start + size]))
        start += size
    uncommitted: list[EventEnvelope] = []
    index = 0
    while index < len(batches):
        if index + 1 < len(batches) and rng.random() < 0.2:
            # A rebalance hands the next partition's batch out first.
            batches[index], batches[index + 1] = batches[index + 1], batches[index]
        batch = [e for e in batches[index] for _ in range(rng.randint(1, 3))]
        if uncommitted and rng.random() < 0.3:
            batch += (
                uncommitted  # re-sent after a rebalance: the offset was not committed
            )
        rng.shuffle(batch)
        uncommitted = list(batches[index])
        index += 1
        yield batch


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_redelivered_and_rebalanced_messages_change_nothing(
    shop: Container, seed: int
) -> None:
    rng = random.Random(seed)
    await write_history(shop, rng)
    events = await all_events(shop)
    graph = Recording(GraphProjection(shop.graph))
    search = Recording(SearchProjection(shop.search))
    consumers = [shop.consumer(graph), shop.consumer(search)]

    delivered: Counter[str] = Counter()
    for batch in deliveries(events, rng):
        delivered.update(e.event_id for e in batch)
        for consumer in consumers:
            await consumer.handle(batch)

    assert max(delivered.values()) >= 3
    assert min(delivered.values()) >= 1
    order = [e.position for e in graph.applied]
    assert order != sorted(order), (
        "no batch was swapped: the rebalance case was not exercised"
    )
    assert await live_hashes(shop) == await clean_hashes(shop, events)
    await check_each_event_once(shop, consumers, [graph, search], events)


async def check_each_event_once(
    container: Container,
    consumers: Sequence[ProjectionConsumer],
    recordings: Sequence[Recording],
    events: Sequence[EventEnvelope],
) -> None:
    end = await last_position(container)
    for consumer, recording in zip(consumers, recordings, strict=True):
        applied = Counter(e.event_id for e in recording.applied)
        assert set(applied) == {e.event_id for e in events}
        assert applied.most_common(1)[0][1] == 1, (
            f"{consumer.name} applied an event twice"
        )
        assert await processed_positions(container, consumer.name) == list(
            range(1, end + 1)
        )
        assert await container.consumer_state.checkpoints(consumer.name) == {DB: end}
        assert await container.consumer_state.parked_streams(consumer.name) == []
