"""Waiting for a command to reach a stage (read-your-writes for `wait:`)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
from collections.abc import Awaitable, Callable

STAGE_BY_CONSUMER = {"graph": "APPLIED", "search": "INDEXED"}

Key = tuple[str, str]  # (stage, database)
# A key reported in-process within this many seconds is not polled.
PUSH_QUIET_SECONDS = 1.0


class StageWaiter:
    """Tracks, per (stage, database), the position up to which every event reached
    that stage, and wakes exactly the waiters it satisfies.

    In-process consumers report progress through `advanced`; progress made by other
    processes is seen by one poller per key (only while someone waits), which reads
    the durable checkpoint through `load` every `poll_interval` seconds.
    """

    def __init__(
        self, load: Callable[[str, str], Awaitable[int]], *, poll_interval: float = 0.1
    ) -> None:
        self._load = load
        self._poll = poll_interval
        self._reached: dict[Key, int] = {}
        self._waiting: dict[Key, list[tuple[int, int, asyncio.Future[None]]]] = {}
        self._pollers: dict[Key, asyncio.Task[None]] = {}
        # When a consumer of this process last reported each key (loop time).
        self._pushed: dict[Key, float] = {}
        self._order = itertools.count()

    @property
    def poll_interval(self) -> float:
        return self._poll

    async def advanced(self, stage: str, db: str, position: int) -> None:
        self._pushed[(stage, db)] = asyncio.get_running_loop().time()
        self._reach((stage, db), position)

    def reached(self, stage: str, db: str) -> int:
        return self._reached.get((stage, db), 0)

    async def wait(
        self, stage: str, db: str, position: int, *, max_wait: float
    ) -> bool:
        """True once every event up to `position` reached the stage, False on time-out."""
        key = (stage, db)
        if self._reached.get(key, 0) >= position:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(
            self._waiting.setdefault(key, []), (position, next(self._order), future)
        )
        self._ensure_poller(key)
        try:
            # Awaited directly: a time-out cancels the future, which leaves the
            # heap at the next `_reach` (no shield, no wait_for task per wait).
            async with asyncio.timeout(max_wait):
                await future
        except TimeoutError:
            return False
        return True

    def _reach(self, key: Key, position: int) -> None:
        if position <= self._reached.get(key, 0):
            return
        self._reached[key] = position
        heap = self._waiting.get(key, [])
        while heap and (heap[0][0] <= position or heap[0][2].done()):
            _, _, future = heapq.heappop(heap)
            if not future.done():
                future.set_result(None)

    def _ensure_poller(self, key: Key) -> None:
        task = self._pollers.get(key)
        if task is None or task.done():
            self._pollers[key] = asyncio.create_task(self._poll_while_waited(key))

    async def _poll_while_waited(self, key: Key) -> None:
        while any(not f.done() for _, _, f in self._waiting.get(key, [])):
            quiet = asyncio.get_running_loop().time() - self._pushed.get(key, -math.inf)
            # While a consumer of this process reports the key (every batch),
            # reading its checkpoint as well would only cost queries.
            if quiet >= PUSH_QUIET_SECONDS:
                with contextlib.suppress(Exception):  # retried next round
                    self._reach(key, await self._load(*key))
            await asyncio.sleep(self._poll)
