"""Ports: the Protocols every store and transport adapter implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from domain.claims import Claim
from domain.events import EventEnvelope, NewEvent, StreamId
from domain.queries import Group, GroupField, Measure, NodeFilter, Relation, SortKey


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamAppend:
    """Events for one stream, valid only if the stream head equals `expected_seq`."""

    stream: StreamId
    expected_seq: int
    events: Sequence[NewEvent]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandBatch:
    """Everything one command appends: atomic, all streams or none."""

    db: str
    branch: str
    command_id: str
    request_hash: str
    actor: str
    correlation_id: str
    causation_id: str | None = None
    ontology_version: int = 0
    # The database's registry version the command was validated against; the
    # append fails with StaleModel if it moved (None: do not check).
    registry_version: int | None = None
    # CommandMeta.metadata, stored with each event (request id, trace context).
    metadata: Mapping[str, str] = field(default_factory=dict)
    appends: Sequence[StreamAppend]
    # Unique keys the batch takes and gives up on its branch, settled with the
    # events (domain.claims.settle): a take of a key another holder keeps
    # fails the batch with ClaimTaken.
    claims: Sequence[Claim] = ()
    # Aggregate type -> position: the append fails with ConcurrencyConflict if
    # the branch itself has an event of that type after the position (a change
    # derived from everything of that type read at the position).
    quiet_since: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendResult:
    """Outcome of an append. `duplicate` is true when an identical retry was absorbed."""

    command_id: str
    db: str
    first_position: int
    last_position: int
    heads: Mapping[StreamId, int]
    duplicate: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredCommand:
    """An appended command as the event store recorded it (for idempotent retries)."""

    result: AppendResult
    request_hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchSpan:
    """One step of a branch's lineage: events of `branch` up to `until_position` are visible."""

    branch: str
    until_position: int | None  # None: no limit (the branch itself)


class EventStore(Protocol):
    """The source of truth: per-stream gapless seq, per-database commit-ordered position.

    `append` succeeds iff every stream head equals its `expected_seq` (0: the stream
    must not exist on this branch or any ancestor up to the fork). Positions are
    allocated in commit order, so a reader that sees position p has seen every
    position below p. A batch whose command id was already stored with the same
    `request_hash` returns the stored result with `duplicate=True` and writes
    nothing; with another hash it raises `IdempotencyConflict`. A stale head raises
    `ConcurrencyConflict` carrying the actual seq. The batch's `claims` are settled
    in the same transaction against the keys held on its branch: a take of a key
    another holder keeps raises `ClaimTaken` naming every such key, and of
    concurrent batches taking one key exactly one succeeds.
    """

    async def append(self, batch: CommandBatch) -> AppendResult: ...

    async def stream_head(self, stream: StreamId) -> int:
        """Current seq of the stream as seen on its branch; 0 if it has no events."""
        ...

    async def last_events(
        self, streams: Sequence[StreamId], *, as_of: int | None = None
    ) -> dict[StreamId, EventEnvelope]:
        """The last event of each stream as seen on its branch (as of a position,
        if given); empty streams are absent. All streams must share one database
        and branch."""
        ...

    async def changed_streams(
        self,
        db: str,
        branch: str,
        aggregate_type: str,
        *,
        after_position: int,
        until_position: int,
    ) -> list[str]:
        """Sorted ids of the streams of one aggregate type with an event visible on
        the branch at a position in (after_position, until_position]."""
        ...

    async def find_command(self, command_id: str) -> StoredCommand | None:
        """The stored result of a command id, or None if it never appended."""
        ...

    async def registry_version(self, db: str) -> int:
        """Highest position of any database, branch or class event of the database
        (0 if none): it changes whenever the registry or an ontology changes."""
        ...

    async def has_instances(self, db: str, branch: str, aggregate_prefix: str) -> bool:
        """Whether any instance stream whose id starts with the prefix is visible."""
        ...

    async def read_stream(self, stream: StreamId) -> list[EventEnvelope]:
        """Every event of the stream as seen on its branch, in seq order."""
        ...

    async def read_aggregate_type(
        self, db: str, branch: str, aggregate_type: str, *, after_position: int = 0
    ) -> list[EventEnvelope]:
        """Events of one aggregate type visible on the branch, in position order."""
        ...

    async def read_positions(
        self, db: str, *, after_position: int, limit: int
    ) -> list[EventEnvelope]:
        """Committed events of a database (all branches) in position order."""
        ...

    async def last_positions(self) -> dict[str, int]:
        """The highest committed position of every database."""
        ...

    async def lineage(self, db: str, branch: str) -> list[BranchSpan]:
        """The branch first, then its ancestors, each with its fork limit."""
        ...

    async def position_at(self, db: str, moment: datetime) -> int:
        """The last position of the database committed at or before `moment`
        (an aware instant), by the time each append recorded; 0 if none was."""
        ...

    async def claim_holders(
        self, db: str, branch: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The holder of each (scope, key) held on the branch as it sees its
        lineage (the parent's claims as of the fork, then its own); free keys
        are absent."""
        ...

    async def close(self) -> None: ...


class RejectionLog(Protocol):
    """Where rejected commands are recorded for command status and audit."""

    async def record_rejection(
        self,
        *,
        command_id: str,
        db: str,
        branch: str,
        aggregate_id: str,
        actor: str,
        error: Mapping[str, Any],
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a consumer; `token` is the bus's offset handle."""

    envelope: EventEnvelope
    token: Any


class Subscription(Protocol):
    async def fetch(self, *, max_items: int, max_wait: float) -> list[Delivery]:
        """Waits up to `max_wait` seconds for at least one delivery."""
        ...

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        """Marks every delivery up to these (per partition) as consumed by the group."""
        ...

    async def close(self) -> None: ...


class MessageBus(Protocol):
    """At-least-once transport of event envelopes, ordered per aggregate."""

    durable: bool

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None: ...

    async def subscribe(self, group: str) -> Subscription: ...

    async def tail(self) -> Subscription:
        """A live read from the end of the log in no consumer group: delivers what
        is published from now on, commits nothing, holds nothing back."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeVersion:
    """One version of an instance in the graph store."""

    db: str
    branch: str
    class_id: str
    instance_id: str
    seq: int
    position: int
    deleted: bool
    values: Mapping[str, Any] = field(default_factory=dict)
    links: Mapping[str, Sequence[str]] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadScope:
    """Where a read looks: a database, a branch lineage, and an optional as-of position."""

    db: str
    lineage: Sequence[BranchSpan]
    as_of: int | None = None


@dataclass(frozen=True, slots=True)
class RelatedPage:
    """One parent's page of a nested list: how many related items match in
    all, and the page's items in order (a str is a dangling id, see
    domain.queries.Relation)."""

    total: int
    items: Sequence[NodeVersion | str]


class GraphStore(Protocol):
    """Instance versions and their links, per branch, readable as of a position.

    `put` is version-guarded: writing a (branch, class, id, seq) that exists is a
    no-op, so redelivery is harmless.
    """

    async def put(self, versions: Sequence[NodeVersion]) -> None: ...

    async def get_many(
        self, scope: ReadScope, class_ids: Sequence[str], instance_ids: Sequence[str]
    ) -> dict[str, NodeVersion]:
        """Latest live version of each id among the classes; deleted ones are absent."""
        ...

    async def list_nodes(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[NodeVersion]:
        """Live nodes ordered by instance id, keyset-paginated."""
        ...

    async def linking_to(
        self,
        scope: ReadScope,
        source_class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
        *,
        limit_per_target: int | None = None,
    ) -> list[NodeVersion]:
        """Live source nodes whose current version links to any of the targets.

        With `limit_per_target`, for each target only its first sources in
        instance-id order are guaranteed to be included (at most that many are
        read for it); a source kept for one target may link to others too.
        """
        ...

    async def count_linking_to(
        self,
        scope: ReadScope,
        source_class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
    ) -> dict[str, int]:
        """How many live sources link to each target (every target is a key)."""
        ...

    async def count(self, scope: ReadScope, class_ids: Sequence[str]) -> int: ...

    async def find(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        order: Sequence[SortKey] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> list[NodeVersion] | None:
        """Live nodes matching `where`, in `order` (then by id), a page of them;
        None when the store cannot evaluate this filter or order exactly as
        domain.queries defines it (the caller then evaluates in memory)."""
        ...

    async def count_where(
        self, scope: ReadScope, class_ids: Sequence[str], where: NodeFilter | None
    ) -> int | None:
        """How many live nodes match; None as for `find`."""
        ...

    async def aggregate(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        measures: Sequence[Measure],
        group_by: Sequence[GroupField] = (),
    ) -> list[Group] | None:
        """The live nodes matching `where`, grouped (without `group_by`: one
        group with the key (), even when nothing matches), in no particular
        order; None as for `find`."""
        ...

    async def find_related(
        self,
        scope: ReadScope,
        relation: Relation,
        parent_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        order: Sequence[SortKey] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> dict[str, RelatedPage] | None:
        """Each parent's related items matching `where`, in `order` (then
        by id), from `offset` at most `limit` of them, with the total; one
        statement for all parents where the store can. Every parent is a key
        (callers pass live parents: a dangling one has no related items).
        None as for `find`."""
        ...

    async def content_hash(self, db: str | None = None) -> str:
        """A hash of every stored version: equal content gives an equal hash."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchDocument:
    db: str
    branch: str
    class_id: str
    instance_id: str
    seq: int
    position: int
    deleted: bool
    data: Mapping[str, Any]
    indexed_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldFilter:
    """A typed filter on one document field: `op` in eq ne gt gte lt lte in contains."""

    field: str
    op: str
    value: Any


class SearchIndex(Protocol):
    """One current document per instance and branch; writes are guarded by seq."""

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        """Stores each document unless one with an equal or higher seq is stored."""
        ...

    async def get_many(
        self, db: str, branches: Sequence[str], instance_keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str, str], SearchDocument]:
        """Documents by (branch, class_id, instance_id) for the keys, tombstones included."""
        ...

    async def search(
        self,
        db: str,
        branches: Sequence[str],
        *,
        text: str | None = None,
        class_ids: Sequence[str] | None = None,
        filters: Sequence[FieldFilter] = (),
        limit: int = 20,
    ) -> list[SearchDocument]:
        """Live documents matching the text and filters, best first; the first branch
        that holds a document for an instance wins (branch overlay)."""
        ...

    async def content_hash(self, db: str | None = None) -> str: ...

    async def close(self) -> None: ...


class BlobStore(Protocol):
    """Immutable blobs by key."""

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        """Stores the blob; with `if_absent`, returns False and writes nothing if it exists."""
        ...

    async def put_file(self, key: str, path: Path, *, if_absent: bool = False) -> bool:
        """Stores the file's bytes as the blob, streamed (never held in memory whole);
        readers see the old blob or the whole new one, never a part. With
        `if_absent`, returns False and writes nothing if the key exists."""
        ...

    async def get(self, key: str) -> bytes: ...

    async def get_file(self, key: str, path: Path) -> None:
        """Writes the blob to `path`, streamed; `path` appears only when complete
        (replacing any file there). Raises NotFoundError if the key is absent."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...
