"""`spice worker scheduler`: every `scheduler_poll_interval` seconds, starts the
builds that domain/pipelines/scheduling.py finds due, through the same path as
`buildPipeline` (EMBEDDED engine). Each build is recorded RUNNING before it
runs, and decisions are read from those records, so one scheduler never starts a
pipeline twice concurrently and a restarted one carries on where it stopped.
Two scheduler processes at once are not supported: both could start the same
due pipeline in the same tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from app.bootstrap import Container
from app.graphql.endpoint import limits_of, ports_of
from app.scheduler_state import schedule_state
from domain.commands import CommandMeta, RecordPipelineRun
from domain.ids import new_command_id
from domain.pipelines.deploy import CronRules
from domain.pipelines.scheduling import Due, RunSeen, abandoned_runs, due_builds
from resolvers.context import Context
from resolvers.pipeline_runs import Build, start_build

log = logging.getLogger(__name__)
ACTOR = SCHEDULER = "scheduler"


def utc_now() -> datetime:
    return datetime.now(UTC)


class PipelineScheduler:
    def __init__(
        self,
        context: Context,
        *,
        databases: Callable[[], Awaitable[Sequence[str]]],
        cron: CronRules,
        clock: Callable[[], datetime] = utc_now,
        abandon_after: timedelta | None = None,
    ) -> None:
        self.context, self.databases, self.cron, self.clock = (
            context, databases, cron, clock,
        )  # fmt: skip
        self.abandon_after = abandon_after
        self._running: set[asyncio.Task[None]] = set()

    async def tick(self) -> list[tuple[Due, str]]:
        """Starts every due build; returns each with its run id."""
        started: list[tuple[Due, str]] = []
        for db in await self.databases():
            started += await self._tick_db(db)
        return started

    async def _tick_db(self, db: str) -> list[tuple[Due, str]]:
        state = await schedule_state(self.context.ports.store, db)
        now = self.clock()
        for stuck in abandoned_runs(state.runs, now=now, after=self.abandon_after):
            await self._abandoned(db, stuck)
        due = due_builds(
            state.deployments, state.runs, inputs=state.inputs, latest=state.latest,
            now=now, cron=self.cron, abandon_after=self.abandon_after,
        )  # fmt: skip
        started: list[tuple[Due, str]] = []
        for item in due:
            run_id = await self._start(db, item)
            if run_id is not None:
                started.append((item, run_id))
        return started

    async def _start(self, db: str, item: Due) -> str | None:
        run = await start_build(self.context, db, item.pipeline)
        if not isinstance(run, Build):  # e.g. an input dropped a column
            log.warning("cannot build %s/%s: %s", db, item.pipeline, run.message)
            return None
        log.info(
            "started %s for %s/%s (%s)", run.run_id, db, item.pipeline, item.reason
        )
        self._keep(asyncio.create_task(run.complete()))
        return run.run_id

    async def _abandoned(self, db: str, run: RunSeen) -> None:
        message = (
            f"no outcome {self.abandon_after} after its start: its process stopped"
        )
        error = {"node": "", "rule": "abandoned", "message": message, "count": 0}
        record = {"status": "FAILED", "errors": [{**error, "examples": []}]}
        command = RecordPipelineRun(db=db, run_id=run.run_id, record=record)
        meta = CommandMeta(command_id=new_command_id(), actor=self.context.actor)
        await self.context.ports.dispatcher.dispatch(command, meta)
        log.warning("run %s of %s/%s abandoned", run.run_id, db, run.pipeline)

    def _keep(self, task: asyncio.Task[None]) -> None:
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain(self) -> None:
        """Waits for the builds this process started."""
        await asyncio.gather(*self._running, return_exceptions=True)

    async def run(self, stop: asyncio.Event, *, poll_interval: float) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # a store outage: the next tick reads again
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_interval)
        await self.drain()


async def run_scheduler(
    container: Container,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """The worker process: builds run in it, with the API's ports and limits."""
    settings = container.settings
    context = Context(ports=ports_of(container, limits_of(settings)), actor=ACTOR)

    async def databases() -> list[str]:
        return [d.name for d in await container.catalog.databases()]

    scheduler = PipelineScheduler(
        context, databases=databases, cron=context.ports.cron, clock=clock,
        abandon_after=timedelta(seconds=settings.scheduler_abandon_after),
    )  # fmt: skip
    await scheduler.run(stop, poll_interval=settings.scheduler_poll_interval)
