"""Merging branches through the command handler: three-way, atomic, recorded base."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.errors import ConcurrencyConflict, NotFoundError, ValidationFailed
from domain.events import MAIN_BRANCH
from domain.merge.queries import branch_diff
from domain.merge.three_way import MergeConflict
from tests.commands.branching import branch, create, delete, head, state, update
from tests.commands.conftest import run


def merge(
    source: str = "feature", target: str = MAIN_BRANCH, **options: Any
) -> c.MergeBranch:
    return c.MergeBranch(db="shop", source=source, target=target, **options)


@pytest.fixture
async def forked(shop: Container) -> Container:
    """p1, p2, p3 on main, then the branch `feature`."""
    for pid in ("p1", "p2", "p3"):
        await create(shop, pid, stock=1)
    await branch(shop, "feature")
    return shop


async def test_merge_brings_creates_updates_and_deletes_into_the_target(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await create(forked, "p4", "feature")
    await delete(forked, "p3", "feature")
    await update(forked, "p2", stock=9)  # on main: merges with nothing
    receipt = await run(forked, merge())
    assert receipt.last_position - receipt.first_position == 3
    assert await state(forked, "p1") == {"product_id": "p1", "name": "p1", "stock": 5}
    assert await state(forked, "p4") == {"product_id": "p4", "name": "p4"}
    assert await state(forked, "p3") is None
    assert await state(forked, "p2") == {"product_id": "p2", "name": "p2", "stock": 9}


async def test_different_fields_of_one_object_merge(forked: Container) -> None:
    await update(forked, "p1", "feature", stock=5)
    await update(forked, "p1", name="renamed")
    await run(forked, merge())
    assert await state(forked, "p1") == {
        "product_id": "p1",
        "name": "renamed",
        "stock": 5,
    }


async def test_a_second_merge_brings_only_what_changed_since_the_first(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    first = await run(forked, merge())
    assert first.seq == 1
    await update(forked, "p1", name="on main after the merge")
    await update(forked, "p2", "feature", stock=7)
    second = await run(forked, merge())
    assert (second.seq, second.last_position - second.first_position) == (2, 1)
    # The target's own change after the merge did not conflict and stays.
    assert await state(forked, "p1") == {
        "product_id": "p1",
        "name": "on main after the merge",
        "stock": 5,
    }
    assert (await state(forked, "p2") or {})["stock"] == 7


async def test_merging_with_nothing_new_records_the_merge_and_changes_nothing(
    forked: Container,
) -> None:
    before = await state(forked, "p1")
    receipt = await run(forked, merge())
    assert receipt.last_position == receipt.first_position  # the record alone
    assert await state(forked, "p1") == before


async def test_same_field_changed_on_both_sides_fails_and_writes_nothing(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await update(forked, "p1", stock=6)
    await update(forked, "p2", "feature", stock=8)
    position = await head(forked)
    with pytest.raises(MergeConflict) as raised:
        await run(forked, merge())
    [conflict] = raised.value.conflicts
    assert (conflict.key, conflict.kind.value) == ("Product/p1", "UPDATE_UPDATE")
    assert [(f.name, f.base, f.source, f.target) for f in conflict.fields] == [
        ("stock", 1, 5, 6)
    ]
    assert raised.value.classes == {"Product/p1": "Product"}
    assert await head(forked) == position
    assert (await state(forked, "p2") or {})["stock"] == 1


@pytest.mark.parametrize(("strategy", "stock"), [("SOURCE", 5), ("TARGET", 6)])
async def test_a_strategy_decides_unresolved_conflicts(
    forked: Container, strategy: str, stock: int
) -> None:
    await update(forked, "p1", "feature", stock=5, name="both")
    await update(forked, "p1", stock=6, name="both")
    await run(forked, merge(strategy=strategy))
    assert await state(forked, "p1") == {
        "product_id": "p1",
        "name": "both",
        "stock": stock,
    }


async def test_resolutions_decide_named_fields_before_the_strategy(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5, name="source")
    await update(forked, "p1", stock=6, name="target")
    resolutions = [
        {"class_id": "Product", "id": "p1", "field": "stock", "value": 42},
        {"class_id": "Product", "id": "p1", "field": "name", "take": "SOURCE"},
    ]
    await run(forked, merge(resolutions=resolutions))
    assert await state(forked, "p1") == {
        "product_id": "p1",
        "name": "source",
        "stock": 42,
    }


async def test_delete_against_update_is_a_conflict(forked: Container) -> None:
    await delete(forked, "p1", "feature")
    await update(forked, "p1", stock=6)
    with pytest.raises(MergeConflict) as raised:
        await run(forked, merge())
    [conflict] = raised.value.conflicts
    assert conflict.kind.value == "DELETE_UPDATE"
    assert [(f.name, f.source, f.target) for f in conflict.fields] == [
        ("stock", None, 6)
    ]
    await run(forked, merge(strategy="SOURCE"))
    assert await state(forked, "p1") is None


@pytest.mark.parametrize(
    ("resolution", "code"),
    [
        (
            {"class_id": "Product", "id": "p2", "field": "stock", "take": "SOURCE"},
            "not_in_conflict",
        ),
        (
            {"class_id": "Product", "id": "p1", "field": "name", "take": "SOURCE"},
            "not_in_conflict",
        ),
        ({"class_id": "Product", "id": "p1", "field": "stock"}, "invalid_resolution"),
        (
            {"class_id": "Product", "id": "p1", "field": "stock", "take": "LEFT"},
            "invalid_resolution",
        ),
    ],
    ids=["object", "field", "no-decision", "bad-side"],
)
async def test_bad_resolutions_are_rejected_and_write_nothing(
    forked: Container, resolution: dict[str, Any], code: str
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await update(forked, "p1", stock=6)
    position = await head(forked)
    with pytest.raises(ValidationFailed) as raised:
        await run(forked, merge(resolutions=[resolution]))
    assert [e.code for e in raised.value.errors] == [code]
    assert await head(forked) == position


async def test_merge_into_itself_or_a_descendant_or_an_unknown_branch_is_refused(
    forked: Container,
) -> None:
    await branch(forked, "child", "feature")
    position = await head(forked)
    with pytest.raises(ValidationFailed) as itself:
        await run(forked, merge("feature", "feature"))
    assert itself.value.errors[0].code == "same_branch"
    with pytest.raises(ValidationFailed) as descendant:
        await run(forked, merge("feature", "child"))
    assert descendant.value.errors[0].code == "target_descends_from_source"
    with pytest.raises(NotFoundError):
        await run(forked, merge("nope"))
    with pytest.raises(NotFoundError):
        await run(forked, merge("feature", "nope"))
    with pytest.raises(ValidationFailed) as strategy:
        await run(forked, merge(strategy="THEIRS"))
    assert strategy.value.errors[0].code == "invalid_strategy"
    assert await head(forked) == position


async def test_a_child_merges_into_its_grandparent_and_a_sibling(
    forked: Container,
) -> None:
    await branch(forked, "child", "feature")
    await update(forked, "p1", "feature", stock=5)  # not in child: forked before
    await update(forked, "p2", "child", stock=7)
    await run(forked, merge("child", MAIN_BRANCH))
    assert (await state(forked, "p2") or {})["stock"] == 7
    assert (await state(forked, "p1") or {})["stock"] == 1
    await branch(forked, "sibling")
    await update(forked, "p3", "sibling", stock=3)
    await run(forked, merge("sibling", "feature"))
    assert (await state(forked, "p3", "feature") or {})["stock"] == 3


async def test_a_merged_object_must_be_valid_on_the_target(shop: Container) -> None:
    await run(
        shop,
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "c1"}),
    )
    await branch(shop, "feature")
    await create(shop, "p1", "feature", owned_by="c1")
    await run(
        shop,
        c.DeleteInstance(
            db="shop", class_id="Customer", instance_id="c1", expected_seq=1
        ),
    )
    with pytest.raises(ValidationFailed) as raised:
        await run(shop, merge())
    assert [(e.path, e.code) for e in raised.value.errors] == [
        (("Product", "p1", "owned_by"), "dangling_reference")
    ]


async def test_diff_lists_what_to_changed_since_the_merge_base(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await create(forked, "p4", "feature")
    await delete(forked, "p3", "feature")
    await update(forked, "p2", stock=9)  # main's change is not in main...feature
    changes = await branch_diff(
        forked.handlers.model, forked.event_store, "shop", from_="main", to="feature"
    )
    assert [
        (x.instance_id, x.kind.value, [(f.name, f.before, f.after) for f in x.fields])
        for x in changes
    ] == [
        ("p1", "UPDATED", [("stock", 1, 5)]),
        (
            "p3",
            "DELETED",
            [("name", "p3", None), ("product_id", "p3", None), ("stock", 1, None)],
        ),
        ("p4", "CREATED", [("name", None, "p4"), ("product_id", None, "p4")]),
    ]
    back = await branch_diff(
        forked.handlers.model, forked.event_store, "shop", from_="feature", to="main"
    )
    assert [(x.instance_id, x.kind.value) for x in back] == [("p2", "UPDATED")]
    await run(forked, merge())
    after = await branch_diff(
        forked.handlers.model, forked.event_store, "shop", from_="main", to="feature"
    )
    assert after == []


async def test_a_conflict_decided_by_one_merge_does_not_come_back_in_the_next(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await update(forked, "p1", stock=6)
    await run(forked, merge(strategy="TARGET"))
    await update(forked, "p2", "feature", stock=7)
    await run(forked, merge())  # FAIL: p1's old conflict would fail it
    assert (await state(forked, "p1") or {})["stock"] == 6
    assert (await state(forked, "p2") or {})["stock"] == 7


async def test_concurrent_merges_of_one_branch_bring_each_change_once(
    forked: Container,
) -> None:
    """They race on the target's merge stream: the losers try again from the
    new base, which leaves them nothing to bring."""
    await update(forked, "p1", "feature", stock=5)
    await create(forked, "p4", "feature")
    receipts = await asyncio.gather(*(run(forked, merge()) for _ in range(3)))
    assert sorted(r.seq for r in receipts) == [1, 2, 3]
    assert sorted(r.last_position - r.first_position for r in receipts) == [0, 0, 2]
    assert (await state(forked, "p1") or {})["stock"] == 5


async def test_a_target_write_racing_the_merge_is_never_lost(
    forked: Container,
) -> None:
    """Whatever the interleaving, the target's write lands before the merge (which
    then merges with it) or after it (its writer retries on a conflict, as a
    client would); the merge retries on its own."""
    await update(forked, "p1", "feature", stock=5)

    async def racing_write() -> None:
        for _ in range(5):
            try:
                await update(forked, "p1", name="racing")
                return
            except ConcurrencyConflict:
                continue

    await asyncio.gather(run(forked, merge(strategy="SOURCE")), racing_write())
    assert await state(forked, "p1") == {
        "product_id": "p1",
        "name": "racing",
        "stock": 5,
    }


async def test_a_stacked_branch_merges_after_its_parent_without_old_conflicts(
    forked: Container,
) -> None:
    """`sub` forked from `feature` after its change; `feature` was merged and
    main changed the same field since: sub's merge base is what it shares
    with main through feature's merge, so that change is no conflict."""
    await update(forked, "p1", "feature", stock=5)
    await branch(forked, "sub", "feature")
    await run(forked, merge("feature"))
    await update(forked, "p1", stock=6)
    await update(forked, "p2", "sub", stock=7)
    receipt = await run(forked, merge("sub"))
    assert receipt.last_position - receipt.first_position == 1  # p2 alone
    assert (await state(forked, "p1") or {})["stock"] == 6
    assert (await state(forked, "p2") or {})["stock"] == 7


async def test_merging_back_and_forth_between_siblings(forked: Container) -> None:
    await branch(forked, "other")
    await update(forked, "p1", "feature", stock=5)
    await run(forked, merge("feature", "other"))
    await update(forked, "p1", "other", stock=8)
    await update(forked, "p2", "feature", stock=9)
    # Back: other's own change since the merge comes; feature's p2 is untouched.
    await run(forked, merge("other", "feature"))
    assert (await state(forked, "p1", "feature") or {})["stock"] == 8
    assert (await state(forked, "p2", "feature") or {})["stock"] == 9
