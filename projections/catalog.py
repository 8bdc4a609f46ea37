"""Catalog and audit projections: registry/ontology read model and the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from domain import events as ev
from domain.events import EventEnvelope
from projections.audit import command_records
from projections.views import AuditTrail, AuditView, CatalogView


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
    """The audit log view, and one `command` entry per command in the audit trail.

    The trail is the tamper-evident record, not a view: it is never rebuilt
    from events (a rebuild passes no trail), and redelivered events append
    nothing because each entry's ref is its command id.
    """

    name = "audit"

    def __init__(
        self, view: AuditView, *, trail: AuditTrail | None = None, name: str = "audit"
    ) -> None:
        self.view = view
        self.trail = trail
        self.name = name

    async def apply(self, events: Sequence[EventEnvelope]) -> None:
        await self.view.apply(events)
        if self.trail is not None and events:
            await self.trail.append(command_records(events))
