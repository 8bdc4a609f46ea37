"""Fixtures and factories for the reliability catalogue (RELIABILITY.md R1-R17).

Every test here runs on SQLite and on PostgreSQL (the `database_url` fixture). A
database `shop` with one class, `Item`, is the common ground; factories build its
commands with unique ids.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from app.bootstrap import Container, open_container
from app.settings import Settings
from domain import commands as c
from domain.commands import CommandMeta, Receipt

DB = "shop"
ITEM: dict[str, Any] = {
    "id": "Item",
    "label": "Item",
    "primary_key": "sku",
    "properties": [
        {"name": "sku", "type": "string", "required": True},
        {"name": "n", "type": "integer"},
        {"name": "note", "type": "string"},
    ],
}


# --- factories -------------------------------------------------------------------


def unique_sku(prefix: str = "sku") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def command_meta(
    command_id: str | None = None, *, actor: str = "tester"
) -> CommandMeta:
    """A server-chosen command id, or a client-chosen one (then retries are possible)."""
    if command_id is None:
        return CommandMeta(command_id=str(uuid.uuid4()), actor=actor)
    return CommandMeta(command_id=command_id, actor=actor, client_command_id=True)


def item_data(
    *, sku: str | None = None, n: int = 0, note: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"sku": sku or unique_sku(), "n": n}
    if note is not None:
        data["note"] = note
    return data


def create_item(
    *, db: str = DB, sku: str | None = None, n: int = 0, note: str | None = None
) -> c.CreateInstance:
    return c.CreateInstance(
        db=db, class_id="Item", data=item_data(sku=sku, n=n, note=note)
    )


def update_item(
    *, sku: str, expected_seq: int, db: str = DB, **patch: Any
) -> c.UpdateInstance:
    return c.UpdateInstance(
        db=db, class_id="Item", instance_id=sku, patch=patch, expected_seq=expected_seq
    )


def delete_item(*, sku: str, expected_seq: int, db: str = DB) -> c.DeleteInstance:
    return c.DeleteInstance(
        db=db, class_id="Item", instance_id=sku, expected_seq=expected_seq
    )


def create_items(
    *, items: Sequence[Mapping[str, Any]], db: str = DB
) -> c.CreateInstances:
    return c.CreateInstances(db=db, class_id="Item", items=items)


def upsert_items(
    *, items: Sequence[Mapping[str, Any]], db: str = DB
) -> c.UpsertInstances:
    return c.UpsertInstances(db=db, class_id="Item", items=items)


async def send(
    container: Container, command: c.Command, command_id: str | None = None
) -> Receipt:
    return await container.handlers.dispatch(command, command_meta(command_id))


async def define_shop(container: Container, *, db: str = DB) -> None:
    """The database and its `Item` class."""
    await send(container, c.CreateDatabase(name=db))
    await send(container, c.DefineClass(db=db, definition=ITEM))


# --- fixtures --------------------------------------------------------------------


@pytest.fixture
async def shop(container: Container) -> Container:
    """The container with database `shop` and class `Item` defined (no workers)."""
    await define_shop(container)
    return container


@pytest.fixture
async def other_container(
    settings: Settings, container: Container
) -> AsyncIterator[Container]:
    """A second container on the same databases: another API process (own engines,
    own caches, own group writer)."""
    async with open_container(settings) as built:
        yield built


@pytest.fixture
async def running_shop(shop: Container, running: Container) -> Container:
    """`shop` with the relay and every projection consumer running in-process."""
    return running
