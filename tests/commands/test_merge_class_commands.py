"""Merging ontology changes: classes and members three ways, checked, classes first."""

from __future__ import annotations

from typing import Any

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.errors import ValidationFailed
from domain.events import CLASS, MAIN_BRANCH, StreamId
from domain.merge.queries import branch_diff, merge_preview
from domain.merge.three_way import MergeConflict
from tests.commands.branching import branch, create, head, state
from tests.commands.conftest import run

TAG: dict[str, Any] = {
    "id": "Tag",
    "label": "Tag",
    "primary_key": "tag",
    "properties": [{"name": "tag", "type": "string", "required": True}],
}


def merge(source: str = "feature", **options: Any) -> c.MergeBranch:
    return c.MergeBranch(db="shop", source=source, target=MAIN_BRANCH, **options)


async def definition(
    container: Container, class_id: str, branch_name: str = MAIN_BRANCH
) -> dict[str, Any] | None:
    stream = StreamId("shop", branch_name, CLASS, class_id)
    tip = (await container.event_store.last_events([stream])).get(stream)
    return None if tip is None else dict(tip.data["definition"])


async def seq(container: Container, class_id: str, branch_name: str) -> int:
    stream = StreamId("shop", branch_name, CLASS, class_id)
    return await container.event_store.stream_head(stream)


async def add_property(
    container: Container, branch_name: str, prop: dict[str, Any]
) -> None:
    command = c.AddProperty(
        db="shop",
        branch=branch_name,
        class_id="Product",
        property=prop,
        expected_seq=await seq(container, "Product", branch_name),
    )
    await run(container, command)


async def change_property(
    container: Container, branch_name: str, prop: dict[str, Any]
) -> None:
    command = c.ChangeProperty(
        db="shop",
        branch=branch_name,
        class_id="Product",
        property=prop,
        expected_seq=await seq(container, "Product", branch_name),
    )
    await run(container, command)


def names(defn: dict[str, Any] | None) -> list[str]:
    return [p["name"] for p in (defn or {}).get("properties", [])]


async def test_a_class_defined_on_the_source_merges_before_its_instances(
    shop: Container,
) -> None:
    await branch(shop, "feature")
    await run(shop, c.DefineClass(db="shop", branch="feature", definition=TAG))
    data = {"tag": "red"}
    await run(
        shop, c.CreateInstance(db="shop", branch="feature", class_id="Tag", data=data)
    )
    receipt = await run(shop, merge())
    assert (await definition(shop, "Tag") or {})["primary_key"] == "tag"
    # Record, class, instance: one batch, the class before the instance.
    events = await shop.event_store.read_positions(
        "shop", after_position=receipt.first_position - 1, limit=10
    )
    kinds = [e.event_type for e in events if e.position <= receipt.last_position]
    assert kinds == ["branch.merged.v1", "class.defined.v1", "instance.created.v1"]
    # Main's write model knows the class: instances of it are written on main.
    more = c.CreateInstance(db="shop", class_id="Tag", data={"tag": "blue"})
    await run(shop, more)


async def test_properties_added_on_both_sides_merge(shop: Container) -> None:
    await branch(shop, "feature")
    await add_property(shop, "feature", {"name": "colour", "type": "string"})
    await add_property(shop, MAIN_BRANCH, {"name": "weight", "type": "decimal"})
    await run(shop, merge())
    merged = names(await definition(shop, "Product"))
    assert merged[-2:] == ["weight", "colour"]
    # The merge brings the class once: a second merge finds nothing to change.
    before = await definition(shop, "Product")
    await run(shop, merge())
    assert await definition(shop, "Product") == before


async def test_one_property_changed_on_both_sides_conflicts_by_field(
    shop: Container,
) -> None:
    await branch(shop, "feature")
    await change_property(
        shop, "feature", {"name": "name", "type": "string", "required": True,
                          "constraints": {"maxLength": 10}},
    )  # fmt: skip
    await change_property(
        shop, MAIN_BRANCH, {"name": "name", "type": "string", "required": True,
                            "constraints": {"maxLength": 30}},
    )  # fmt: skip
    written = await head(shop)
    with pytest.raises(MergeConflict) as raised:
        await run(shop, merge())
    assert await head(shop) == written
    (conflict,) = raised.value.conflicts
    assert conflict.key == "@Product/@property.name"
    assert raised.value.classes[conflict.key] == "Product"
    assert [(f.name, f.source, f.target) for f in conflict.fields] == [
        ("constraints", {"maxLength": 10}, {"maxLength": 30})
    ]
    pick = {"class_id": "Product", "id": "@property.name", "field": "constraints"}
    await run(shop, merge(resolutions=({**pick, "take": "SOURCE"},)))
    (prop,) = [
        p
        for p in (await definition(shop, "Product") or {})["properties"]
        if p["name"] == "name"
    ]
    assert prop["constraints"] == {"maxLength": 10}


async def test_removing_a_member_the_other_side_changed_is_a_delete_update_conflict(
    shop: Container,
) -> None:
    await branch(shop, "feature")
    remove = c.RemoveProperty(
        db="shop", branch="feature", class_id="Product", name="stock", expected_seq=1
    )
    await run(shop, remove)
    await change_property(
        shop, MAIN_BRANCH, {"name": "stock", "type": "integer", "label": "Stock"}
    )
    with pytest.raises(MergeConflict) as raised:
        await run(shop, merge())
    assert [c.kind.value for c in raised.value.conflicts] == ["DELETE_UPDATE"]
    await run(shop, merge(strategy="SOURCE"))
    assert "stock" not in names(await definition(shop, "Product"))


async def test_a_breaking_change_does_not_merge_without_a_migration(
    shop: Container,
) -> None:
    # The source re-keyed Product with a plan of its own; on the target the
    # merge carries none, so the breaking-change rules refuse it.
    await branch(shop, "feature")
    await add_property(shop, "feature", {"name": "sku", "type": "string"})
    update = c.UpdateClass(
        db="shop",
        branch="feature",
        class_id="Product",
        patch={"primary_key": "sku"},
        expected_seq=2,
        migration_plan={"note": "re-key"},
    )
    await run(shop, update)
    written = await head(shop)
    with pytest.raises(ValidationFailed) as raised:
        await run(shop, merge())
    assert await head(shop) == written
    assert [(e.path, e.code) for e in raised.value.errors] == [
        (("classes", "Product", "primary_key"), "primary_key_changed")
    ]
    preview = await merge_preview(
        shop.handlers.model, shop.event_store, "shop", source="feature", target="main"
    )
    assert [x.name for x in preview.checks if not x.passed] == ["ontology"]


async def test_sides_valid_alone_but_invalid_together_do_not_merge(
    shop: Container,
) -> None:
    gadget = {
        "id": "Gadget",
        "parent": "Product",
        "properties": [{"name": "colour", "type": "integer"}],
    }
    await branch(shop, "feature")
    await run(shop, c.DefineClass(db="shop", definition=gadget))
    await add_property(shop, "feature", {"name": "colour", "type": "string"})
    written = await head(shop)
    with pytest.raises(ValidationFailed) as raised:
        await run(shop, merge())
    assert await head(shop) == written
    paths = [e.path[:4] for e in raised.value.errors]
    assert paths == [("classes", "Product", "subclasses", "Gadget")]


async def test_a_merge_that_lint_rejects_does_not_merge(shop: Container) -> None:
    # Main's Product links to Customer; feature deprecates Customer. Product is
    # not changed by the merge, yet its link would dangle: a lint error.
    await branch(shop, "feature")
    deprecate = c.DeprecateClass(
        db="shop", branch="feature", class_id="Customer", expected_seq=1
    )
    await run(shop, deprecate)
    written = await head(shop)
    with pytest.raises(ValidationFailed) as raised:
        await run(shop, merge())
    assert await head(shop) == written
    assert {(e.path[:2], e.code) for e in raised.value.errors} == {
        (("classes", "Product"), "dangling_target")
    }


async def test_instances_are_checked_against_the_merged_class(shop: Container) -> None:
    await create(shop, "p1")
    await branch(shop, "feature")
    await add_property(shop, "feature", {"name": "colour", "type": "string"})
    update = c.UpdateInstance(
        db="shop",
        branch="feature",
        class_id="Product",
        instance_id="p1",
        patch={"colour": "red"},
        expected_seq=1,
    )
    await run(shop, update)
    await run(shop, merge())
    assert (await state(shop, "p1") or {})["colour"] == "red"


async def test_diff_lists_class_members_before_objects(shop: Container) -> None:
    await branch(shop, "feature")
    await add_property(shop, "feature", {"name": "colour", "type": "string"})
    await run(shop, c.DefineClass(db="shop", branch="feature", definition=TAG))
    await create(shop, "p9", "feature")
    changes = await branch_diff(
        shop.handlers.model, shop.event_store, "shop", from_="main", to="feature"
    )
    assert [(x.class_id, x.instance_id, x.kind.value) for x in changes] == [
        ("Product", "@property.colour", "CREATED"),
        ("Tag", "@class", "CREATED"),
        ("Tag", "@property.tag", "CREATED"),
        ("Product", "p9", "CREATED"),
    ]
    colour = changes[0]
    assert [(f.name, f.before, f.after) for f in colour.fields] == [
        ("constraints", None, {}),
        ("name", None, "colour"),
        ("required", None, False),
        ("type", None, "string"),
        ("unique", None, False),
    ]
