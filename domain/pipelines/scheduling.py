"""Which deployed pipelines are due for a build (the scheduler worker's decision).

Pure: made from the recorded deployments, runs and dataset versions and a given
`now`, never from what a process remembers, so a restarted scheduler decides the
same. A pipeline is due when
- its schedule fired since its last run started (or since it was deployed),
- one of its `dataset:` inputs has a latest version its last run did not read
  (with no run yet: a version created after the deployment), or
- a pipeline it depends on succeeded after its own last run started.
A pipeline with a run still RUNNING is never due (no two concurrent runs), unless
that run started more than `abandon_after` ago: its process died (a build records
its outcome even when it fails), and the scheduler records it FAILED. A failed
run counts as the run that read its inputs, so a build that fails on some input
versions is retried by the schedule or by newer versions, not on every tick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.pipelines.deploy import CronRules, Deployment


@dataclass(frozen=True, slots=True)
class RunSeen:
    """A recorded run, as much of it as the decision needs."""

    pipeline: str
    status: str  # RUNNING SUCCEEDED FAILED
    started_at: datetime
    finished_at: datetime | None
    inputs: frozenset[str]  # the dataset version ids it read
    run_id: str = ""


@dataclass(frozen=True, slots=True)
class LatestVersion:
    id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Due:
    pipeline: str
    reason: str  # schedule, input:<dataset>, dependency:<pipeline>


def due_builds(
    deployments: Sequence[Deployment],
    runs: Sequence[RunSeen],
    *,
    inputs: Mapping[str, Sequence[str]],
    latest: Mapping[str, LatestVersion],
    now: datetime,
    cron: CronRules,
    abandon_after: timedelta | None = None,
) -> list[Due]:
    """`inputs`: each pipeline's `dataset:` input names; `latest`: each dataset's
    latest version. One entry per due pipeline, with the first reason found."""
    by_pipeline: dict[str, list[RunSeen]] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        by_pipeline.setdefault(run.pipeline, []).append(run)
    gone = {r.run_id for r in abandoned_runs(runs, now=now, after=abandon_after)}
    found: list[Due] = []
    for d in deployments:
        own = by_pipeline.get(d.pipeline, [])
        if any(r.status == "RUNNING" and r.run_id not in gone for r in own):
            continue
        last = own[-1] if own else None
        reason = (
            _scheduled(d, last, now, cron)
            or _new_input(d, last, inputs.get(d.pipeline, ()), latest)
            or _upstream(d, last, by_pipeline)
        )
        if reason is not None:
            found.append(Due(d.pipeline, reason))
    return found


def abandoned_runs(
    runs: Sequence[RunSeen], *, now: datetime, after: timedelta | None
) -> list[RunSeen]:
    """RUNNING runs that started more than `after` ago (None: never abandoned)."""
    if after is None:
        return []
    return [r for r in runs if r.status == "RUNNING" and now - r.started_at > after]


def _since(d: Deployment, last: RunSeen | None) -> datetime:
    # A redeployment restarts the clock only when it is later than the last run.
    return max(d.deployed_at, last.started_at) if last else d.deployed_at


def _scheduled(
    d: Deployment, last: RunSeen | None, now: datetime, cron: CronRules
) -> str | None:
    if d.schedule is None:
        return None
    since = _since(d, last)
    if d.schedule.cron is not None:
        return "schedule" if cron.fired(d.schedule.cron, since, now) else None
    seconds = d.schedule.interval_seconds or 0
    return "schedule" if now - since >= timedelta(seconds=seconds) else None


def _new_input(
    d: Deployment,
    last: RunSeen | None,
    datasets: Sequence[str],
    latest: Mapping[str, LatestVersion],
) -> str | None:
    for name in datasets:
        version = latest.get(name)
        if version is None:
            continue
        if last is not None and version.id not in last.inputs:
            return f"input:{name}"
        if last is None and version.created_at > d.deployed_at:
            return f"input:{name}"
    return None


def _upstream(
    d: Deployment, last: RunSeen | None, by_pipeline: Mapping[str, Sequence[RunSeen]]
) -> str | None:
    since = _since(d, last)
    for upstream in d.depends_on:
        done = [
            r.finished_at
            for r in by_pipeline.get(upstream, ())
            if r.status == "SUCCEEDED" and r.finished_at is not None
        ]
        if done and max(done) > since:
            return f"dependency:{upstream}"
    return None
