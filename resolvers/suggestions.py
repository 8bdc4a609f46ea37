"""`suggestClass`: a ClassInput for a dataset version, from its stored profile,
with relationship candidates against the key columns of the database's other
datasets (their latest versions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

from domain.dataplane import datasets as ds
from domain.dataplane.profiles import Bucket, ColumnProfile, DatasetProfile, ValueCount
from domain.dataplane.suggest import suggest_class as suggested
from resolvers.context import Context
from resolvers.datasets import all_datasets, version_in
from resolvers.errors import RequestError
from schema import dataplane_types as t
from schema.scalars import JSON

Info = strawberry.Info[Context, None]

# Key values read per other dataset for the overlap test: enough for a
# meaningful share, bounded for a read inside one request.
MAX_KEY_ROWS = 100_000


async def suggest_class(
    info: Info,
    db: str,
    dataset_version: strawberry.ID,
    class_id: strawberry.ID | None = None,
) -> t.ClassSuggestion:
    ctx = info.context
    found = await all_datasets(ctx, db)
    version = version_in(found, str(dataset_version))
    if version is None:
        raise RequestError(
            f"dataset version {dataset_version!r} does not exist", code="NOT_FOUND"
        )
    others = {
        name: await _key_values(ctx, d.versions[-1])
        for name, d in found.items()
        if name != version.dataset and d.versions
    }
    result = suggested(
        version.dataset,
        profile_of(version),
        class_id=str(class_id) if class_id else None,
        other_keys=others,
    )
    return t.ClassSuggestion(
        input=JSON(result.input),
        relationships=[
            t.RelationshipSuggestion(
                column=r.column, target=strawberry.ID(r.target), confidence=r.confidence
            )
            for r in result.relationships
        ],
        warnings=list(result.warnings),
    )


def profile_of(version: ds.DatasetVersion) -> DatasetProfile:
    """The profile stored with a version (columns without one: strings)."""
    columns = tuple(_column(c) for c in version.columns)
    return DatasetProfile(row_count=version.row_count, columns=columns)


def _column(payload: Mapping[str, Any]) -> ColumnProfile:
    samples = tuple(str(s) for s in payload.get("samples") or ())
    tops = tuple(
        ValueCount(str(v["value"]), int(v["count"]))
        for v in payload.get("top_values") or ()
    )
    return ColumnProfile(
        name=str(payload["name"]),
        type=str(payload.get("type") or "string"),
        confidence=float(payload.get("confidence") or 0.0),
        reason=str(payload.get("reason") or "not profiled"),
        format=payload.get("format"),
        ambiguous=bool(payload.get("ambiguous")),
        null_count=int(payload.get("null_count") or 0),
        distinct_count=int(payload.get("distinct_count") or 0),
        min=payload.get("min"),
        max=payload.get("max"),
        samples=samples,
        top_values=tops,
        histogram=tuple(Bucket(**b) for b in payload.get("histogram") or ()),
        value_sample=frozenset(samples) | {v.value for v in tops},
    )


async def _key_values(ctx: Context, version: ds.DatasetVersion) -> dict[str, set[str]]:
    """The values of a version's key-like columns (unique and never null)."""
    keys = [
        c.name
        for c in profile_of(version).columns
        if c.null_count == 0 and c.distinct_count == version.row_count > 0
    ]
    if not keys or version.row_count > MAX_KEY_ROWS:
        return {}
    rows, _ = await ctx.ports.datasets.rows(
        version.blob_key, offset=0, limit=MAX_KEY_ROWS
    )
    return {k: {str(r[k]) for r in rows if r.get(k) is not None} for k in keys}
