"""`buildPipeline` and `pipelineRun` (SPEC §6.1): a build computes and checks every
output on the engine, and only when all pass stores each as a new dataset version
through the same registration as uploads; the run is an event stream (its start,
its outcome) and publishes progress on `progress(runId)`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import strawberry

from domain.commands import CommandMeta, RecordPipelineRun, RegisterDatasetVersion
from domain.dataplane import datasets as ds
from domain.dataplane.progress import ProgressState
from domain.errors import ConcurrencyConflict, ValidationFailed
from domain.events import MAIN_BRANCH, StreamId
from domain.ids import new_command_id
from domain.pipelines.plan import ValidatedPipeline
from domain.pipelines.ports import BuildOutcome, BuiltOutput, EngineFailure
from domain.pipelines.records import PIPELINE_RUN, PipelineRunRecord
from domain.pipelines.records import pipeline_run as run_of
from resolvers.commands import validation_error
from resolvers.context import Context
from resolvers.pipeline_sources import planned, versions_of
from resolvers.pipelines import problem
from schema import pipeline_types as t
from schema.results import ValidationError
from schema.scalars import JSON, DateTime

Info = strawberry.Info[Context, None]
log = logging.getLogger(__name__)
_CONFLICT_RETRIES = 3


async def build_pipeline(
    info: Info,
    db: str,
    pipeline: strawberry.ID,
    engine: t.Engine | None = t.Engine.EMBEDDED,
    wait: bool | None = False,
) -> t.PipelineRunResult:
    ctx = info.context
    if engine not in (None, t.Engine.EMBEDDED):
        return problem(
            "engine_unavailable",
            "the SPARK engine is not available on this server; use EMBEDDED",
            "engine",
        )
    run = await start_build(ctx, db, str(pipeline))
    if not isinstance(run, Build):
        return run
    if wait:
        await run.complete()
    else:
        ctx.ports.progress.keep(asyncio.create_task(run.complete()))
    found = await _read(ctx, db, run.run_id)
    if found is None:  # recorded above: only a broken store loses it
        raise RuntimeError(f"run {run.run_id} was not recorded")
    return found


async def start_build(ctx: Context, db: str, pipeline: str) -> Build | ValidationError:
    """A build of the pipeline's latest version, recorded as RUNNING (so that the
    scheduler sees it); `complete()` runs it. Used by buildPipeline and the scheduler."""
    versions = await versions_of(ctx, db, pipeline)
    if not versions:
        return problem("unknown_pipeline", f"no pipeline {pipeline!r}", "pipeline")
    try:
        plan = await planned(ctx, db, versions[-1].spec)
    except ValidationFailed as error:  # an input changed since the definition
        return validation_error(error.message, error.errors)
    run = Build(ctx, db, plan, versions[-1].version, f"build-{new_command_id()}")
    await run.started()
    return run


async def pipeline_run(info: Info, db: str, id: strawberry.ID) -> t.PipelineRun | None:
    return await _read(info.context, db, str(id))


async def _read(ctx: Context, db: str, run_id: str) -> t.PipelineRun | None:
    stream = StreamId(db, MAIN_BRANCH, PIPELINE_RUN, run_id)
    found = run_of(await ctx.ports.store.read_stream(stream))
    return None if found is None else run_type(found)


class Build:
    """One build: records its start, runs, stores and registers, records its outcome."""

    def __init__(
        self, ctx: Context, db: str, plan: ValidatedPipeline, version: int, run_id: str
    ) -> None:
        self.ctx, self.db, self.plan, self.run_id = ctx, db, plan, run_id
        self.base = {
            "engine": "EMBEDDED", "pipeline": plan.spec.id, "version": version,
            "inputs": sorted({s.version_id for s in plan.sources.values()}),
            "outputs": [], "errors": [],
        }  # fmt: skip

    async def started(self) -> None:
        await self._record({**self.base, "status": "RUNNING"})
        self._publish("RUNNING", 0, len(self.plan.spec.outputs), "starting")

    async def complete(self) -> None:
        try:
            outcome = await self.ctx.ports.pipelines.build(
                self.plan, on_stage=self._stage
            )
            record = await self._finished(outcome)
        except EngineFailure as failure:
            record = self._failed(failure.node, "engine", failure.message)
        except Exception as error:  # recorded, so that the run never looks stuck
            log.exception("pipeline run %s failed", self.run_id)
            record = self._failed(
                "", "run_failed", f"the run stopped: {type(error).__name__}"
            )
        await self._record(record)
        total = len(self.plan.spec.outputs)
        self._publish(str(record["status"]), total, total, "done")

    async def _finished(self, outcome: BuildOutcome) -> dict[str, Any]:
        if outcome.failures:
            for built in outcome.outputs:
                built.parquet.unlink(missing_ok=True)
            return {
                **self.base,
                "status": "FAILED",
                "errors": [asdict(f) for f in outcome.failures],
            }
        outputs: list[dict[str, Any]] = []
        for built in outcome.outputs:
            self._publish(
                "RUNNING",
                len(outputs),
                len(outcome.outputs),
                f"storing {built.dataset}",
            )
            outputs.append(await self._published(built))
        return {**self.base, "status": "SUCCEEDED", "outputs": outputs}

    async def _published(self, built: BuiltOutput) -> dict[str, Any]:
        version_id = ds.version_id_of(built.dataset, built.content_hash)
        key = ds.blob_key_of(self.db, built.dataset, version_id)
        try:
            await self.ctx.ports.datasets.store(key, built.parquet)
        finally:
            built.parquet.unlink(missing_ok=True)
        command = RegisterDatasetVersion(
            db=self.db, name=built.dataset, version_id=version_id, content_hash=built.content_hash,
            blob_key=key, row_count=built.row_count, format="PARQUET",
            filename=f"pipeline {self.plan.spec.id} run {self.run_id}", columns=tuple(built.columns),
        )  # fmt: skip
        await self._dispatch(command)
        return {
            "dataset": built.dataset,
            "version": version_id,
            "rowCount": built.row_count,
        }

    def _failed(self, node: str, rule: str, message: str) -> dict[str, Any]:
        error = {
            "node": node,
            "rule": rule,
            "message": message,
            "count": 0,
            "examples": [],
        }
        return {**self.base, "status": "FAILED", "errors": [error]}

    async def _record(self, record: Mapping[str, Any]) -> None:
        await self._dispatch(
            RecordPipelineRun(db=self.db, run_id=self.run_id, record=record)
        )

    async def _dispatch(
        self, command: RecordPipelineRun | RegisterDatasetVersion
    ) -> None:
        for attempt in range(_CONFLICT_RETRIES):
            try:
                meta = CommandMeta(command_id=new_command_id(), actor=self.ctx.actor)
                await self.ctx.ports.dispatcher.dispatch(command, meta)
                return
            except ConcurrencyConflict:  # another version of the dataset landed first
                if attempt == _CONFLICT_RETRIES - 1:
                    raise

    def _stage(self, message: str, done: int, total: int) -> None:
        self._publish("RUNNING", done, total, message)

    def _publish(self, stage: str, done: int, total: int, message: str) -> None:
        state = ProgressState(self.run_id, stage, done, total, message)
        self.ctx.ports.progress.publish(self.db, state)


def run_type(found: PipelineRunRecord) -> t.PipelineRun:
    r = found.record
    return t.PipelineRun(
        id=strawberry.ID(found.run_id),
        status=str(r["status"]),
        engine=t.Engine(str(r.get("engine", "EMBEDDED"))),
        pipeline=strawberry.ID(str(r["pipeline"])),
        version=int(r["version"]),
        outputs=[t.PipelineRunOutput(dataset=str(o["dataset"]), version=strawberry.ID(str(o["version"])),
                                     row_count=int(o["rowCount"])) for o in r.get("outputs", [])],
        errors=[t.PipelineRunError(node=str(e["node"]), rule=str(e["rule"]), message=str(e["message"]),
                                   count=int(e["count"]), examples=[JSON(x) for x in e.get("examples", [])])
                for e in r.get("errors", [])],
        started_at=DateTime(found.started_at.isoformat()),
        finished_at=DateTime(found.finished_at.isoformat()) if found.finished_at else None,
    )  # fmt: skip
