"""Live events for subscriptions: one tail of the message bus per process, fanned
out to feeds by (db, branch) and to subscribers by shape.

The tail reads from the bus's end without a consumer group (nothing is committed,
no projection is slowed down); it runs only while some subscription is open. A
feed's pipeline (the GraphQL layer's filter) runs once per shape, whatever the
number of its subscribers. A subscriber that falls too far behind is dropped
with an error rather than holding events in memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain.events import EventEnvelope
from domain.ports import MessageBus

log = logging.getLogger(__name__)

T = TypeVar("T")
QUEUE_SIZE = 1000
_END = object()


class SubscriberTooSlowError(Exception):
    """The subscriber did not keep up with its feed and was dropped."""


@dataclass(eq=False, slots=True)
class _Feed:
    """One shape: its pipeline task and its subscribers' queues."""

    db: str
    branch: str
    subscribers: set[asyncio.Queue[Any]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class ChangeFeed:
    def __init__(self, bus: MessageBus, *, fetch_wait: float = 0.5) -> None:
        self._bus = bus
        self._fetch_wait = fetch_wait
        self._feeds: dict[Hashable, _Feed] = {}
        # Per (db, branch): the inboxes of the pipelines reading it.
        self._routes: dict[tuple[str, str], set[asyncio.Queue[Any]]] = {}
        self._tail: asyncio.Task[None] | None = None

    @property
    def open_feeds(self) -> int:
        return len(self._feeds)

    @asynccontextmanager
    async def shared(
        self,
        key: Hashable,
        *,
        db: str,
        branch: str,
        pipeline: Callable[[AsyncIterator[EventEnvelope]], AsyncIterator[T]],
    ) -> AsyncIterator[AsyncIterator[T]]:
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = _Feed(db, branch)
            feed.task = asyncio.create_task(self._run(feed, pipeline))
            self._ensure_tail()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_SIZE)
        feed.subscribers.add(queue)
        try:
            yield _drain(queue)
        finally:
            feed.subscribers.discard(queue)
            if not feed.subscribers:
                await self._close_feed(key, feed)

    async def _run(
        self,
        feed: _Feed,
        pipeline: Callable[[AsyncIterator[EventEnvelope]], AsyncIterator[T]],
    ) -> None:
        inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_SIZE)
        route = self._routes.setdefault((feed.db, feed.branch), set())
        route.add(inbox)
        try:
            async for item in pipeline(_drain(inbox)):
                for queue in list(feed.subscribers):
                    _offer(queue, item)
        except Exception as error:
            log.warning("change feed pipeline failed: %r", error)
            for queue in list(feed.subscribers):
                _offer(queue, error)
        finally:
            route.discard(inbox)

    async def _close_feed(self, key: Hashable, feed: _Feed) -> None:
        self._feeds.pop(key, None)
        if feed.task is not None:
            feed.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed.task
        if not self._feeds and self._tail is not None:
            tail, self._tail = self._tail, None
            tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tail

    def _ensure_tail(self) -> None:
        if self._tail is None or self._tail.done():
            self._tail = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        """Routes every event on the bus to the pipelines of its (db, branch)."""
        subscription = await self._bus.tail()
        try:
            while True:
                try:
                    deliveries = await subscription.fetch(
                        max_items=500, max_wait=self._fetch_wait
                    )
                except Exception:
                    log.warning("change feed: bus fetch failed", exc_info=True)
                    await asyncio.sleep(self._fetch_wait)
                    continue
                for delivery in deliveries:
                    event = delivery.envelope
                    for inbox in list(self._routes.get((event.db, event.branch), ())):
                        _offer(inbox, event)
        finally:
            await subscription.close()

    async def close(self) -> None:
        for key, feed in list(self._feeds.items()):
            for queue in feed.subscribers:
                _offer(queue, _END)
            await self._close_feed(key, feed)


def _offer(queue: asyncio.Queue[Any], item: Any) -> None:
    """Puts without waiting; a full queue's reader is too slow and is ended."""
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                queue.get_nowait()
        queue.put_nowait(SubscriberTooSlowError("the subscriber fell too far behind"))


async def _drain(queue: asyncio.Queue[Any]) -> AsyncIterator[Any]:
    while True:
        item = await queue.get()
        if item is _END:
            return
        if isinstance(item, Exception):
            raise item
        yield item
