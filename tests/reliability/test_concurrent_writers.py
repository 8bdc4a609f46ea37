"""R5 Concurrent writers and readers: 10 writers x 100 commands on distinct aggregates
(over two API processes) while 2 readers tail the global log."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from app.bootstrap import Container
from domain.commands import Receipt
from domain.events import EventEnvelope
from tests.reliability.conftest import DB, create_items, send
from tests.reliability.support import all_events, last_position

WRITERS = 10
COMMANDS = 100


@dataclass(slots=True)
class Tail:
    """What one reader saw: every poll's (after, positions) and every event."""

    polls: list[tuple[int, list[int]]] = field(default_factory=list)
    events: list[EventEnvelope] = field(default_factory=list)


async def writer(
    container: Container, w: int, receipts: list[tuple[Receipt, int]]
) -> None:
    rng = random.Random(w)
    for k in range(COMMANDS):
        size = rng.randint(1, 3)
        items = [{"sku": f"w{w}-c{k}-{i}", "n": k} for i in range(size)]
        receipts.append((await send(container, create_items(items=items)), size))
        if rng.random() < 0.3:
            await asyncio.sleep(0)


async def reader(container: Container, tail: Tail, writers_done: asyncio.Event) -> None:
    after = 0
    while True:
        finished = writers_done.is_set()
        chunk = await container.event_store.read_positions(
            DB, after_position=after, limit=37
        )
        tail.polls.append((after, [e.position for e in chunk]))
        tail.events.extend(chunk)
        if chunk:
            after = chunk[-1].position
        elif finished and after >= await last_position(container):
            return
        else:
            await asyncio.sleep(0.001)


async def test_concurrent_writers_get_contiguous_unique_positions_and_readers_never_skip(
    shop: Container, other_container: Container
) -> None:
    start = await last_position(shop)
    receipts: list[tuple[Receipt, int]] = []
    tails = [Tail(), Tail()]
    done = asyncio.Event()
    readers = [
        asyncio.create_task(reader(node, tail, done))
        for node, tail in zip([shop, other_container], tails, strict=True)
    ]
    try:
        await asyncio.gather(
            *(
                writer([shop, other_container][w % 2], w, receipts)
                for w in range(WRITERS)
            )
        )
    finally:
        done.set()
        await asyncio.wait_for(asyncio.gather(*readers), timeout=60)

    stored = await all_events(shop)
    by_position = {e.position: e for e in stored}
    assert len(receipts) == WRITERS * COMMANDS
    for receipt, size in receipts:
        span = list(range(receipt.first_position, receipt.last_position + 1))
        assert len(span) == size, f"{receipt.command_id} spans {span} for {size} events"
        assert {by_position[p].command_id for p in span} == {receipt.command_id}
    allocated = sorted(
        p
        for receipt, _ in receipts
        for p in range(receipt.first_position, receipt.last_position + 1)
    )
    end = await last_position(shop)
    assert allocated == list(range(start + 1, end + 1)), (
        "positions are not unique and gapless"
    )
    assert [e.position for e in stored] == list(range(1, end + 1))

    for tail in tails:
        for after, positions in tail.polls:
            assert positions == list(range(after + 1, after + 1 + len(positions))), (
                f"a reader after {after} saw {positions[:5]}...: a later commit overtook an earlier one"
            )
        assert [e.event_id for e in tail.events] == [e.event_id for e in stored]
