"""Unique claims are derivable from the events: a rebuild (and the revision that
introduced them, over data stored before) gives what the write path stored."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, delete, select

from adapters import tables as t
from adapters.event_store.claims_rebuild import RebuildReport, rebuild_claims
from adapters.migrations import alembic_config
from app.bootstrap import Container
from domain import commands as c
from domain.errors import ClaimTaken
from tests.commands.conftest import CUSTOMER, run
from tests.commands.test_unique_claims import ACCOUNT

BEFORE_CLAIMS = "d5f3b8a1e7c2"


async def claim_rows(container: Container) -> set[tuple[Any, ...]]:
    async with container.database.write() as conn:
        rows = await conn.execute(select(t.unique_claims))
        return {tuple(row) for row in rows}


async def rebuilt(container: Container) -> RebuildReport:
    report: RebuildReport = await container.database.run_write(rebuild_claims)
    return report


async def forget_claims(container: Container) -> None:
    """Data written before claims were kept has none."""
    async with container.database.write() as conn:
        await conn.execute(delete(t.unique_claims))


async def history(container: Container) -> None:
    """Writes, deletes, class changes and branches, each touching claims."""
    await run(container, c.CreateDatabase(name="bank"))
    for definition in (CUSTOMER, ACCOUNT):
        await run(container, c.DefineClass(db="bank", definition=definition))
    customers = [{"customer_id": f"C{i}"} for i in range(1, 4)]
    await run(
        container, c.CreateInstances(db="bank", class_id="Customer", items=customers)
    )
    accounts = [
        {"account_id": "A1", "email": "a@example.com", "customer": "C1"},
        {"account_id": "A2", "email": "b@example.com", "nickname": "bee"},
    ]
    await run(
        container, c.CreateInstances(db="bank", class_id="Account", items=accounts)
    )
    await run(container, c.CreateBranch(db="bank", name="dev"))
    await run(
        container,
        c.UpdateInstance(
            db="bank",
            branch="dev",
            class_id="Account",
            instance_id="A1",
            expected_seq=1,
            patch={"email": "z@example.com", "customer": "C2"},
        ),
    )
    await run(
        container,
        c.DeleteInstance(
            db="bank", class_id="Account", instance_id="A2", expected_seq=1
        ),
    )
    ctx = await container.handlers.model.branch_context("bank", "main")
    await run(
        container,
        c.ChangeProperty(
            db="bank",
            class_id="Account",
            property={"name": "nickname", "type": "string", "unique": True},
            expected_seq=ctx.class_seqs["Account"],
        ),
    )
    await run(
        container,
        c.CreateInstance(
            db="bank",
            class_id="Account",
            data={"account_id": "A3", "email": "b@example.com", "nickname": "bee"},
        ),
    )


async def test_a_rebuild_gives_exactly_what_the_write_path_stored(
    container: Container,
) -> None:
    await history(container)
    stored = await claim_rows(container)

    report = await rebuilt(container)

    assert await claim_rows(container) == stored
    assert report.rows == len(stored)
    assert report.duplicates == []
    assert {row[2] for row in stored} >= {'"a@example.com"', '"z@example.com"', "C2"}


async def test_the_revision_builds_the_claims_of_data_stored_before_it(
    container: Container,
) -> None:
    await history(container)
    stored = await claim_rows(container)
    config = alembic_config(container.database.url)

    def migrate(sync: Connection) -> None:
        config.attributes["connection"] = sync
        command.downgrade(config, BEFORE_CLAIMS)
        command.upgrade(config, "head")

    await container.database.run_write(migrate)

    assert await claim_rows(container) == stored


async def test_values_shared_before_enforcement_stay_but_are_reported(
    container: Container,
) -> None:
    await history(container)
    await forget_claims(container)
    duplicate = {"account_id": "A4", "email": "b@example.com"}
    await run(
        container, c.CreateInstance(db="bank", class_id="Account", data=duplicate)
    )

    report = await rebuilt(container)

    [taken] = report.duplicates
    assert (taken.key, taken.owner, taken.claimant) == (
        '"b@example.com"',
        "Account/A3",
        "Account/A4",
    )
    with pytest.raises(ClaimTaken):
        await run(
            container,
            c.CreateInstance(
                db="bank",
                class_id="Account",
                data={"account_id": "A5", "email": "b@example.com"},
            ),
        )
    await run(  # keeping the shared value is accepted
        container,
        c.UpdateInstance(
            db="bank",
            class_id="Account",
            instance_id="A4",
            expected_seq=1,
            patch={"nickname": "four"},
        ),
    )
