"""`_history` of an object: the events of its stream, read through the EventStore
port (`read_stream`), as seen on the request's branch (ancestors included)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from domain.events import INSTANCE, EventEnvelope, StreamId
from domain.ids import instance_aggregate_id
from resolvers.context import Context, Info
from resolvers.instances.rows import NodeRow
from schema.ontology.plan import ClassPlan


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    seq: int
    type: str
    actor: str
    command_id: str
    at: str
    position: int
    branch: str


def _loader(ctx: Context) -> DataLoader[StreamId, list[EventEnvelope]]:
    """The port reads one stream per call; the loader at least runs the reads of
    one request level concurrently instead of one after another."""

    async def load(streams: list[StreamId]) -> list[list[EventEnvelope]]:
        return list(
            await asyncio.gather(*(ctx.ports.store.read_stream(s) for s in streams))
        )

    return ctx.loader(("history",), lambda: DataLoader(load_fn=load))


async def events(plan: ClassPlan, root: NodeRow, info: Info) -> list[HistoryEvent]:
    ctx = info.context
    if root.node is None:
        return []
    aggregate_id = instance_aggregate_id(plan.root, root.instance_id)
    stream = StreamId(ctx.db, ctx.branch, INSTANCE, aggregate_id)
    found = await _loader(ctx).load(stream)
    return [
        HistoryEvent(
            seq=e.seq,
            type=e.event_type,
            actor=e.actor,
            command_id=e.command_id,
            at=e.occurred_at.isoformat(),
            position=e.position,
            branch=e.branch,
        )
        for e in found
        if root.as_of is None or e.position <= root.as_of
    ]
