"""An upload's progress for `progress(runId)` (SPEC §6.1): the client names the run.

An upload with an `idempotencyKey` is the run `ingest:<db>:<idempotencyKey>`
(`domain.dataplane.datasets.ingest_run_id`), so a client knows the id before it
sends the file: it subscribes once the file is sent (the run exists from the
first stage on) and sees `RUNNING` with `done` of `total` steps and the step's
name as `message` (reading, profiling, storing, registering), then `SUCCEEDED`
(message: the version id) or `FAILED` (message: why). Without a key there is no
run to follow: nothing is published.
"""

from __future__ import annotations

from typing import Final

from domain.dataplane.datasets import ingest_run_id
from domain.dataplane.progress import ProgressState
from resolvers.context import ProgressFeed

STEPS: Final = ("reading", "profiling", "storing", "registering")


class IngestProgress:
    def __init__(
        self, feed: ProgressFeed, db: str, idempotency_key: str | None
    ) -> None:
        self._feed, self._db = feed, db
        self.run_id = (
            None if idempotency_key is None else ingest_run_id(db, idempotency_key)
        )
        self._done = 0

    def stage(self, name: str) -> None:
        """A step starts (`name` one of STEPS)."""
        self._done = STEPS.index(name)
        self._publish("RUNNING", name)

    def succeeded(self, version_id: str) -> None:
        self._done = len(STEPS)
        self._publish("SUCCEEDED", f"version {version_id}")

    def failed(self, message: str) -> None:
        self._publish("FAILED", message)

    def _publish(self, stage: str, message: str) -> None:
        if self.run_id is not None:
            state = ProgressState(self.run_id, stage, self._done, len(STEPS), message)
            self._feed.publish(self._db, state)
