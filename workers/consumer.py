"""The consumer algorithm shared by every projection: idempotent, ordered per
aggregate, retrying, dead-lettering, checkpointing over a gapless prefix."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from domain.events import MAIN_BRANCH, EventEnvelope, StreamId
from domain.ports import EventStore
from projections.base import ConsumerState, IgnoresAggregateTypes, Projection
from workers.faults import CrashPlan, crash_point
from workers.tracing import batch_span, stage_span

log = logging.getLogger(__name__)

CheckpointHook = Callable[[str, str, int, int], Awaitable[None]]
# (consumer, event, error, attempts): told after the dead letter is stored.
DeadLetterHook = Callable[[str, EventEnvelope, BaseException, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2**attempt))


def is_retriable(error: BaseException) -> bool:
    """Infrastructure errors say so with a `retriable` attribute (adapters.errors)."""
    return bool(getattr(error, "retriable", False))


def is_outage(error: BaseException) -> bool:
    """A store that is down (`outage` attribute: adapters.errors.StoreUnavailable)
    fails every event alike; that is no reason to dead-letter the one at hand."""
    return bool(getattr(error, "outage", False))


class ProjectionConsumer:
    """Runs one projection over batches of delivered events.

    Order of durable writes per batch: the projection's sink (idempotent,
    version-guarded), then the tracking records, then - by the caller - the bus
    offset. A crash between any two steps loses nothing and duplicates nothing.
    """

    def __init__(
        self,
        projection: Projection,
        state: ConsumerState,
        store: EventStore,
        *,
        retry: RetryPolicy | None = None,
        on_checkpoint: CheckpointHook | None = None,
        on_dead_letter: DeadLetterHook | None = None,
        crash: CrashPlan | None = None,
    ) -> None:
        self.projection = projection
        self.name = projection.name
        self._state = state
        self._store = store
        self._retry = retry or RetryPolicy()
        self._on_checkpoint = on_checkpoint
        self._on_dead_letter = on_dead_letter
        self._crash = crash
        self._ignored = ignored_aggregate_types(projection)
        self._checkpoints: dict[str, int] | None = None
        self._parked_streams: set[StreamId] | None = None

    async def handle(self, delivered: Sequence[EventEnvelope]) -> None:
        # One span per batch, in the trace of the commands behind it.
        with batch_span(f"project {self.name}", delivered):
            await self._handle(delivered)

    async def _handle(self, delivered: Sequence[EventEnvelope]) -> None:
        events = _unique(delivered)
        # Events of streams the projection never reads are only marked processed
        # (the checkpoint needs their positions): no lookups, no stream versions.
        ignored = [e for e in events if e.aggregate_type in self._ignored]
        tracked = [e for e in events if e.aggregate_type not in self._ignored]
        with stage_span(f"{self.name} lookups"):
            done, versions = await self._progress(tracked)
        todo = [e for e in tracked if e.event_id not in done]
        ready, stale, gaps = _classify(todo, versions)
        stale += ignored
        for event in gaps:
            await self._park(event)
        with stage_span(f"{self.name} apply"):
            applied, blocked = await self._apply(ready)
        for event in blocked:
            await self._park(event)
        crash_point(self._crash, "after_sink")
        dbs = {e.db for e in events}
        if await self._must_drain(applied):
            await self._state.record(self.name, [*stale, *applied], applied)
            crash_point(self._crash, "after_tracking")
            await self._drain({e.stream for e in applied}, versions)
            await self._advance(dbs)
        else:
            # Common case: nothing parked behind these events, so tracking and the
            # checkpoint move in one transaction.
            old = await self._known_checkpoints(dbs)
            with stage_span(f"{self.name} record"):
                moved = await self._state.record(
                    self.name, [*stale, *applied], applied, advance=old
                )
            crash_point(self._crash, "after_tracking")
            with stage_span(f"{self.name} checkpoint"):
                await self._checkpoints_moved(old, moved)

    async def _progress(
        self, events: Sequence[EventEnvelope]
    ) -> tuple[set[str], dict[StreamId, int]]:
        """The ids already processed and the applied seq of every stream."""
        if not events:
            return set(), {}
        # Two independent reads, so one round trip's wait instead of two; the
        # versions of streams whose events all turn out done are simply unused.
        return await asyncio.gather(
            self._state.processed_ids(self.name, [e.event_id for e in events]),
            self._versions(events),
        )

    async def _must_drain(self, applied: Sequence[EventEnvelope]) -> bool:
        parked = await self._parked()
        return any(e.stream in parked for e in applied)

    async def _known_checkpoints(self, dbs: set[str]) -> dict[str, int]:
        if self._checkpoints is None:
            self._checkpoints = await self._state.checkpoints(self.name)
        return {db: self._checkpoints.get(db, 0) for db in sorted(dbs)}

    async def _checkpoints_moved(
        self, old: dict[str, int], new: dict[str, int]
    ) -> None:
        known = self._checkpoints if self._checkpoints is not None else {}
        self._checkpoints = known
        for db, position in new.items():
            known[db] = max(position, known.get(db, 0))
            if position > old[db] and self._on_checkpoint is not None:
                await self._on_checkpoint(self.name, db, old[db], position)

    async def redrive_requested(self) -> int:
        """Re-applies dead letters whose redrive was requested through the API."""
        letters = await self._state.dead_letters(self.name, status="redrive_requested")
        for letter in letters:
            versions = await self._versions([letter.event])
            if letter.event.seq != versions[letter.event.stream] + 1:
                await self._state.mark_redriven(
                    letter.id
                )  # superseded: nothing to apply
                continue
            applied, _ = await self._apply([letter.event])
            if applied:
                await self._state.record(self.name, applied, applied)
                await self._state.mark_redriven(letter.id)
                await self._drain({letter.event.stream}, versions)
                await self._advance({letter.event.db})
        return len(letters)

    async def _versions(self, events: Sequence[EventEnvelope]) -> dict[StreamId, int]:
        streams = sorted({e.stream for e in events})
        versions = await self._state.versions(self.name, streams)
        for stream in streams:
            if stream not in versions:
                versions[stream] = await self._branch_base(stream)
        return versions

    async def _branch_base(self, stream: StreamId) -> int:
        """A stream on a branch continues its parent's seq: its first event on the
        branch follows the head the branch inherited at the fork."""
        if stream.branch == MAIN_BRANCH:
            return 0
        own = [
            e
            for e in await self._store.read_stream(stream)
            if e.branch == stream.branch
        ]
        return own[0].seq - 1 if own else 0

    async def _apply(
        self, ready: Sequence[EventEnvelope]
    ) -> tuple[list[EventEnvelope], list[EventEnvelope]]:
        """Applies in order; an event that keeps failing is dead-lettered and the
        later events of its stream are held back (returned as blocked)."""
        if not ready:
            return [], []
        if await self._attempt(ready, dead_letter=False):
            return list(ready), []
        applied: list[EventEnvelope] = []
        blocked: list[EventEnvelope] = []
        failed_streams: set[StreamId] = set()
        for event in ready:
            if event.stream in failed_streams:
                blocked.append(event)
            elif await self._attempt([event], dead_letter=True):
                applied.append(event)
            else:
                failed_streams.add(event.stream)
        return applied, blocked

    async def _attempt(
        self, events: Sequence[EventEnvelope], *, dead_letter: bool
    ) -> bool:
        for attempt in range(self._retry.attempts):
            try:
                await self.projection.apply(events)
                return True
            except Exception as error:
                if is_retriable(error) and attempt + 1 < self._retry.attempts:
                    await asyncio.sleep(self._retry.delay(attempt))
                    continue
                if is_outage(error):
                    # The batch fails and stays uncommitted; the loop retries it
                    # with backoff until the store is back (R14).
                    raise
                if dead_letter:
                    log.warning(
                        "dead-lettering %s for %s: %r",
                        events[0].event_id,
                        self.name,
                        error,
                    )
                    await self._state.dead_letter(
                        self.name, events[0], error, attempt + 1
                    )
                    if self._on_dead_letter is not None:
                        await self._on_dead_letter(
                            self.name, events[0], error, attempt + 1
                        )
                return False
        return False

    async def _park(self, event: EventEnvelope) -> None:
        await self._state.park(self.name, event)
        (await self._parked()).add(event.stream)

    async def _drain(
        self, streams: set[StreamId], versions: dict[StreamId, int]
    ) -> None:
        """Applies parked successors of streams that just advanced."""
        parked_streams = await self._parked()
        for stream in sorted(streams & parked_streams):
            waiting = await self._state.parked(self.name, stream)
            # The recorded version, not the batch's: `_classify` counted every ready
            # event as applied, but one may have been dead-lettered (its parked
            # successors are not stale), and a redrive has just moved the stream.
            recorded = await self._state.versions(self.name, [stream])
            last = recorded.get(stream, versions.get(stream, 0))
            stale = [e for e in waiting if e.seq <= last]
            applied, _ = await self._apply(_successors(waiting, last))
            if applied or stale:
                await self._state.record(self.name, [*stale, *applied], applied)
                await self._state.unpark(
                    self.name, [e.event_id for e in [*stale, *applied]]
                )
            if len(applied) + len(stale) == len(waiting):
                parked_streams.discard(stream)

    async def _parked(self) -> set[StreamId]:
        if self._parked_streams is None:
            self._parked_streams = await self._all_parked_streams()
        return self._parked_streams

    async def _all_parked_streams(self) -> set[StreamId]:
        # Loaded lazily: a restarted consumer must resume draining what it parked.
        return set(await self._state.parked_streams(self.name))

    async def _advance(self, dbs: set[str]) -> None:
        old = await self._known_checkpoints(dbs)
        new = {
            db: await self._state.advance_checkpoint(self.name, db, old[db])
            for db in old
        }
        await self._checkpoints_moved(old, new)


def ignored_aggregate_types(projection: Projection) -> frozenset[str]:
    """What the projection declares it never reads; nothing unless it says so."""
    if isinstance(projection, IgnoresAggregateTypes):
        return frozenset(projection.ignored_aggregate_types)
    return frozenset()


def _unique(events: Sequence[EventEnvelope]) -> list[EventEnvelope]:
    seen: set[str] = set()
    unique = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    return unique


def _classify(
    events: Sequence[EventEnvelope], versions: dict[StreamId, int]
) -> tuple[list[EventEnvelope], list[EventEnvelope], list[EventEnvelope]]:
    """Splits into ready (next seq), stale (already applied) and gaps (too new).

    Events of one stream are taken in seq order, so a batch holding 2 then 1
    applies both; `versions` is advanced for the ready ones."""
    ready, stale, gaps = [], [], []
    for event in sorted(events, key=lambda e: (e.stream, e.seq)):
        last = versions[event.stream]
        if event.seq <= last:
            stale.append(event)
        elif event.seq == last + 1:
            ready.append(event)
            versions[event.stream] = event.seq
        else:
            gaps.append(event)
    ready.sort(key=lambda e: (e.db, e.position))
    return ready, stale, gaps


def _successors(waiting: Sequence[EventEnvelope], last: int) -> list[EventEnvelope]:
    chain = []
    for event in sorted(waiting, key=lambda e: e.seq):
        if event.seq <= last:
            continue
        if event.seq != last + 1:
            break
        chain.append(event)
        last = event.seq
    return chain
