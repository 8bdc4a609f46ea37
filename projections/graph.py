"""Graph projection: instance events -> node versions in the GraphStore."""

from __future__ import annotations

from collections.abc import Sequence

from domain import events as ev
from domain.events import EventEnvelope
from domain.ports import GraphStore, NodeVersion


class GraphProjection:
    name = "graph"

    def __init__(self, graph: GraphStore, *, name: str = "graph") -> None:
        self.graph = graph
        self.name = name

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        versions = [
            node_version(e) for e in events if e.event_type in ev.INSTANCE_EVENTS
        ]
        await self.graph.put(versions)


def node_version(event: EventEnvelope) -> NodeVersion:
    """Instance events carry the full state after the change (or a tombstone)."""
    data = event.data
    deleted = event.event_type == ev.INSTANCE_DELETED
    occurred = event.occurred_at.isoformat()
    return NodeVersion(
        db=event.db,
        branch=event.branch,
        class_id=str(data["class_id"]),
        instance_id=str(data["instance_id"]),
        seq=event.seq,
        position=event.position,
        deleted=deleted,
        values={} if deleted else dict(data.get("values", {})),
        links={} if deleted else dict(data.get("links", {})),
        created_at=str(data.get("created_at") or occurred),
        updated_at=occurred,
    )
