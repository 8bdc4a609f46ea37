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


async def test_each_committed_batch_is_written_once_and_referenced(
    archived: tuple[Container, list[str]], bucket: tuple[Any, str, str]
) -> None:
    container, done = archived
    client, name, _ = bucket
    rows = await outbox_rows(container)
    assert [r.command_id for r in rows] == done
    for row in rows:
        # Referenced by the outbox (before the relay published it: every command
        # is COMPLETED, so every batch went through the relay).
        assert row.payload_ref == payload_key(DB, row.first_position, row.last_position)
        assert (
            row.payload_ref
            == f"payloads/{DB}/{row.first_position}-{row.last_position}.json"
        )
        stored = client.get_object(Bucket=name, Key=f"{PREFIX}/{row.payload_ref}")[
            "Body"
        ].read()
        document = json.loads(stored)
        events = await container.event_store.read_positions(
            DB,
            after_position=row.first_position - 1,
            limit=row.last_position - row.first_position + 1,
        )
        assert document["command_id"] == row.command_id
        assert document["events"] == [envelope_to_dict(e) for e in events]
        assert {e.command_id for e in events} == {row.command_id}
        assert container.payloads is not None
        assert await container.payloads.load(row.payload_ref) == events
    # Exactly one object per batch, each written exactly once.
    assert versions(client, name) == {f"{PREFIX}/{r.payload_ref}": 1 for r in rows}
    bulk = next(r for r in rows if r.last_position - r.first_position == 299)
    assert (
        len(
            json.loads(
                client.get_object(Bucket=name, Key=f"{PREFIX}/{bulk.payload_ref}")[
                    "Body"
                ].read()
            )["events"]
        )
        == 300
    )


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
