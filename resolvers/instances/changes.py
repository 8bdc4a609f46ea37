"""`<class>Changed(where)`: instance changes pushed from the event stream.

Subscribers of the same shape (database, branch, class, `where`) share one feed:
the filter runs once per event for all of them. A change is emitted once the graph
projection has applied it (the StageWaiter says APPLIED), so a subscriber that
reads the object on receipt sees at least that version. Under access policies
(access.py) a change is delivered only if the object is visible after it (before
it, for a delete), and a feed is shared only by subscribers under equal rules.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from domain import events as ev
from domain.events import EventEnvelope
from projections.graph import node_version
from resolvers.context import Context, Info
from resolvers.instances import access
from resolvers.instances.rows import NodeRow, row
from resolvers.instances.where import Where
from resolvers.plain import given
from schema.ontology.plan import ClassPlan

_KIND_OF = {
    ev.INSTANCE_CREATED: "CREATED",
    ev.INSTANCE_UPDATED: "UPDATED",
    ev.INSTANCE_DELETED: "DELETED",
}


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    id: str
    class_id: str
    seq: int
    position: int
    at: str
    actor: str
    command_id: str
    node: NodeRow | None  # None after a delete


async def changed(
    plan: ClassPlan, info: Info, *, where: Any = None
) -> AsyncIterator[Change]:
    ctx, condition = info.context, given(where)
    access.check_reads(ctx, plan, where=condition)
    shape = (
        "changed",
        ctx.db,
        ctx.branch,
        plan.class_id,
        _canonical(condition),
        # The pipeline applies its first subscriber's rules: shared by equals only.
        access.fingerprint(ctx, plan),
    )

    def pipeline(events: AsyncIterator[EventEnvelope]) -> AsyncIterator[Change]:
        return _changes(ctx, plan, condition, events)

    async with ctx.ports.changes.shared(
        shape, db=ctx.db, branch=ctx.branch, pipeline=pipeline
    ) as stream:
        async for change in stream:
            yield change


async def _changes(
    ctx: Context, plan: ClassPlan, condition: Any, events: AsyncIterator[EventEnvelope]
) -> AsyncIterator[Change]:
    classes = set(plan.class_ids)
    async for event in events:
        if (
            event.event_type not in _KIND_OF
            or event.data.get("class_id") not in classes
        ):
            continue
        await ctx.ports.waiter.wait(
            "APPLIED",
            event.db,
            event.position,
            max_wait=ctx.ports.limits.max_wait_seconds,
        )
        change = await _change(ctx, plan, condition, event)
        if change is not None:
            yield change


async def _change(
    ctx: Context, plan: ClassPlan, condition: Any, event: EventEnvelope
) -> Change | None:
    version = node_version(event)
    after = None if version.deleted else row(version, None)
    guard = access.guard(ctx, plan)
    if condition is not None or guard is not None:
        # A fresh context per event: a feed outlives any request's loaders.
        fresh = Context(
            ports=ctx.ports,
            db=ctx.db,
            branch=ctx.branch,
            lineage=ctx.lineage,
            access=ctx.access,
        )
        subject = after or await _before(fresh, plan, version.instance_id, event)
        if subject is None:
            return None
        # An object a row filter hides (after the change, or before a delete)
        # is never delivered.
        if guard is not None and guard.hides(subject):
            return None
        if condition is not None and not await Where(fresh, subject.as_of).select(
            [subject], condition, plan
        ):
            return None
        if after is not None and guard is not None:
            after = guard.shown(after)
    return Change(
        kind=_KIND_OF[event.event_type],
        id=version.instance_id,
        class_id=version.class_id,
        seq=event.seq,
        position=event.position,
        at=event.occurred_at.isoformat(),
        actor=event.actor,
        command_id=event.command_id,
        node=after,
    )


async def _before(
    ctx: Context, plan: ClassPlan, instance_id: str, event: EventEnvelope
) -> NodeRow | None:
    """A deleted object is filtered on its state just before the delete."""
    as_of = event.position - 1
    found = await ctx.ports.graph.get_many(
        ctx.scope(as_of), plan.class_ids, [instance_id]
    )
    node = found.get(instance_id)
    return row(node, as_of) if node is not None else None


def _canonical(condition: Any) -> str:
    return json.dumps(condition, sort_keys=True, default=str)
