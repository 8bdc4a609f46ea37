"""Types of branch protection and proposals (SPEC §5.1)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from schema.merge_types import MergeCheck
from schema.results import (
    ConflictError,
    NotFoundError,
    PermissionProblem,
    ValidationError,
)
from schema.scalars import DateTime


@strawberry.enum
class ProposalStatus(Enum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    MERGED = "MERGED"
    CLOSED = "CLOSED"


@strawberry.enum
class ReviewDecision(Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    REQUEST_CHANGES = "REQUEST_CHANGES"


@strawberry.input(
    description="Rules of a protected branch; all off (or absent) unprotects it. "
    "A change reason is sent in the X-Change-Reason header."
)
class BranchProtectionInput:
    require_proposal: bool | None = False
    required_approvals: int | None = 0
    require_reason: bool | None = False


@strawberry.type
class ProposalReview:
    principal: str
    decision: ReviewDecision
    comment: str | None
    at: DateTime


@strawberry.type(
    description="A request to merge `source` into `target`, reviewed first."
)
class Proposal:
    id: strawberry.ID
    title: str
    description: str | None
    source: str
    target: str
    status: ProposalStatus
    author: str
    reviews: list[ProposalReview]
    approvals: int = strawberry.field(
        description="Approvals that count: each reviewer's latest, never the author's."
    )
    checks: list[MergeCheck] = strawberry.field(
        description="What a merge now would meet (the ones it passed, once merged)."
    )
    created_at: DateTime
    merged_at: DateTime | None


ProposalResult = Annotated[
    Proposal | ValidationError | NotFoundError | PermissionProblem | ConflictError,
    strawberry.union("ProposalResult"),
]
