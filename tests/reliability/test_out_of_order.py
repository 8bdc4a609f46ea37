"""R11 Out-of-order delivery: events of one aggregate swapped and delayed. Applied
seqs go strictly +1, an event arriving before its predecessor waits (parked), and
an event older than what was applied changes nothing."""

from __future__ import annotations

import random

import pytest

from app.bootstrap import Container
from domain.events import EventEnvelope
from projections.graph import GraphProjection
from tests.reliability.conftest import DB, create_item, send, update_item
from tests.reliability.support import (
    Recording,
    all_events,
    applied_seqs_by_stream,
    checkpoint,
    item_stream,
    main_scope,
    processed_positions,
)


async def graph_state(container: Container, sku: str) -> tuple[int, str | None] | None:
    """(seq, note) of the instance's current graph version."""
    node = (await container.graph.get_many(main_scope(), ["Item"], [sku])).get(sku)
    return None if node is None else (node.seq, node.values.get("note"))


async def test_update2_delivered_before_update1_waits_then_both_apply_and_a_late_update1_is_stale(
    shop: Container,
) -> None:
    """The reference's case. Its consumer applied update2 at once and dropped update1
    as stale; SPEC §3 forbids skipping forward ("a gap parks the event until the
    missing one arrives"), so here update2 waits for update1, both apply in seq
    order, and update1 arriving again afterwards is skipped as stale. The end state
    is update2 either way."""
    await send(shop, create_item(sku="x", note="created"))
    await send(shop, update_item(sku="x", expected_seq=1, note="update1"))
    await send(shop, update_item(sku="x", expected_seq=2, note="update2"))
    *registry, create, update1, update2 = await all_events(shop)
    graph = Recording(GraphProjection(shop.graph))
    consumer = shop.consumer(graph)
    await consumer.handle([*registry, create])

    await consumer.handle([update2])
    assert await graph_state(shop, "x") == (1, "created"), (
        "update2 was applied before update1"
    )
    assert [
        e.seq for e in await shop.consumer_state.parked("graph", item_stream("x"))
    ] == [3]
    assert await checkpoint(shop, "graph") == create.position

    await consumer.handle([update1])
    assert await graph_state(shop, "x") == (3, "update2")
    assert [e.seq for e in graph.applied if e.aggregate_type == "instance"] == [1, 2, 3]
    assert await shop.consumer_state.parked("graph", item_stream("x")) == []
    assert await checkpoint(shop, "graph") == update2.position

    await consumer.handle([update1])
    # Also through a restarted consumer (no in-memory state), with the create too.
    await shop.consumer(graph).handle([update1, create])
    assert await graph_state(shop, "x") == (3, "update2")
    assert [e.seq for e in graph.applied if e.aggregate_type == "instance"] == [
        1,
        2,
        3,
    ], "a stale event was applied again"


def delayed(events: list[EventEnvelope], rng: random.Random) -> list[EventEnvelope]:
    """Swaps neighbours and delays a quarter of the events by 2-8 places."""
    order = list(events)
    for i in range(len(order) - 1):
        if rng.random() < 0.3:
            order[i], order[i + 1] = order[i + 1], order[i]
    for event in rng.sample(events, len(events) // 4):
        index = order.index(event)
        order.pop(index)
        order.insert(min(len(order), index + rng.randint(2, 8)), event)
    return order


@pytest.mark.parametrize("seed", [7, 8, 9])
async def test_swapped_and_delayed_events_apply_strictly_in_seq_order(
    shop: Container, seed: int
) -> None:
    rng = random.Random(seed)
    await send(shop, create_item(sku="x", note="v1"))
    await send(shop, create_item(sku="y", note="v1"))
    for seq in range(1, 25):
        sku = "x" if seq % 5 else "y"
        head = await shop.event_store.stream_head(item_stream(sku))
        await send(shop, update_item(sku=sku, expected_seq=head, note=f"v{head + 1}"))
    events = await all_events(shop)
    instance_events = [e for e in events if e.aggregate_type == "instance"]
    graph = Recording(GraphProjection(shop.graph))
    consumer = shop.consumer(graph)
    await consumer.handle([e for e in events if e.aggregate_type != "instance"])

    order = delayed(instance_events, rng)
    order += [rng.choice(instance_events) for _ in range(len(order) // 5)]
    delivered: set[str] = set()
    start = 0
    while start < len(order):
        batch = order[start : start + rng.randint(1, 4)]
        start += len(batch)
        await consumer.handle(batch)
        delivered.update(e.event_id for e in batch)
        await check_prefix_applied(shop, instance_events, delivered)

    by_stream = applied_seqs_by_stream(
        [e for e in graph.applied if e.aggregate_type == "instance"]
    )
    for stream, seqs in by_stream.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"{stream} applied seqs {seqs}"
    assert sum(len(s) for s in by_stream.values()) == len(instance_events)
    assert await processed_positions(shop, "graph") == [e.position for e in events]


async def check_prefix_applied(
    container: Container, events: list[EventEnvelope], delivered: set[str]
) -> None:
    """Each instance shows exactly the gapless prefix of its delivered events, and
    the checkpoint never passes an event that is not applied."""
    pending = []
    for sku in ("x", "y"):
        stream = [e for e in events if e.aggregate_id == f"Item/{sku}"]
        prefix = 0
        while prefix < len(stream) and stream[prefix].event_id in delivered:
            prefix += 1
        state = await graph_state(container, sku)
        assert (state[0] if state else 0) == prefix, (
            f"{sku}: graph at {state}, delivered prefix {prefix}"
        )
        if state is not None:
            assert state[1] == f"v{prefix}"
        pending += [e.position for e in stream[prefix:]]
    if pending:
        assert await checkpoint(container, "graph", DB) < min(pending)
