"""R2 Idempotent retry: a client command id sent again (the response was lost).

An identical retry returns the original receipt and writes nothing, also after
other writers moved the streams on; the same id with another payload is rejected.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from adapters import tables as t
from app.bootstrap import Container
from domain import commands as c
from domain.commands import Receipt
from domain.errors import IdempotencyConflict
from tests.reliability.conftest import (
    create_item,
    create_items,
    item_data,
    send,
    unique_sku,
    update_item,
)
from tests.reliability.support import count_rows, item_stream, last_position


def client_id() -> str:
    return f"client-{uuid.uuid4().hex}"


async def events_of(container: Container, command_id: str) -> int:
    return await count_rows(container, t.events, t.events.c.command_id == command_id)


def as_duplicate(receipt: Receipt) -> Receipt:
    return dataclasses.replace(receipt, duplicate=True)


async def commands_for(container: Container, kind: str) -> tuple[c.Command, int]:
    """A command of the kind and how many events it writes."""
    if kind == "create":
        return create_item(), 1
    if kind == "bulk":
        return create_items(items=[item_data() for _ in range(50)]), 50
    sku = unique_sku()
    await send(container, create_item(sku=sku))
    return update_item(sku=sku, expected_seq=1, n=1), 1


@pytest.mark.parametrize("kind", ["create", "bulk", "update"])
async def test_identical_retry_returns_the_original_receipt_and_writes_nothing(
    shop: Container, kind: str
) -> None:
    command, count = await commands_for(shop, kind)
    command_id = client_id()
    first = await send(shop, command, command_id)
    head = await last_position(shop)

    again = await send(shop, command, command_id)

    assert not first.duplicate
    assert again == as_duplicate(first)
    assert await last_position(shop) == head
    assert await events_of(shop, command_id) == count
    assert first.last_position - first.first_position + 1 == count


async def test_retry_after_another_writer_appended_returns_the_original_receipt(
    shop: Container, other_container: Container
) -> None:
    sku = unique_sku()
    await send(shop, create_item(sku=sku))
    command = update_item(sku=sku, expected_seq=1, n=1)
    command_id = client_id()
    first = await send(shop, command, command_id)
    later = await send(other_container, update_item(sku=sku, expected_seq=2, n=2))

    # The retry comes through the other process, whose cache never saw the command.
    again = await send(other_container, command, command_id)

    assert again == as_duplicate(first)
    assert (first.seq, later.seq) == (2, 3)
    stream = await shop.event_store.read_stream(item_stream(sku))
    assert [(e.seq, e.command_id) for e in stream][1:] == [
        (2, command_id),
        (3, later.command_id),
    ]
    assert stream[-1].data["values"]["n"] == 2


async def test_bulk_retry_after_its_instances_changed_is_never_a_partial_duplicate(
    shop: Container,
) -> None:
    items = [item_data() for _ in range(50)]
    command = create_items(items=items)
    command_id = client_id()
    first = await send(shop, command, command_id)
    # Another writer updates half of the created instances, then the bulk is retried.
    for item in items[::2]:
        await send(shop, update_item(sku=item["sku"], expected_seq=1, n=7))
    head = await last_position(shop)

    again = await send(shop, command, command_id)

    assert again == as_duplicate(first)
    assert await last_position(shop) == head
    assert await events_of(shop, command_id) == 50
    heads = [await shop.event_store.stream_head(item_stream(i["sku"])) for i in items]
    assert heads == [2 if k % 2 == 0 else 1 for k in range(50)]


@pytest.mark.parametrize(
    "after_other_writer", [False, True], ids=["at-once", "after-other-writer"]
)
async def test_same_command_id_with_another_payload_is_rejected(
    shop: Container, after_other_writer: bool
) -> None:
    sku = unique_sku()
    await send(shop, create_item(sku=sku))
    command_id = client_id()
    first = await send(shop, update_item(sku=sku, expected_seq=1, n=1), command_id)
    if after_other_writer:
        await send(shop, update_item(sku=sku, expected_seq=2, n=2))
    head = await last_position(shop)

    attempts: list[c.Command] = [
        update_item(sku=sku, expected_seq=1, n=99),
        update_item(
            sku=sku,
            expected_seq=await shop.event_store.stream_head(item_stream(sku)),
            n=1,
        ),
        create_item(sku=unique_sku()),
    ]
    for other in attempts:
        with pytest.raises(IdempotencyConflict) as caught:
            await send(shop, other, command_id)
        assert caught.value.command_id == command_id

    assert await last_position(shop) == head
    assert await events_of(shop, command_id) == 1
    stored = await shop.event_store.find_command(command_id)
    assert stored is not None
    assert stored.result.last_position == first.last_position


@pytest.mark.parametrize("kind", ["create", "bulk", "update"])
async def test_concurrent_identical_retries_share_one_outcome(
    shop: Container, other_container: Container, kind: str
) -> None:
    """The client times out and retries while the first request is still in flight,
    through both API processes."""
    command, count = await commands_for(shop, kind)
    command_id = client_id()
    head = await last_position(shop)

    receipts = await asyncio.gather(
        *(send(node, command, command_id) for node in [shop, other_container] * 3)
    )

    originals = [r for r in receipts if not r.duplicate]
    assert len(originals) == 1, f"{len(originals)} of the retries wrote"
    assert all(r == as_duplicate(originals[0]) for r in receipts if r.duplicate)
    assert await last_position(shop) == head + count
    assert await events_of(shop, command_id) == count
