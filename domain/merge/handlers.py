"""The merge command: one atomic append on the target, with OCC on every stream.

The target receives ordinary instance events carrying full states (projections,
subscriptions, audit and lineage see a merge like any other write) and, first in
the same batch, a `branch.merged.v1` record on its merge stream of the source,
so the next merge of that source starts from the snapshot brought in here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from domain import commands as c
from domain.appender import Appender
from domain.claims import Claim
from domain.commands import CommandMeta, Receipt
from domain.events import StreamId
from domain.governance.guard import ProtectionGuard
from domain.merge.base import MERGE, merged_event
from domain.merge.checks import check_references, prepare
from domain.merge.class_writes import class_append, class_claims
from domain.merge.full import decide_full, plan_full, target_ontology
from domain.merge.plan import instance_append, writes
from domain.merge.rebase_handler import RebaseHandlers
from domain.merge.request import requested, strategy_of
from domain.merge.retry import retrying
from domain.merge.revert_handler import RevertHandlers
from domain.merge.unique import write_claims
from domain.ports import EventStore, StreamAppend
from domain.write_model import BranchContext, WriteModel


@dataclass(frozen=True, slots=True)
class PlannedMerge:
    """A decided merge, ready to append: the merge record first, then one
    append per changed class, then one per changed object of the target
    (`ctx`, whose ontology is the merged one), and the unique keys the objects
    give up and take there (settled by the store in the append); `quiet_since`
    guards the instances class claims were read from."""

    ctx: BranchContext
    appends: list[StreamAppend]
    claims: list[Claim]
    quiet_since: dict[str, int] | None = None


class MergeHandlers:
    def __init__(self, model: WriteModel, appender: Appender) -> None:
        self._model = model
        self._appender = appender
        guard = ProtectionGuard(model)
        self._rebase = RebaseHandlers(model, appender)
        self._revert = RevertHandlers(model, appender, guard)

    def table(self) -> dict[type, Any]:
        return {
            c.MergeBranch: self.merge_branch,
            c.RebaseBranch: self._rebase.rebase_branch,
            c.RevertCommand: self._revert.revert_command,
        }

    @property
    def store(self) -> EventStore:
        return self._appender.store

    async def merge_branch(self, cmd: c.MergeBranch, meta: CommandMeta) -> Receipt:
        async def attempt() -> Receipt:
            planned = await self.plan(
                db=cmd.db,
                source=cmd.source,
                target=cmd.target,
                strategy=cmd.strategy,
                resolutions=cmd.resolutions,
            )
            return await self.append(meta, cmd, planned)

        return await retrying(attempt)

    async def plan(
        self,
        *,
        db: str,
        source: str,
        target: str,
        strategy: str,
        resolutions: Sequence[Mapping[str, Any]] = (),
    ) -> PlannedMerge:
        """Decides the merge of `source` into `target` as of now; raises what
        refuses it (MergeConflict, ValidationFailed, NotFoundError). Unique keys
        are settled by the append (ClaimTaken)."""
        chosen = strategy_of(strategy)
        wanted = requested(resolutions)
        store = self.store
        ctx, merge = await prepare(self._model, store, db, source, target)
        full = await plan_full(store, merge)
        decided = decide_full(full, strategy=chosen, requested=wanted)
        onto = await target_ontology(
            store, merge, ctx.ontology, full, decided.definitions
        )
        # Instances are checked against the merged ontology, classes first.
        merged_ctx = replace(ctx, ontology=onto.ontology)
        plan, final = full.instances, decided.instances
        planned = writes(plan, final, onto.ontology)
        await check_references(store, merged_ctx, plan, final, planned)
        counts = {"merged": len(planned), "classes": len(onto.writes)}
        record = merged_event(
            source=source,
            target=target,
            snapshot=merge.snapshot,
            base=merge.base,
            data={**counts, "strategy": chosen.value},
        )
        # The record first: the receipt names the first stream and its seq.
        appends = [
            StreamAppend(
                stream=StreamId(db, target, MERGE, source),
                expected_seq=merge.record_seq,
                events=[record],
            ),
            *(class_append(db, target, w) for w in onto.writes),
            *(instance_append(db, target, w) for w in planned),
        ]
        claims, quiet = await class_claims(store, ctx, onto.writes)
        claims += write_claims(onto.ontology, planned, plan.sides.tips)
        return PlannedMerge(merged_ctx, appends, claims, quiet or None)

    async def append(
        self,
        meta: CommandMeta,
        cmd: c.Command,
        planned: PlannedMerge,
        more: Sequence[StreamAppend] = (),
    ) -> Receipt:
        """Appends the merge (and `more`, e.g. a proposal's record) as one batch."""
        ctx = planned.ctx
        return await self._appender.append(
            meta,
            cmd,
            db=ctx.db,
            branch=ctx.branch,
            appends=[*planned.appends, *more],
            ontology_version=ctx.ontology_version,
            registry_version=ctx.registry_version,
            claims=planned.claims,
            quiet_since=planned.quiet_since,
        )
