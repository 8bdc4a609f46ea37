"""Pipelines read from the event store: their versions, the input versions their
references name, and validation against those versions' schemas."""

from __future__ import annotations

from collections.abc import Mapping

from domain.dataplane import datasets as ds
from domain.events import MAIN_BRANCH, StreamId
from domain.pipelines.plan import Source, ValidatedPipeline
from domain.pipelines.records import PIPELINE, PipelineVersion, pipeline_versions
from domain.pipelines.spec import DATASET_REF, VERSION_REF, PipelineSpec
from domain.pipelines.types import Column, source_type
from domain.pipelines.validate import input_refs, validate
from resolvers.context import Context
from resolvers.datasets import all_datasets


async def versions_of(ctx: Context, db: str, pipeline_id: str) -> list[PipelineVersion]:
    stream = StreamId(db, MAIN_BRANCH, PIPELINE, pipeline_id)
    return pipeline_versions(await ctx.ports.store.read_stream(stream))


async def sources_of(ctx: Context, db: str, spec: PipelineSpec) -> dict[str, Source]:
    """Every reference that names a stored version (`dataset:` its latest);
    the others stay out, and validation reports them as unknown inputs."""
    found = await all_datasets(ctx, db)
    by_id = {v.id: v for d in found.values() for v in d.versions}
    sources: dict[str, Source] = {}
    for ref in sorted(input_refs(spec)):
        version = _version(found, by_id, ref)
        if version is not None:
            sources[ref] = _source(ref, version)
    return sources


def _version(
    found: Mapping[str, ds.Dataset], by_id: Mapping[str, ds.DatasetVersion], ref: str
) -> ds.DatasetVersion | None:
    if ref.startswith(VERSION_REF):
        return by_id.get(ref.removeprefix(VERSION_REF))
    dataset = found.get(ref.removeprefix(DATASET_REF))
    return dataset.versions[-1] if dataset and dataset.versions else None


def _source(ref: str, version: ds.DatasetVersion) -> Source:
    schema = tuple(
        Column(str(c["name"]), source_type(c.get("type"))) for c in version.columns
    )
    return Source(
        ref=ref, version_id=version.id, dataset=version.dataset,
        blob_key=version.blob_key, columns=version.columns, schema=schema,
    )  # fmt: skip


async def planned(ctx: Context, db: str, spec: PipelineSpec) -> ValidatedPipeline:
    """Raises PipelineInvalid (a ValidationFailed) naming node and column."""
    for output in spec.outputs:
        ds.check_name(output.dataset)
    sources = await sources_of(ctx, db, spec)
    return validate(spec, sources, ctx.ports.pipelines.expressions)
