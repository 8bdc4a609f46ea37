"""`deployPipeline` (SPEC §6.1): a schedule and/or pipelines it depends on, checked
(cron parses, one of cron and intervalSeconds, known pipelines, no cycle) and
recorded on the pipeline's stream; the scheduler worker acts on it."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from domain.commands import CommandMeta, DeployPipeline
from domain.errors import DomainError, FieldError
from domain.events import MAIN_BRANCH, EventEnvelope, StreamId
from domain.ids import new_command_id
from domain.pipelines.deploy import (
    Deployment,
    Schedule,
    dependency_cycle,
    deployment_of,
    schedule_errors,
)
from domain.pipelines.records import PIPELINE, pipeline_versions
from resolvers.commands import validation_error
from resolvers.context import Context
from resolvers.pipelines import pipeline_type, problem
from schema import pipeline_types as t
from schema.scalars import DateTime

Info = strawberry.Info[Context, None]


async def deploy_pipeline(
    info: Info,
    db: str,
    pipeline: strawberry.ID,
    schedule: t.ScheduleInput | None = None,
    depends_on: list[strawberry.ID] | None = None,
) -> t.PipelineResult:
    ctx = info.context
    try:
        await ctx.ports.ontologies.branch_context(db, MAIN_BRANCH)
    except DomainError as error:  # the database does not exist
        return problem(error.code, error.message, "db")
    wanted = (
        None if schedule is None else Schedule(schedule.cron, schedule.interval_seconds)
    )
    needs = tuple(dict.fromkeys(str(d) for d in depends_on or ()))
    errors = await _problems(ctx, db, str(pipeline), wanted, needs)
    if errors:
        return validation_error(errors[0].message, errors)
    command = DeployPipeline(
        db=db, pipeline_id=str(pipeline), cron=wanted.cron if wanted else None,
        interval_seconds=wanted.interval_seconds if wanted else None, depends_on=needs,
    )  # fmt: skip
    meta = CommandMeta(command_id=new_command_id(), actor=ctx.actor)
    await ctx.ports.dispatcher.dispatch(command, meta)
    found = await read_pipeline(ctx, db, str(pipeline))
    if found is None:  # checked above: only a broken store loses it
        raise RuntimeError(f"pipeline {pipeline} was not found after deploying")
    return found


async def _problems(
    ctx: Context,
    db: str,
    pipeline: str,
    schedule: Schedule | None,
    needs: Sequence[str],
) -> list[FieldError]:
    streams = await _pipeline_streams(ctx, db)
    if pipeline not in streams:
        message = f"no pipeline {pipeline!r}"
        return [FieldError(("pipeline",), "unknown_pipeline", message)]
    errors = schedule_errors(schedule, ctx.ports.cron)
    errors += [
        FieldError(("dependsOn", d), "unknown_pipeline", f"no pipeline {d!r}")
        for d in needs
        if d not in streams
    ]
    others = {
        p: d.depends_on for p, d in _deployments(streams).items() if p != pipeline
    }
    cycle = dependency_cycle(pipeline, needs, others)
    if cycle is not None:
        message = "dependency cycle: " + " -> ".join(cycle)
        errors.append(FieldError(("dependsOn",), "dependency_cycle", message))
    return errors


async def _pipeline_streams(ctx: Context, db: str) -> dict[str, list[EventEnvelope]]:
    events = await ctx.ports.store.read_aggregate_type(db, MAIN_BRANCH, PIPELINE)
    streams: dict[str, list[EventEnvelope]] = {}
    for e in events:
        streams.setdefault(e.aggregate_id, []).append(e)
    return streams


def _deployments(streams: dict[str, list[EventEnvelope]]) -> dict[str, Deployment]:
    found = {p: deployment_of(events) for p, events in streams.items()}
    return {p: d for p, d in found.items() if d is not None}


async def pipeline(info: Info, db: str, id: strawberry.ID) -> t.Pipeline | None:
    return await read_pipeline(info.context, db, str(id))


async def read_pipeline(ctx: Context, db: str, pipeline_id: str) -> t.Pipeline | None:
    """The pipeline's latest version with its deployment."""
    events = await ctx.ports.store.read_stream(
        StreamId(db, MAIN_BRANCH, PIPELINE, pipeline_id)
    )
    versions = pipeline_versions(events)
    if not versions:
        return None
    found = pipeline_type(versions[-1])
    found.deployment = deployment_type(deployment_of(events))
    return found


def deployment_type(found: Deployment | None) -> t.PipelineDeployment | None:
    if found is None:
        return None
    s = found.schedule
    return t.PipelineDeployment(
        version=found.version,
        schedule=None if s is None else t.Schedule(cron=s.cron, interval_seconds=s.interval_seconds),
        depends_on=[strawberry.ID(d) for d in found.depends_on],
        deployed_at=DateTime(found.deployed_at.isoformat()),
    )  # fmt: skip
