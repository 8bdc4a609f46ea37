"""Event envelopes and the stable wire names of every event type."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

# Stable wire names: persisted and published, never renamed. A payload change
# bumps the version suffix and gets an upcaster in adapters/serialization.py.
DATABASE_CREATED: Final = "database.created.v1"
DATABASE_DELETED: Final = "database.deleted.v1"
BRANCH_CREATED: Final = "branch.created.v1"
BRANCH_DELETED: Final = "branch.deleted.v1"
CLASS_DEFINED: Final = "class.defined.v1"
CLASS_UPDATED: Final = "class.updated.v1"
CLASS_DEPRECATED: Final = "class.deprecated.v1"
PROPERTY_ADDED: Final = "class.property_added.v1"
PROPERTY_CHANGED: Final = "class.property_changed.v1"
PROPERTY_REMOVED: Final = "class.property_removed.v1"
RELATIONSHIP_ADDED: Final = "class.relationship_added.v1"
RELATIONSHIP_REMOVED: Final = "class.relationship_removed.v1"
INSTANCE_CREATED: Final = "instance.created.v1"
INSTANCE_UPDATED: Final = "instance.updated.v1"
INSTANCE_DELETED: Final = "instance.deleted.v1"
DATASET_VERSION_REGISTERED: Final = "dataset.version_registered.v1"

CLASS_EVENTS: Final = frozenset(
    {
        CLASS_DEFINED,
        CLASS_UPDATED,
        CLASS_DEPRECATED,
        PROPERTY_ADDED,
        PROPERTY_CHANGED,
        PROPERTY_REMOVED,
        RELATIONSHIP_ADDED,
        RELATIONSHIP_REMOVED,
    }
)
INSTANCE_EVENTS: Final = frozenset(
    {INSTANCE_CREATED, INSTANCE_UPDATED, INSTANCE_DELETED}
)

# Aggregate types.
DATABASE: Final = "database"
BRANCH: Final = "branch"
CLASS: Final = "class"
INSTANCE: Final = "instance"

MAIN_BRANCH: Final = "main"

_EVENT_ID_NAMESPACE = uuid.UUID("6f1c2b1e-6a0e-4d8c-9a52-5b1e0c7d2a11")


@dataclass(frozen=True, slots=True, order=True)
class StreamId:
    """Identity of one aggregate's stream on one branch of one database."""

    db: str
    branch: str
    aggregate_type: str
    aggregate_id: str

    def __str__(self) -> str:
        return f"{self.db}/{self.branch}/{self.aggregate_type}/{self.aggregate_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event decided by the domain, before the store gives it seq and position."""

    event_type: str
    data: Mapping[str, Any]
    schema_version: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class EventEnvelope:
    """A stored event: the unit published on the bus and consumed by projections."""

    event_id: str
    event_type: str
    db: str
    branch: str
    aggregate_type: str
    aggregate_id: str
    seq: int
    position: int
    occurred_at: datetime
    actor: str
    command_id: str
    correlation_id: str
    causation_id: str | None
    ontology_version: int
    data: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = 1
    # Operational context of the command (request_id, traceparent, tracestate);
    # empty for events stored before it existed.
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def stream(self) -> StreamId:
        return StreamId(self.db, self.branch, self.aggregate_type, self.aggregate_id)


def derived_event_id(command_id: str, index: int) -> str:
    """The deterministic id of the index-th event of a command: the text of
    `uuid.uuid5(_EVENT_ID_NAMESPACE, "<command id>#<index>")`, computed without
    building UUID objects (a bulk command derives thousands)."""
    name = f"{command_id}#{index}".encode()
    sha1 = hashlib.sha1(_EVENT_ID_NAMESPACE.bytes + name, usedforsecurity=False)
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
