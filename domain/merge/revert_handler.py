"""The revert command: compensating instance events plus a record, one atomic append.

History is never rewritten: the reverted command's events stay, and the revert
appends full-state events (like any write) after them. The record goes on the
stream `revert/<command id>` of the command's branch with expected seq 0, so a
command is reverted at most once, even by two reverts racing each other.
"""

from __future__ import annotations

from domain import commands as c
from domain import events as ev
from domain.appender import Appender
from domain.commands import CommandMeta, Receipt
from domain.events import EventEnvelope, StreamId
from domain.governance.guard import ProtectionGuard
from domain.merge.checks import check_links
from domain.merge.instances import instance_state
from domain.merge.plan import Write, instance_append, writes_onto
from domain.merge.retry import retrying
from domain.merge.revert import (
    REVERT,
    CommandChanges,
    already_reverted,
    decide_revert,
    load_changes,
    nothing_to_revert,
    reverted_event,
)
from domain.merge.unique import write_claims
from domain.ports import EventStore, StreamAppend
from domain.write_model import BranchContext, WriteModel


class RevertHandlers:
    def __init__(
        self, model: WriteModel, appender: Appender, guard: ProtectionGuard
    ) -> None:
        self._model = model
        self._appender = appender
        self._guard = guard

    async def revert_command(self, cmd: c.RevertCommand, meta: CommandMeta) -> Receipt:
        return await retrying(lambda: self._revert_once(cmd, meta))

    async def _revert_once(self, cmd: c.RevertCommand, meta: CommandMeta) -> Receipt:
        store = self._appender.store
        changes = await load_changes(store, cmd.db, cmd.command_id)
        # The branch is known only now: the dispatcher's guard could not check it.
        await self._guard.check_branch(cmd.db, changes.branch, meta)
        ctx = await self._model.branch_context(cmd.db, changes.branch)
        record = await self._unreverted(changes)
        planned, current = await self._planned(ctx, changes)
        reverted = reverted_event(
            changes, reverted_by=meta.command_id, objects=len(planned)
        )
        appends = [
            StreamAppend(stream=record, expected_seq=0, events=[reverted]),
            *(instance_append(cmd.db, changes.branch, w) for w in planned),
        ]
        return await self._appender.append(
            meta,
            cmd,
            db=cmd.db,
            branch=changes.branch,
            appends=appends,
            ontology_version=ctx.ontology_version,
            registry_version=ctx.registry_version,
            claims=write_claims(ctx.ontology, planned, current),
        )

    async def _unreverted(self, changes: CommandChanges) -> StreamId:
        """The command's revert record stream, which must still be empty."""
        record = StreamId(changes.db, changes.branch, REVERT, changes.command_id)
        previous = (await self._appender.store.last_events([record])).get(record)
        if previous is not None:
            raise already_reverted(changes.command_id, previous)
        return record

    async def _planned(
        self, ctx: BranchContext, changes: CommandChanges
    ) -> tuple[list[Write], dict[str, EventEnvelope]]:
        """The compensating writes (checked as any write is), and the objects'
        current last events they follow."""
        store = self._appender.store
        snapshot = (await store.last_positions()).get(changes.db, 0)
        before, current = await _around(store, changes, snapshot)
        final = decide_revert(changes, before, current)
        states = {k: instance_state(e) for k, e in current.items()}
        planned = writes_onto(
            final,
            states,
            current,
            ctx.ontology,
            summary="the reverted objects are not valid on the branch now",
        )
        if not planned:
            raise nothing_to_revert(changes.command_id)
        await check_links(store, ctx, snapshot, final, planned)
        return planned, current


async def _around(
    store: EventStore, changes: CommandChanges, snapshot: int
) -> tuple[dict[str, EventEnvelope], dict[str, EventEnvelope]]:
    """Each object's last event just before the command, and as of `snapshot`.
    A command's events sit at consecutive positions (one atomic batch)."""
    streams = [_instance(changes, k) for k in sorted(changes.after)]
    before = await store.last_events(streams, as_of=changes.first_position - 1)
    current = await store.last_events(streams, as_of=snapshot)
    return _by_key(before), _by_key(current)


def _by_key(found: dict[StreamId, EventEnvelope]) -> dict[str, EventEnvelope]:
    return {s.aggregate_id: e for s, e in found.items()}


def _instance(changes: CommandChanges, key: str) -> StreamId:
    return StreamId(changes.db, changes.branch, ev.INSTANCE, key)
