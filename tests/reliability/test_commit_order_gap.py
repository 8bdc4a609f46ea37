"""R6 Commit-order gap: transaction A takes position p and stalls before COMMIT while
100 more appends (B..Z) are submitted; the relay must not publish past p-1 until A
commits (then A is published at p) or dies (then p goes to B).

Our event store serialises position allocation: an append holds the database's
`positions` row lock (PostgreSQL `SELECT ... FOR UPDATE`, SQLite `BEGIN IMMEDIATE`)
until it commits, so B..Z cannot even take p+1..p+100 while A stalls: they wait.
SPEC §3 allows exactly this strategy ("serialise position allocation, or use a
commit-safe watermark"); the test checks both halves of it: the writers behind A
wait, and the relay never passes p-1 meanwhile.

A is a real command through a second container (another API process), paused by
a hook on that engine's commit event after it allocated p and inserted its rows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.util import await_only

from adapters.message_bus.memory import InMemoryMessageBus
from app.bootstrap import Container
from domain.ports import Subscription
from tests.reliability.conftest import DB, create_item, send, unique_sku
from tests.reliability.support import last_position
from workers.relay import OutboxRelay

FOLLOWERS = 100


class WriterDied(Exception):
    """A's process dies between allocating its position and committing."""


@dataclass(slots=True)
class CommitGate:
    """Holds the next commit on the writer engines until opened (or makes it fail).

    The hook runs where the store commits: in SQLAlchemy's greenlet on the event
    loop (asyncpg), or in a worker thread (SQLite's synchronous writer)."""

    loop: asyncio.AbstractEventLoop
    loop_thread: int = field(default_factory=threading.get_ident)  # built on the loop
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    released_thread: threading.Event = field(default_factory=threading.Event)
    die: bool = False
    armed: bool = True

    def on_commit(self, _conn: Any) -> None:
        if not self.armed:
            return
        self.armed = False
        self.loop.call_soon_threadsafe(self.reached.set)
        if threading.get_ident() == self.loop_thread:
            await_only(self.released.wait())  # waits on the loop without blocking it
        else:
            self.released_thread.wait(timeout=120)
        if self.die:
            raise WriterDied("killed before COMMIT")

    def open(self, *, die: bool = False) -> None:
        self.die = die
        self.released.set()
        self.released_thread.set()


def writer_engines(container: Container) -> list[Engine]:
    """Every engine an append may commit through."""
    database = container.database
    engines = [database.writer.sync_engine]
    sync_writer = getattr(database, "sync_writer", None)
    if sync_writer is not None:
        engines.append(sync_writer)
    return engines


@pytest.fixture
async def gate(other_container: Container) -> AsyncIterator[CommitGate]:
    gate = CommitGate(asyncio.get_running_loop())
    engines = writer_engines(other_container)
    for engine in engines:
        event.listen(engine, "commit", gate.on_commit)
    try:
        yield gate
    finally:
        gate.open()
        for engine in engines:
            event.remove(engine, "commit", gate.on_commit)


@dataclass(slots=True)
class Observer:
    """Pumps a relay and records every position it published, in order."""

    relay: OutboxRelay
    subscription: Subscription
    published: list[int] = field(default_factory=list)

    async def pump(self) -> list[int]:
        await self.relay.pump()
        while deliveries := await self.subscription.fetch(
            max_items=1000, max_wait=0.01
        ):
            self.published.extend(d.envelope.position for d in deliveries)
        return self.published


async def observer(container: Container) -> Observer:
    bus = InMemoryMessageBus()
    relay = OutboxRelay(
        container.event_store, bus, container.relay_checkpoints, name="r6-relay"
    )
    return Observer(relay, await bus.subscribe("r6-observer"))


async def hold_while(
    observer: Observer,
    followers: list[asyncio.Task[Any]],
    check: Callable[[], Any],
    seconds: float,
) -> int:
    """Pumps for a while as the followers push; returns how many pumps ran."""
    pumps = 0
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await observer.pump()
        check()
        pumps += 1
        await asyncio.sleep(0.02)
    return pumps


@pytest.mark.parametrize("a_outcome", ["commits", "dies"])
async def test_relay_never_passes_a_stalled_position(
    shop: Container, other_container: Container, gate: CommitGate, a_outcome: str
) -> None:
    for _ in range(5):
        await send(shop, create_item())
    seen = await observer(shop)
    before = await last_position(shop)
    assert await seen.pump() == list(range(1, before + 1))
    p = before + 1

    a_sku = unique_sku("a")
    a = asyncio.create_task(send(other_container, create_item(sku=a_sku)))
    await asyncio.wait_for(gate.reached.wait(), timeout=30)
    followers = [
        asyncio.create_task(send(shop, create_item(sku=f"f{k:03}")))
        for k in range(FOLLOWERS)
    ]

    def nothing_passed_p() -> None:
        assert seen.published == list(range(1, p)), (
            f"published past {p - 1} while A held p"
        )
        assert not any(f.done() for f in followers), (
            "a follower committed while A held the position lock"
        )

    async def committed() -> int:
        return await last_position(shop)

    pumps = await hold_while(seen, followers, nothing_passed_p, seconds=1.0)
    assert pumps >= 5
    assert await committed() == p - 1

    gate.open(die=a_outcome == "dies")
    if a_outcome == "dies":
        with pytest.raises(WriterDied):
            await a
    else:
        assert (await a).first_position == p
    receipts = await asyncio.wait_for(asyncio.gather(*followers), timeout=60)

    end = await last_position(shop)
    expected_end = p + FOLLOWERS - (1 if a_outcome == "dies" else 0)
    assert end == expected_end
    assert sorted(r.first_position for r in receipts) == list(
        range(end - FOLLOWERS + 1, end + 1)
    )
    assert await seen.pump() == list(range(1, end + 1)), (
        "the relay skipped or repeated a position"
    )
    events = await shop.event_store.read_positions(
        DB, after_position=p - 1, limit=FOLLOWERS + 1
    )
    owners = [e.data["instance_id"] for e in events]
    expected = [f"f{k:03}" for k in range(FOLLOWERS)]
    if a_outcome == "commits":
        assert owners[0] == a_sku
        assert sorted(owners[1:]) == expected
    else:
        assert sorted(owners) == expected
