"""Catalog and audit projections: registry/ontology read model and the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from domain import events as ev
from domain.events import EventEnvelope
from projections.views import AuditView, CatalogView


class CatalogProjection:
    name = "catalog"
    # Databases, branches and classes only. Under load nearly every event is an
    # instance event, and the consumer kept a stream version for each of them.
    ignored_aggregate_types = frozenset({ev.INSTANCE})

    def __init__(self, view: CatalogView, *, name: str = "catalog") -> None:
        self.view = view
        self.name = name

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        await self.view.apply(events)


class AuditProjection:
    name = "audit"

    def __init__(self, view: AuditView, *, name: str = "audit") -> None:
        self.view = view
        self.name = name

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        await self.view.apply(events)
