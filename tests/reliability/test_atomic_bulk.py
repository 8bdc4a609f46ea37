"""R3 Atomic multi-event command: a bulk command is stored whole or not at all,
and its outbox row exists iff its events do, also when the writer is killed."""

from __future__ import annotations

import asyncio
import random
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters import tables as t
from app.bootstrap import Container
from app.settings import Settings
from domain.errors import ConcurrencyConflict, ValidationFailed
from tests.reliability.conftest import (
    DB,
    create_item,
    create_items,
    item_data,
    send,
    unique_sku,
)
from tests.reliability.support import (
    count_rows,
    item_stream,
    last_position,
    spice_env,
    start_python,
)


async def store_counts(container: Container) -> tuple[int, int, int, int]:
    """(events, commands, outbox rows, last position) of the database."""
    return (
        await count_rows(container, t.events, t.events.c.db == DB),
        await count_rows(container, t.commands, t.commands.c.db == DB),
        await count_rows(container, t.outbox, t.outbox.c.db == DB),
        await last_position(container),
    )


@pytest.mark.parametrize("size", [1, 100, 500])
async def test_valid_bulk_is_stored_whole_with_one_outbox_row(
    shop: Container, size: int
) -> None:
    items = [item_data() for _ in range(size)]
    before = await store_counts(shop)

    receipt = await send(shop, create_items(items=items))

    events = await shop.event_store.read_positions(
        DB, after_position=before[3], limit=size + 1
    )
    assert [e.position for e in events] == list(
        range(receipt.first_position, receipt.last_position + 1)
    )
    assert len(events) == size
    assert {e.command_id for e in events} == {receipt.command_id}
    assert [e.data["instance_id"] for e in events] == [i["sku"] for i in items]
    assert await store_counts(shop) == (
        before[0] + size,
        before[1] + 1,
        before[2] + 1,
        before[3] + size,
    )
    async with shop.database.read() as conn:
        rows = (
            await conn.execute(
                t.outbox.select().where(t.outbox.c.command_id == receipt.command_id)
            )
        ).all()
    assert [(r.first_position, r.last_position) for r in rows] == [
        (receipt.first_position, receipt.last_position)
    ]


@pytest.mark.parametrize("size", [1, 100, 500])
@pytest.mark.parametrize("fault", ["invalid-item", "existing-instance"])
async def test_bulk_with_one_bad_item_stores_nothing(
    shop: Container, size: int, fault: str
) -> None:
    existing = unique_sku()
    await send(shop, create_item(sku=existing))
    items = [item_data() for _ in range(size)]
    bad = random.Random(size).randrange(size)
    if fault == "invalid-item":
        items[bad] = {"sku": unique_sku(), "n": "not a number"}
        expected: Any = ValidationFailed
    else:
        # Valid input, refused by the store's seq check inside the append transaction.
        items[bad] = {"sku": existing, "n": 1}
        expected = ConcurrencyConflict
    before = await store_counts(shop)

    with pytest.raises(expected):
        await send(shop, create_items(items=items))

    assert await store_counts(shop) == before
    fresh = [i["sku"] for k, i in enumerate(items) if k != bad]
    heads = [await shop.event_store.stream_head(item_stream(sku)) for sku in fresh[:50]]
    assert heads == [0] * len(heads)


# --- killing the writer inside the append -------------------------------------------

SIZE = 500
ROUNDS = 6
VISIBILITY = text(
    """
    SELECT command_id, SUM(e) AS events, SUM(o) AS outbox, SUM(c) AS commands FROM (
        SELECT command_id, 1 AS e, 0 AS o, 0 AS c FROM events WHERE db = :db
        UNION ALL SELECT command_id, 0, 1, 0 FROM outbox WHERE db = :db
        UNION ALL SELECT command_id, 0, 0, 1 FROM commands WHERE db = :db
    ) AS everything GROUP BY command_id
    """
)


@dataclass(slots=True)
class KillHistory:
    started: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    killed_in_flight: list[str] = field(default_factory=list)
    snapshots: int = 0
    violations: list[str] = field(default_factory=list)


async def visibility(container: Container) -> dict[str, tuple[int, int, int]]:
    """One statement, hence one snapshot: events, outbox rows and command rows."""
    async with container.database.read() as conn:
        rows = await conn.execute(VISIBILITY, {"db": DB})
        return {
            r.command_id: (int(r.events), int(r.outbox), int(r.commands)) for r in rows
        }


def violations_in(snapshot: dict[str, tuple[int, int, int]]) -> list[str]:
    found = []
    for command_id, (events, outbox, commands) in snapshot.items():
        whole = events == SIZE if command_id.startswith("kill-") else events >= 1
        if not (whole and outbox == 1 and commands == 1):
            found.append(
                f"{command_id}: {events} events, {outbox} outbox, {commands} command rows"
            )
    return found


async def watch(
    container: Container, history: KillHistory, stop: asyncio.Event
) -> None:
    """A reader tailing the store while writers die: it must never see half a command."""
    while not stop.is_set():
        history.violations.extend(violations_in(await visibility(container)))
        history.snapshots += 1
        await asyncio.sleep(0.005)


async def kill_one_writer(
    settings: Settings, tmp_path: Path, round_: int, delay: float, history: KillHistory
) -> None:
    env = spice_env(settings, SPICE_AUTO_MIGRATE="false")
    args = [
        "-m",
        "tests.reliability.append_process",
        f"kill-{round_}",
        str(SIZE),
        "1000",
    ]
    process = await start_python(
        args, env=env, cwd=tmp_path, log=tmp_path / "writer.log"
    )
    assert process.stdout is not None
    try:
        first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert first == b"ready\n", (tmp_path / "writer.log").read_text()
        await asyncio.sleep(delay)
    finally:
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
    lines = (await process.stdout.read()).decode().splitlines()
    started = [line.split()[1] for line in lines if line.startswith("start ")]
    done = [line.split()[1] for line in lines if line.startswith("done ")]
    history.started.extend(started)
    history.done.extend(done)
    history.killed_in_flight.extend(sorted(set(started) - set(done)))


async def test_writer_killed_inside_the_append_leaves_all_or_nothing(
    shop: Container, settings: Settings, tmp_path: Path
) -> None:
    rng = random.Random(3)
    history = KillHistory()
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(shop, history, stop))
    try:
        for round_ in range(ROUNDS):
            # Round 0 dies right away (inside its first command); others run a while.
            delay = 0.0 if round_ == 0 else rng.uniform(0.05, 0.4)
            await kill_one_writer(settings, tmp_path, round_, delay, history)
    finally:
        stop.set()
        await watcher

    assert history.violations == [], history.violations[:5]
    assert history.snapshots > 0
    assert history.killed_in_flight, (
        "no writer was killed inside a command: the test proved nothing"
    )
    final = await visibility(shop)
    assert violations_in(final) == []
    stored = {cid for cid in final if cid.startswith("kill-")}
    # Acknowledged commands are durable; nothing that never started appears.
    assert set(history.done) <= stored <= set(history.started)
    # Positions stay gapless across the killed transactions.
    events = await count_rows(shop, t.events, t.events.c.db == DB)
    assert await last_position(shop) == events
    async with shop.database.read() as conn:
        positions = [
            r[0]
            for r in await conn.execute(
                text("SELECT position FROM events WHERE db = :db ORDER BY position"),
                {"db": DB},
            )
        ]
    assert positions == list(range(1, events + 1))
