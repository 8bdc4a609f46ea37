"""Catalog and audit projections: registry/ontology read model and the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from domain.events import EventEnvelope
from projections.views import AuditView, CatalogView


class CatalogProjection:
    name = "catalog"

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
