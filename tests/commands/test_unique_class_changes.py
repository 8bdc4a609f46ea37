"""A class change that makes a property unique or a relationship's target side
exclusive claims the keys the branch's instances already hold, and is refused
when two of them share one; the reverse change frees them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from app.bootstrap import Container
from domain import class_claims
from domain import commands as c
from domain.errors import ClaimTaken, ConcurrencyConflict
from domain.write_model import BranchContext
from tests.commands.conftest import CUSTOMER, run

MEMBER: dict[str, Any] = {
    "id": "Member",
    "label": "Member",
    "primary_key": "member_id",
    "properties": [
        {"name": "member_id", "type": "string", "required": True},
        {"name": "handle", "type": "string"},
    ],
    "relationships": [
        {"predicate": "card_of", "target": "Customer", "cardinality": "n:1"},
    ],
}
UNIQUE_HANDLE = {"name": "handle", "type": "string", "unique": True}
PLAIN_HANDLE = {"name": "handle", "type": "string"}


@pytest.fixture
async def club(container: Container) -> Container:
    await run(container, c.CreateDatabase(name="club"))
    for definition in (CUSTOMER, MEMBER):
        await run(container, c.DefineClass(db="club", definition=definition))
    await run(
        container,
        c.CreateInstances(
            db="club",
            class_id="Customer",
            items=[{"customer_id": "C1"}, {"customer_id": "C2"}],
        ),
    )
    return container


async def members(container: Container, *items: Mapping[str, Any]) -> None:
    await run(container, c.CreateInstances(db="club", class_id="Member", items=items))


async def class_seq(container: Container, branch: str = "main") -> int:
    ctx = await container.handlers.model.branch_context("club", branch)
    return ctx.class_seqs["Member"]


async def set_handle(
    container: Container, prop: Mapping[str, Any], *, branch: str = "main"
) -> None:
    await run(
        container,
        c.ChangeProperty(
            db="club",
            branch=branch,
            class_id="Member",
            property=prop,
            expected_seq=await class_seq(container, branch),
        ),
    )


async def make_card_exclusive(container: Container) -> None:
    relationship = {"predicate": "card_of", "target": "Customer", "cardinality": "1:1"}
    await run(
        container,
        c.UpdateClass(
            db="club",
            class_id="Member",
            patch={"relationships": [relationship]},
            expected_seq=await class_seq(container),
            migration_plan={"note": "one card per customer"},
        ),
    )


async def test_making_a_shared_value_unique_is_refused_naming_both(
    club: Container,
) -> None:
    await members(
        club,
        {"member_id": "M1", "handle": "ada"},
        {"member_id": "M2", "handle": "ada"},
    )
    before = await class_seq(club)

    with pytest.raises(ClaimTaken) as failure:
        await set_handle(club, UNIQUE_HANDLE)

    [error] = failure.value.errors
    assert (error.path, error.code) == (
        ("properties", "handle", "unique"),
        "unique_violation",
    )
    assert "Member M1" in error.message
    assert "Member M2" in error.message
    assert await class_seq(club) == before


async def test_making_a_property_unique_claims_the_values_already_stored(
    club: Container,
) -> None:
    await members(club, {"member_id": "M1", "handle": "ada"})

    await set_handle(club, UNIQUE_HANDLE)

    with pytest.raises(ClaimTaken):
        await members(club, {"member_id": "M2", "handle": "ada"})
    await members(club, {"member_id": "M2", "handle": "bob"})


async def test_making_a_property_plain_again_frees_its_values(
    club: Container,
) -> None:
    await members(club, {"member_id": "M1", "handle": "ada"})
    await set_handle(club, UNIQUE_HANDLE)

    await set_handle(club, PLAIN_HANDLE)
    await members(club, {"member_id": "M2", "handle": "ada"})

    with pytest.raises(ClaimTaken):
        await set_handle(club, UNIQUE_HANDLE)


async def test_narrowing_to_one_to_one_is_refused_while_a_target_is_shared(
    club: Container,
) -> None:
    await members(
        club,
        {"member_id": "M1", "card_of": "C1"},
        {"member_id": "M2", "card_of": "C1"},
    )

    with pytest.raises(ClaimTaken) as failure:
        await make_card_exclusive(club)

    [error] = failure.value.errors
    assert (error.path, error.code) == (
        ("relationships", "card_of", "cardinality"),
        "cardinality_violation",
    )


async def test_narrowing_to_one_to_one_claims_the_existing_links(
    club: Container,
) -> None:
    await members(club, {"member_id": "M1", "card_of": "C1"})

    await make_card_exclusive(club)

    with pytest.raises(ClaimTaken):
        await members(club, {"member_id": "M2", "card_of": "C1"})
    await members(club, {"member_id": "M2", "card_of": "C2"})


async def test_a_change_on_a_branch_claims_only_there(club: Container) -> None:
    await members(club, {"member_id": "M1", "handle": "ada"})
    await run(club, c.CreateBranch(db="club", name="dev"))

    await set_handle(club, UNIQUE_HANDLE, branch="dev")

    await members(club, {"member_id": "M2", "handle": "ada"})  # main: not unique
    with pytest.raises(ClaimTaken):
        await run(
            club,
            c.CreateInstance(
                db="club",
                branch="dev",
                class_id="Member",
                data={"member_id": "M3", "handle": "ada"},
            ),
        )


async def test_an_instance_written_while_the_change_reads_fails_the_change(
    club: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    await members(club, {"member_id": "M1", "handle": "ada"})
    read_states = class_claims._live_states

    async def read_then_race(
        store: Any, ctx: BranchContext, roots: set[str], read_at: int
    ) -> Sequence[tuple[str, Mapping[str, Any]]]:
        states = await read_states(store, ctx, roots, read_at)
        # A writer validated against the old ontology commits in between.
        await members(club, {"member_id": "M2", "handle": "ada"})
        return states

    monkeypatch.setattr(class_claims, "_live_states", read_then_race)

    with pytest.raises(ConcurrencyConflict):
        await set_handle(club, UNIQUE_HANDLE)
