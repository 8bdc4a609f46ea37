"""Rebasing a branch onto its parent's head: the parent's changes arrive, the
branch's own changes are replayed with the merge's conflict rules, and the merge
base moves to the parent's head (diffs and merges afterwards start there)."""

from __future__ import annotations

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.errors import NotFoundError, PermissionDenied, ValidationFailed
from domain.merge.queries import branch_diff, merge_preview
from domain.merge.three_way import MergeConflict
from tests.commands.branching import branch, create, delete, head, state, update
from tests.commands.conftest import run


def rebase(branch: str = "feature", **options: object) -> c.RebaseBranch:
    return c.RebaseBranch(db="shop", branch=branch, **options)  # type: ignore[arg-type]


@pytest.fixture
async def forked(shop: Container) -> Container:
    """p1, p2, p3 on main, then the branch `feature`."""
    for pid in ("p1", "p2", "p3"):
        await create(shop, pid, stock=1)
    await branch(shop, "feature")
    return shop


async def diff(container: Container) -> dict[str, tuple[str, list[str]]]:
    changes = await branch_diff(
        container.handlers.model,
        container.event_store,
        "shop",
        from_="main",
        to="feature",
    )
    return {x.instance_id: (x.kind.value, [f.name for f in x.fields]) for x in changes}


async def test_the_parents_changes_arrive_and_the_branchs_own_stay(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await create(forked, "f1", "feature")
    await update(forked, "p2", name="renamed on main")
    await create(forked, "m1")
    await delete(forked, "p3")
    receipt = await run(forked, rebase())
    assert receipt.last_position - receipt.first_position == 3  # p2, m1, p3
    assert await state(forked, "p1", "feature") == {
        "product_id": "p1", "name": "p1", "stock": 5
    }  # fmt: skip
    assert (await state(forked, "p2", "feature") or {})["name"] == "renamed on main"
    assert await state(forked, "m1", "feature") is not None
    assert await state(forked, "p3", "feature") is None
    assert await state(forked, "f1", "feature") is not None
    assert await state(forked, "f1") is None  # the parent is untouched


async def test_after_a_rebase_diff_and_merge_see_only_the_branchs_own_changes(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await update(forked, "p2", name="renamed on main")
    assert set(await diff(forked)) == {"p1"}
    await run(forked, rebase())
    assert await diff(forked) == {"p1": ("UPDATED", ["stock"])}
    preview = await merge_preview(
        forked.handlers.model,
        forked.event_store,
        "shop",
        source="feature",
        target="main",
    )
    assert (preview.changes, preview.mergeable) == (1, True)
    merged = await run(forked, c.MergeBranch(db="shop", source="feature"))
    assert merged.last_position - merged.first_position == 1  # p1 only


async def test_the_same_field_changed_on_both_sides_fails_and_writes_nothing(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await update(forked, "p1", stock=7)
    before = await head(forked)
    with pytest.raises(MergeConflict) as raised:
        await run(forked, rebase())
    [conflict] = raised.value.conflicts
    [field] = conflict.fields
    # Read as a merge of the branch into its parent: the branch is the source.
    assert (field.name, field.base, field.source, field.target) == ("stock", 1, 5, 7)
    assert await head(forked) == before


@pytest.mark.parametrize(("strategy", "stock"), [("SOURCE", 5), ("TARGET", 7)])
async def test_a_strategy_keeps_the_branchs_value_or_takes_the_parents(
    forked: Container, strategy: str, stock: int
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await update(forked, "p1", stock=7)
    await run(forked, rebase(strategy=strategy))
    assert (await state(forked, "p1", "feature") or {})["stock"] == stock


async def test_a_resolution_decides_a_field(forked: Container) -> None:
    await update(forked, "p1", "feature", stock=5)
    await update(forked, "p1", stock=7)
    wanted = {"class_id": "Product", "id": "p1", "field": "stock", "value": 6}
    await run(forked, rebase(resolutions=(wanted,)))
    assert (await state(forked, "p1", "feature") or {})["stock"] == 6


async def test_a_second_rebase_brings_only_what_changed_since_the_first(
    forked: Container,
) -> None:
    await update(forked, "p2", name="first")
    await run(forked, rebase())
    await update(forked, "p2", "feature", stock=4)  # after the first rebase
    await update(forked, "p3", name="second")
    receipt = await run(forked, rebase())
    assert receipt.last_position - receipt.first_position == 1  # p3 only
    assert await state(forked, "p2", "feature") == {
        "product_id": "p2", "name": "first", "stock": 4
    }  # fmt: skip


async def test_a_merged_branch_rebases_without_conflicts_with_itself(
    forked: Container,
) -> None:
    await update(forked, "p1", "feature", stock=5)
    await run(forked, c.MergeBranch(db="shop", source="feature"))
    await update(forked, "p1", name="later on main")
    await run(forked, rebase())
    assert await state(forked, "p1", "feature") == {
        "product_id": "p1", "name": "later on main", "stock": 5
    }  # fmt: skip
    assert await diff(forked) == {}


async def test_bad_rebases_are_refused_and_write_nothing(forked: Container) -> None:
    await branch(forked, "child", "feature")
    before = await head(forked)
    with pytest.raises(ValidationFailed) as main:
        await run(forked, rebase("main"))
    assert main.value.errors[0].code == "not_parent"
    with pytest.raises(ValidationFailed) as grandparent:
        await run(forked, rebase("child", onto="main"))
    assert grandparent.value.errors[0].code == "not_parent"
    with pytest.raises(NotFoundError):
        await run(forked, rebase("nope"))
    with pytest.raises(ValidationFailed) as strategy:
        await run(forked, rebase(strategy="BOTH"))
    assert strategy.value.errors[0].code == "invalid_strategy"
    assert await head(forked) == before


async def test_a_child_rebases_onto_its_own_parent_branch(forked: Container) -> None:
    await branch(forked, "child", "feature")
    await update(forked, "p1", "feature", stock=5)
    await run(forked, rebase("child", onto="feature"))
    assert (await state(forked, "p1", "child") or {})["stock"] == 5


async def test_class_changes_on_the_parent_are_replayed_onto_the_branch(
    forked: Container,
) -> None:
    colour = {"name": "colour", "type": "string"}
    await run(
        forked,
        c.AddProperty(db="shop", class_id="Product", property=colour, expected_seq=1),
    )
    weight = {"name": "weight", "type": "decimal"}
    await run(
        forked,
        c.AddProperty(
            db="shop",
            branch="feature",
            class_id="Product",
            property=weight,
            expected_seq=1,
        ),
    )
    await run(forked, rebase())
    # Both members on the branch: the parent's replayed, the branch's kept,
    # and the branch writes the parent's new property at once.
    await update(forked, "p1", "feature", colour="red", weight=2)
    assert (await state(forked, "p1", "feature") or {})["colour"] == "red"
    # After the rebase the branch's diff is its own change only.
    changes = await branch_diff(
        forked.handlers.model, forked.event_store, "shop", from_="main", to="feature"
    )
    members = [(x.class_id, x.instance_id) for x in changes]
    assert ("Product", "@property.weight") in members
    assert ("Product", "@property.colour") not in members


async def test_a_class_conflict_with_the_parent_fails_the_rebase(
    forked: Container,
) -> None:
    for branch_name, label in (("main", "Main"), ("feature", "Feature")):
        await run(
            forked,
            c.UpdateClass(
                db="shop",
                branch=branch_name,
                class_id="Product",
                patch={"label": label},
                expected_seq=1,
            ),
        )
    written = await head(forked)
    with pytest.raises(MergeConflict) as raised:
        await run(forked, rebase())
    assert await head(forked) == written
    assert [x.key for x in raised.value.conflicts] == ["@Product/@class"]


async def test_a_branch_that_requires_proposals_cannot_be_rebased(
    forked: Container,
) -> None:
    await run(forked, c.ProtectBranch(db="shop", name="feature", require_proposal=True))
    with pytest.raises(PermissionDenied):
        await run(forked, rebase())
