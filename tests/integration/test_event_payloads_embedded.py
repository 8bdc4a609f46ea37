"""The event-payload archive on the embedded stack (SQLite, `file://` payloads): the
same per-commit objects and crash recovery the S3 suite (tests/production/
test_event_payloads.py) checks on PostgreSQL and the real endpoint."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select, update

from adapters import tables as t
from adapters.event_store.payloads import EventPayloads, payload_key
from app.bootstrap import Container, open_container
from tests.conftest import make_settings
from tests.factories import command_batch, stream_append, stream_id

DB = "shop"


async def outbox(container: Container) -> list[tuple[int, int, str | None]]:
    """(first_position, commit_first, payload_ref) of every row, in order."""
    o = t.outbox
    query = (
        select(o.c.first_position, o.c.commit_first, o.c.payload_ref)
        .where(o.c.db == DB)
        .order_by(o.c.first_position)
    )
    async with container.database.read() as conn:
        return [(int(f), int(c), r) for f, c, r in await conn.execute(query)]


async def test_a_commit_of_many_commands_is_one_object_written_once(
    tmp_path: Path,
) -> None:
    payloads_dir = tmp_path / "payloads"
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}",
        tmp_path,
        event_payloads_url=f"file://{payloads_dir}",
    )
    async with open_container(settings) as container:
        assert container.payloads is not None
        blobs = container.payloads.blobs
        alone = await container.event_store.append(
            command_batch(stream_append(stream_id(db=DB)))
        )
        together = [
            command_batch(stream_append(stream_id(db=DB), count=2)) for _ in range(8)
        ]
        results = await asyncio.gather(
            *(container.event_store.append(b) for b in together)
        )
        rows = await outbox(container)
        assert [commit for _, commit, _ in rows] == [1] + [2] * 8

        archive = EventPayloads(container.database, container.event_store, blobs)
        assert await archive.archive(DB, upto=results[-1].last_position) == 9
        first_key = payload_key(DB, 1, alone.last_position)
        group_key = payload_key(DB, 2, results[-1].last_position)
        assert [ref for *_, ref in await outbox(container)] == [first_key] + [
            group_key
        ] * 8
        files = sorted(p.name for p in (payloads_dir / "payloads" / DB).iterdir())
        assert files == ["1-1.json", f"2-{results[-1].last_position}.json"]
        document = json.loads(await blobs.get(group_key))
        assert [c["command_id"] for c in document["commands"]] == [
            b.command_id for b in together
        ]
        assert len(await archive.load(group_key)) == 16

        # A crash after the put and before the refs were recorded: the next writer
        # is refused, finds the same bytes, and records only what was missing.
        original = await blobs.get(group_key)
        o = t.outbox
        forget = update(o).where(o.c.commit_first == 2).values(payload_ref=None)
        await container.database.execute_all([(forget, None)])
        again = EventPayloads(container.database, container.event_store, blobs)
        assert await again.archive(DB, upto=results[0].last_position) == 8
        assert await blobs.get(group_key) == original
        assert {ref for _, commit, ref in await outbox(container) if commit == 2} == {
            group_key
        }
        assert await again.archive(DB, upto=results[-1].last_position) == 0
