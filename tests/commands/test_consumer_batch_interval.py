"""Consumers no read waits on space their batches (`min_interval`), so events
that arrive meanwhile are handled together; the stages commands wait for do not."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from app.bootstrap import Container, batch_interval
from app.settings import Settings
from domain import commands as c
from domain.events import EventEnvelope
from tests.commands.conftest import run
from workers.loop import run_consumer
from workers.relay import OutboxRelay

INTERVAL = 0.4
COMMANDS = 12
SPACING = 0.05  # far shorter than INTERVAL: unspaced, most would be a batch alone


@dataclass(slots=True)
class Recording:
    """A projection that only notes when each batch came and what it held."""

    name: str = "recording"
    batches: list[tuple[float, int]] = field(default_factory=list)

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        self.batches.append((time.monotonic(), len(events)))


async def _started(
    container: Container, projection: Recording, stop: asyncio.Event, interval: float
) -> list[asyncio.Task[None]]:
    relay = OutboxRelay(
        container.event_store, container.bus, container.relay_checkpoints, name="spaced"
    )
    consumer = container.consumer(projection)
    return [
        asyncio.create_task(
            run_consumer(
                container.bus, consumer, stop, max_wait=0.01, min_interval=interval
            )
        ),
        asyncio.create_task(relay.run(stop, poll_interval=0.01)),
    ]


async def _handled(projection: Recording, count: int, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while sum(n for _, n in projection.batches) < count:
        assert time.monotonic() < deadline, f"handled only {projection.batches}"
        await asyncio.sleep(0.02)


async def test_batches_are_spaced_and_events_wait_for_the_next(
    shop: Container,
) -> None:
    projection, stop = Recording(), asyncio.Event()
    tasks = await _started(shop, projection, stop, INTERVAL)
    try:
        await _handled(projection, 1)  # the shop's own events, before ours
        already = sum(n for _, n in projection.batches)
        for i in range(COMMANDS):
            data = {"customer_id": f"C{i}"}
            await run(shop, c.CreateInstance(db="shop", class_id="Customer", data=data))
            await asyncio.sleep(SPACING)
        await _handled(projection, already + COMMANDS)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    starts = [at for at, _ in projection.batches]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # A small allowance for the clock read before `apply` is called.
    assert min(gaps) >= INTERVAL * 0.9, gaps
    # 12 commands over about 0.6 s fit in a handful of batches, not 12.
    assert len(projection.batches) <= 5, projection.batches


async def test_stop_ends_the_pause_at_once(shop: Container) -> None:
    projection, stop = Recording(), asyncio.Event()
    tasks = await _started(shop, projection, stop, interval=300.0)
    await _handled(projection, 1)
    stopped = time.monotonic()
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    assert time.monotonic() - stopped < 5


def test_a_negative_interval_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="SPICE_BACKGROUND_CONSUMER_INTERVAL"):
        Settings(background_consumer_interval=-1)


def test_only_consumers_nobody_waits_on_are_spaced() -> None:
    settings = Settings(background_consumer_interval=0.7)
    assert batch_interval(settings, "audit") == 0.7
    assert batch_interval(settings, "catalog") == 0.7
    assert batch_interval(settings, "graph") == 0.0
    assert batch_interval(settings, "search") == 0.0
