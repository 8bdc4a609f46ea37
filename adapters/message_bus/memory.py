"""In-process message bus: one ordered log, consumer groups with committed offsets.

It is not durable: a restarted process starts with an empty log, and the relay
refills it from the lowest checkpoint of the local consumers (see workers.relay).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from domain.events import EventEnvelope
from domain.ports import Delivery


class InMemoryMessageBus:
    durable = False

    def __init__(self) -> None:
        self._log: list[EventEnvelope] = []
        self._base = 0  # offset of self._log[0]; entries below every group are trimmed
        self._committed: dict[str, int] = {}
        self._changed = asyncio.Condition()

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        if not envelopes:
            return
        async with self._changed:
            self._log.extend(envelopes)
            self._changed.notify_all()

    async def subscribe(self, group: str) -> InMemorySubscription:
        self._committed.setdefault(group, self._base)
        return InMemorySubscription(self, group, self._committed[group])

    async def tail(self) -> InMemoryTail:
        """Reads what is published from now on; holds no log entry back."""
        return InMemoryTail(self, self.end_offset)

    async def close(self) -> None:
        return None

    @property
    def end_offset(self) -> int:
        return self._base + len(self._log)

    async def _read(
        self, start: int, max_items: int, max_wait: float
    ) -> list[Delivery]:
        async with self._changed:
            if start >= self.end_offset:
                try:
                    await asyncio.wait_for(self._changed.wait(), max_wait)
                except TimeoutError:
                    return []
            first = max(start, self._base) - self._base
            chunk = self._log[first : first + max_items]
            return [
                Delivery(env, self._base + first + i) for i, env in enumerate(chunk)
            ]

    def _commit(self, group: str, offset: int) -> None:
        self._committed[group] = max(self._committed.get(group, 0), offset)
        floor = min(self._committed.values())
        if floor > self._base:
            del self._log[: floor - self._base]
            self._base = floor


class InMemorySubscription:
    def __init__(self, bus: InMemoryMessageBus, group: str, start: int) -> None:
        self._bus = bus
        self._group = group
        self._next = start

    async def fetch(self, *, max_items: int, max_wait: float) -> list[Delivery]:
        deliveries = await self._bus._read(self._next, max_items, max_wait)
        if deliveries:
            self._next = int(deliveries[-1].token) + 1
        return deliveries

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            self._bus._commit(self._group, max(int(d.token) for d in deliveries) + 1)

    async def close(self) -> None:
        return None


class InMemoryTail:
    """A reader outside every group: the log is trimmed without waiting for it,
    so a reader that falls behind skips to the oldest entry still kept."""

    def __init__(self, bus: InMemoryMessageBus, start: int) -> None:
        self._bus = bus
        self._next = start

    async def fetch(self, *, max_items: int, max_wait: float) -> list[Delivery]:
        deliveries = await self._bus._read(self._next, max_items, max_wait)
        if deliveries:
            self._next = int(deliveries[-1].token) + 1
        return deliveries

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        del deliveries  # a tail belongs to no group: there is nothing to commit

    async def close(self) -> None:
        return None
