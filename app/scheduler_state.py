"""What the scheduler reads of one database, all from the event store: deployments,
the runs recorded so far and the latest version of every dataset."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.dataplane import datasets as ds
from domain.events import MAIN_BRANCH, EventEnvelope
from domain.pipelines.deploy import Deployment, deployment_of
from domain.pipelines.records import (
    PIPELINE,
    PIPELINE_RUN,
    pipeline_run,
    pipeline_versions,
)
from domain.pipelines.scheduling import LatestVersion, RunSeen
from domain.pipelines.spec import DATASET_REF
from domain.pipelines.validate import input_refs
from domain.ports import EventStore


@dataclass(frozen=True, slots=True)
class ScheduleState:
    deployments: Sequence[Deployment]
    runs: Sequence[RunSeen]
    inputs: Mapping[str, Sequence[str]]  # pipeline -> its `dataset:` inputs
    latest: Mapping[str, LatestVersion]  # dataset -> its latest version


async def schedule_state(store: EventStore, db: str) -> ScheduleState:
    pipelines = _streams(await store.read_aggregate_type(db, MAIN_BRANCH, PIPELINE))
    runs = _streams(await store.read_aggregate_type(db, MAIN_BRANCH, PIPELINE_RUN))
    datasets = ds.datasets_of(
        await store.read_aggregate_type(db, MAIN_BRANCH, ds.DATASET)
    )
    deployments = [d for d in map(deployment_of, pipelines.values()) if d is not None]
    return ScheduleState(
        deployments=deployments,
        runs=[r for r in map(_run_seen, runs.values()) if r is not None],
        inputs={d.pipeline: _inputs(pipelines[d.pipeline]) for d in deployments},
        latest={
            name: LatestVersion(d.versions[-1].id, d.versions[-1].created_at)
            for name, d in datasets.items()
            if d.versions
        },
    )


def _streams(events: Iterable[EventEnvelope]) -> dict[str, list[EventEnvelope]]:
    found: dict[str, list[EventEnvelope]] = defaultdict(list)
    for e in events:
        found[e.aggregate_id].append(e)
    return found


def _run_seen(events: Sequence[EventEnvelope]) -> RunSeen | None:
    found = pipeline_run(events)
    if found is None:
        return None
    r = found.record
    return RunSeen(
        pipeline=str(r["pipeline"]), status=str(r["status"]),
        started_at=found.started_at, finished_at=found.finished_at,
        inputs=frozenset(str(i) for i in r.get("inputs", ())),
        run_id=found.run_id,
    )  # fmt: skip


def _inputs(events: Sequence[EventEnvelope]) -> list[str]:
    versions = pipeline_versions(events)
    if not versions:
        return []
    refs = input_refs(versions[-1].spec)
    # `dataset-version:` references are pinned: a new version never concerns them.
    return sorted(
        r.removeprefix(DATASET_REF) for r in refs if r.startswith(DATASET_REF)
    )
