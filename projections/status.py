"""Waiting for a command to reach a stage (read-your-writes for `wait:`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

STAGE_BY_CONSUMER = {"graph": "APPLIED", "search": "INDEXED"}


class StageWaiter:
    """Tracks, per (stage, database), the position every event up to which has
    reached that stage; wakes waiters when it moves. Other processes' progress is
    seen by polling `load` (the durable checkpoint)."""

    def __init__(
        self, load: Callable[[str, str], Awaitable[int]], *, poll_interval: float = 0.1
    ) -> None:
        self._load = load
        self._poll = poll_interval
        self._reached: dict[tuple[str, str], int] = {}
        self._changed = asyncio.Condition()

    async def advanced(self, stage: str, db: str, position: int) -> None:
        async with self._changed:
            key = (stage, db)
            self._reached[key] = max(self._reached.get(key, 0), position)
            self._changed.notify_all()

    async def wait(
        self, stage: str, db: str, position: int, *, max_wait: float
    ) -> bool:
        """True once every event up to `position` reached the stage, False on time-out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            if await self._reached_position(stage, db, position) >= position:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait(), min(self._poll, remaining)
                    )

    async def _reached_position(self, stage: str, db: str, position: int) -> int:
        key = (stage, db)
        known = self._reached.get(key, 0)
        if known >= position:
            return known
        loaded = await self._load(stage, db)
        self._reached[key] = max(known, loaded)
        return self._reached[key]
