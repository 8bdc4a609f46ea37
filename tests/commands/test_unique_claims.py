"""Unique properties and exclusive relationship targets, enforced per branch by
every instance command (single, bulk, upsert, delete, objectify's prechecked
creates)."""

from __future__ import annotations

from typing import Any

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.commands import CommandMeta
from domain.errors import ClaimTaken, FieldError, ValidationFailed
from domain.events import MAIN_BRANCH
from domain.ids import new_command_id
from domain.instances import validate_instance
from tests.commands.conftest import CUSTOMER, run

ACCOUNT: dict[str, Any] = {
    "id": "Account",
    "label": "Account",
    "primary_key": "account_id",
    "properties": [
        {"name": "account_id", "type": "string", "required": True},
        {"name": "email", "type": "email", "unique": True},
        {"name": "nickname", "type": "string"},
    ],
    "relationships": [
        {"predicate": "customer", "target": "Customer", "cardinality": "1:1"},
    ],
}
TEAM: dict[str, Any] = {
    "id": "Team",
    "label": "Team",
    "primary_key": "team_id",
    "properties": [{"name": "team_id", "type": "string", "required": True}],
    "relationships": [
        {"predicate": "members", "target": "Customer", "cardinality": "1:n"},
    ],
}


@pytest.fixture
async def bank(container: Container) -> Container:
    await run(container, c.CreateDatabase(name="bank"))
    for definition in (CUSTOMER, ACCOUNT, TEAM):
        await run(container, c.DefineClass(db="bank", definition=definition))
    await run(
        container,
        c.CreateInstances(
            db="bank",
            class_id="Customer",
            items=[{"customer_id": f"C{i}"} for i in range(1, 5)],
        ),
    )
    return container


def account(account_id: str, email: str | None = None, **more: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"account_id": account_id, **more}
    if email is not None:
        data["email"] = email
    return data


async def create(
    container: Container, data: dict[str, Any], *, branch: str = MAIN_BRANCH
) -> None:
    await run(
        container,
        c.CreateInstance(db="bank", branch=branch, class_id="Account", data=data),
    )


async def position(container: Container) -> int:
    return (await container.event_store.last_positions()).get("bank", 0)


def only_error(failure: pytest.ExceptionInfo[ValidationFailed]) -> FieldError:
    assert len(failure.value.errors) == 1, failure.value.errors
    return failure.value.errors[0]


class TestUniqueProperty:
    async def test_a_second_instance_with_the_value_is_refused_and_nothing_written(
        self, bank: Container
    ) -> None:
        await create(bank, account("A1", "ada@example.com"))
        before = await position(bank)

        with pytest.raises(ClaimTaken) as failure:
            await create(bank, account("A2", "ada@example.com"))

        error = only_error(failure)
        assert (error.path, error.code) == (("email",), "unique_violation")
        assert "Account A1" in error.message
        assert await position(bank) == before

    async def test_values_are_compared_normalised(self, bank: Container) -> None:
        # An email domain is case-insensitive: both store as example.com.
        await create(bank, account("A1", "ada@example.com"))

        with pytest.raises(ClaimTaken):
            await create(bank, account("A2", "ada@EXAMPLE.com"))

    async def test_an_update_to_a_taken_value_is_refused(self, bank: Container) -> None:
        await create(bank, account("A1", "ada@example.com"))
        await create(bank, account("A2", "bob@example.com"))

        with pytest.raises(ClaimTaken) as failure:
            await run(
                bank,
                c.UpdateInstance(
                    db="bank",
                    class_id="Account",
                    instance_id="A2",
                    expected_seq=1,
                    patch={"email": "ada@example.com"},
                ),
            )
        assert only_error(failure).path == ("email",)

    async def test_an_update_frees_the_old_value(self, bank: Container) -> None:
        await create(bank, account("A1", "ada@example.com"))
        await run(
            bank,
            c.UpdateInstance(
                db="bank",
                class_id="Account",
                instance_id="A1",
                expected_seq=1,
                patch={"email": "ada@example.org"},
            ),
        )

        await create(bank, account("A2", "ada@example.com"))
        with pytest.raises(ClaimTaken):
            await create(bank, account("A3", "ada@example.org"))

    async def test_clearing_the_value_frees_it(self, bank: Container) -> None:
        await create(bank, account("A1", "ada@example.com"))
        await run(
            bank,
            c.UpdateInstance(
                db="bank",
                class_id="Account",
                instance_id="A1",
                expected_seq=1,
                patch={"email": None},
            ),
        )

        await create(bank, account("A2", "ada@example.com"))

    async def test_an_update_of_other_fields_keeps_the_value(
        self, bank: Container
    ) -> None:
        await create(bank, account("A1", "ada@example.com"))

        await run(
            bank,
            c.UpdateInstance(
                db="bank",
                class_id="Account",
                instance_id="A1",
                expected_seq=1,
                patch={"nickname": "ada", "email": "ada@example.com"},
            ),
        )

        with pytest.raises(ClaimTaken):
            await create(bank, account("A2", "ada@example.com"))

    async def test_a_delete_frees_the_value(self, bank: Container) -> None:
        await create(bank, account("A1", "ada@example.com"))
        await run(
            bank,
            c.DeleteInstance(
                db="bank", class_id="Account", instance_id="A1", expected_seq=1
            ),
        )

        await create(bank, account("A2", "ada@example.com"))

    async def test_a_dry_run_reports_the_taken_value(self, bank: Container) -> None:
        await create(bank, account("A1", "ada@example.com"))
        dry = CommandMeta(
            command_id=new_command_id(), actor="tester", validate_only=True
        )
        command = c.CreateInstance(
            db="bank", class_id="Account", data=account("A2", "ada@example.com")
        )

        with pytest.raises(ClaimTaken) as failure:
            await bank.handlers.dispatch(command, dry)
        assert only_error(failure).code == "unique_violation"


class TestBulkCommands:
    async def test_a_duplicate_within_one_bulk_create_is_refused(
        self, bank: Container
    ) -> None:
        before = await position(bank)
        items = [account("A1", "x@example.com"), account("A2", "x@example.com")]

        with pytest.raises(ClaimTaken) as failure:
            await run(
                bank, c.CreateInstances(db="bank", class_id="Account", items=items)
            )

        assert only_error(failure).path == ("inputs", "1", "email")
        assert await position(bank) == before

    async def test_a_bulk_create_colliding_with_stored_data_writes_nothing(
        self, bank: Container
    ) -> None:
        await create(bank, account("A1", "x@example.com"))
        before = await position(bank)
        items = [
            account("A2", "y@example.com"),
            account("A3", "x@example.com"),
            account("A4", "z@example.com"),
        ]

        with pytest.raises(ClaimTaken) as failure:
            await run(
                bank, c.CreateInstances(db="bank", class_id="Account", items=items)
            )

        assert only_error(failure).path == ("inputs", "1", "email")
        assert await position(bank) == before
        await create(bank, account("A5", "y@example.com"))  # nothing was claimed

    async def test_prechecked_creates_of_objectify_are_still_checked(
        self, bank: Container
    ) -> None:
        await create(bank, account("A1", "x@example.com"))
        ctx = await bank.handlers.model.branch_context("bank", MAIN_BRANCH)
        check = validate_instance(
            ctx.ontology, "Account", account("A2", "x@example.com"), partial=False
        )
        state = {**check.values, **check.links}
        command = c.CreateInstances(
            db="bank",
            class_id="Account",
            items=[state],
            validated_at=ctx.ontology_version,
        )

        with pytest.raises(ClaimTaken) as failure:
            await run(bank, command)
        assert only_error(failure).code == "unique_violation"

    async def test_an_upsert_may_swap_values_between_instances(
        self, bank: Container
    ) -> None:
        items = [account("A1", "a@example.com"), account("A2", "b@example.com")]
        await run(bank, c.CreateInstances(db="bank", class_id="Account", items=items))

        swapped = [account("A1", "b@example.com"), account("A2", "a@example.com")]
        await run(bank, c.UpsertInstances(db="bank", class_id="Account", items=swapped))

        with pytest.raises(ClaimTaken) as failure:
            await create(bank, account("A3", "a@example.com"))
        assert "Account A2" in only_error(failure).message

    async def test_an_upsert_to_a_taken_value_is_refused(self, bank: Container) -> None:
        await create(bank, account("A1", "a@example.com"))
        items = [account("A2", "a@example.com")]

        with pytest.raises(ClaimTaken) as failure:
            await run(
                bank, c.UpsertInstances(db="bank", class_id="Account", items=items)
            )
        assert only_error(failure).path == ("email",)

    async def test_a_bulk_delete_frees_every_value(self, bank: Container) -> None:
        items = [account("A1", "a@example.com"), account("A2", "b@example.com")]
        await run(bank, c.CreateInstances(db="bank", class_id="Account", items=items))

        await run(
            bank,
            c.DeleteInstances(
                db="bank", class_id="Account", expected_seqs={"A1": 1, "A2": 1}
            ),
        )

        again = [account("A3", "a@example.com"), account("A4", "b@example.com")]
        await run(bank, c.CreateInstances(db="bank", class_id="Account", items=again))


class TestExclusiveTargets:
    async def test_one_to_one_refuses_a_second_source_for_a_target(
        self, bank: Container
    ) -> None:
        await create(bank, account("A1", customer="C1"))

        with pytest.raises(ClaimTaken) as failure:
            await create(bank, account("A2", customer="C1"))

        error = only_error(failure)
        assert (error.path, error.code) == (("customer",), "cardinality_violation")
        assert "Account A1" in error.message

    async def test_relinking_frees_the_old_target(self, bank: Container) -> None:
        await create(bank, account("A1", customer="C1"))
        await run(
            bank,
            c.UpdateInstance(
                db="bank",
                class_id="Account",
                instance_id="A1",
                expected_seq=1,
                patch={"customer": "C2"},
            ),
        )

        await create(bank, account("A2", customer="C1"))
        with pytest.raises(ClaimTaken):
            await create(bank, account("A3", customer="C2"))

    async def test_one_to_many_lets_a_target_join_only_one_source(
        self, bank: Container
    ) -> None:
        team = c.CreateInstance(
            db="bank", class_id="Team", data={"team_id": "T1", "members": ["C1", "C2"]}
        )
        await run(bank, team)
        other = c.CreateInstance(
            db="bank", class_id="Team", data={"team_id": "T2", "members": ["C3", "C2"]}
        )

        with pytest.raises(ClaimTaken) as failure:
            await run(bank, other)

        error = only_error(failure)
        assert (error.path, error.code) == (("members",), "cardinality_violation")
        assert "C2" in error.message

    async def test_many_to_one_targets_stay_shared(self, bank: Container) -> None:
        await run(bank, c.DefineClass(db="bank", definition=SHARED))
        for order_id in ("O1", "O2"):
            await run(
                bank,
                c.CreateInstance(
                    db="bank",
                    class_id="Order",
                    data={"order_id": order_id, "buyer": "C1"},
                ),
            )


SHARED: dict[str, Any] = {
    "id": "Order",
    "label": "Order",
    "primary_key": "order_id",
    "properties": [{"name": "order_id", "type": "string", "required": True}],
    "relationships": [
        {"predicate": "buyer", "target": "Customer", "cardinality": "n:1"},
    ],
}


class TestBranches:
    async def test_a_value_taken_on_the_parent_before_the_fork_counts_on_the_branch(
        self, bank: Container
    ) -> None:
        await create(bank, account("A1", "a@example.com"))
        await run(bank, c.CreateBranch(db="bank", name="dev"))

        with pytest.raises(ClaimTaken):
            await create(bank, account("A2", "a@example.com"), branch="dev")

    async def test_a_value_freed_on_a_branch_is_free_only_there(
        self, bank: Container
    ) -> None:
        await create(bank, account("A1", "a@example.com"))
        await run(bank, c.CreateBranch(db="bank", name="dev"))
        await run(
            bank,
            c.DeleteInstance(
                db="bank",
                branch="dev",
                class_id="Account",
                instance_id="A1",
                expected_seq=1,
            ),
        )

        await create(bank, account("A2", "a@example.com"), branch="dev")
        with pytest.raises(ClaimTaken):
            await create(bank, account("A2", "a@example.com"))

    async def test_values_taken_after_the_fork_stay_on_their_branch(
        self, bank: Container
    ) -> None:
        await run(bank, c.CreateBranch(db="bank", name="dev"))
        await create(bank, account("A1", "a@example.com"))
        await create(bank, account("B1", "b@example.com"), branch="dev")

        await create(bank, account("A2", "a@example.com"), branch="dev")
        await create(bank, account("B2", "b@example.com"))

    async def test_a_nested_branch_sees_each_ancestor_as_of_its_fork(
        self, bank: Container
    ) -> None:
        await create(bank, account("A1", "a@example.com"))
        await run(bank, c.CreateBranch(db="bank", name="dev"))
        await create(bank, account("D1", "d@example.com"), branch="dev")
        await run(bank, c.CreateBranch(db="bank", name="feature", from_branch="dev"))
        await create(bank, account("D2", "e@example.com"), branch="dev")

        for taken in ("a@example.com", "d@example.com"):
            with pytest.raises(ClaimTaken):
                await create(bank, account("F1", taken), branch="feature")
        await create(bank, account("F1", "e@example.com"), branch="feature")
