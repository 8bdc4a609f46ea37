"""Proposal status from reviews, and protection rules, as plain values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import commands as c
from domain.errors import ValidationFailed
from domain.governance.proposals import (
    Decision,
    Proposal,
    Review,
    Status,
    decide_review,
)
from domain.governance.rules import (
    NO_PROTECTION,
    BranchProtection,
    decide_protect_branch,
    protection_of,
)

AT = datetime(2026, 12, 12, tzinfo=UTC)
TWO = BranchProtection(require_proposal=True, required_approvals=2)


def proposal(*reviews: tuple[str, Decision]) -> Proposal:
    return Proposal(
        id="pr1",
        source="feature",
        target="main",
        title="t",
        description=None,
        author="alice",
        created_at=AT,
        seq=1 + len(reviews),
        reviews=tuple(Review(p, d, None, AT) for p, d in reviews),
    )


def test_each_reviewers_latest_decision_counts_and_the_authors_never() -> None:
    found = proposal(
        ("alice", Decision.APPROVE),
        ("bob", Decision.REQUEST_CHANGES),
        ("bob", Decision.APPROVE),
        ("carol", Decision.APPROVE),
    )
    assert found.approvals() == 2
    assert found.blocking() == []
    assert found.status(TWO) is Status.APPROVED


def test_too_few_approvals_stay_open_and_a_rejection_shows() -> None:
    assert proposal(("bob", Decision.APPROVE)).status(TWO) is Status.OPEN
    rejected = proposal(("bob", Decision.APPROVE), ("carol", Decision.REJECT))
    assert rejected.status(TWO) is Status.REJECTED
    assert rejected.blocking() == ["carol"]


def test_without_required_approvals_one_approval_still_shows_approved() -> None:
    assert proposal().status(NO_PROTECTION) is Status.OPEN
    assert proposal(("bob", Decision.APPROVE)).status(NO_PROTECTION) is Status.APPROVED


def test_the_authors_approval_is_refused_only_where_approvals_are_required() -> None:
    approve = c.ReviewProposal(db="d", proposal_id="pr1", decision="APPROVE")
    with pytest.raises(ValidationFailed) as raised:
        decide_review(proposal(), approve, reviewer="alice", rules=TWO)
    assert raised.value.errors[0].code == "own_approval"
    [event] = decide_review(proposal(), approve, reviewer="alice", rules=NO_PROTECTION)
    assert event.data["principal"] == "alice"


def test_protection_rules_round_trip_and_bounds() -> None:
    cmd = c.ProtectBranch(
        db="d", name="main", required_approvals=3, require_reason=True
    )
    [event] = decide_protect_branch(cmd)
    assert protection_of(event.data) == BranchProtection(False, 3, True)
    assert protection_of({}) == NO_PROTECTION
    with pytest.raises(ValidationFailed):
        decide_protect_branch(
            c.ProtectBranch(db="d", name="main", required_approvals=99)
        )
