"""Protection rules of a branch, set by `branch.protected.v1` on its registry stream.

The event is a branch (registry) event on purpose: it moves the database's
registry version, so a write validated against a model that did not know the
rules yet fails its append with StaleModel and is checked again (no race
between protecting a branch and writing to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from domain.commands import ProtectBranch
from domain.errors import FieldError, ValidationFailed
from domain.events import NewEvent

BRANCH_PROTECTED: Final = "branch.protected.v1"
MAX_APPROVALS: Final = 20


@dataclass(frozen=True, slots=True)
class BranchProtection:
    require_proposal: bool = False
    required_approvals: int = 0
    require_reason: bool = False

    @property
    def active(self) -> bool:
        return self != NO_PROTECTION

    def as_data(self) -> dict[str, Any]:
        return {
            "require_proposal": self.require_proposal,
            "required_approvals": self.required_approvals,
            "require_reason": self.require_reason,
        }


NO_PROTECTION: Final = BranchProtection()


def protection_of(data: Mapping[str, Any]) -> BranchProtection:
    return BranchProtection(
        require_proposal=bool(data.get("require_proposal")),
        required_approvals=int(data.get("required_approvals") or 0),
        require_reason=bool(data.get("require_reason")),
    )


def decide_protect_branch(cmd: ProtectBranch) -> list[NewEvent]:
    """The rules replace the branch's previous ones (the caller checked that the
    branch is live)."""
    if not 0 <= cmd.required_approvals <= MAX_APPROVALS:
        message = f"must be within 0..{MAX_APPROVALS}"
        raise ValidationFailed(
            errors=[
                FieldError(("rules", "requiredApprovals"), "invalid_approvals", message)
            ],
            summary=f"requiredApprovals {message}",
        )
    rules = BranchProtection(
        cmd.require_proposal, cmd.required_approvals, cmd.require_reason
    )
    data = {"name": cmd.name, **rules.as_data()}
    return [NewEvent(event_type=BRANCH_PROTECTED, data=data)]
