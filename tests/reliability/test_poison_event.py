"""R13 Poison event: a projection that always fails on one event, run by the real
consumer loop behind the real relay. The event is retried with backoff, then
dead-lettered with its error; other aggregates keep flowing; later events of the
same aggregate wait; a redrive after the fix applies it and the waiting ones."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.bootstrap import Container
from app.settings import Settings
from projections.graph import GraphProjection
from tests.conftest import make_settings
from tests.reliability.conftest import create_item, send, update_item
from tests.reliability.support import (
    Faulty,
    all_events,
    checkpoint,
    item_stream,
    last_position,
    main_scope,
    wait_until,
)
from workers.loop import run_consumer
from workers.relay import OutboxRelay

ATTEMPTS = 4
BASE_DELAY = 0.02


class PoisonError(Exception):
    """What a projection raises on an event it cannot map."""

    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url, tmp_path, retry_attempts=ATTEMPTS, retry_base_delay=BASE_DELAY
    )


@dataclass(slots=True)
class Pipeline:
    projection: Faulty
    stop: asyncio.Event


@pytest.fixture
async def poison_history(shop: Container) -> dict[str, str]:
    """P is created, poisoned by its first update, then updated twice more; Q0-Q3
    are written before and after. Returns the command ids by name."""
    ids = {"p1": (await send(shop, create_item(sku="P"))).command_id}
    ids["q-before"] = (await send(shop, create_item(sku="Q0"))).command_id
    ids["poison"] = (
        await send(shop, update_item(sku="P", expected_seq=1, note="poison"))
    ).command_id
    for seq in (2, 3):
        await send(shop, update_item(sku="P", expected_seq=seq, note=f"after {seq}"))
    for sku in ("Q1", "Q2", "Q3"):
        await send(shop, create_item(sku=sku))
    ids["q-after"] = (
        await send(shop, update_item(sku="Q1", expected_seq=1, n=5))
    ).command_id
    return ids


@asynccontextmanager
async def start_pipeline(
    container: Container, poison_id: str, *, retriable: bool
) -> AsyncIterator[Pipeline]:
    projection = Faulty(
        GraphProjection(container.graph),
        poison_id,
        error=lambda: PoisonError("poisoned: cannot map value", retriable=retriable),
    )
    stop = asyncio.Event()
    relay = OutboxRelay(
        container.event_store, container.bus, container.relay_checkpoints, name="r13"
    )
    consumer = container.consumer(projection)
    tasks = [
        asyncio.create_task(
            run_consumer(
                container.bus,
                consumer,
                stop,
                max_wait=0.01,
                retry=container.retry_policy(),
            )
        ),
        asyncio.create_task(relay.run(stop, poll_interval=0.01)),
    ]
    try:
        yield Pipeline(projection, stop)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)


async def graph_seqs(container: Container, skus: list[str]) -> dict[str, int]:
    nodes = await container.graph.get_many(main_scope(), ["Item"], skus)
    return {sku: nodes[sku].seq if sku in nodes else 0 for sku in skus}


@pytest.mark.parametrize("retriable", [True, False], ids=["retriable", "fatal"])
async def test_poison_event_is_dead_lettered_others_flow_and_redrive_applies_it(
    shop: Container, poison_history: dict[str, str], retriable: bool
) -> None:
    events = await all_events(shop)
    poison = next(e for e in events if e.command_id == poison_history["poison"])
    async with start_pipeline(shop, poison.event_id, retriable=retriable) as pipeline:

        async def dead_lettered() -> bool:
            return bool(await shop.consumer_state.dead_letters("graph"))

        await wait_until(
            dead_lettered, max_wait=30, what="the poison event to be dead-lettered"
        )
        await wait_until(
            lambda: _equals(
                graph_seqs(shop, ["Q0", "Q1", "Q2", "Q3"]),
                {"Q0": 1, "Q1": 2, "Q2": 1, "Q3": 1},
            ),
            max_wait=30,
            what="the other aggregates to be applied",
        )
        await check_dead_letter(
            shop, pipeline.projection, poison.event_id, retriable=retriable
        )
        assert await graph_seqs(shop, ["P"]) == {"P": 1}, (
            "events after the poison were applied"
        )

        async def parked_seqs() -> list[int]:
            return [
                e.seq
                for e in await shop.consumer_state.parked("graph", item_stream("P"))
            ]

        await wait_until(
            lambda: _equals(parked_seqs(), [3, 4]),
            max_wait=30,
            what="P's later events to be parked",
        )
        parked_position = min(
            e.position for e in events if e.aggregate_id == "Item/P" and e.seq == 3
        )
        await wait_until(
            lambda: _equals(checkpoint(shop, "graph"), parked_position - 1),
            max_wait=30,
            what="the checkpoint",
        )
        assert await state_of(shop, poison_history["poison"]) == "FAILED"
        assert await state_of(shop, poison_history["q-before"]) == "APPLIED"
        assert await state_of(shop, poison_history["q-after"]) == "ACCEPTED"

        # Other aggregates keep flowing while P waits.
        await send(shop, update_item(sku="Q2", expected_seq=1, n=9))
        await wait_until(
            lambda: _equals(graph_seqs(shop, ["Q2", "P"]), {"Q2": 2, "P": 1}),
            max_wait=30,
            what="Q2 to flow past P",
        )
        assert await checkpoint(shop, "graph") == parked_position - 1, (
            "the checkpoint passed the parked events"
        )

        # The fix ships; an operator re-drives the dead letter.
        pipeline.projection.failures_left = 0
        (letter,) = await shop.consumer_state.dead_letters("graph")
        assert await shop.consumer_state.request_redrive(letter.id)
        await wait_until(
            lambda: _equals(graph_seqs(shop, ["P"]), {"P": 4}),
            max_wait=30,
            what="the redrive",
        )
        end = await last_position(shop)
        await wait_until(
            lambda: _equals(checkpoint(shop, "graph"), end),
            max_wait=30,
            what="the checkpoint to reach the end",
        )

    (letter,) = await shop.consumer_state.dead_letters("graph")
    assert letter.status == "redriven"
    assert await shop.consumer_state.parked("graph", item_stream("P")) == []
    for name in ("poison", "q-after", "p1"):
        assert await state_of(shop, poison_history[name]) == "APPLIED", name
    node = (await shop.graph.get_many(main_scope(), ["Item"], ["P"]))["P"]
    assert node.values["note"] == "after 3"


async def check_dead_letter(
    container: Container, projection: Faulty, event_id: str, *, retriable: bool
) -> None:
    (letter,) = await container.consumer_state.dead_letters("graph")
    assert (letter.event.event_id, letter.status, letter.error_type) == (
        event_id,
        "dead",
        "PoisonError",
    )
    assert "poisoned: cannot map value" in letter.error
    expected = ATTEMPTS if retriable else 1
    assert letter.attempts == expected
    # The last attempts were the poison alone; their spacing shows the backoff.
    calls = projection.attempts[-expected:]
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(gap >= BASE_DELAY * 2**k * 0.9 for k, gap in enumerate(gaps)), gaps


async def state_of(container: Container, command_id: str) -> str:
    status = await container.status.status(command_id)
    assert status is not None
    return status.state


async def _equals(awaitable: Awaitable[object], expected: object) -> bool:
    return await awaitable == expected
