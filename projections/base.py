"""What a projection is, and the tracking port every consumer records progress in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from domain.events import EventEnvelope, StreamId


class Projection(Protocol):
    """A read model fed by events.

    `apply` must be idempotent and version-guarded: applying an event twice, or
    an event older than what the sink holds, changes nothing. The consumer loop
    guarantees per-aggregate order on top of that.
    """

    name: str

    async def apply(self, events: Sequence[EventEnvelope]) -> None: ...


@runtime_checkable
class IgnoresAggregateTypes(Protocol):
    """Optional on a projection: the aggregate types whose events it never reads
    (the catalog has nothing to do with instances). Their events are not passed
    to `apply`, and the consumer keeps no stream versions for them, only marks
    them processed. Whole aggregate types, not event types: a stream the
    projection reads must have every one of its events tracked, or the next one
    it reads would look like a gap."""

    ignored_aggregate_types: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    id: int
    consumer: str
    event: EventEnvelope
    error_type: str
    error: str
    attempts: int
    status: str  # dead | redrive_requested | redriven
    created_at: str


class ConsumerState(Protocol):
    """Durable progress of one consumer: processed ids, stream versions, parked
    events, per-database checkpoints and dead letters."""

    async def processed_ids(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """The subset of the ids this consumer already processed."""
        ...

    async def versions(
        self, consumer: str, streams: Sequence[StreamId]
    ) -> dict[StreamId, int]:
        """Last applied seq per stream; unknown streams are absent."""
        ...

    async def record(
        self,
        consumer: str,
        processed: Sequence[EventEnvelope],
        applied: Sequence[EventEnvelope],
        *,
        advance: Mapping[str, int] | None = None,
    ) -> dict[str, int]:
        """Marks events processed and raises stream versions to the applied seqs,
        atomically; then, in the same transaction, advances the checkpoint of each
        database in `advance` (from the given position) and returns the new ones."""
        ...

    async def park(self, consumer: str, event: EventEnvelope) -> None: ...

    async def parked(self, consumer: str, stream: StreamId) -> list[EventEnvelope]:
        """Parked events of a stream in seq order."""
        ...

    async def unpark(self, consumer: str, event_ids: Sequence[str]) -> None: ...

    async def parked_streams(self, consumer: str) -> list[StreamId]:
        """Streams that have parked events waiting for a predecessor."""
        ...

    async def checkpoints(self, consumer: str) -> dict[str, int]:
        """Per database: every position up to it is processed."""
        ...

    async def advance_checkpoint(self, consumer: str, db: str, current: int) -> int:
        """Moves the checkpoint over the gapless prefix of processed positions;
        returns the new checkpoint."""
        ...

    async def dead_letter(
        self, consumer: str, event: EventEnvelope, error: BaseException, attempts: int
    ) -> None:
        """Stores the event with its error and marks it processed (so redelivery
        does not dead-letter it again)."""
        ...

    async def dead_letters(
        self, consumer: str | None = None, *, status: str | None = None
    ) -> list[DeadLetter]: ...

    async def request_redrive(self, dead_letter_id: int) -> bool: ...

    async def mark_redriven(self, dead_letter_id: int) -> None: ...
