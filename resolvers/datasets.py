"""Datasets: upload a file as an immutable version, list datasets, page rows."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import strawberry

from domain.commands import CommandMeta, RegisterDatasetVersion
from domain.dataplane import datasets as ds
from domain.errors import (
    ConcurrencyConflict,
    DomainError,
    FieldError,
    IdempotencyConflict,
    ValidationFailed,
)
from domain.events import MAIN_BRANCH, StreamId
from domain.ids import new_command_id
from resolvers.commands import validation_error
from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.ingest_progress import IngestProgress
from schema import dataplane_types as t
from schema.results import ValidationError
from schema.scalars import JSON, DateTime

Info = strawberry.Info[Context, None]
_CONFLICT_RETRIES = 3


async def upload_dataset(
    info: Info,
    db: str,
    name: str,
    file: t.Upload,
    options: t.IngestOptions | None = None,
    idempotency_key: str | None = None,
) -> t.DatasetVersionResult:
    """With an idempotencyKey, progress(runId: "ingest:<db>:<key>") follows it
    (resolvers/ingest_progress.py)."""
    upload: ds.Upload = file  # type: ignore[assignment]  # the scalar parsed it
    progress = IngestProgress(info.context.ports.progress, db, idempotency_key)
    try:
        result = await _upload(info.context, db, name, upload, options, progress,
                               idempotency_key)  # fmt: skip
    except BaseException:
        progress.failed("the upload stopped on a server error")
        raise
    if isinstance(result, ValidationError):
        progress.failed(result.message)
    else:
        progress.succeeded(str(result.id))
    return result


async def _upload(
    ctx: Context,
    db: str,
    name: str,
    upload: ds.Upload,
    options: t.IngestOptions | None,
    progress: IngestProgress,
    idempotency_key: str | None,
) -> t.DatasetVersionResult:
    try:
        ds.check_name(name)
        # Before reading the file: a missing database costs no ingest.
        await ctx.ports.ontologies.branch_context(db, MAIN_BRANCH)
        ingested = await ctx.ports.datasets.ingest(
            upload, _options(options), on_stage=progress.stage
        )
    except ValidationFailed as error:
        return validation_error(error.message, error.errors)
    except DomainError as error:  # the database does not exist
        return _problem(error.code, error.message, "db")
    version_id = ds.version_id_of(name, ingested.content_hash)
    try:
        key = ds.blob_key_of(db, name, version_id)
        progress.stage("storing")
        await ctx.ports.datasets.store(key, ingested.parquet)
    finally:
        ingested.parquet.unlink(missing_ok=True)
    command = RegisterDatasetVersion(
        db=db, name=name, version_id=version_id, content_hash=ingested.content_hash,
        blob_key=key, row_count=ingested.row_count, format=ingested.format,
        filename=upload.filename, columns=tuple(ingested.columns),
    )  # fmt: skip
    progress.stage("registering")
    return await _register(ctx, command, idempotency_key)


async def _register(
    ctx: Context, command: RegisterDatasetVersion, idempotency_key: str | None
) -> t.DatasetVersionResult:
    meta = CommandMeta(
        command_id=_command_id(command.db, idempotency_key),
        actor=ctx.actor,
        client_command_id=idempotency_key is not None,
    )
    for attempt in range(_CONFLICT_RETRIES):
        try:
            receipt = await ctx.ports.dispatcher.dispatch(command, meta)
            break
        except ConcurrencyConflict:  # another version of the dataset landed first
            if attempt == _CONFLICT_RETRIES - 1:
                return _problem("concurrent_upload", "the dataset changed; retry")
        except IdempotencyConflict:
            return _problem(
                "idempotency_conflict",
                "idempotencyKey was already used with another file or dataset",
                "idempotencyKey",
            )
        except DomainError as error:
            if isinstance(error, ValidationFailed):
                return validation_error(error.message, error.errors)
            return _problem(error.code, error.message)
    stored = await dataset_of(ctx, command.db, command.name)
    found = next(v for v in stored.versions if v.id == command.version_id)
    return _version(found, duplicate=receipt.duplicate)


def _problem(code: str, message: str, *path: str) -> ValidationError:
    return validation_error(message, [FieldError(tuple(path), code, message)])


def _command_id(db: str, idempotency_key: str | None) -> str:
    """Keys are scoped to the database: the command id is derived from both."""
    if idempotency_key is None:
        return new_command_id()
    digest = hashlib.sha256(f"{db}\x00{idempotency_key}".encode()).hexdigest()
    return f"dataset-upload:{digest[:48]}"


def _options(options: t.IngestOptions | None) -> ds.IngestOptions:
    if options is None:
        return ds.IngestOptions()
    return ds.IngestOptions(
        format=options.format.value if options.format else None,
        delimiter=options.delimiter,
        encoding=options.encoding,
        header=options.header,
        sheet=options.sheet,
    )


async def datasets(info: Info, db: str) -> list[t.Dataset]:
    found = await all_datasets(info.context, db)
    return [_dataset_type(found[name]) for name in sorted(found)]


async def dataset(info: Info, db: str, name: str) -> t.Dataset | None:
    found = await dataset_of(info.context, db, name)
    return _dataset_type(found) if found.versions else None


# Every read of datasets folds their event streams (no read model): these are
# the ones other resolvers (suggestions, objectify, lineage) use too.


async def all_datasets(ctx: Context, db: str) -> dict[str, ds.Dataset]:
    events = await ctx.ports.store.read_aggregate_type(db, MAIN_BRANCH, ds.DATASET)
    return ds.datasets_of(events)


async def dataset_of(ctx: Context, db: str, name: str) -> ds.Dataset:
    stream = StreamId(db, MAIN_BRANCH, ds.DATASET, name)
    events = await ctx.ports.store.read_stream(stream)
    return ds.datasets_of(events).get(name, ds.Dataset(name))


def version_in(
    found: dict[str, ds.Dataset], version_id: str
) -> ds.DatasetVersion | None:
    return next(
        (v for d in found.values() for v in d.versions if v.id == version_id), None
    )


async def dataset_rows(
    info: Info,
    db: str,
    version: strawberry.ID,
    first: int | None = 100,
    after: str | None = None,
) -> t.DatasetRowConnection:
    ctx = info.context
    limit = ctx.ports.limits.max_page_size
    first = ctx.ports.limits.default_page_size if first is None else first
    if not 0 <= first <= limit:
        raise RequestError(f"first must be between 0 and {limit}")
    offset = _offset(after)
    found = version_in(await all_datasets(ctx, db), str(version))
    if found is None:
        raise RequestError(
            f"dataset version {version!r} does not exist", code="NOT_FOUND"
        )
    rows, total = await ctx.ports.datasets.rows(
        found.blob_key, offset=offset, limit=first
    )
    end = offset + len(rows)
    return t.DatasetRowConnection(
        rows=[JSON(r) for r in rows],
        total_count=total,
        page_info=t.DatasetPageInfo(
            end_cursor=_cursor(end) if rows else after, has_next_page=end < total
        ),
    )


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"row:{offset}".encode()).decode()


def _offset(after: str | None) -> int:
    if after is None:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(after).decode().partition(":")
        if kind == "row" and number.isdigit():
            return int(number)
    except ValueError:
        pass
    raise RequestError("after is not a cursor of this connection")


def _dataset_type(found: ds.Dataset) -> t.Dataset:
    return t.Dataset(name=found.name, versions=[_version(v) for v in found.versions])


def _version(
    version: ds.DatasetVersion, *, duplicate: bool = False
) -> t.DatasetVersion:
    return t.DatasetVersion(
        id=strawberry.ID(version.id),
        dataset=version.dataset,
        row_count=version.row_count,
        content_hash=version.content_hash,
        created_at=DateTime(version.created_at.isoformat()),
        format=version.format,
        filename=version.filename,
        columns=[_column(c) for c in version.columns],
        duplicate=duplicate,
    )


def _column(column: Mapping[str, Any]) -> t.DatasetColumn:
    def get(snake: str, camel: str | None = None) -> Any:
        return column.get(snake, column.get(camel)) if camel else column.get(snake)

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    samples = get("samples")
    top = get("top_values", "topValues")
    histogram = get("histogram")
    return t.DatasetColumn(
        name=str(column["name"]),
        type=text(get("type")),
        confidence=get("confidence"),
        reason=text(get("reason")),
        null_count=get("null_count", "nullCount"),
        distinct_count=get("distinct_count", "distinctCount"),
        min=text(get("min")),
        max=text(get("max")),
        samples=[str(s) for s in samples] if samples is not None else None,
        top_values=[t.TopValue(value=text(v.get("value")), count=int(v["count"]))
                    for v in top] if top is not None else None,
        histogram=[t.HistogramBucket(bucket=str(h.get("bucket")), count=int(h["count"]))
                   for h in histogram] if histogram is not None else None,
    )  # fmt: skip
