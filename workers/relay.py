"""Outbox relay: publishes committed events to the message bus in commit order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from opentelemetry.trace import SpanKind

from domain.events import EventEnvelope
from domain.ports import EventStore, MessageBus
from workers.faults import CrashPlan, crash_point
from workers.tracing import batch_span, mark_batch, stage_span

log = logging.getLogger(__name__)


class RelayCheckpoints(Protocol):
    async def load(self, relay: str) -> dict[str, int]: ...

    async def save(self, relay: str, db: str, position: int) -> None: ...


class PayloadArchive(Protocol):
    """Writes each committed command batch to the event-payload store once
    (adapters.event_store.payloads); optional."""

    async def archive(
        self, db: str, *, upto: int, events: Sequence[EventEnvelope] = ()
    ) -> int: ...


class OutboxRelay:
    """Reads each database's events past its checkpoint and publishes them.

    Positions are allocated in commit order (the event store serialises them), so
    reading `position > checkpoint` can never pass over an event that commits
    later. Delivery is at-least-once: a crash after publishing and before saving
    the checkpoint republishes the same events, with the same event ids.
    """

    def __init__(
        self,
        store: EventStore,
        bus: MessageBus,
        checkpoints: RelayCheckpoints,
        *,
        name: str = "relay",
        batch_size: int = 1000,
        start_from: Callable[[], Awaitable[dict[str, int]]] | None = None,
        crash: CrashPlan | None = None,
        payloads: PayloadArchive | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._checkpoints = checkpoints
        self._name = name
        self._batch = batch_size
        self._start_from = start_from
        self._crash = crash
        self._payloads = payloads
        self._positions: dict[str, int] | None = None
        self.wake = asyncio.Event()

    async def pump(self) -> int:
        """Publishes everything committed so far; returns how many events it sent."""
        positions = await self._load()
        sent = 0
        for db, last in sorted((await self._store.last_positions()).items()):
            while positions.get(db, 0) < last:
                events = await self._read(db, positions.get(db, 0))
                if not events:
                    break
                with batch_span("relay publish", events, kind=SpanKind.PRODUCER):
                    await self._send(db, events)
                positions[db] = events[-1].position
                sent += len(events)
        return sent

    async def _read(self, db: str, after: int) -> list[EventEnvelope]:
        with stage_span("relay read") as span:
            events = await self._store.read_positions(
                db, after_position=after, limit=self._batch
            )
            mark_batch(span, events)
        return events

    async def _send(self, db: str, events: Sequence[EventEnvelope]) -> None:
        if self._payloads is not None:
            # Archived before published: nothing reaches the bus without
            # its write-once copy in the payload store.
            with stage_span("relay archive"):
                await self._payloads.archive(
                    db, upto=events[-1].position, events=events
                )
        crash_point(self._crash, "relay_before_send")
        with stage_span("relay send"):
            await self._bus.publish(events)
        crash_point(self._crash, "relay_after_send")
        if self._bus.durable:
            with stage_span("relay checkpoint"):
                await self._checkpoints.save(self._name, db, events[-1].position)

    async def run(self, stop: asyncio.Event, *, poll_interval: float = 0.05) -> None:
        while not stop.is_set():
            # Cleared before reading, so a commit during the pump (which sets it)
            # ends the idle wait that follows at once.
            self.wake.clear()
            try:
                if await self.pump() == 0:
                    await self._idle(stop, poll_interval)
            except Exception as error:
                log.warning("relay failed, retrying: %r", error)
                await self._idle(stop, max(poll_interval, 0.5))

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [
            asyncio.ensure_future(self.wake.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(
                waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        for waiter in waiters:
            waiter.cancel()

    async def _load(self) -> dict[str, int]:
        if self._positions is None:
            # A non-durable (in-process) bus starts empty: refill it from the lowest
            # checkpoint of the consumers that will read it.
            if not self._bus.durable and self._start_from is not None:
                self._positions = await self._start_from()
            else:
                self._positions = await self._checkpoints.load(self._name)
        return self._positions
