"""Racing writers of one unique value or one exclusive target: exactly one wins,
through one process's group commit and across two processes (containers with
their own engines on one database), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from app.bootstrap import Container, open_container
from app.settings import Settings
from domain import commands as c
from domain.commands import Receipt
from domain.errors import ClaimTaken
from domain.events import INSTANCE, INSTANCE_DELETED, MAIN_BRANCH
from tests.commands.conftest import CUSTOMER, run
from tests.commands.test_unique_claims import ACCOUNT

WRITERS = 8


@pytest.fixture
async def bank(container: Container) -> Container:
    await run(container, c.CreateDatabase(name="bank"))
    for definition in (CUSTOMER, ACCOUNT):
        await run(container, c.DefineClass(db="bank", definition=definition))
    await run(
        container,
        c.CreateInstance(db="bank", class_id="Customer", data={"customer_id": "C1"}),
    )
    return container


@pytest.fixture
async def other(bank: Container, settings: Settings) -> AsyncIterator[Container]:
    """A second process's view of the same database."""
    async with open_container(settings) as second:
        yield second


async def race(
    containers: list[Container], commands: list[c.Command]
) -> list[Receipt | BaseException]:
    return await asyncio.gather(
        *(
            run(containers[i % len(containers)], command)
            for i, command in enumerate(commands)
        ),
        return_exceptions=True,
    )


def one_winner(outcomes: list[Receipt | BaseException], code: str) -> None:
    won = [o for o in outcomes if isinstance(o, Receipt)]
    lost = [o for o in outcomes if not isinstance(o, Receipt)]
    assert len(won) == 1, outcomes
    for failure in lost:
        assert isinstance(failure, ClaimTaken), failure
        assert [e.code for e in failure.errors] == [code]


async def live_accounts(container: Container) -> list[Mapping[str, Any]]:
    events = await container.event_store.read_aggregate_type(
        "bank", MAIN_BRANCH, INSTANCE
    )
    last = {e.aggregate_id: e for e in events if e.aggregate_id.startswith("Account/")}
    return [e.data for e in last.values() if e.event_type != INSTANCE_DELETED]


def creates(**data: Any) -> list[c.Command]:
    return [
        c.CreateInstance(
            db="bank", class_id="Account", data={"account_id": f"A{i}", **data}
        )
        for i in range(WRITERS)
    ]


@pytest.mark.parametrize("processes", [1, 2])
async def test_racing_creates_of_one_email_let_exactly_one_win(
    bank: Container, other: Container, processes: int
) -> None:
    containers = [bank, other][:processes]

    outcomes = await race(containers, creates(email="race@example.com"))

    one_winner(outcomes, "unique_violation")
    accounts = await live_accounts(other)
    assert [a["values"]["email"] for a in accounts] == ["race@example.com"]


@pytest.mark.parametrize("processes", [1, 2])
async def test_racing_links_to_one_target_of_a_one_to_one_let_exactly_one_win(
    bank: Container, other: Container, processes: int
) -> None:
    containers = [bank, other][:processes]

    outcomes = await race(containers, creates(customer="C1"))

    one_winner(outcomes, "cardinality_violation")
    assert [a["links"] for a in await live_accounts(bank)] == [{"customer": ["C1"]}]


async def test_racing_updates_to_one_email_let_exactly_one_win(
    bank: Container, other: Container
) -> None:
    items = [{"account_id": f"A{i}"} for i in range(WRITERS)]
    await run(bank, c.CreateInstances(db="bank", class_id="Account", items=items))
    updates: list[c.Command] = [
        c.UpdateInstance(
            db="bank",
            class_id="Account",
            instance_id=f"A{i}",
            expected_seq=1,
            patch={"email": "race@example.com"},
        )
        for i in range(WRITERS)
    ]

    outcomes = await race([bank, other], updates)

    one_winner(outcomes, "unique_violation")
    emails = [a["values"].get("email") for a in await live_accounts(bank)]
    assert emails.count("race@example.com") == 1


async def test_racing_bulk_creates_sharing_one_email_let_exactly_one_win(
    bank: Container, other: Container
) -> None:
    bulks: list[c.Command] = [
        c.CreateInstances(
            db="bank",
            class_id="Account",
            items=[
                {"account_id": f"B{i}-own", "email": f"own{i}@example.com"},
                {"account_id": f"B{i}-shared", "email": "shared@example.com"},
            ],
        )
        for i in range(WRITERS)
    ]

    outcomes = await race([bank, other], bulks)

    one_winner(outcomes, "unique_violation")
    assert len(await live_accounts(bank)) == 2  # the winner's two, nothing else
