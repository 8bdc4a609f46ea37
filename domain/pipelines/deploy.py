"""Deployments of pipelines (SPEC §6 "deploy"): a schedule (cron or interval) and/or
pipelines it depends on, recorded on the pipeline's own stream. Deploying again
replaces the deployment (its version goes up); deploying with neither a schedule
nor dependencies undeploys, so a pipeline is taken off the scheduler by the same
mutation that put it there."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from domain.errors import FieldError
from domain.events import EventEnvelope, NewEvent

PIPELINE_DEPLOYED: Final = "pipeline.deployed.v1"
PIPELINE_UNDEPLOYED: Final = "pipeline.undeployed.v1"


class CronRules(Protocol):
    """Cron expressions, read by a library outside the domain (adapters/pipelines/cron.py)."""

    def problem(self, expr: str) -> str | None:
        """Why `expr` does not parse; None when it does."""
        ...

    def fired(self, expr: str, after: datetime, upto: datetime) -> bool:
        """Whether `expr` has a fire time t with after < t <= upto."""
        ...


@dataclass(frozen=True, slots=True)
class Schedule:
    cron: str | None = None
    interval_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Deployment:
    pipeline: str
    version: int  # the deployment's, not the pipeline definition's
    schedule: Schedule | None
    depends_on: tuple[str, ...]
    deployed_at: datetime


def schedule_errors(schedule: Schedule | None, cron: CronRules) -> list[FieldError]:
    """Exactly one of cron and intervalSeconds; a cron that parses; an interval >= 1s."""
    if schedule is None:
        return []
    if (schedule.cron is None) == (schedule.interval_seconds is None):
        message = "give exactly one of cron and intervalSeconds"
        return [FieldError(("schedule",), "invalid_schedule", message)]
    if schedule.cron is not None:
        why = cron.problem(schedule.cron)
        if why is not None:
            message = f"cron {schedule.cron!r} does not parse: {why}"
            return [FieldError(("schedule", "cron"), "invalid_cron", message)]
    if schedule.interval_seconds is not None and schedule.interval_seconds < 1:
        message = "intervalSeconds must be at least 1"
        return [
            FieldError(("schedule", "intervalSeconds"), "invalid_interval", message)
        ]
    return []


def dependency_cycle(
    pipeline: str, depends_on: Sequence[str], others: Mapping[str, Sequence[str]]
) -> list[str] | None:
    """The path back to `pipeline` if it depended on `depends_on`, given what the
    other deployed pipelines depend on; None when there is no cycle."""
    graph = {**others, pipeline: list(depends_on)}
    stack: list[tuple[str, list[str]]] = [(d, [pipeline, d]) for d in depends_on]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        if node == pipeline:
            return path
        if node in seen:
            continue
        seen.add(node)
        stack.extend((n, [*path, n]) for n in graph.get(node, ()))
    return None


def deployment_of(events: Iterable[EventEnvelope]) -> Deployment | None:
    """The pipeline's current deployment, None when never deployed or undeployed."""
    found: Deployment | None = None
    for e in events:
        if e.event_type == PIPELINE_DEPLOYED:
            found = _deployment(e)
        elif e.event_type == PIPELINE_UNDEPLOYED:
            found = None
    return found


def _deployment(e: EventEnvelope) -> Deployment:
    raw = e.data.get("schedule")
    schedule = (
        Schedule(raw.get("cron"), raw.get("intervalSeconds"))
        if isinstance(raw, Mapping)
        else None
    )
    return Deployment(
        pipeline=str(e.aggregate_id), version=int(e.data["deployment"]),
        schedule=schedule, depends_on=tuple(e.data.get("dependsOn") or ()),
        deployed_at=e.occurred_at,
    )  # fmt: skip


def decide_deploy_pipeline(
    stored: Sequence[EventEnvelope],
    schedule: Schedule | None,
    depends_on: Sequence[str],
) -> list[NewEvent]:
    """The next deployment version; an undeployment when neither trigger is given.
    Nothing when it changes nothing, so that the schedule's clock keeps running."""
    current = deployment_of(stored)
    if schedule is None and not depends_on:
        if current is None:
            return []
        return [NewEvent(event_type=PIPELINE_UNDEPLOYED, data={})]
    if current and (current.schedule, current.depends_on) == (
        schedule,
        tuple(depends_on),
    ):
        return []
    deployed = sum(1 for e in stored if e.event_type == PIPELINE_DEPLOYED)
    data = {
        "deployment": deployed + 1,
        "schedule": None
        if schedule is None
        else {"cron": schedule.cron, "intervalSeconds": schedule.interval_seconds},
        "dependsOn": list(depends_on),
    }
    return [NewEvent(event_type=PIPELINE_DEPLOYED, data=data)]
