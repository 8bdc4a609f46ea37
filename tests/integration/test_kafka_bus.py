"""Kafka's own promises beyond the MessageBus contract (which runs on Kafka too, in
tests/contract/test_message_bus.py): the log kept for new groups, gapless-prefix
commits, rebalance safety, keys, headers and the dead-letter topic."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from adapters.serialization import envelope_to_bytes
from domain.ports import Delivery, Subscription
from tests.integration.conftest import envelope, unique

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]


async def collect(
    subscription: Subscription, count: int, *, within: float = 30.0
) -> list[Delivery]:
    """Fetches until `count` deliveries arrived or `within` seconds passed."""
    received: list[Delivery] = []
    deadline = asyncio.get_running_loop().time() + within
    while len(received) < count and asyncio.get_running_loop().time() < deadline:
        received += await subscription.fetch(max_items=100, max_wait=0.2)
    return received


def seqs(deliveries: list[Delivery]) -> list[int]:
    return [d.envelope.seq for d in deliveries]


async def test_a_new_group_reads_the_topic_from_the_beginning(kafka_bus: Any) -> None:
    """Kafka keeps the log; the in-process bus trims what every group committed."""
    await kafka_bus.publish([envelope("Product/P1", s, s) for s in range(1, 4)])
    group = await kafka_bus.subscribe(unique("group"))
    try:
        await group.commit(await collect(group, 3))
    finally:
        await group.close()
    other = await kafka_bus.subscribe(unique("other"))
    try:
        assert seqs(await collect(other, 3)) == [1, 2, 3]
    finally:
        await other.close()


async def test_commits_only_the_gapless_prefix_of_handled_deliveries(
    kafka_bus: Any,
) -> None:
    await kafka_bus.publish([envelope("Product/P1", s, s) for s in range(1, 6)])
    group = unique("group")
    first = await kafka_bus.subscribe(group)
    try:
        d = await collect(first, 5)
        await first.commit([d[0], d[1], d[3]])  # 3 is handled, 2 is not: stop at 2
    finally:
        await first.close()
    second = await kafka_bus.subscribe(group)
    try:
        d = await collect(second, 3)
        assert seqs(d) == [3, 4, 5]
        await second.commit([d[1]])  # seq 3 still open: nothing moves
        await second.commit([d[0]])  # now 3 and 4 are a gapless prefix
    finally:
        await second.close()
    third = await kafka_bus.subscribe(group)
    try:
        assert seqs(await collect(third, 1)) == [5]
    finally:
        await third.close()


async def test_ignores_commits_of_deliveries_from_before_a_rebalance(
    kafka_bus: Any,
) -> None:
    events = [envelope(f"Product/P{i}", 1, i) for i in range(1, 31)]
    await kafka_bus.publish(events)
    group = unique("group")
    first = await kafka_bus.subscribe(group)
    second = None
    try:
        stale = await collect(first, 30)
        second = await kafka_bus.subscribe(group)
        await collect(second, 1, within=10)  # joins: the group rebalances
        await collect(first, 1, within=2)  # lets the first member finish its part
        await first.commit(stale)  # handed out under the old assignment: ignored
    finally:
        await first.close()
    assert second is not None
    try:
        # Nothing was committed, so the survivor gets every event again.
        redelivered = await collect(second, 30, within=30)
    finally:
        await second.close()
    assert {d.envelope.event_id for d in redelivered} >= {e.event_id for e in events}


async def test_publishes_keyed_by_stream_with_event_headers(kafka_bus: Any) -> None:
    from aiokafka import AIOKafkaConsumer

    event = envelope("Product/P1", 1, 7, branch="feature")
    await kafka_bus.publish([event])
    records = await _read_raw(AIOKafkaConsumer, kafka_bus, kafka_bus.config.topic, 1)
    (record,) = records
    assert record.key == b"shop/feature/instance/Product/P1"
    assert record.value == envelope_to_bytes(event)
    headers = dict(record.headers)
    assert headers["event_id"] == event.event_id.encode()
    assert headers["event_type"] == b"instance.created.v1"
    assert headers["position"] == b"7"


async def test_dead_letter_topic_carries_the_error_in_headers(kafka_bus: Any) -> None:
    from aiokafka import AIOKafkaConsumer

    event = envelope("Product/P1", 2, 9)
    await kafka_bus.publish_dead_letter(
        event, ValueError("price must be positive"), consumer="search", attempts=3
    )
    (record,) = await _read_raw(
        AIOKafkaConsumer, kafka_bus, kafka_bus.config.dead_letter_topic, 1
    )
    headers = dict(record.headers)
    assert headers["error_class"] == b"ValueError"
    assert headers["error_message"] == b"price must be positive"
    assert headers["event_id"] == event.event_id.encode()
    assert (headers["consumer"], headers["attempts"]) == (b"search", b"3")
    assert json.loads(record.value)["event_id"] == event.event_id


async def test_dead_letters_an_undecodable_record_and_commits_past_it(
    kafka_bus: Any,
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    await kafka_bus.ensure_topics()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bus.config.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(kafka_bus.config.topic, b"not json", key=b"k")
    finally:
        await producer.stop()
    await kafka_bus.publish([envelope("Product/P1", 1, 1)])
    group = unique("group")
    subscription = await kafka_bus.subscribe(group)
    try:
        handed = await collect(subscription, 1)
        await subscription.commit(handed)
    finally:
        await subscription.close()
    assert seqs(handed) == [1]
    (dead,) = await _read_raw(
        AIOKafkaConsumer, kafka_bus, kafka_bus.config.dead_letter_topic, 1
    )
    assert dead.value == b"not json"
    assert dict(dead.headers)["error_class"] == b"JSONDecodeError"
    again = await kafka_bus.subscribe(group)
    try:
        assert await collect(again, 1, within=3) == []
    finally:
        await again.close()


async def _read_raw(consumer_class: Any, bus: Any, topic: str, count: int) -> list[Any]:
    consumer = consumer_class(
        topic,
        bootstrap_servers=bus.config.bootstrap_servers,
        group_id=unique("raw"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        records: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(records) < count and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            records += [r for batch in batches.values() for r in batch]
        return records
    finally:
        await consumer.stop()
