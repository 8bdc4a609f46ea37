"""Progress of long runs (objectify now; ingest and builds later) for the
`progress(runId)` subscription: each run publishes its stage and counts, every
subscriber of the run gets the latest state and then each change, until the
run ends. In-process: a run is followed on the server that runs it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from domain.dataplane.progress import FINAL_STAGES, ProgressState

KEEP_FINISHED = 1_000  # finished runs remembered for late subscribers


@dataclass(slots=True)
class _Run:
    db: str
    state: ProgressState
    changed: asyncio.Event


class ProgressHub:
    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def publish(self, db: str, state: ProgressState) -> None:
        run = self._runs.get(state.run_id)
        if run is None:
            run = self._runs[state.run_id] = _Run(db, state, asyncio.Event())
        run.state = state
        run.changed.set()
        run.changed = asyncio.Event()
        self._forget_old()

    def db_of(self, run_id: str) -> str | None:
        run = self._runs.get(run_id)
        return run.db if run is not None else None

    def latest(self, run_id: str) -> ProgressState | None:
        run = self._runs.get(run_id)
        return run.state if run is not None else None

    async def follow(self, run_id: str) -> AsyncIterator[ProgressState]:
        """The run's latest state, then every change, until a final stage."""
        run = self._runs.get(run_id)
        if run is None:
            return
        while True:
            state, changed = run.state, run.changed
            yield state
            if state.stage in FINAL_STAGES:
                return
            await changed.wait()

    def keep(self, task: asyncio.Task[None]) -> None:
        """Holds a background run's task until it finishes."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget_old(self) -> None:
        finished = [k for k, r in self._runs.items() if r.state.stage in FINAL_STAGES]
        for key in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._runs[key]
