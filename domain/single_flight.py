"""One load per key at a time: concurrent callers that miss the same cache entry
share the load that is already running instead of each starting their own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The result of the load running for `key`, or of `load()` started now.

        A caller that is cancelled stops waiting; the load goes on for the others.
        A failed load fails everyone waiting on it, and the next call starts anew."""
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(load())
            self._running[key] = running
            running.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(running)

    def forget(self, key: K) -> None:
        """Callers from now on start a fresh load (what is running may be stale)."""
        self._running.pop(key, None)

    def _finished(self, key: K, done: asyncio.Future[V]) -> None:
        if self._running.get(key) is done:
            del self._running[key]
        if not done.cancelled():
            done.exception()  # retrieved: nobody may be left waiting to see it
