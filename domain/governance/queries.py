"""Reading proposals and the merge checks a proposal shows (and its merge enforces)."""

from __future__ import annotations

from collections import defaultdict

from domain import events as ev
from domain.errors import DomainError
from domain.events import EventEnvelope, StreamId
from domain.governance.proposals import PROPOSAL, Proposal, replay_proposal
from domain.governance.rules import BranchProtection
from domain.merge.checks import Branches
from domain.merge.queries import Check, lint_check, merge_preview
from domain.ports import EventStore


def proposal_stream(db: str, proposal_id: str) -> StreamId:
    return StreamId(db, ev.MAIN_BRANCH, PROPOSAL, proposal_id)


async def get_proposal(store: EventStore, db: str, proposal_id: str) -> Proposal | None:
    return replay_proposal(await store.read_stream(proposal_stream(db, proposal_id)))


async def list_proposals(store: EventStore, db: str) -> list[Proposal]:
    """Every proposal of the database, newest first."""
    streams: dict[str, list[EventEnvelope]] = defaultdict(list)
    for event in await store.read_aggregate_type(db, ev.MAIN_BRANCH, PROPOSAL):
        streams[event.aggregate_id].append(event)
    found = [p for e in streams.values() if (p := replay_proposal(e)) is not None]
    return sorted(found, key=lambda p: (p.created_at, p.id), reverse=True)


def approvals_check(proposal: Proposal, rules: BranchProtection) -> Check:
    """Enough approvals by others than the author, and no reviewer whose latest
    decision rejects or asks for changes."""
    count, needed = proposal.approvals(), rules.required_approvals
    blocking = proposal.blocking()
    message = f"{count} of {needed} required approvals"
    if blocking:
        message += f"; changes requested or rejected by {', '.join(blocking)}"
    return Check("approvals", count >= needed and not blocking, message)


async def proposal_checks(
    branches: Branches,
    store: EventStore,
    db: str,
    proposal: Proposal,
    rules: BranchProtection,
) -> list[Check]:
    """What a merge of the proposal would meet now; for a merged proposal, the
    checks it passed when it merged; a closed one has none."""
    if proposal.merged_at is not None:
        return [Check(str(c["name"]), bool(c["passed"]), str(c["message"]))
                for c in proposal.checks]  # fmt: skip
    if proposal.closed_at is not None:
        return []
    try:
        target = await branches.branch_context(db, proposal.target)
        preview = await merge_preview(
            branches, store, db, source=proposal.source, target=proposal.target
        )
    except DomainError as failure:  # a branch deleted since, or merged inside out
        return [Check("branches", False, failure.message)]
    return [
        *preview.checks,
        lint_check(target.ontology),
        approvals_check(proposal, rules),
    ]
