"""R1 OCC race: concurrent read-head -> update(expected_seq=head) on one hot instance.

Writers are split over two containers (two API processes on one database). Every
attempt is recorded; the history is checked against the stored stream afterwards.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass

import pytest

from app.bootstrap import Container
from domain.errors import ConcurrencyConflict
from tests.reliability.conftest import create_item, send, update_item
from tests.reliability.support import item_stream

HOT = "hot"


@dataclass(frozen=True, slots=True)
class Attempt:
    writer: int
    round: int
    command_id: str
    read_seq: int
    read_n: int
    accepted: bool
    seq: int  # the receipt's seq if accepted, else the conflict's actual seq
    expected: int  # what the conflict says was expected (the read seq if accepted)


@dataclass(frozen=True, slots=True)
class Read:
    writer: int
    round: int
    seq: int
    n: int


async def read_head(container: Container, writer: int, round_: int) -> Read:
    stream = item_stream(HOT)
    tip = (await container.event_store.last_events([stream]))[stream]
    return Read(writer, round_, tip.seq, int(tip.data["values"]["n"]))


async def write_on(container: Container, read: Read) -> Attempt:
    """Writes n+1 expecting the head that was read; records the outcome."""
    command_id = f"w{read.writer}-r{read.round}-{uuid.uuid4().hex[:6]}"
    command = update_item(sku=HOT, expected_seq=read.seq, n=read.n + 1, note=command_id)
    base = (read.writer, read.round, command_id, read.seq, read.n)
    try:
        receipt = await send(container, command, command_id)
    except ConcurrencyConflict as conflict:
        return Attempt(*base, False, conflict.actual, conflict.expected)
    return Attempt(*base, True, receipt.seq, read.seq)


async def lockstep_writer(
    container: Container,
    writer: int,
    rounds: int,
    barrier: asyncio.Barrier,
    history: list[Attempt],
) -> None:
    """Every writer reads, all wait, then all write: each round is a pure race."""
    for round_ in range(rounds):
        read = await read_head(container, writer, round_)
        await barrier.wait()
        history.append(await write_on(container, read))
        await barrier.wait()


async def free_writer(
    container: Container,
    writer: int,
    rounds: int,
    rng: random.Random,
    history: list[Attempt],
) -> None:
    for round_ in range(rounds):
        await asyncio.sleep(rng.random() * 0.01)
        history.append(
            await write_on(container, await read_head(container, writer, round_))
        )


async def check_history(container: Container, history: list[Attempt]) -> None:
    stored = await container.event_store.read_stream(item_stream(HOT))
    seqs = [e.seq for e in stored]
    assert seqs == list(range(1, len(seqs) + 1)), f"stream seqs are not gapless: {seqs}"

    accepted = sorted((a for a in history if a.accepted), key=lambda a: a.seq)
    assert [a.seq for a in accepted] == seqs[1:], (
        "accepted writes differ from the stored updates"
    )
    for a in accepted:
        event = stored[a.seq - 1]
        assert a.seq == a.read_seq + 1, f"{a.command_id} was accepted on a stale read"
        assert event.command_id == a.command_id
        # Each accepted write incremented what it read: a lost update would show here.
        assert event.data["values"] == {
            "sku": HOT,
            "n": a.read_n + 1,
            "note": a.command_id,
        }
        assert a.read_n == a.seq - 2, (
            f"{a.command_id} read n={a.read_n} at seq {a.read_seq}"
        )

    for a in (a for a in history if not a.accepted):
        assert a.expected == a.read_seq
        assert a.read_seq < a.seq <= len(stored), (
            f"conflict of {a.command_id} reports actual seq {a.seq}"
        )
        status = await container.status.status(a.command_id)
        assert status is not None
        assert status.state == "REJECTED"
        assert status.error is not None
        assert status.error["code"] == "optimistic_concurrency_conflict"
        assert status.error["actual"] == a.seq
        assert await container.event_store.find_command(a.command_id) is None


@pytest.mark.parametrize("writers", [2, 8, 32])
async def test_lockstep_race_accepts_exactly_one_writer_per_round(
    shop: Container, other_container: Container, writers: int
) -> None:
    await send(shop, create_item(sku=HOT, n=0))
    nodes = [shop, other_container]
    rounds = 4
    history: list[Attempt] = []
    barrier = asyncio.Barrier(writers)
    await asyncio.gather(
        *(
            lockstep_writer(nodes[w % 2], w, rounds, barrier, history)
            for w in range(writers)
        )
    )

    assert len(history) == writers * rounds
    for round_ in range(rounds):
        winners = [a for a in history if a.round == round_ and a.accepted]
        assert len(winners) == 1, (
            f"round {round_}: {len(winners)} writers accepted on one head"
        )
        losers = [a for a in history if a.round == round_ and not a.accepted]
        assert {a.seq for a in losers} <= {winners[0].seq}, (
            "a loser saw another head than the winner's"
        )
    await check_history(shop, history)


@pytest.mark.parametrize("writers", [2, 8, 32])
async def test_free_running_writers_never_accept_a_stale_read(
    shop: Container, other_container: Container, writers: int
) -> None:
    await send(shop, create_item(sku=HOT, n=0))
    nodes = [shop, other_container]
    history: list[Attempt] = []
    rng = random.Random(writers)
    await asyncio.gather(
        *(free_writer(nodes[w % 2], w, 4, rng, history) for w in range(writers))
    )

    assert len(history) == writers * 4
    assert any(a.accepted for a in history)
    await check_history(shop, history)
