"""Runs pipelines on the embedded engine over real dataset versions: CSVs ingested
and profiled by the product's ingest, stored in a filesystem blob store, read
back through the version cache (no GraphQL, no database: the cheapest real path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from adapters.blob_store.filesystem import FilesystemBlobStore
from adapters.dataplane.files import BlobDatasetFiles
from adapters.pipelines.duckdb_engine import DuckDbPipelineEngine
from domain.dataplane.datasets import IngestOptions, Upload
from domain.pipelines.plan import Source, ValidatedPipeline
from domain.pipelines.ports import BuildOutcome, Preview
from domain.pipelines.spec import PipelineSpec
from domain.pipelines.types import Column, source_type
from domain.pipelines.validate import validate


class EngineLab:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = BlobDatasetFiles(
            FilesystemBlobStore(root / "blobs"), work_dir=root / "work",
            cache_dir=root / "cache",
        )  # fmt: skip
        self.engine = DuckDbPipelineEngine(self.files, work_dir=root / "work")
        self.sources: dict[str, Source] = {}

    async def dataset(self, name: str, csv: str) -> Source:
        """`csv` ingested as the latest version of `name` (`dataset:<name>`)."""
        path = self.root / f"{name}.csv"
        path.write_text(csv)
        ingested = await self.files.ingest(
            Upload(f"{name}.csv", "text/csv", path), IngestOptions()
        )
        key = f"datasets/lab/{name}/{ingested.content_hash}.parquet"
        await self.files.store(key, ingested.parquet)
        schema = tuple(
            Column(str(c["name"]), source_type(c.get("type"))) for c in ingested.columns
        )
        ref = f"dataset:{name}"
        self.sources[ref] = Source(
            ref=ref, version_id=ingested.content_hash[:12], dataset=name,
            blob_key=key, columns=ingested.columns, schema=schema,
        )  # fmt: skip
        return self.sources[ref]

    def plan(
        self, nodes: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None
    ) -> ValidatedPipeline:
        outputs = outputs or [{"node": nodes[-1]["id"], "dataset": "out"}]
        spec = PipelineSpec.from_input({"id": "p", "nodes": nodes, "outputs": outputs})
        return validate(spec, self.sources, self.engine.expressions)

    async def build(
        self, nodes: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None
    ) -> BuildOutcome:
        return await self.engine.build(self.plan(nodes, outputs))

    async def preview(self, nodes: list[dict[str, Any]], node: str) -> Preview:
        return await self.engine.preview(self.plan(nodes), node, limit=1_000)

    async def rows(self, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The last node's rows from a preview (typed values, in the engine's
        order), after checking that a build of it writes as many rows."""
        preview = await self.preview(nodes, nodes[-1]["id"])
        assert not preview.errors, preview.errors
        outcome = await self.build(nodes)
        assert not outcome.failures, outcome.failures
        (built,) = outcome.outputs
        assert built.row_count == preview.row_count == len(preview.rows)
        assert pq.read_metadata(built.parquet).num_rows == built.row_count
        return [dict(r) for r in preview.rows]

    async def built_text(self, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The last node's rows as the build stores them (text, like an upload)."""
        outcome = await self.build(nodes)
        assert not outcome.failures, outcome.failures
        rows: list[dict[str, Any]] = pq.read_table(
            outcome.outputs[0].parquet
        ).to_pylist()
        return rows


def node(id: str, op: str, inputs: list[str], **args: Any) -> dict[str, Any]:
    return {"id": id, "op": op, "inputs": inputs, "args": args}


def unordered(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, Any], ...]]:
    """Rows compared as a multiset, where the op defines no order."""
    return sorted((tuple(sorted(r.items())) for r in rows), key=repr)
