"""`_meta` of a generated object: graph seq against the search document."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from domain.ports import SearchDocument
from resolvers.context import Context
from resolvers.instances import loaders
from resolvers.instances.rows import NodeRow
from schema.generated.shared import DataStatus, IndexStatus
from schema.scalars import DateTime

Info = strawberry.Info[Context, None]


async def _document(root: NodeRow, info: Info) -> SearchDocument | None:
    if root.node is None:
        return None
    loader = loaders.documents(info.context)
    return await loader.load((root.class_id, root.instance_id))


async def data_status(root: NodeRow, info: Info) -> DataStatus:
    """FULL when the search document is as new as the graph node, PARTIAL when it
    is stale or absent, MISSING for a dangling reference."""
    if root.node is None:
        return DataStatus.MISSING
    doc = await _document(root, info)
    if doc is not None and doc.seq == root.seq and not doc.deleted:
        return DataStatus.FULL
    return DataStatus.PARTIAL


async def index_status(root: NodeRow, info: Info) -> IndexStatus | None:
    doc = await _document(root, info)
    if doc is None:
        return None
    return IndexStatus(
        event_sequence=doc.seq,
        last_indexed_at=DateTime(doc.indexed_at) if doc.indexed_at else None,
        index_age_seconds=_age(doc.indexed_at),
    )


def _age(indexed_at: str | None) -> float | None:
    if not indexed_at:
        return None
    try:
        moment = datetime.fromisoformat(indexed_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - moment).total_seconds())
