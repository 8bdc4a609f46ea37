"""Branch protection and proposals (SPEC §5.1) over the system schema.

Proposals are read straight from their event streams (no projection), so a
mutation's answer and the next query already show the step just taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, Selection

from domain import commands as c
from domain.commands import CommandMeta
from domain.errors import DomainError, NotFoundError
from domain.events import MAIN_BRANCH
from domain.governance import proposals as p
from domain.governance.queries import get_proposal, list_proposals, proposal_checks
from domain.governance.rules import NO_PROTECTION, BranchProtection
from domain.ids import new_command_id
from resolvers.commands import error_result, run_command
from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.merges import run_merge
from schema import governance_types as g
from schema import merge_types as m
from schema.results import CommandReceipt, CommandResult, CommandStage
from schema.scalars import DateTime

Info = strawberry.Info[Context, None]


async def protect_branch(
    info: Info, db: str, branch: str, rules: g.BranchProtectionInput
) -> CommandResult:
    command = c.ProtectBranch(
        db=db,
        name=branch,
        require_proposal=bool(rules.require_proposal),
        required_approvals=rules.required_approvals or 0,
        require_reason=bool(rules.require_reason),
    )
    return await run_command(info.context, command, subject=("branch",))


async def open_proposal(
    info: Info,
    db: str,
    source: str,
    title: str,
    target: str | None = MAIN_BRANCH,
    description: str | None = None,
) -> g.ProposalResult:
    proposal_id = uuid.uuid4().hex
    command = c.OpenProposal(
        db=db,
        proposal_id=proposal_id,
        source=source,
        target=target or MAIN_BRANCH,
        title=title,
        description=description,
    )
    return await _step(info, command, db, proposal_id)


async def review_proposal(
    info: Info,
    db: str,
    id: strawberry.ID,
    decision: g.ReviewDecision,
    comment: str | None = None,
) -> g.ProposalResult:
    command = c.ReviewProposal(
        db=db, proposal_id=str(id), decision=decision.value, comment=comment
    )
    return await _step(info, command, db, str(id))


async def close_proposal(
    info: Info,
    db: str,
    id: strawberry.ID,
    reason: str | None = None,
) -> g.ProposalResult:
    command = c.CloseProposal(db=db, proposal_id=str(id), reason=reason)
    return await _step(info, command, db, str(id))


async def merge_proposal(
    info: Info,
    db: str,
    id: strawberry.ID,
    strategy: m.MergeStrategy | None = m.MergeStrategy.FAIL,
    wait: CommandStage | None = None,
) -> m.MergeResult:
    command = c.MergeProposal(
        db=db,
        proposal_id=str(id),
        strategy=(strategy or m.MergeStrategy.FAIL).value,
    )
    # Besides the objects: the merge record and the proposal's `merged` event.
    return await run_merge(info.context, command, wait=wait, records=2)


async def proposals(
    info: Info, db: str, status: g.ProposalStatus | None = None
) -> list[g.Proposal]:
    ctx = info.context
    await _require_database(ctx, db)
    found = []
    for proposal in await list_proposals(ctx.ports.store, db):
        rules = await _rules(ctx, db, proposal.target)
        if status is None or proposal.status(rules).value == status.value:
            found.append(await _shown(info, db, proposal, rules))
    return found


async def proposal(
    info: Info,
    db: str,
    id: strawberry.ID,
) -> g.Proposal | None:
    ctx = info.context
    await _require_database(ctx, db)
    found = await get_proposal(ctx.ports.store, db, str(id))
    if found is None:
        return None
    return await _shown(info, db, found, await _rules(ctx, db, found.target))


async def _step(
    info: Info, command: c.Command, db: str, proposal_id: str
) -> g.ProposalResult:
    """Dispatches one proposal step; the answer is the proposal after it."""
    ctx = info.context
    meta = CommandMeta(command_id=new_command_id(), actor=ctx.actor)
    try:
        await ctx.ports.dispatcher.dispatch(command, meta)
    except DomainError as error:
        refusal = error_result(error, subject=("id",))
        if isinstance(refusal, CommandReceipt):  # pragma: no cover - errors only
            raise TypeError("an error cannot become a receipt") from error
        return refusal
    found = await get_proposal(ctx.ports.store, db, proposal_id)
    if found is None:  # pragma: no cover - the step just appended to it
        raise RequestError(f"proposal {proposal_id!r} vanished", code="NOT_FOUND")
    return await _shown(info, db, found, await _rules(ctx, db, found.target))


async def _shown(
    info: Info, db: str, proposal: p.Proposal, rules: BranchProtection
) -> g.Proposal:
    ctx = info.context
    checks = []
    if _selects(info.selected_fields, "checks"):
        found = await proposal_checks(
            ctx.ports.ontologies, ctx.ports.store, db, proposal, rules
        )
        checks = [
            m.MergeCheck(name=x.name, passed=x.passed, message=x.message) for x in found
        ]
    return g.Proposal(
        id=strawberry.ID(proposal.id),
        title=proposal.title,
        description=proposal.description,
        source=proposal.source,
        target=proposal.target,
        status=g.ProposalStatus(proposal.status(rules).value),
        author=proposal.author,
        reviews=[
            g.ProposalReview(
                principal=r.principal,
                decision=g.ReviewDecision(r.decision.value),
                comment=r.comment,
                at=DateTime(r.at.isoformat()),
            )
            for r in proposal.reviews
        ],
        approvals=proposal.approvals(),
        checks=checks,
        created_at=DateTime(proposal.created_at.isoformat()),
        merged_at=DateTime(proposal.merged_at.isoformat())
        if proposal.merged_at
        else None,
    )


async def _rules(ctx: Context, db: str, branch: str) -> BranchProtection:
    try:
        found = await ctx.ports.ontologies.branch_context(db, branch)
    except NotFoundError:  # the target was deleted since: no rules apply
        return NO_PROTECTION
    state = found.branches.get(branch)
    return NO_PROTECTION if state is None else state.protection


async def _require_database(ctx: Context, db: str) -> None:
    try:
        await ctx.ports.ontologies.branch_context(db, MAIN_BRANCH)
    except NotFoundError as error:
        raise RequestError(error.message, code="NOT_FOUND") from error


def _selects(selections: Iterable[Selection], name: str) -> bool:
    """Whether the query asks for field `name` anywhere below these selections
    (checks cost a merge preview: computed only when asked for)."""
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            if _selects(selection.selections, name):
                return True
        elif selection.name == name or _selects(selection.selections, name):
            return True
    return False
