"""Proposals as event streams: open -> review -> merge (or close).

One stream per proposal (`proposal/<id>` on main), so audit, rebuilds and
`proposals(db)` all read the same events. A proposal's status is derived from
them: each reviewer's latest decision counts, the author's never does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from domain import commands as c
from domain.errors import AlreadyExistsError, FieldError, ValidationFailed
from domain.events import EventEnvelope, NewEvent
from domain.governance.rules import BranchProtection

PROPOSAL: Final = "proposal"  # aggregate type, streams on main
PROPOSAL_OPENED: Final = "proposal.opened.v1"
PROPOSAL_REVIEWED: Final = "proposal.reviewed.v1"
PROPOSAL_MERGED: Final = "proposal.merged.v1"
PROPOSAL_CLOSED: Final = "proposal.closed.v1"
MAX_TITLE: Final = 200
MAX_TEXT: Final = 10_000


class Decision(enum.Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    REQUEST_CHANGES = "REQUEST_CHANGES"


class Status(enum.Enum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    MERGED = "MERGED"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class Review:
    principal: str
    decision: Decision
    comment: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Proposal:
    id: str
    source: str
    target: str
    title: str
    description: str | None
    author: str
    created_at: datetime
    seq: int
    reviews: tuple[Review, ...] = ()
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    checks: tuple[Mapping[str, Any], ...] = ()  # as they were when it merged

    @property
    def open(self) -> bool:
        return self.merged_at is None and self.closed_at is None

    def decisions(self) -> dict[str, Decision]:
        """Each reviewer's latest decision; the author is no reviewer."""
        latest = {r.principal: r.decision for r in self.reviews}
        latest.pop(self.author, None)
        return latest

    def approvals(self) -> int:
        return sum(1 for d in self.decisions().values() if d is Decision.APPROVE)

    def blocking(self) -> list[str]:
        """Reviewers whose latest decision rejects or asks for changes."""
        return sorted(
            p for p, d in self.decisions().items() if d is not Decision.APPROVE
        )

    def status(self, rules: BranchProtection) -> Status:
        if self.merged_at is not None:
            return Status.MERGED
        if self.closed_at is not None:
            return Status.CLOSED
        if Decision.REJECT in self.decisions().values():
            return Status.REJECTED
        enough = self.approvals() >= max(rules.required_approvals, 1)
        return Status.APPROVED if enough and not self.blocking() else Status.OPEN


def replay_proposal(events: Iterable[EventEnvelope]) -> Proposal | None:
    proposal: Proposal | None = None
    for event in events:
        proposal = evolve(proposal, event)
    return proposal


def evolve(proposal: Proposal | None, event: EventEnvelope) -> Proposal | None:
    data = event.data
    if event.event_type == PROPOSAL_OPENED:
        return _opened(event)
    if proposal is None:  # pragma: no cover - every stream starts opened
        return None
    proposal = replace(proposal, seq=event.seq)
    if event.event_type == PROPOSAL_REVIEWED:
        review = Review(
            str(data["principal"]),
            Decision(data["decision"]),
            data.get("comment"),
            event.occurred_at,
        )
        return replace(proposal, reviews=(*proposal.reviews, review))
    if event.event_type == PROPOSAL_MERGED:
        checks = tuple(data.get("checks") or ())
        return replace(proposal, merged_at=event.occurred_at, checks=checks)
    if event.event_type == PROPOSAL_CLOSED:
        return replace(proposal, closed_at=event.occurred_at)
    return proposal


def decide_open(
    existing: Proposal | None, cmd: c.OpenProposal, *, author: str
) -> list[NewEvent]:
    if existing is not None:
        raise AlreadyExistsError("proposal", cmd.proposal_id)
    errors = [*_text_errors("title", cmd.title, MAX_TITLE, required=True)]
    errors += _text_errors("description", cmd.description, MAX_TEXT)
    if errors:
        raise ValidationFailed(errors=errors, summary="invalid proposal")
    data = {
        "id": cmd.proposal_id,
        "source": cmd.source,
        "target": cmd.target,
        "title": cmd.title.strip(),
        "description": cmd.description,
        "author": author,
    }
    return [NewEvent(event_type=PROPOSAL_OPENED, data=data)]


def decide_review(
    proposal: Proposal,
    cmd: c.ReviewProposal,
    *,
    reviewer: str,
    rules: BranchProtection,
) -> list[NewEvent]:
    """Any decision on an open proposal; the author's own approval is refused
    where the target requires approvals (elsewhere it is kept, not counted)."""
    require_open(proposal)
    decision = _decision(cmd.decision)
    errors = _text_errors("comment", cmd.comment, MAX_TEXT)
    if errors:
        raise ValidationFailed(errors=errors, summary="invalid comment")
    own = reviewer == proposal.author and decision is Decision.APPROVE
    if own and rules.required_approvals > 0:
        message = "the author cannot approve their own proposal"
        raise ValidationFailed(
            errors=[FieldError(("decision",), "own_approval", message)],
            summary=message,
        )
    data = {"principal": reviewer, "decision": decision.value, "comment": cmd.comment}
    return [NewEvent(event_type=PROPOSAL_REVIEWED, data=data)]


def decide_close(
    proposal: Proposal, cmd: c.CloseProposal, *, by: str
) -> list[NewEvent]:
    require_open(proposal)
    errors = _text_errors("reason", cmd.reason, MAX_TEXT)
    if errors:
        raise ValidationFailed(errors=errors, summary="invalid reason")
    data = {"by": by, "reason": cmd.reason}
    return [NewEvent(event_type=PROPOSAL_CLOSED, data=data)]


def merged_event(
    *, merge_command: str, strategy: str, checks: list[dict[str, Any]]
) -> NewEvent:
    data = {"merge_command": merge_command, "strategy": strategy, "checks": checks}
    return NewEvent(event_type=PROPOSAL_MERGED, data=data)


def require_open(proposal: Proposal) -> None:
    if proposal.open:
        return
    state = "merged" if proposal.merged_at is not None else "closed"
    message = f"proposal {proposal.id!r} is {state}"
    raise ValidationFailed(
        errors=[FieldError(("id",), "proposal_not_open", message)], summary=message
    )


def _opened(event: EventEnvelope) -> Proposal:
    data = event.data
    return Proposal(
        id=str(data["id"]),
        source=str(data["source"]),
        target=str(data["target"]),
        title=str(data["title"]),
        description=data.get("description"),
        author=str(data["author"]),
        created_at=event.occurred_at,
        seq=event.seq,
    )


def _decision(raw: str) -> Decision:
    try:
        return Decision(raw)
    except ValueError:
        message = f"decision must be one of {', '.join(d.value for d in Decision)}"
        raise ValidationFailed(
            errors=[FieldError(("decision",), "invalid_decision", message)],
            summary=message,
        ) from None


def _text_errors(
    name: str, value: str | None, limit: int, *, required: bool = False
) -> list[FieldError]:
    if value is None or not value.strip():
        return (
            [FieldError((name,), "required", f"{name} is required")] if required else []
        )
    if len(value) > limit:
        return [FieldError((name,), "too_long", f"at most {limit} characters")]
    return []
