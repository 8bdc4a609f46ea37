"""Read-model ports: what projections write and resolvers read, as Protocols."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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


# --- the audit trail (tamper-evident, hash-chained per database) ---------------

# The chain of actions bound to no database (token issue, grants on every
# database). Database names start with a letter, so it can never be one.
SYSTEM_DB = "_system"
AUDIT_KINDS = frozenset({"command", "admin", "grant", "token", "denied"})


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One action to record: who (`principal`) did what (`kind`, `action`) in
    which request, when (UTC). `ref`, when set, is unique per (db, kind): a
    record whose ref is already in the chain is skipped, so redelivery is safe."""

    db: str
    kind: str  # one of AUDIT_KINDS
    action: str
    principal: str
    request_id: str
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)  # small JSON object
    ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditChainEntry:
    """A recorded entry: its hash covers every other field and `prev_hash`."""

    db: str
    seq: int
    at: str  # ISO-8601 UTC, as hashed
    kind: str
    action: str
    principal: str
    request_id: str
    detail: Mapping[str, Any]
    ref: str | None
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        """The export form: one JSON line per entry, every hashed field."""
        return {
            "db": self.db,
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "action": self.action,
            "principal": self.principal,
            "request_id": self.request_id,
            "detail": dict(self.detail),
            "ref": self.ref,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditChainReport:
    db: str
    ok: bool
    entries: int
    first_broken_seq: int | None = None
    problem: str | None = None


class AuditTrail(Protocol):
    """Append-only, hash-chained audit entries, one chain per database."""

    async def append(self, records: Sequence[AuditRecord]) -> None:
        """Appends the records in order to their databases' chains, atomically.
        Safe with any number of processes appending at once (serialised per
        database); a record whose (db, kind, ref) is already recorded is skipped."""
        ...

    async def verify(self, db: str) -> AuditChainReport:
        """Recomputes the chain of `db` from its first entry; reports the first
        changed, removed or reordered entry. An empty chain is ok."""
        ...

    async def page(
        self, db: str, *, after_seq: int | None = None, limit: int = 100
    ) -> list[AuditChainEntry]:
        """Entries of `db` in chain order, from after `after_seq`."""
        ...

    def export(self, db: str) -> AsyncIterator[dict[str, Any]]:
        """Every entry of `db` in chain order as `AuditChainEntry.as_json()`."""
        ...
