"""`definePipeline`, `pipeline` and `previewPipeline` (SPEC §6.1): a pipeline is a
versioned event stream, validated against its input versions before it is stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

from domain.commands import CommandMeta, DefinePipeline
from domain.errors import DomainError, FieldError, ValidationFailed
from domain.events import MAIN_BRANCH
from domain.ids import new_command_id
from domain.pipelines.ports import Preview
from domain.pipelines.records import PipelineVersion
from domain.pipelines.spec import PipelineSpec
from resolvers.commands import validation_error
from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.pipeline_sources import planned, versions_of
from resolvers.plain import to_plain
from schema import pipeline_types as t
from schema.results import ValidationError
from schema.scalars import JSON

Info = strawberry.Info[Context, None]
MAX_PREVIEW_ROWS = 1_000


async def define_pipeline(
    info: Info, db: str, input: t.PipelineInput
) -> t.PipelineResult:
    ctx = info.context
    try:
        await ctx.ports.ontologies.branch_context(db, MAIN_BRANCH)
        spec = PipelineSpec.from_input(to_plain(input))
        await planned(ctx, db, spec)
    except ValidationFailed as error:
        return validation_error(error.message, error.errors)
    except DomainError as error:  # the database does not exist
        return problem(error.code, error.message, "db")
    command = DefinePipeline(db=db, pipeline_id=spec.id, spec=spec.as_input())
    meta = CommandMeta(command_id=new_command_id(), actor=ctx.actor)
    await ctx.ports.dispatcher.dispatch(command, meta)
    return pipeline_type((await versions_of(ctx, db, spec.id))[-1])


async def preview_pipeline(
    info: Info,
    db: str,
    pipeline: strawberry.ID,
    node: strawberry.ID | None = None,
    limit: int | None = 200,
) -> t.PipelinePreview:
    limit = 200 if limit is None else limit
    if not 0 <= limit <= MAX_PREVIEW_ROWS:
        raise RequestError(f"limit must be between 0 and {MAX_PREVIEW_ROWS}")
    ctx = info.context
    versions = await versions_of(ctx, db, str(pipeline))
    if not versions:
        raise RequestError(f"pipeline {pipeline!r} does not exist", code="NOT_FOUND")
    spec = versions[-1].spec
    target = str(node) if node is not None else spec.outputs[0].node
    if spec.node(target) is None:
        raise RequestError(
            f"pipeline {pipeline!r} has no node {target!r}", code="NOT_FOUND"
        )
    try:
        plan = await planned(ctx, db, spec)
    except ValidationFailed as error:  # an input changed since the definition
        return t.PipelinePreview(columns=[], rows=[], row_count=0, errors=[
            t.PreviewError(node=target, message=e.message) for e in error.errors])  # fmt: skip
    return _preview_type(await ctx.ports.pipelines.preview(plan, target, limit=limit))


def _preview_type(found: Preview) -> t.PipelinePreview:
    return t.PipelinePreview(
        columns=[t.PipelineColumn(name=c.name, type=c.type) for c in found.schema],
        rows=[JSON(dict(r)) for r in found.rows],
        row_count=found.row_count,
        errors=[t.PreviewError(node=n, message=m) for n, m in found.errors],
    )


def pipeline_type(version: PipelineVersion) -> t.Pipeline:
    data: Mapping[str, Any] = version.spec.as_input()
    return t.Pipeline(
        id=strawberry.ID(version.spec.id),
        version=version.version,
        nodes=JSON(data["nodes"]),
        outputs=JSON(data["outputs"]),
    )


def problem(code: str, message: str, *path: str) -> ValidationError:
    return validation_error(message, [FieldError(tuple(path), code, message)])
