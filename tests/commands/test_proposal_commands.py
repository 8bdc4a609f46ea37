"""Protected branches and proposals through the command handler: direct writes
refused, reasons required, proposals reviewed by others and merged with checks."""

from __future__ import annotations

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.commands import CommandMeta, Receipt
from domain.errors import (
    AlreadyExistsError,
    ClaimTaken,
    NotFoundError,
    PermissionDenied,
    ValidationFailed,
)
from domain.governance.proposals import Status
from domain.governance.queries import get_proposal, list_proposals, proposal_checks
from domain.governance.rules import BranchProtection
from domain.handlers import CommandHandlers
from domain.ids import new_command_id
from domain.merge.three_way import MergeConflict
from tests.commands.branching import branch, create, head, state, update
from tests.commands.conftest import run


async def as_(
    container: Container, actor: str, command: c.Command, reason: str = ""
) -> Receipt:
    metadata = {"reason": reason} if reason else {}
    meta = CommandMeta(command_id=new_command_id(), actor=actor, metadata=metadata)
    return await container.handlers.dispatch(command, meta)


def protect(name: str = "main", **rules: object) -> c.ProtectBranch:
    return c.ProtectBranch(db="shop", name=name, **rules)  # type: ignore[arg-type]


async def open_(container: Container, pid: str = "pr1", author: str = "alice") -> None:
    command = c.OpenProposal(
        db="shop", proposal_id=pid, source="feature", title="Restock p1"
    )
    await as_(container, author, command)


async def review(container: Container, reviewer: str, decision: str) -> Receipt:
    command = c.ReviewProposal(db="shop", proposal_id="pr1", decision=decision)
    return await as_(container, reviewer, command)


def merge_pr(**options: object) -> c.MergeProposal:
    return c.MergeProposal(db="shop", proposal_id="pr1", **options)  # type: ignore[arg-type]


@pytest.fixture
async def proposed(shop: Container) -> Container:
    """p1 on main; `feature` restocks it; main needs a proposal and 1 approval;
    alice proposes the merge."""
    await create(shop, "p1", stock=1)
    await branch(shop, "feature")
    await update(shop, "p1", "feature", stock=5)
    await run(shop, protect(require_proposal=True, required_approvals=1))
    await open_(shop)
    return shop


class TestProtection:
    async def test_direct_writes_and_merges_into_the_branch_are_refused(
        self, shop: Container
    ) -> None:
        await create(shop, "p1")
        await branch(shop, "feature")
        await run(shop, protect(require_proposal=True))
        before = await head(shop)
        with pytest.raises(PermissionDenied):
            await create(shop, "p2")
        with pytest.raises(PermissionDenied):
            await run(shop, c.DefineClass(db="shop", definition={"id": "Thing"}))
        with pytest.raises(PermissionDenied):
            await run(shop, c.MergeBranch(db="shop", source="feature"))
        assert await head(shop) == before
        await create(shop, "f1", "feature")  # other branches are free

    async def test_a_process_that_missed_the_protection_is_refused_too(
        self, shop: Container
    ) -> None:
        """Two API processes: the other one protects main while this one's
        cached model still says it is open. The append carries the model's
        registry version, so the stale write is checked again and refused."""
        await create(shop, "p1")  # this process has main's model cached now
        other = CommandHandlers(shop.event_store)
        await other.dispatch(protect(require_proposal=True), CommandMeta(
            command_id=new_command_id(), actor="owner"))  # fmt: skip
        before = await head(shop)
        with pytest.raises(PermissionDenied):
            await create(shop, "p2")
        assert await head(shop) == before

    async def test_a_reason_is_required_where_the_rules_say_so(
        self, shop: Container
    ) -> None:
        await run(shop, protect(require_reason=True))
        data = {"product_id": "p1", "name": "p1"}
        command = c.CreateInstance(db="shop", class_id="Product", data=data)
        with pytest.raises(ValidationFailed) as raised:
            await as_(shop, "alice", command)
        assert raised.value.errors[0].code == "reason_required"
        receipt = await as_(shop, "alice", command, reason="stock take")
        [event] = await shop.event_store.read_positions(
            "shop", after_position=receipt.first_position - 1, limit=1
        )
        assert event.metadata["reason"] == "stock take"

    async def test_unprotecting_lifts_the_rules(self, shop: Container) -> None:
        await run(shop, protect(require_proposal=True))
        await run(shop, protect())
        await create(shop, "p1")
        assert await state(shop, "p1") is not None

    async def test_bad_rules_unknown_branches_and_deleting_protected_ones(
        self, shop: Container
    ) -> None:
        with pytest.raises(ValidationFailed) as raised:
            await run(shop, protect(required_approvals=-1))
        assert raised.value.errors[0].code == "invalid_approvals"
        with pytest.raises(NotFoundError):
            await run(shop, protect("nope", require_proposal=True))
        await branch(shop, "release")
        await run(shop, protect("release", require_reason=True))
        with pytest.raises(PermissionDenied):
            await run(shop, c.DeleteBranch(db="shop", name="release", expected_seq=2))


class TestProposals:
    async def test_reviewed_by_another_then_merged(self, proposed: Container) -> None:
        found = await get_proposal(proposed.event_store, "shop", "pr1")
        assert found is not None
        assert (found.author, found.status(_rules(1))) == ("alice", Status.OPEN)
        await review(proposed, "bob", "APPROVE")
        found = await get_proposal(proposed.event_store, "shop", "pr1")
        assert found is not None
        assert (found.approvals(), found.status(_rules(1))) == (1, Status.APPROVED)
        receipt = await as_(proposed, "carol", merge_pr())
        # The merge record, p1, and the proposal's `merged` event: one batch.
        assert receipt.last_position - receipt.first_position == 2
        assert (await state(proposed, "p1") or {})["stock"] == 5
        merged = await get_proposal(proposed.event_store, "shop", "pr1")
        assert merged is not None
        assert merged.status(_rules(1)) is Status.MERGED
        assert [p.id for p in await list_proposals(proposed.event_store, "shop")] == [
            "pr1"
        ]

    async def test_the_authors_approval_is_refused_and_merging_needs_others(
        self, proposed: Container
    ) -> None:
        before = await head(proposed)
        with pytest.raises(ValidationFailed) as own:
            await review(proposed, "alice", "APPROVE")
        assert own.value.errors[0].code == "own_approval"
        with pytest.raises(ValidationFailed) as early:
            await as_(proposed, "bob", merge_pr())
        assert early.value.errors[0].code == "approvals_required"
        assert await head(proposed) == before
        assert (await state(proposed, "p1") or {})["stock"] == 1

    async def test_requested_changes_block_until_the_reviewer_approves(
        self, proposed: Container
    ) -> None:
        await review(proposed, "bob", "APPROVE")
        await review(proposed, "dave", "REQUEST_CHANGES")
        with pytest.raises(ValidationFailed) as blocked:
            await as_(proposed, "bob", merge_pr())
        assert "dave" in blocked.value.errors[0].message
        await review(proposed, "dave", "APPROVE")
        await as_(proposed, "bob", merge_pr())
        assert (await state(proposed, "p1") or {})["stock"] == 5

    async def test_a_rejection_shows_as_rejected(self, proposed: Container) -> None:
        await review(proposed, "bob", "REJECT")
        found = await get_proposal(proposed.event_store, "shop", "pr1")
        assert found is not None
        assert found.status(_rules(1)) is Status.REJECTED

    async def test_checks_show_conflicts_and_approvals_and_the_merge_enforces_them(
        self, proposed: Container
    ) -> None:
        await run(proposed, protect(required_approvals=1))  # open main up briefly
        await update(proposed, "p1", stock=7)
        await run(proposed, protect(require_proposal=True, required_approvals=1))
        found = await get_proposal(proposed.event_store, "shop", "pr1")
        assert found is not None
        checks = await proposal_checks(
            proposed.handlers.model, proposed.event_store, "shop", found, _rules(1)
        )
        failing = {x.name for x in checks if not x.passed}
        assert failing == {"conflicts", "approvals"}
        assert {"ontology", "lint", "valid", "references", "unique"} <= {
            x.name for x in checks
        }
        await review(proposed, "bob", "APPROVE")
        with pytest.raises(MergeConflict):
            await as_(proposed, "bob", merge_pr())
        await as_(proposed, "bob", merge_pr(strategy="SOURCE"))
        assert (await state(proposed, "p1") or {})["stock"] == 5

    async def test_closed_proposals_take_no_reviews_and_do_not_merge(
        self, proposed: Container
    ) -> None:
        await as_(proposed, "alice", c.CloseProposal(db="shop", proposal_id="pr1"))
        for command in (
            c.ReviewProposal(db="shop", proposal_id="pr1", decision="APPROVE"),
            merge_pr(),
            c.CloseProposal(db="shop", proposal_id="pr1"),
        ):
            with pytest.raises(ValidationFailed) as raised:
                await as_(proposed, "bob", command)
            assert raised.value.errors[0].code == "proposal_not_open"

    async def test_bad_proposals_are_refused(self, proposed: Container) -> None:
        before = await head(proposed)
        unknown = c.ReviewProposal(db="shop", proposal_id="nope", decision="APPROVE")
        with pytest.raises(NotFoundError):
            await as_(proposed, "bob", unknown)
        with pytest.raises(ValidationFailed) as decision:
            await review(proposed, "bob", "MAYBE")
        assert decision.value.errors[0].code == "invalid_decision"
        bad = [
            c.OpenProposal(db="shop", proposal_id="x", source="main", target="main",
                           title="t"),
            c.OpenProposal(db="shop", proposal_id="y", source="feature", title=" "),
        ]  # fmt: skip
        for command in bad:
            with pytest.raises(ValidationFailed):
                await as_(proposed, "bob", command)
        again = c.OpenProposal(
            db="shop", proposal_id="pr1", source="feature", title="t"
        )
        with pytest.raises(AlreadyExistsError):
            await as_(proposed, "bob", again)
        with pytest.raises(NotFoundError):
            await as_(
                proposed,
                "bob",
                c.OpenProposal(db="shop", proposal_id="z", source="nope", title="t"),
            )
        assert await head(proposed) == before

    async def test_a_merge_that_breaks_a_unique_value_is_refused(
        self, shop: Container
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
        await branch(shop, "feature")
        for where, mid in (("feature", "m1"), ("main", "m2")):
            data = {"member_id": mid, "email": "a@example.com"}
            await run(
                shop,
                c.CreateInstance(db="shop", branch=where, class_id="Member", data=data),
            )
        await open_(shop)
        found = await get_proposal(shop.event_store, "shop", "pr1")
        assert found is not None
        checks = await proposal_checks(
            shop.handlers.model, shop.event_store, "shop", found, _rules(0)
        )
        [unique] = [x for x in checks if x.name == "unique"]
        assert not unique.passed
        assert "m2" in unique.message
        before = await head(shop)
        with pytest.raises(ClaimTaken) as raised:
            await as_(shop, "bob", merge_pr())
        assert raised.value.code == "unique_violation"
        assert await head(shop) == before


def _rules(approvals: int) -> BranchProtection:
    return BranchProtection(require_proposal=True, required_approvals=approvals)
