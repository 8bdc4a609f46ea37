"""`defineMapping`, `objectify` and `objectifyRun` (SPEC §6.1): mappings are
versioned event streams, a run reads its dataset version's rows, goes through
the gates and writes through the command path (resolvers/objectify.py), and
its outcome is recorded as an event of its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import asdict
from functools import partial
from typing import Any

import strawberry

from domain.commands import CommandMeta, DefineMapping, RecordObjectifyRun
from domain.dataplane import datasets as ds
from domain.dataplane.mapping import MappingSpec, validate_mapping
from domain.dataplane.progress import ProgressState
from domain.dataplane.records import (
    MAPPING,
    OBJECTIFY_RUN,
    MappingVersion,
    mapping_versions,
    run_record,
)
from domain.errors import DomainError, FieldError
from domain.events import MAIN_BRANCH, StreamId
from domain.ids import new_command_id
from resolvers.commands import validation_error
from resolvers.context import Context
from resolvers.datasets import dataset_of
from resolvers.objectify import ObjectifyOutcome, ObjectifyRequest
from resolvers.objectify import objectify as write
from resolvers.plain import to_plain
from schema import dataplane_types as t
from schema.results import CommandStage, ValidationError

Info = strawberry.Info[Context, None]
log = logging.getLogger(__name__)


async def define_mapping(info: Info, db: str, input: t.MappingInput) -> t.MappingResult:
    ctx = info.context
    spec = MappingSpec.from_input(_input_of(input))
    try:
        branch = await ctx.ports.ontologies.branch_context(db, MAIN_BRANCH)
    except DomainError as error:
        return _problem(error.code, error.message, "db")
    version = await _latest_version(ctx, db, spec.dataset)
    if version is None:
        return _problem(
            "unknown_dataset", f"no dataset {spec.dataset!r}", "input", "dataset"
        )
    columns = [str(c["name"]) for c in version.columns]
    problems = validate_mapping(branch.ontology, spec, columns)
    if problems:
        return validation_error(f"invalid mapping {spec.id!r}", problems)
    command = DefineMapping(db=db, mapping_id=spec.id, spec=spec.as_input())
    await _dispatch(ctx, command)
    latest = (await _mapping(ctx, db, spec.id))[-1]
    return _mapping_type(latest)


async def objectify(
    info: Info,
    db: str,
    mapping: strawberry.ID,
    branch: str = MAIN_BRANCH,
    dataset_version: strawberry.ID | None = None,
    allow_partial: bool = False,
    wait: CommandStage | None = None,
    delete_missing: bool = False,
) -> t.ObjectifyResult:
    ctx = info.context
    versions = await _mapping(ctx, db, str(mapping))
    if not versions:
        return _problem("unknown_mapping", f"no mapping {mapping!r}", "mapping")
    latest = versions[-1]
    version = await _dataset_version(ctx, db, latest.spec.dataset, dataset_version)
    if version is None:
        return _problem(
            "unknown_dataset_version", "no such dataset version", "datasetVersion"
        )
    run_id = f"run-{new_command_id()}"
    request = ObjectifyRequest(
        db=db, branch=branch, spec=latest.spec, mapping_version=latest.version,
        dataset_version=version.id, run_id=run_id, allow_partial=allow_partial,
        delete_missing=delete_missing, actor=ctx.actor,
    )  # fmt: skip
    run = _Run(ctx, request, version, wait)
    if wait is None:
        # Answers at once (RUNNING); `progress(runId)` follows it, `objectifyRun`
        # reads its outcome once recorded.
        ctx.ports.progress.keep(asyncio.create_task(run.background()))
        return _run_type(run_id, run.started())
    return _run_type(run_id, await run.complete())


class _Run:
    """One objectify run: publishes its progress, writes, records its outcome."""

    def __init__(
        self,
        ctx: Context,
        request: ObjectifyRequest,
        version: ds.DatasetVersion,
        wait: CommandStage | None,
    ) -> None:
        self.ctx, self.request, self.version, self.wait = ctx, request, version, wait

    def started(self) -> dict[str, Any]:
        self._publish("RUNNING", 0, self.version.row_count, "reading rows")
        return _record_of(self.request, status="RUNNING", rows=self.version.row_count)

    async def complete(self) -> dict[str, Any]:
        self.started()
        # Read in batches as the run checks them: it holds keys, not rows.
        rows = self.ctx.ports.datasets.batches(self.version.blob_key)
        progress = partial(self._publish, "RUNNING", message="writing")
        outcome = await write(self.ctx.ports, self.request, rows, progress=progress)
        await _settled(self.ctx, outcome, self.wait)
        record = _record(outcome, self.request)
        await self._recorded(record)
        return record

    async def background(self) -> None:
        try:
            await self.complete()
        except Exception as error:  # recorded, so that the run never looks stuck
            log.exception("objectify run %s failed", self.request.run_id)
            record = _record_of(
                self.request, status="FAILED", rows=self.version.row_count
            )
            record["errors"] = [{"row": 0, "column": None, "code": "run_failed",
                                 "message": f"the run stopped: {type(error).__name__}"}]  # fmt: skip
            await self._recorded(record)

    async def _recorded(self, record: dict[str, Any]) -> None:
        command = RecordObjectifyRun(
            db=self.request.db, run_id=self.request.run_id, outcome=record
        )
        await _dispatch(self.ctx, command)
        self._publish(
            str(record["status"]), int(record["rows"]), int(record["rows"]), "done"
        )

    def _publish(self, stage: str, done: int, total: int, message: str = "") -> None:
        state = ProgressState(self.request.run_id, stage, done, total, message)
        self.ctx.ports.progress.publish(self.request.db, state)


async def objectify_run(
    info: Info, db: str, id: strawberry.ID
) -> t.ObjectifyRun | None:
    stream = StreamId(db, MAIN_BRANCH, OBJECTIFY_RUN, str(id))
    found = run_record(await info.context.ports.store.read_stream(stream))
    return None if found is None else _run_type(found.run_id, found.outcome)


# --- reading -----------------------------------------------------------------------


async def _mapping(ctx: Context, db: str, mapping_id: str) -> list[MappingVersion]:
    stream = StreamId(db, MAIN_BRANCH, MAPPING, mapping_id)
    return mapping_versions(await ctx.ports.store.read_stream(stream))


async def _versions(ctx: Context, db: str, name: str) -> list[ds.DatasetVersion]:
    return (await dataset_of(ctx, db, name)).versions


async def _latest_version(ctx: Context, db: str, name: str) -> ds.DatasetVersion | None:
    versions = await _versions(ctx, db, name)
    return versions[-1] if versions else None


async def _dataset_version(
    ctx: Context, db: str, name: str, wanted: strawberry.ID | None
) -> ds.DatasetVersion | None:
    versions = await _versions(ctx, db, name)
    if wanted is None:
        return versions[-1] if versions else None
    return next((v for v in versions if v.id == str(wanted)), None)


# --- writing -----------------------------------------------------------------------


async def _dispatch(ctx: Context, command: DefineMapping | RecordObjectifyRun) -> None:
    meta = CommandMeta(command_id=new_command_id(), actor=ctx.actor)
    await ctx.ports.dispatcher.dispatch(command, meta)


async def _settled(
    ctx: Context, outcome: ObjectifyOutcome, wait: CommandStage | None
) -> None:
    """With `wait`, returns once the run's last command reached that stage."""
    stages = {
        CommandStage.APPLIED: ("APPLIED",),
        CommandStage.INDEXED: ("APPLIED", "INDEXED"),
    }
    if wait not in stages or not outcome.command_ids:
        return
    status = await ctx.ports.status.status(outcome.command_ids[-1])
    if status is None or status.last_position is None:
        return
    for stage in stages[wait]:
        await ctx.ports.waiter.wait(
            stage,
            status.db,
            status.last_position,
            max_wait=ctx.ports.limits.max_wait_seconds,
        )


# --- shapes ------------------------------------------------------------------------


def _input_of(value: t.MappingInput) -> dict[str, Any]:
    """The input in its GraphQL spelling, as MappingSpec.from_input reads it."""
    plain: Mapping[str, Any] = to_plain(value)
    return {
        "id": plain.get("id"),
        "dataset": plain.get("dataset"),
        "classId": plain.get("class_id"),
        "properties": plain.get("properties") or [],
        "relationships": plain.get("relationships") or [],
        "computed": plain.get("computed") or [],
        "timezone": plain.get("timezone") or "UTC",
    }


def _record(outcome: ObjectifyOutcome, request: ObjectifyRequest) -> dict[str, Any]:
    record = _record_of(request, status=outcome.status, rows=outcome.rows)
    record.update(
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        deleted=outcome.deleted,
        rejected=outcome.rejected,
        errors=[asdict(e) for e in outcome.errors],
        commandIds=list(outcome.command_ids),
    )
    return record


def _record_of(request: ObjectifyRequest, *, status: str, rows: int) -> dict[str, Any]:
    """A run's record with nothing counted yet."""
    return {
        "status": status,
        "rows": rows,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "rejected": 0,
        "errors": [],
        "commandIds": [],
        "mapping": f"{request.spec.id}:{request.mapping_version}",
        "datasetVersion": request.dataset_version,
        "classId": request.spec.class_id,
        "branch": request.branch,
    }


def _run_type(run_id: str, record: Mapping[str, Any]) -> t.ObjectifyRun:
    return t.ObjectifyRun(
        id=strawberry.ID(run_id),
        status=str(record["status"]),
        rows=int(record["rows"]),
        created=int(record["created"]),
        updated=int(record["updated"]),
        unchanged=int(record["unchanged"]),
        deleted=int(record.get("deleted", 0)),  # absent from runs before deletes
        rejected=int(record["rejected"]),
        errors=[
            t.ObjectifyError(
                row=int(e["row"]),
                column=e.get("column"),
                code=str(e["code"]),
                message=str(e["message"]),
            )
            for e in record["errors"]
        ],
        command_ids=[strawberry.ID(c) for c in record["commandIds"]],
        mapping=str(record["mapping"]),
        dataset_version=strawberry.ID(str(record["datasetVersion"])),
    )


def _mapping_type(version: MappingVersion) -> t.MappingType:
    spec = version.spec
    return t.MappingType(
        id=strawberry.ID(spec.id),
        version=version.version,
        class_id=strawberry.ID(spec.class_id),
        dataset=spec.dataset,
    )


def _problem(code: str, message: str, *path: str) -> ValidationError:
    return validation_error(message, [FieldError(tuple(path), code, message)])
