"""Handlers of branch protection and proposals; every step is an appended event,
so the audit chain records each one as a command of its actor."""

from __future__ import annotations

from typing import Any

from domain import commands as c
from domain import events as ev
from domain.appender import Appender
from domain.commands import CommandMeta, Receipt
from domain.database import require_live_branch, require_live_database
from domain.errors import FieldError, NotFoundError, ValidationFailed
from domain.events import NewEvent, StreamId
from domain.governance.guard import ProtectionGuard
from domain.governance.proposals import (
    Proposal,
    decide_close,
    decide_open,
    decide_review,
    merged_event,
    require_open,
)
from domain.governance.queries import approvals_check, get_proposal, proposal_stream
from domain.governance.rules import decide_protect_branch
from domain.merge.base import check_direction
from domain.merge.handlers import MergeHandlers
from domain.merge.queries import Check, lint_check
from domain.merge.retry import retrying
from domain.ports import StreamAppend
from domain.write_model import WriteModel


class GovernanceHandlers:
    def __init__(
        self, model: WriteModel, appender: Appender, merges: MergeHandlers
    ) -> None:
        self._model = model
        self._appender = appender
        self._merges = merges
        self._guard = ProtectionGuard(model)

    def table(self) -> dict[type, Any]:
        return {
            c.ProtectBranch: self.protect_branch,
            c.OpenProposal: self.open_proposal,
            c.ReviewProposal: self.review_proposal,
            c.CloseProposal: self.close_proposal,
            c.MergeProposal: self.merge_proposal,
        }

    async def protect_branch(self, cmd: c.ProtectBranch, meta: CommandMeta) -> Receipt:
        model = await self._model.database(cmd.db)
        require_live_database(model.database)
        state = require_live_branch(model.branches, cmd.name)
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, ev.BRANCH, cmd.name)
        append = StreamAppend(
            stream=stream, expected_seq=state.seq, events=decide_protect_branch(cmd)
        )
        return await self._appender.append(
            meta,
            cmd,
            db=cmd.db,
            branch=ev.MAIN_BRANCH,
            appends=[append],
            registry_version=model.version,
        )

    async def open_proposal(self, cmd: c.OpenProposal, meta: CommandMeta) -> Receipt:
        await self._model.branch_context(cmd.db, cmd.source)
        await self._model.branch_context(cmd.db, cmd.target)
        lineage = await self._appender.store.lineage(cmd.db, cmd.target)
        check_direction(source=cmd.source, target=cmd.target, target_lineage=lineage)
        existing = await get_proposal(self._appender.store, cmd.db, cmd.proposal_id)
        events = decide_open(existing, cmd, author=meta.actor)
        return await self._append(meta, cmd, cmd.db, cmd.proposal_id, 0, events)

    async def review_proposal(
        self, cmd: c.ReviewProposal, meta: CommandMeta
    ) -> Receipt:
        proposal = await self._proposal(cmd.db, cmd.proposal_id)
        rules = await self._guard.rules(cmd.db, proposal.target)
        events = decide_review(proposal, cmd, reviewer=meta.actor, rules=rules)
        return await self._append(meta, cmd, cmd.db, proposal.id, proposal.seq, events)

    async def close_proposal(self, cmd: c.CloseProposal, meta: CommandMeta) -> Receipt:
        proposal = await self._proposal(cmd.db, cmd.proposal_id)
        events = decide_close(proposal, cmd, by=meta.actor)
        return await self._append(meta, cmd, cmd.db, proposal.id, proposal.seq, events)

    async def merge_proposal(self, cmd: c.MergeProposal, meta: CommandMeta) -> Receipt:
        return await retrying(lambda: self._merge_once(cmd, meta))

    async def _merge_once(self, cmd: c.MergeProposal, meta: CommandMeta) -> Receipt:
        """The merge and the proposal's `merged` record in one append: OCC on the
        proposal stream refuses it if a review or close came in meanwhile."""
        proposal = await self._proposal(cmd.db, cmd.proposal_id)
        require_open(proposal)
        rules = await self._guard.rules(cmd.db, proposal.target)
        approvals = approvals_check(proposal, rules)
        _enforce(approvals, "approvals_required")
        planned = await self._merges.plan(
            db=cmd.db,
            source=proposal.source,
            target=proposal.target,
            strategy=cmd.strategy,
        )
        lint = lint_check(planned.ctx.ontology)
        _enforce(lint, "lint_errors")
        # Passed, or the merge plan would have refused (conflicts under FAIL,
        # invalid objects, missing link targets, unique values taken).
        passed = [approvals, lint, *_PLANNED]
        record = merged_event(
            merge_command=meta.command_id,
            strategy=cmd.strategy,
            checks=[
                {"name": x.name, "passed": x.passed, "message": x.message}
                for x in passed
            ],
        )
        more = StreamAppend(
            stream=proposal_stream(cmd.db, proposal.id),
            expected_seq=proposal.seq,
            events=[record],
        )
        return await self._merges.append(meta, cmd, planned, [more])

    async def _proposal(self, db: str, proposal_id: str) -> Proposal:
        found = await get_proposal(self._appender.store, db, proposal_id)
        if found is None:
            raise NotFoundError("proposal", proposal_id)
        return found

    async def _append(
        self,
        meta: CommandMeta,
        cmd: c.Command,
        db: str,
        proposal_id: str,
        expected_seq: int,
        events: list[NewEvent],
    ) -> Receipt:
        append = StreamAppend(
            stream=proposal_stream(db, proposal_id),
            expected_seq=expected_seq,
            events=events,
        )
        return await self._appender.append(
            meta, cmd, db=db, branch=ev.MAIN_BRANCH, appends=[append]
        )


_PLANNED = [
    Check("conflicts", True, "no conflicts left after the strategy"),
    Check("valid", True, "the merged objects are valid on the target"),
    Check("references", True, "every required link target exists"),
    Check("unique", True, "primary keys and unique properties hold"),
]


def _enforce(check: Check, code: str) -> None:
    if not check.passed:
        raise ValidationFailed(
            errors=[FieldError(("checks", check.name), code, check.message)],
            summary=f"the proposal cannot merge: {check.message}",
        )
