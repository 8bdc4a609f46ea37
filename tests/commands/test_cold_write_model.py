"""A cold write model under concurrent commands is loaded once, not per command."""

from __future__ import annotations

import asyncio

from app.bootstrap import Container
from domain import commands as c
from domain.write_model import WriteModel
from tests.commands.conftest import run


async def test_concurrent_first_commands_share_one_model_load(
    shop: Container,
) -> None:
    cold = WriteModel(shop.event_store)
    contexts = await asyncio.gather(
        *(cold.branch_context("shop", "main") for _ in range(20))
    )
    # One load: every caller got the very same model and ontology objects (a
    # load per caller would have built twenty of each).
    assert len({id(ctx.database) for ctx in contexts}) == 1
    assert len({id(ctx.ontology) for ctx in contexts}) == 1
    assert contexts[0].ontology.get("Customer") is not None


async def test_a_class_change_is_seen_after_invalidation(shop: Container) -> None:
    model = WriteModel(shop.event_store)
    before = await model.branch_context("shop", "main")
    await run(
        shop,
        c.DefineClass(
            db="shop",
            definition={
                "id": "Shelf",
                "label": "Shelf",
                "primary_key": "shelf_id",
                "properties": [{"name": "shelf_id", "type": "string"}],
            },
        ),
    )
    model.invalidate("shop")
    after = await model.branch_context("shop", "main")
    assert before.ontology.get("Shelf") is None
    assert after.ontology.get("Shelf") is not None
    assert after.registry_version > before.registry_version
