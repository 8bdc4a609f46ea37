"""Fixtures for command handler tests: a database with Customer and Product classes."""

from __future__ import annotations

from typing import Any

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.commands import CommandMeta, Receipt
from domain.ids import new_command_id

CUSTOMER: dict[str, Any] = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "primary_key": "customer_id",
    "title_key": "name",
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string", "constraints": {"maxLength": 20}},
        {
            "name": "tier",
            "type": "enum",
            "constraints": {"enumValues": ["gold", "silver"]},
        },
    ],
}
PRODUCT: dict[str, Any] = {
    "id": "Product",
    "label": "Product",
    "primary_key": "product_id",
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "name", "type": "string", "required": True},
        {"name": "price", "type": "decimal", "constraints": {"minimum": 0}},
        {"name": "stock", "type": "integer"},
    ],
    "relationships": [
        {"predicate": "owned_by", "target": "Customer", "cardinality": "n:1"},
        {
            "predicate": "related",
            "target": "Product",
            "cardinality": "n:m",
            "danglingPolicy": "allow",
        },
    ],
}


def meta(command_id: str | None = None) -> CommandMeta:
    if command_id is None:
        return CommandMeta(command_id=new_command_id(), actor="tester")
    return CommandMeta(command_id=command_id, actor="tester", client_command_id=True)


async def run(
    container: Container, command: c.Command, command_id: str | None = None
) -> Receipt:
    return await container.handlers.dispatch(command, meta(command_id))


@pytest.fixture
async def shop(container: Container) -> Container:
    """A database `shop` with Customer and Product defined on main."""
    await run(container, c.CreateDatabase(name="shop"))
    await run(container, c.DefineClass(db="shop", definition=CUSTOMER))
    await run(container, c.DefineClass(db="shop", definition=PRODUCT))
    return container
