"""The loop every consumer runs: fetch, handle, commit; retry on failure; stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from domain.ports import Delivery, MessageBus
from workers.consumer import ProjectionConsumer, RetryPolicy, is_retriable
from workers.faults import CrashPlan, crash_point
from workers.tracing import stage_span

log = logging.getLogger(__name__)

REDRIVE_CHECK_SECONDS = 1.0


async def run_consumer(
    bus: MessageBus,
    consumer: ProjectionConsumer,
    stop: asyncio.Event,
    *,
    batch_size: int = 500,
    max_wait: float = 0.05,
    min_interval: float = 0.0,
    retry: RetryPolicy | None = None,
    crash: CrashPlan | None = None,
) -> None:
    """Runs until `stop` is set. A failing batch is retried with backoff and its
    offsets are never committed before it is handled.

    `min_interval` spaces batches at least that many seconds apart: a batch
    costs the same handful of round trips however few events it holds, so a
    consumer nobody waits on lets events pile up and handles them together."""
    retry = retry or RetryPolicy()
    subscription = await bus.subscribe(consumer.name)
    loop = asyncio.get_running_loop()
    next_redrive_check = 0.0
    try:
        while not stop.is_set():
            deliveries = await subscription.fetch(
                max_items=batch_size, max_wait=max_wait
            )
            if deliveries:
                started = loop.time()
                await _handle_until_done(consumer, deliveries, stop, retry)
                crash_point(crash, "before_commit")
                with stage_span(f"{consumer.name} commit"):
                    await subscription.commit(deliveries)
                await _pause(stop, started + min_interval - loop.time())
            if loop.time() >= next_redrive_check:
                await consumer.redrive_requested()
                next_redrive_check = loop.time() + REDRIVE_CHECK_SECONDS
    finally:
        await subscription.close()


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleeps up to `seconds`, ending early when `stop` is set."""
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def _handle_until_done(
    consumer: ProjectionConsumer,
    deliveries: list[Delivery],
    stop: asyncio.Event,
    retry: RetryPolicy,
) -> None:
    attempt = 0
    while True:
        try:
            await consumer.handle([d.envelope for d in deliveries])
            return
        except Exception as error:
            # Tracking store trouble: the batch stays uncommitted and is retried;
            # anything else is a bug and stops this consumer loudly.
            if not is_retriable(error) and not isinstance(error, OSError):
                raise
            log.warning(
                "consumer %s: batch failed (%r), retrying", consumer.name, error
            )
            await asyncio.sleep(retry.delay(min(attempt, 8)))
            attempt += 1
            if stop.is_set():
                raise
