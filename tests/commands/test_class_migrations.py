"""Breaking class changes carried out by their migration plan: one atomic command
appends the class event and a full-state event per migrated instance."""

from __future__ import annotations

from typing import Any

import pytest

from app.bootstrap import Container
from app.rebuild import REBUILDABLE, rebuild
from domain import class_migration
from domain import commands as c
from domain.errors import ValidationFailed
from domain.events import INSTANCE, StreamId
from tests.commands.conftest import run
from tests.reliability.support import wait_for_checkpoints

PERSON_ID = {"name": "person_id", "type": "string", "required": True}
PERSON: dict[str, Any] = {
    "id": "Person",
    "label": "Person",
    "primary_key": "person_id",
    "properties": [
        PERSON_ID,
        {"name": "full_name", "type": "string"},
        {"name": "age", "type": "string"},
        {"name": "nick", "type": "string"},
        {"name": "legacy", "type": "string"},
    ],
}
STAFF = {"id": "Staff", "label": "Staff", "parent": "Person"}
NEW_PROPERTIES = [
    PERSON_ID,
    {"name": "first", "type": "string"},
    {"name": "last", "type": "string"},
    {"name": "age", "type": "integer"},
    {"name": "alias", "type": "string"},
]
STEPS = [
    {
        "op": "split",
        "property": "full_name",
        "into": ["first", "last"],
        "separator": " ",
    },
    {"op": "convert", "property": "age"},
    {"op": "rename", "from": "nick", "to": "alias"},
    {"op": "remove", "property": "legacy"},
]


@pytest.fixture
async def people(container: Container) -> Container:
    await run(container, c.CreateDatabase(name="staff"))
    await run(container, c.DefineClass(db="staff", definition=PERSON))
    await run(container, c.DefineClass(db="staff", definition=STAFF))
    return container


async def person(container: Container, class_id: str = "Person", **values: Any) -> None:
    await run(container, c.CreateInstance(db="staff", class_id=class_id, data=values))


async def state(container: Container, pid: str) -> dict[str, Any]:
    stream = StreamId("staff", "main", INSTANCE, f"Person/{pid}")
    tip = (await container.event_store.last_events([stream]))[stream]
    return {"type": tip.event_type, "seq": tip.seq, **tip.data["values"]}


async def head(container: Container) -> int:
    return (await container.event_store.last_positions())["staff"]


async def migrate(
    container: Container,
    plan: dict[str, Any] | None,
    properties: list[dict[str, Any]] | None = None,
) -> c.Receipt:
    command = c.UpdateClass(
        db="staff",
        class_id="Person",
        patch={"properties": properties or NEW_PROPERTIES},
        expected_seq=1,
        migration_plan=plan,
    )
    return await run(container, command)


async def property_types(container: Container) -> dict[str, str]:
    ctx = await container.handlers.model.branch_context("staff", "main")
    return {p.name: str(p.type) for p in ctx.ontology.effective_properties("Person")}


async def test_a_plan_renames_converts_splits_and_removes_in_one_command(
    people: Container,
) -> None:
    await person(
        people,
        person_id="p1",
        full_name="Ada Lovelace",
        age="36",
        nick="ada",
        legacy="x",
    )
    await person(people, "Staff", person_id="s1", full_name="Alan Turing", age=" 41 ")
    await person(people, person_id="p2")

    receipt = await migrate(people, {"steps": STEPS, "note": "v2"})

    assert receipt.last_position - receipt.first_position == 2  # class + p1 + s1
    assert await state(people, "p1") == {
        "type": "instance.updated.v1", "seq": 2, "person_id": "p1",
        "first": "Ada", "last": "Lovelace", "age": 36, "alias": "ada",
    }  # fmt: skip
    assert (await state(people, "s1"))["age"] == 41  # the subclass migrates too
    assert (await state(people, "p2"))["seq"] == 1  # nothing to change
    assert (await property_types(people))["age"] == "integer"


async def test_a_value_that_does_not_convert_fails_the_change_naming_it(
    people: Container,
) -> None:
    await person(people, person_id="p1", age="36")
    await person(people, person_id="p2", age="about forty")
    await person(people, person_id="p3", age="4.5")
    before = await head(people)

    with pytest.raises(ValidationFailed) as failure:
        await migrate(people, {"steps": STEPS})

    assert [(e.path, e.code) for e in failure.value.errors] == [
        (("instances", "Person", "p2"), "conversion_failed"),
        (("instances", "Person", "p3"), "conversion_failed"),
    ]
    assert await head(people) == before
    assert (await property_types(people))["age"] == "string"
    assert (await state(people, "p1"))["age"] == "36"


async def test_a_split_that_does_not_fit_a_value_fails_the_change(
    people: Container,
) -> None:
    await person(people, person_id="p1", full_name="Plato")
    before = await head(people)
    with pytest.raises(ValidationFailed) as failure:
        await migrate(people, {"steps": STEPS})
    assert failure.value.errors[0].code == "conversion_failed"
    assert await head(people) == before


@pytest.mark.parametrize(
    ("steps", "code"),
    [
        ([{"op": "rename", "from": "ghost", "to": "alias"}], "step_mismatch"),
        ([{"op": "convert", "property": "nick"}], "step_mismatch"),
        ([{"op": "explode", "property": "nick"}], "invalid_step"),
        ([{"op": "split", "property": "full_name", "into": ["first"]}], "invalid_step"),
        (STEPS[1:], "property_removed_with_data"),  # full_name has no step
    ],
)
async def test_a_plan_that_does_not_fit_the_change_writes_nothing(
    people: Container, steps: list[dict[str, Any]], code: str
) -> None:
    await person(people, person_id="p1", full_name="Ada Lovelace", nick="ada")
    before = await head(people)
    with pytest.raises(ValidationFailed) as failure:
        await migrate(people, {"steps": steps})
    assert code in [e.code for e in failure.value.errors]
    assert await head(people) == before


async def test_a_plan_for_a_change_that_breaks_nothing_is_refused(
    people: Container,
) -> None:
    added = [*PERSON["properties"], {"name": "email", "type": "email"}]
    with pytest.raises(ValidationFailed) as failure:
        await migrate(people, {"note": "why"}, properties=added)
    assert [e.code for e in failure.value.errors] == ["plan_not_needed"]


async def test_a_pattern_split_fills_each_group(people: Container) -> None:
    await person(people, person_id="p1", full_name="Lovelace, Ada")
    pattern = {"op": "split", "property": "full_name", "into": ["last", "first"],
               "pattern": r"(\w+), (\w+)"}  # fmt: skip
    await migrate(people, {"steps": [pattern, *STEPS[1:]]})
    assert (await state(people, "p1"))["first"] == "Ada"


async def test_migrated_instances_replay_into_equal_projections(
    people: Container, running: Container
) -> None:
    await person(people, person_id="p1", full_name="Ada Lovelace", age="36", nick="ada")
    receipt = await migrate(people, {"steps": STEPS})
    assert await running.waiter.wait(
        "APPLIED", "staff", receipt.last_position, max_wait=60
    )
    assert await running.waiter.wait(
        "INDEXED", "staff", receipt.last_position, max_wait=60
    )
    await wait_for_checkpoints(
        running, ["catalog", "audit"], receipt.last_position, db="staff"
    )
    for name in REBUILDABLE:
        live = await getattr(running, name).content_hash()
        report = await rebuild(running, name)
        assert report.shadow_hash == live, name


async def test_steps_on_a_unique_property_are_refused(people: Container) -> None:
    # Claimed keys would not follow a renamed or converted value.
    await person(people, person_id="p1", nick="ada")
    unique_alias = [
        *NEW_PROPERTIES[:-1],
        {"name": "alias", "type": "string", "unique": True},
    ]
    with pytest.raises(ValidationFailed) as failure:
        await migrate(people, {"steps": STEPS}, properties=unique_alias)
    assert [e.code for e in failure.value.errors] == ["unique_not_migratable"]


async def test_a_class_above_the_size_limit_is_refused(
    people: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(class_migration, "MAX_MIGRATED", 1)
    await person(people, person_id="p1", nick="a")
    await person(people, person_id="p2", nick="b")
    before = await head(people)
    with pytest.raises(ValidationFailed) as failure:
        await migrate(people, {"steps": STEPS})
    assert [e.code for e in failure.value.errors] == ["too_many_instances"]
    assert await head(people) == before
