"""A projection that never reads some aggregate types (the catalog: instances) gets
none of their events, keeps no stream versions for them, and still moves its
checkpoint over them, gaplessly, whatever the delivery order, redeliveries
included."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters import tables as t
from app.bootstrap import Container
from domain import events as ev
from domain.events import EventEnvelope
from projections.catalog import CatalogProjection
from tests.reliability.conftest import DB, create_item, send, update_item
from tests.reliability.support import (
    all_events,
    checkpoint,
    count_rows,
    processed_positions,
)
from workers.consumer import ProjectionConsumer


@dataclass(slots=True)
class Recording:
    """Notes what it is given; reads no instances."""

    name: str = "ignores-instances"
    ignored_aggregate_types: frozenset[str] = frozenset({ev.INSTANCE})
    seen: list[EventEnvelope] = field(default_factory=list)

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        self.seen.extend(events)


async def write_history(container: Container) -> None:
    for sku in ("a", "b", "c"):
        await send(container, create_item(sku=sku))
        for seq in range(1, 4):
            await send(container, update_item(sku=sku, expected_seq=seq, n=seq))


async def deliver_shuffled(
    consumer: ProjectionConsumer, events: Sequence[EventEnvelope], seed: int
) -> None:
    """Out of position order, in small batches, every event twice."""
    rng = random.Random(seed)
    shuffled = [*events, *events]
    rng.shuffle(shuffled)
    while shuffled:
        batch, shuffled = shuffled[:3], shuffled[3:]
        await consumer.handle(batch)


async def versions_kept(container: Container, consumer: str, kind: str) -> int:
    v = t.aggregate_versions
    return await count_rows(
        container, v, v.c.consumer == consumer, v.c.aggregate_type == kind
    )


async def test_ignored_streams_are_only_marked_processed(shop: Container) -> None:
    await write_history(shop)
    events = await all_events(shop)
    projection = Recording()
    consumer = shop.consumer(projection)

    await deliver_shuffled(consumer, events, seed=4)

    read = [e for e in events if e.aggregate_type != ev.INSTANCE]
    assert read
    assert len(read) < len(events)
    assert sorted(e.event_id for e in projection.seen) == sorted(
        e.event_id for e in read
    )  # each read event once, although delivered twice; no instance event
    assert await versions_kept(shop, projection.name, ev.INSTANCE) == 0
    assert await versions_kept(shop, projection.name, ev.CLASS) == 1
    positions = [e.position for e in events]
    assert await processed_positions(shop, projection.name) == positions
    assert await checkpoint(shop, projection.name) == positions[-1]


async def test_the_catalog_reads_no_instance_stream(shop: Container) -> None:
    await write_history(shop)
    events = await all_events(shop)
    consumer = shop.consumer(CatalogProjection(shop.catalog, name="catalog-check"))

    await deliver_shuffled(consumer, events, seed=9)

    assert DB in [d.name for d in await shop.catalog.databases()]
    assert await versions_kept(shop, "catalog-check", ev.CLASS) == 1
    assert await versions_kept(shop, "catalog-check", ev.INSTANCE) == 0
    assert await checkpoint(shop, "catalog-check") == events[-1].position
