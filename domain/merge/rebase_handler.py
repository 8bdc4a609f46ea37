"""The rebase command: the branch's replayed state and its rebase record, one append."""

from __future__ import annotations

from dataclasses import replace

from domain import commands as c
from domain.appender import Appender
from domain.commands import CommandMeta, Receipt
from domain.events import EventEnvelope, NewEvent, StreamId
from domain.merge.base import BRANCH_REBASED, MERGE, merged_event
from domain.merge.checks import check_links
from domain.merge.class_merge import MergedOntology
from domain.merge.class_writes import class_append, class_claims
from domain.merge.full import decide_full, ontology_onto
from domain.merge.plan import Write, instance_append, writes_onto
from domain.merge.rebase import plan_rebase, prepare_rebase
from domain.merge.request import requested, strategy_of
from domain.merge.retry import retrying
from domain.merge.sides import Setup
from domain.merge.unique import write_claims
from domain.ports import StreamAppend
from domain.write_model import BranchContext, WriteModel


class RebaseHandlers:
    def __init__(self, model: WriteModel, appender: Appender) -> None:
        self._model = model
        self._appender = appender

    async def rebase_branch(self, cmd: c.RebaseBranch, meta: CommandMeta) -> Receipt:
        return await retrying(lambda: self._rebase_once(cmd, meta))

    async def _rebase_once(self, cmd: c.RebaseBranch, meta: CommandMeta) -> Receipt:
        store = self._appender.store
        ctx, merge = await prepare_rebase(
            self._model, store, cmd.db, cmd.branch, cmd.onto
        )
        onto, planned, tips = await self._planned(cmd, ctx, merge)
        record = StreamId(cmd.db, cmd.branch, MERGE, cmd.onto)
        count = len(planned) + len(onto.writes)
        appends = [
            StreamAppend(
                stream=record,
                expected_seq=await store.stream_head(record),
                events=[_rebased(merge, count, cmd.strategy)],
            ),
            # Classes first: the replayed objects may be of a replayed class.
            *(class_append(cmd.db, cmd.branch, w) for w in onto.writes),
            *(instance_append(cmd.db, cmd.branch, w) for w in planned),
        ]
        claims, quiet = await class_claims(store, ctx, onto.writes)
        claims += write_claims(onto.ontology, planned, tips)
        return await self._appender.append(
            meta,
            cmd,
            db=cmd.db,
            branch=cmd.branch,
            appends=appends,
            ontology_version=ctx.ontology_version,
            registry_version=ctx.registry_version,
            claims=claims,
            quiet_since=quiet or None,
        )

    async def _planned(
        self, cmd: c.RebaseBranch, ctx: BranchContext, merge: Setup
    ) -> tuple[MergedOntology, list[Write], dict[str, EventEnvelope]]:
        """The branch's classes and writes (checked as a merge's are, against
        the branch's merged ontology), and the branch's last events."""
        strategy = strategy_of(cmd.strategy)
        wanted = requested(cmd.resolutions)
        store = self._appender.store
        full = await plan_rebase(store, merge)
        decided = decide_full(full, strategy=strategy, requested=wanted)
        onto = await ontology_onto(
            store,
            cmd.db,
            cmd.branch,
            ctx.ontology,
            decided.definitions,
            seqs=ctx.class_seqs,
        )
        sides = full.instances.sides
        planned = writes_onto(
            decided.instances,
            sides.source,
            sides.source_tips,
            onto.ontology,
            summary="the rebased objects are not valid on the branch",
        )
        merged_ctx = replace(ctx, ontology=onto.ontology)
        await check_links(store, merged_ctx, merge.snapshot, decided.instances, planned)
        return onto, planned, sides.source_tips


def _rebased(merge: Setup, count: int, strategy: str) -> NewEvent:
    """The record: the parent (`source` of the record) as of the snapshot was
    brought into the branch (`target`), like a merge of the parent would be."""
    record = merged_event(
        source=merge.target,
        target=merge.source,
        snapshot=merge.snapshot,
        base=merge.base,
        data={"rebased": count, "strategy": strategy},
    )
    return NewEvent(event_type=BRANCH_REBASED, data=record.data)
