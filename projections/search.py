"""Search projection: instance events -> one current document per instance and branch."""

from __future__ import annotations

from collections.abc import Sequence

from domain import events as ev
from domain.events import EventEnvelope
from domain.ports import SearchDocument, SearchIndex


class SearchProjection:
    name = "search"

    def __init__(self, index: SearchIndex, *, name: str = "search") -> None:
        self.index = index
        self.name = name

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        latest: dict[tuple[str, str, str], SearchDocument] = {}
        for event in events:
            if event.event_type in ev.INSTANCE_EVENTS:
                doc = search_document(event)
                latest[(doc.branch, doc.class_id, doc.instance_id)] = doc
        # Only the newest document per instance matters: the index keeps one.
        await self.index.upsert(list(latest.values()))


def search_document(event: EventEnvelope) -> SearchDocument:
    data = event.data
    deleted = event.event_type == ev.INSTANCE_DELETED
    body = {} if deleted else {**data.get("values", {}), **data.get("links", {})}
    return SearchDocument(
        db=event.db,
        branch=event.branch,
        class_id=str(data["class_id"]),
        instance_id=str(data["instance_id"]),
        seq=event.seq,
        position=event.position,
        deleted=deleted,
        data=body,
    )
