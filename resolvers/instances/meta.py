"""`_meta` of a generated object: graph seq against the search document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from domain.ports import SearchDocument
from resolvers.context import Info
from resolvers.instances import loaders
from resolvers.instances.rows import NodeRow

FULL, PARTIAL, MISSING = "FULL", "PARTIAL", "MISSING"


@dataclass(frozen=True, slots=True)
class IndexStatus:
    event_sequence: int | None
    last_indexed_at: str | None
    index_age_seconds: float | None


async def _document(root: NodeRow, info: Info) -> SearchDocument | None:
    if root.node is None:
        return None
    loader = loaders.documents(info.context)
    return await loader.load((root.class_id, root.instance_id))


async def data_status(root: NodeRow, info: Info) -> str:
    """FULL when the search document is as new as the graph node, PARTIAL when it
    is stale or absent, MISSING for a dangling reference."""
    if root.node is None:
        return MISSING
    return status_of(root.seq, await _document(root, info))


def status_of(seq: int, doc: SearchDocument | None) -> str:
    if doc is not None and doc.seq == seq and not doc.deleted:
        return FULL
    return PARTIAL


async def index_status(root: NodeRow, info: Info) -> IndexStatus | None:
    return index_status_of(await _document(root, info))


def index_status_of(doc: SearchDocument | None) -> IndexStatus | None:
    if doc is None:
        return None
    return IndexStatus(
        event_sequence=doc.seq,
        last_indexed_at=doc.indexed_at or None,
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
