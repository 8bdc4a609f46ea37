"""Read-model ports: what projections write and resolvers read, as Protocols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.events import EventEnvelope
from domain.ports import BranchSpan


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseRecord:
    name: str
    description: str | None
    seq: int
    created_at: str
    created_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchRecord:
    db: str
    name: str
    parent: str | None
    fork_position: int | None
    seq: int
    created_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassRecord:
    db: str
    branch: str
    class_id: str
    seq: int
    position: int
    definition: Mapping[str, Any]


class CatalogView(Protocol):
    """Databases, branches and class definitions (versioned, branch-aware)."""

    async def apply(self, events: Sequence[EventEnvelope]) -> None: ...

    async def databases(self) -> list[DatabaseRecord]: ...

    async def branches(self, db: str) -> list[BranchRecord]: ...

    async def classes(
        self, db: str, lineage: Sequence[BranchSpan], as_of: int | None = None
    ) -> list[ClassRecord]: ...

    async def content_hash(self, db: str | None = None) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    db: str
    position: int
    branch: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    seq: int
    actor: str
    command_id: str
    occurred_at: str


class AuditView(Protocol):
    async def apply(self, events: Sequence[EventEnvelope]) -> None: ...

    async def entries(
        self,
        *,
        db: str | None = None,
        actor: str | None = None,
        aggregate_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]: ...

    async def content_hash(self, db: str | None = None) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandStatus:
    command_id: str
    db: str
    branch: str
    state: str
    aggregate_id: str
    seq: int | None
    history: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (state, at)
    error: Mapping[str, Any] | None = None
    last_position: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandFilter:
    """Which commands to list; None and empty mean any."""

    db: str | None = None
    branch: str | None = None
    aggregate_id: str | None = None
    actor: str | None = None
    states: frozenset[str] = frozenset()


class CommandStatusView(Protocol):
    """Command lifecycle: ACCEPTED from the event store's command log, APPLIED and
    INDEXED when the graph and search checkpoints pass the command's last position,
    COMPLETED when both have, REJECTED from the rejection log, FAILED when one of
    its events was dead-lettered."""

    async def mark_stage(
        self, db: str, stage: str, *, after: int, upto: int
    ) -> None: ...

    async def status(self, command_id: str) -> CommandStatus | None: ...

    async def recent(
        self, *, where: CommandFilter | None = None, limit: int = 50
    ) -> list[CommandStatus]:
        """Accepted and rejected commands matching `where`, newest first."""
        ...
