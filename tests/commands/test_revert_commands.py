"""Reverting a command: compensating events, conflicts with later changes, once only."""

from __future__ import annotations

import asyncio

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.errors import (
    ClaimTaken,
    ConcurrencyConflict,
    NotFoundError,
    PermissionDenied,
    ValidationFailed,
)
from domain.merge.revert import RevertConflict
from tests.commands.branching import branch, create, delete, head, state, update
from tests.commands.conftest import run


def revert(command_id: str) -> c.RevertCommand:
    return c.RevertCommand(db="shop", command_id=command_id)


@pytest.fixture
async def stocked(shop: Container) -> Container:
    await create(shop, "p1", stock=1, price=10)
    return shop


async def test_reverting_an_update_restores_the_fields_and_keeps_history(
    stocked: Container,
) -> None:
    changed = await update(stocked, "p1", stock=5, price=12)
    reverted = await run(stocked, revert(changed.command_id))
    assert await state(stocked, "p1") == {
        "product_id": "p1", "name": "p1", "stock": 1, "price": "10"
    }  # fmt: skip
    events = await stocked.event_store.read_positions(
        "shop", after_position=0, limit=100
    )
    kinds = [(e.command_id, e.event_type) for e in events]
    # The update stays in history; the revert appends its record and an update.
    assert (changed.command_id, "instance.updated.v1") in kinds
    assert [k for i, k in kinds if i == reverted.command_id] == [
        "command.reverted.v1",
        "instance.updated.v1",
    ]


async def test_a_create_reverts_to_a_delete_and_a_delete_to_a_re_create(
    stocked: Container,
) -> None:
    created = await create(stocked, "p2")
    await run(stocked, revert(created.command_id))
    assert await state(stocked, "p2") is None
    deleted = await delete(stocked, "p1")
    await run(stocked, revert(deleted.command_id))
    assert await state(stocked, "p1") == {
        "product_id": "p1", "name": "p1", "stock": 1, "price": "10"
    }  # fmt: skip


async def test_later_changes_to_other_fields_are_kept(stocked: Container) -> None:
    changed = await update(stocked, "p1", stock=5)
    await update(stocked, "p1", name="renamed later")
    await run(stocked, revert(changed.command_id))
    assert await state(stocked, "p1") == {
        "product_id": "p1", "name": "renamed later", "stock": 1, "price": "10"
    }  # fmt: skip


async def test_a_later_change_of_the_same_field_blocks_the_revert(
    stocked: Container,
) -> None:
    changed = await update(stocked, "p1", stock=5)
    later = await update(stocked, "p1", stock=7)
    before = await head(stocked)
    with pytest.raises(RevertConflict) as raised:
        await run(stocked, revert(changed.command_id))
    conflict = raised.value
    assert conflict.aggregate_id == "Product/p1"
    assert (conflict.expected, conflict.actual) == (changed.seq, later.seq)
    [field] = conflict.conflicts[0].fields
    assert (field.name, field.base, field.source, field.target) == ("stock", 5, 1, 7)
    assert await head(stocked) == before


async def test_a_created_object_changed_later_is_not_deleted(
    stocked: Container,
) -> None:
    created = await create(stocked, "p2")
    await update(stocked, "p2", stock=3)
    with pytest.raises(RevertConflict):
        await run(stocked, revert(created.command_id))
    assert await state(stocked, "p2") is not None


async def test_a_command_is_reverted_once_and_a_revert_can_be_reverted_once(
    stocked: Container,
) -> None:
    changed = await update(stocked, "p1", stock=5)
    first = await run(stocked, revert(changed.command_id))
    before = await head(stocked)
    with pytest.raises(ValidationFailed) as again:
        await run(stocked, revert(changed.command_id))
    assert again.value.errors[0].code == "already_reverted"
    redo = await run(stocked, revert(first.command_id))
    assert (await state(stocked, "p1") or {})["stock"] == 5
    with pytest.raises(ValidationFailed) as twice:
        await run(stocked, revert(first.command_id))
    assert twice.value.errors[0].code == "already_reverted"
    assert redo.command_id in twice.value.message
    assert await head(stocked) == before + 2  # only the redo's record and update


async def test_unknown_foreign_and_non_instance_commands_are_refused(
    stocked: Container,
) -> None:
    before = await head(stocked)
    with pytest.raises(NotFoundError):
        await run(stocked, revert("no-such-command"))
    await run(stocked, c.CreateDatabase(name="other"))
    foreign = await run(stocked, c.CreateBranch(db="other", name="x"))
    with pytest.raises(NotFoundError):
        await run(stocked, revert(foreign.command_id))
    made = await run(stocked, c.CreateBranch(db="shop", name="feature"))
    with pytest.raises(ValidationFailed) as raised:
        await run(stocked, revert(made.command_id))
    assert raised.value.errors[0].code == "not_revertible"
    assert await head(stocked) == before + 1  # the branch only


async def test_a_bulk_command_reverts_as_one(shop: Container) -> None:
    items = [{"product_id": f"b{i}", "name": f"b{i}"} for i in range(3)]
    bulk = await run(
        shop, c.CreateInstances(db="shop", class_id="Product", items=items)
    )
    reverted = await run(shop, revert(bulk.command_id))
    assert reverted.last_position - reverted.first_position == 3
    assert [await state(shop, f"b{i}") for i in range(3)] == [None, None, None]


async def test_a_revert_on_a_branch_leaves_the_parent_alone(
    stocked: Container,
) -> None:
    await branch(stocked, "feature")
    changed = await update(stocked, "p1", "feature", stock=5)
    await run(stocked, revert(changed.command_id))
    assert (await state(stocked, "p1", "feature") or {})["stock"] == 1
    assert (await state(stocked, "p1") or {})["stock"] == 1


async def test_two_racing_reverts_of_one_command_write_it_once(
    stocked: Container,
) -> None:
    changed = await update(stocked, "p1", stock=5)
    before = await head(stocked)
    outcomes = await asyncio.gather(
        run(stocked, revert(changed.command_id)),
        run(stocked, revert(changed.command_id)),
        return_exceptions=True,
    )
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1, outcomes
    assert isinstance(failures[0], ValidationFailed | ConcurrencyConflict)
    assert await head(stocked) == before + 2
    assert (await state(stocked, "p1") or {})["stock"] == 1


async def test_a_revert_against_a_concurrent_writer_never_loses_its_write(
    stocked: Container,
) -> None:
    """Either the writer's stock lands after the revert, or the revert sees it
    and refuses: the writer's value is never overwritten by the old one."""
    changed = await update(stocked, "p1", stock=5)
    outcomes = await asyncio.gather(
        run(stocked, revert(changed.command_id)),
        update(stocked, "p1", stock=9),
        return_exceptions=True,
    )
    final = (await state(stocked, "p1") or {})["stock"]
    reverted, written = (not isinstance(o, BaseException) for o in outcomes)
    if written:
        assert final == 9, outcomes
    else:
        assert reverted, outcomes
        assert final == 1, outcomes


async def test_re_creating_an_object_whose_unique_value_was_taken_is_refused(
    shop: Container,
) -> None:
    member = {
        "id": "Member",
        "label": "Member",
        "primary_key": "member_id",
        "properties": [
            {"name": "member_id", "type": "string", "required": True},
            {"name": "email", "type": "string", "unique": True},
        ],
    }
    await run(shop, c.DefineClass(db="shop", definition=member))
    data = {"member_id": "m1", "email": "a@example.com"}
    await run(shop, c.CreateInstance(db="shop", class_id="Member", data=data))
    gone = await run(
        shop,
        c.DeleteInstance(
            db="shop", class_id="Member", instance_id="m1", expected_seq=1
        ),
    )
    data = {"member_id": "m2", "email": "a@example.com"}
    await run(shop, c.CreateInstance(db="shop", class_id="Member", data=data))
    before = await head(shop)
    with pytest.raises(ClaimTaken) as raised:
        await run(shop, revert(gone.command_id))
    assert raised.value.code == "unique_violation"
    assert await head(shop) == before


async def test_a_revert_into_a_branch_that_requires_proposals_is_refused(
    stocked: Container,
) -> None:
    changed = await update(stocked, "p1", stock=5)
    await run(stocked, c.ProtectBranch(db="shop", name="main", require_proposal=True))
    with pytest.raises(PermissionDenied):
        await run(stocked, revert(changed.command_id))
