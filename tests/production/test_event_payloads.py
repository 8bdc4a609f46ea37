"""The event-payload store option (issue 4, item 4) against the real S3 endpoint:
with SPICE_EVENT_PAYLOADS_URL=s3://..., every committed command batch is written
once, with If-None-Match: *, to `payloads/<db>/<first>-<last>.json` and referenced
by its outbox row, before the relay publishes it. A writer that crashed between the
put and recording the reference writes again without overwriting; an object with
other content is never taken for the batch; the setting is validated by name."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from adapters import tables as t
from adapters.errors import ConfigurationError, StoreDataError
from adapters.event_store.payloads import EventPayloads, payload_key
from adapters.serialization import envelope_to_dict
from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.settings import Settings
from domain import commands as c
from tests.conftest import make_settings, require_service
from tests.factories import command_batch, stream_append, stream_id
from tests.production.conftest import S3, production_settings, unique
from tests.production.support import wait_for_states
from tests.reliability.conftest import (
    DB,
    ITEM,
    command_meta,
    create_item,
    create_items,
    update_item,
)

pytestmark = [pytest.mark.s3, pytest.mark.postgres, pytest.mark.timeout(90)]

PREFIX = "spice"


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, str]]:
    """(boto3 client, bucket, endpoint) of a fresh bucket; emptied and removed after.
    moto takes any credentials; the store reads them from boto3's usual chain."""
    import boto3

    endpoint = require_service(*S3)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    name = unique("spice-payloads-")
    client.create_bucket(Bucket=name)
    # Versioned, so that any second write of a key would show as a second version.
    client.put_bucket_versioning(
        Bucket=name, VersioningConfiguration={"Status": "Enabled"}
    )
    try:
        yield client, name, endpoint
    finally:
        for version in client.list_object_versions(Bucket=name).get("Versions", []):
            client.delete_object(
                Bucket=name, Key=version["Key"], VersionId=version["VersionId"]
            )
        client.delete_bucket(Bucket=name)


def versions(client: Any, bucket: str) -> dict[str, int]:
    """Key -> how many times it was written."""
    counts: dict[str, int] = {}
    for version in client.list_object_versions(Bucket=bucket).get("Versions", []):
        counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def payload_settings(
    database_url: str, tmp_path: Path, bucket: str, endpoint: str
) -> Settings:
    url = f"s3://{bucket}/{PREFIX}?endpoint_url={endpoint}&region=us-east-1"
    return production_settings(database_url, tmp_path, event_payloads_url=url)


@pytest.fixture
async def archived(
    pg_url: str, tmp_path: Path, bucket: tuple[Any, str, str]
) -> AsyncIterator[tuple[Container, list[str]]]:
    """The container with every worker running (so the relay archives), and the
    ids of the commands it ran, all COMPLETED."""
    _, name, endpoint = bucket
    async with open_container(
        payload_settings(pg_url, tmp_path, name, endpoint)
    ) as container:
        assert container.payloads is not None
        stop = asyncio.Event()
        workers = asyncio.create_task(run_workers(container, WORKER_NAMES, stop))
        try:
            commands: list[c.Command] = [
                c.CreateDatabase(name=DB),
                c.DefineClass(db=DB, definition=ITEM),
                create_items(items=[{"sku": f"bulk-{k}", "n": k} for k in range(300)]),
                *[create_item(sku=f"one-{k}") for k in range(5)],
                update_item(sku="one-0", expected_seq=1, n=9),
            ]
            done = []
            for command in commands:
                receipt = await container.handlers.dispatch(command, command_meta())
                done.append(receipt.command_id)
            await wait_for_states(container, done, "COMPLETED", within=30)
            yield container, done
        finally:
            stop.set()
            await asyncio.wait_for(workers, timeout=30)


async def outbox_rows(container: Container) -> list[Any]:
    o = t.outbox
    async with container.database.read() as conn:
        return list(
            await conn.execute(
                select(o).where(o.c.db == DB).order_by(o.c.first_position)
            )
        )


async def forget_ref(container: Container, first_position: int) -> None:
    """What a crash between the put and recording the reference leaves behind."""
    o = t.outbox
    statement = (
        update(o)
        .where(o.c.db == DB, o.c.first_position == first_position)
        .values(payload_ref=None)
    )
    await container.database.execute_all([(statement, None)])


def commits(rows: list[Any]) -> dict[int, list[Any]]:
    """Outbox rows by the append transaction that committed them."""
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.commit_first, []).append(row)
    return grouped


async def test_each_commit_is_written_once_and_referenced_by_its_rows(
    archived: tuple[Container, list[str]], bucket: tuple[Any, str, str]
) -> None:
    container, done = archived
    assert container.payloads is not None
    client, name, _ = bucket
    rows = await outbox_rows(container)
    assert [r.command_id for r in rows] == done
    for commit_first, members in commits(rows).items():
        last = members[-1].last_position
        key = payload_key(DB, commit_first, last)
        # Referenced by every row of the commit (before the relay published it:
        # every command is COMPLETED, so every commit went through the relay).
        assert {r.payload_ref for r in members} == {key}
        assert key == f"payloads/{DB}/{commit_first}-{last}.json"
        stored = client.get_object(Bucket=name, Key=f"{PREFIX}/{key}")["Body"].read()
        document = json.loads(stored)
        events = await container.event_store.read_positions(
            DB, after_position=commit_first - 1, limit=last - commit_first + 1
        )
        assert document["commands"] == [
            {
                "command_id": r.command_id,
                "first_position": r.first_position,
                "last_position": r.last_position,
            }
            for r in members
        ]
        assert document["events"] == [envelope_to_dict(e) for e in events]
        assert {e.command_id for e in events} == {r.command_id for r in members}
        assert await container.payloads.load(key) == events
    # Exactly one object per commit, each written exactly once.
    assert versions(client, name) == {f"{PREFIX}/{r.payload_ref}": 1 for r in rows}
    bulk = next(r for r in rows if r.last_position - r.first_position == 299)
    assert len(await container.payloads.load(bulk.payload_ref)) == 300


async def test_commands_committed_together_share_one_object(
    pg_url: str, tmp_path: Path, bucket: tuple[Any, str, str]
) -> None:
    """Appends queued together go to the store in one transaction (group commit);
    the archive then writes their events once, as one object, instead of one put
    per command."""
    client, name, endpoint = bucket
    async with open_container(
        payload_settings(pg_url, tmp_path, name, endpoint)
    ) as container:
        assert container.payloads is not None
        batches = [
            command_batch(stream_append(stream_id(db=DB), count=1 + k % 3))
            for k in range(12)
        ]
        results = await asyncio.gather(
            *(container.event_store.append(b) for b in batches)
        )
        rows = await outbox_rows(container)
        assert [r.command_id for r in rows] == [b.command_id for b in batches]
        assert len(commits(rows)) == 1, "the appends were not committed together"
        archive = EventPayloads(
            container.database, container.event_store, blobs=container.payloads.blobs
        )
        assert await archive.archive(DB, upto=results[0].last_position) == 12
        key = payload_key(DB, results[0].first_position, results[-1].last_position)
        assert {r.payload_ref for r in await outbox_rows(container)} == {key}
        assert versions(client, name) == {f"{PREFIX}/{key}": 1}
        assert [e.command_id for e in await archive.load(key)] == [
            b.command_id
            for b, r in zip(batches, results, strict=True)
            for _ in range(r.last_position - r.first_position + 1)
        ]
        # Losing the reference of one row rewrites nothing: the put is refused,
        # the object checked, and only that row recorded again.
        await forget_ref(container, rows[5].first_position)
        again = EventPayloads(
            container.database, container.event_store, container.payloads.blobs
        )
        assert await again.archive(DB, upto=results[-1].last_position) == 1
        assert {r.payload_ref for r in await outbox_rows(container)} == {key}
        assert versions(client, name) == {f"{PREFIX}/{key}": 1}


async def test_a_rewrite_after_a_crash_never_overwrites(
    archived: tuple[Container, list[str]], bucket: tuple[Any, str, str]
) -> None:
    container, _ = archived
    client, name, _ = bucket
    assert container.payloads is not None
    blobs = container.payloads.blobs
    row = (await outbox_rows(container))[2]
    key = f"{PREFIX}/{row.payload_ref}"
    before = client.head_object(Bucket=name, Key=key)
    original = client.get_object(Bucket=name, Key=key)["Body"].read()

    # The conditional write itself, on the real endpoint: refused, nothing changed.
    assert await blobs.put(row.payload_ref, b"something else", if_absent=True) is False
    assert client.get_object(Bucket=name, Key=key)["Body"].read() == original

    # A relay that died after the put and before recording the reference: the next
    # one (a new process: nothing cached) writes again, is refused, and records it.
    await forget_ref(container, row.first_position)
    again = EventPayloads(container.database, container.event_store, blobs)
    assert await again.archive(DB, upto=row.last_position) == 1
    assert [r.payload_ref for r in await outbox_rows(container)] == [
        payload_key(DB, r.first_position, r.last_position)
        for r in await outbox_rows(container)
    ]
    after = client.head_object(Bucket=name, Key=key)
    assert after["VersionId"] == before["VersionId"]
    assert versions(client, name)[key] == 1, "the payload was written twice"
    assert await again.archive(DB, upto=row.last_position) == 0


async def test_an_object_with_other_content_is_not_taken_for_the_batch(
    archived: tuple[Container, list[str]], bucket: tuple[Any, str, str]
) -> None:
    container, _ = archived
    assert container.payloads is not None
    blobs = container.payloads.blobs
    row = (await outbox_rows(container))[3]
    await forget_ref(container, row.first_position)
    await blobs.put(row.payload_ref, b'{"events": []}')  # tampered with

    with pytest.raises(StoreDataError, match="other content"):
        await EventPayloads(container.database, container.event_store, blobs).archive(
            DB, upto=row.last_position
        )
    refs = {r.first_position: r.payload_ref for r in await outbox_rows(container)}
    assert refs[row.first_position] is None


async def test_the_setting_is_validated_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SPICE_EVENT_PAYLOADS_URL"):
        make_settings(
            "sqlite+aiosqlite:///:memory:",
            tmp_path,
            event_payloads_url="ftp://somewhere/x",
        )
    bad_bucket = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}",
        tmp_path,
        event_payloads_url="s3://No_Such/x",
    )
    with pytest.raises(ConfigurationError, match="SPICE_EVENT_PAYLOADS_URL"):
        async with open_container(bad_bucket):
            pass
    embedded = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}", tmp_path)
    async with open_container(embedded) as container:
        assert container.payloads is None
