"""The write guard: protection rules checked before any command writes a branch.

The dispatcher runs `check` before every handler, so a command that writes a
branch (any command with a `branch`: instance and class commands, merges into
it, rebases of it) is refused on a branch protected with `require_proposal`,
and needs a change reason where `require_reason` is set. Commands that find
their branch only once they look (a revert) call `check_branch` themselves.
"""

from __future__ import annotations

from typing import Final

from domain import commands as c
from domain.commands import CommandMeta
from domain.errors import FieldError, PermissionDenied, ValidationFailed
from domain.governance.rules import NO_PROTECTION, BranchProtection
from domain.write_model import WriteModel

# Where a command carries its change reason: CommandMeta.metadata, filled from
# the request (the X-Change-Reason header) and stored with every event.
REASON: Final = "reason"
MAX_REASON: Final = 1000


class ProtectionGuard:
    def __init__(self, model: WriteModel) -> None:
        self._model = model

    async def check(self, command: c.Command, meta: CommandMeta) -> None:
        if isinstance(command, c.DeleteBranch):
            await self._check_delete(command)
            return
        db, branch = getattr(command, "db", None), getattr(command, "branch", None)
        if isinstance(db, str) and isinstance(branch, str):
            await self.check_branch(db, branch, meta)

    async def check_branch(self, db: str, branch: str, meta: CommandMeta) -> None:
        """Refuses a direct write into `branch` that its rules do not allow."""
        rules = await self.rules(db, branch)
        if rules.require_proposal:
            raise PermissionDenied(
                f"branch {branch!r} is protected: changes reach it only through a "
                "merged proposal"
            )
        check_reason(rules, meta)

    async def rules(self, db: str, branch: str) -> BranchProtection:
        state = (await self._model.database(db)).branches.get(branch)
        return NO_PROTECTION if state is None else state.protection

    async def _check_delete(self, command: c.DeleteBranch) -> None:
        if (await self.rules(command.db, command.name)).active:
            raise PermissionDenied(
                f"branch {command.name!r} is protected: remove its protection first"
            )


def check_reason(rules: BranchProtection, meta: CommandMeta) -> None:
    if not rules.require_reason or reason_of(meta):
        return
    message = "this branch requires a change reason (send the X-Change-Reason header)"
    raise ValidationFailed(
        errors=[FieldError(("reason",), "reason_required", message)], summary=message
    )


def reason_of(meta: CommandMeta) -> str:
    return meta.metadata.get(REASON, "").strip()[:MAX_REASON]
