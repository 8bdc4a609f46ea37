"""MessageBus contract: per-aggregate order, fetch timeouts, committed offsets
per consumer group, and no loss of entries a group has not committed.

Runs on every adapter of the `message_bus` fixture (tests/contract/conftest.py):
the in-process bus and Kafka. Written against the port only, so a partitioned
bus fits: events of one aggregate keep their order, fetches may return fewer
items than asked, and a subscription is closed before another of its group
opens. Kafka's own promises (dead letters, rebalances, keys and headers) are in
tests/integration/test_kafka_bus.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from domain.events import EventEnvelope, StreamId
from domain.ports import Delivery, MessageBus, Subscription
from tests.factories import envelope, stream_id

WAIT = 5.0  # upper bound for a delivery that is already published


def events_of_one_stream(
    count: int, *, first_position: int = 1, stream: StreamId | None = None
) -> list[EventEnvelope]:
    """`count` events of one stream (a new one unless given), seq = position."""
    stream = stream or stream_id()
    return [
        envelope(stream=stream, seq=position, position=position)
        for position in range(first_position, first_position + count)
    ]


async def fetch_n(subscription: Subscription, count: int) -> list[Delivery]:
    """Fetches until `count` deliveries arrived; fails after WAIT seconds."""
    deliveries: list[Delivery] = []
    deadline = time.monotonic() + WAIT
    while len(deliveries) < count and time.monotonic() < deadline:
        deliveries += await subscription.fetch(
            max_items=count - len(deliveries), max_wait=0.2
        )
    assert len(deliveries) == count, f"got {len(deliveries)} of {count} deliveries"
    return deliveries


def event_ids(items: Sequence[Delivery | EventEnvelope]) -> list[str]:
    return [(i.envelope if isinstance(i, Delivery) else i).event_id for i in items]


async def expect_nothing_more(
    bus: MessageBus, subscription: Subscription, last: EventEnvelope
) -> None:
    """Publishes one more event of `last`'s stream and expects it next. Anything
    still due would come first (a stream keeps its order), so this needs no
    guess at a wait: an empty fetch proves nothing on a bus whose new consumer
    takes a while to join its group and fetch."""
    stream = StreamId(last.db, last.branch, last.aggregate_type, last.aggregate_id)
    marker = envelope(stream=stream, seq=last.seq + 1, position=last.position + 1)
    await bus.publish([marker])
    assert event_ids(await fetch_n(subscription, 1)) == [marker.event_id]


async def test_delivers_events_in_publish_order(message_bus: MessageBus) -> None:
    events = events_of_one_stream(6)
    subscription = await message_bus.subscribe("graph")

    await message_bus.publish(events[:4])
    await message_bus.publish(events[4:])

    deliveries = await fetch_n(subscription, 6)
    assert [d.envelope for d in deliveries] == events
    await subscription.close()


async def test_delivers_each_aggregate_in_publish_order(
    message_bus: MessageBus,
) -> None:
    streams = [events_of_one_stream(10) for _ in range(3)]
    # Interleaved, so a partitioned bus spreads one publish over its partitions.
    interleaved = [event for batch in zip(*streams, strict=True) for event in batch]
    subscription = await message_bus.subscribe("graph")

    await message_bus.publish(interleaved)

    received = event_ids(await fetch_n(subscription, len(interleaved)))
    assert sorted(received) == sorted(event_ids(interleaved))
    for events in streams:
        ids = set(event_ids(events))
        assert [i for i in received if i in ids] == event_ids(events)
    await subscription.close()


async def test_fetch_times_out_empty(message_bus: MessageBus) -> None:
    subscription = await message_bus.subscribe("graph")

    started = time.monotonic()
    deliveries = await subscription.fetch(max_items=10, max_wait=0.05)

    assert deliveries == []
    assert time.monotonic() - started < WAIT
    await subscription.close()


async def test_a_waiting_fetch_returns_what_is_published_meanwhile(
    message_bus: MessageBus,
) -> None:
    events = events_of_one_stream(1)
    subscription = await message_bus.subscribe("graph")
    waiting = asyncio.create_task(subscription.fetch(max_items=10, max_wait=WAIT))
    await asyncio.sleep(0.01)

    await message_bus.publish(events)

    started = time.monotonic()
    assert event_ids(await waiting) == event_ids(events)
    assert time.monotonic() - started < WAIT / 2
    await subscription.close()


async def test_fetch_returns_at_most_max_items(message_bus: MessageBus) -> None:
    events = events_of_one_stream(5)
    await message_bus.publish(events)
    subscription = await message_bus.subscribe("graph")

    first = await subscription.fetch(max_items=2, max_wait=WAIT)
    rest = await fetch_n(subscription, 5 - len(first))

    assert 1 <= len(first) <= 2
    assert event_ids(first + rest) == event_ids(events)
    await subscription.close()


async def test_a_new_subscription_resumes_after_the_committed_deliveries(
    message_bus: MessageBus,
) -> None:
    events = events_of_one_stream(5)
    first = await message_bus.subscribe("graph")
    await message_bus.publish(events)
    deliveries = await fetch_n(first, 5)
    await first.commit(deliveries[:3])
    await first.close()

    second = await message_bus.subscribe("graph")
    redelivered = await fetch_n(second, 2)

    assert event_ids(redelivered) == event_ids(events[3:])
    await expect_nothing_more(message_bus, second, events[-1])
    await second.close()


async def test_nothing_committed_means_everything_is_redelivered(
    message_bus: MessageBus,
) -> None:
    events = events_of_one_stream(3)
    first = await message_bus.subscribe("graph")
    await message_bus.publish(events)
    await fetch_n(first, 3)
    await first.close()

    second = await message_bus.subscribe("graph")

    assert event_ids(await fetch_n(second, 3)) == event_ids(events)
    await second.close()


async def test_groups_consume_independently(message_bus: MessageBus) -> None:
    events = events_of_one_stream(4)
    graph = await message_bus.subscribe("graph")
    search = await message_bus.subscribe("search")
    await message_bus.publish(events)

    await graph.commit(await fetch_n(graph, 4))
    await graph.close()
    search_deliveries = await fetch_n(search, 2)
    await search.commit(search_deliveries)
    await search.close()

    graph_again = await message_bus.subscribe("graph")
    search_again = await message_bus.subscribe("search")
    assert event_ids(await fetch_n(search_again, 2)) == event_ids(events[2:])
    await expect_nothing_more(message_bus, graph_again, events[-1])
    await graph_again.close()
    await search_again.close()


async def test_keeps_entries_a_group_has_not_committed(
    message_bus: MessageBus,
) -> None:
    # One stream throughout: only a stream's own order is promised (on Kafka,
    # another stream may sit on another partition and arrive first).
    stream = stream_id()
    first_batch = events_of_one_stream(10, stream=stream)
    graph = await message_bus.subscribe("graph")
    search = await message_bus.subscribe("search")
    await message_bus.publish(first_batch)
    # graph commits everything, search only part: nothing search lacks may go.
    await graph.commit(await fetch_n(graph, 10))
    await search.commit((await fetch_n(search, 10))[:4])
    await search.close()

    later = events_of_one_stream(3, first_position=11, stream=stream)
    await message_bus.publish(later)
    await graph.commit(await fetch_n(graph, 3))
    await graph.close()

    search_again = await message_bus.subscribe("search")
    try:
        resumed = await fetch_n(search_again, 9)
    finally:  # closed before asserting: a Kafka consumer left open leaks
        await search_again.close()
    assert event_ids(resumed) == event_ids(first_batch[4:] + later)
