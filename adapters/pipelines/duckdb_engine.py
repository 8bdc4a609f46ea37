"""The embedded engine: DuckDB over the input versions' local Parquet files.

DuckDB because it already profiles our Parquet (adapters/dataplane/profiling.py),
runs SQL over Parquet files directly in bounded memory (it spills past
`memory_limit`), and sqlglot renders its dialect, so expressions are checked once
and rendered for it from the tree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Protocol

import duckdb

from adapters.dataplane.files import sha256_of
from adapters.dataplane.profiling import profile_file
from adapters.pipelines.checks import check, plain
from adapters.pipelines.compile import Compiler
from adapters.pipelines.expressions import SqlglotExpressions
from adapters.pipelines.sources import create_view, quote
from domain.pipelines.plan import ValidatedPipeline
from domain.pipelines.ports import (
    BuildOutcome,
    BuiltOutput,
    EngineFailure,
    ExpressionTyper,
    Preview,
    RuleFailure,
)
from domain.pipelines.spec import Output
from domain.pipelines.types import DATE, Column

# Rows of each input a preview reads: the first ones of the file, so a preview
# costs the same on 1M rows as on 10k (bench/pipeline.py).
SAMPLE_ROWS: Final = 10_000
MEMORY_LIMIT: Final = "512MB"
CACHED_PREVIEWS: Final = 64
Stage = Callable[[str, int, int], None]


class LocalVersions(Protocol):
    async def local_path(self, key: str) -> Path: ...


class DuckDbPipelineEngine:
    def __init__(
        self, versions: LocalVersions, *, work_dir: Path | None = None,
        sample_rows: int = SAMPLE_ROWS, memory_limit: str = MEMORY_LIMIT,
    ) -> None:  # fmt: skip
        self._versions, self._work_dir = versions, work_dir
        self._sample, self._memory = sample_rows, memory_limit
        self._expressions = SqlglotExpressions()
        self._previews: OrderedDict[tuple[str, str, int], Preview] = OrderedDict()

    @property
    def expressions(self) -> ExpressionTyper:
        return self._expressions

    async def preview(
        self, plan: ValidatedPipeline, node: str, *, limit: int
    ) -> Preview:
        key = (plan.hash, node, limit)
        if key in self._previews:
            self._previews.move_to_end(key)
            return self._previews[key]
        paths = await self._paths(plan)
        found = await asyncio.to_thread(self._preview, plan, paths, node, limit)
        if not found.errors:
            self._previews[key] = found
            while len(self._previews) > CACHED_PREVIEWS:
                self._previews.popitem(last=False)
        return found

    async def build(
        self, plan: ValidatedPipeline, *, on_stage: Stage | None = None
    ) -> BuildOutcome:
        loop = asyncio.get_running_loop()

        def stage(name: str, done: int, total: int) -> None:  # from the worker thread
            if on_stage is not None:
                loop.call_soon_threadsafe(on_stage, name, done, total)

        paths = await self._paths(plan)
        return await asyncio.to_thread(self._build, plan, paths, stage)

    async def _paths(self, plan: ValidatedPipeline) -> dict[str, Path]:
        return {
            ref: await self._versions.local_path(s.blob_key)
            for ref, s in plan.sources.items()
        }

    def _connect(
        self, plan: ValidatedPipeline, paths: dict[str, Path], *, sample: int | None
    ) -> tuple[duckdb.DuckDBPyConnection, Compiler]:
        db = duckdb.connect(":memory:")
        db.execute("SET enable_progress_bar = false")
        db.execute("SET TimeZone = 'UTC'")
        db.execute(f"SET memory_limit = '{_setting(self._memory)}'")
        if self._work_dir is not None:
            db.execute("SET temp_directory = ?", [str(self._work_dir)])
        relations: dict[str, str] = {}
        for index, (ref, source) in enumerate(sorted(plan.sources.items())):
            relations[ref] = f"s{index}"
            create_view(db, relations[ref], source, paths[ref], sample=sample)
        return db, Compiler(plan, relations)

    def _preview(
        self, plan: ValidatedPipeline, paths: dict[str, Path], node: str, limit: int
    ) -> Preview:
        db, compiler = self._connect(plan, paths, sample=self._sample)
        schema = plan.schemas[node]
        try:
            db.execute(f"CREATE TEMP TABLE preview AS {compiler.sql(node)}")
            count = db.execute("SELECT count(*) FROM preview").fetchone()
            cursor = db.execute(f"SELECT * FROM preview LIMIT {int(limit)}")
            rows = [
                {c.name: plain(v) for c, v in zip(schema, row, strict=True)}
                for row in cursor.fetchall()
            ]
            return Preview(schema, rows, int(count[0]) if count else 0)
        except duckdb.Error as error:
            return Preview(schema, [], 0, [(node, _message(error))])
        finally:
            db.close()

    def _build(
        self, plan: ValidatedPipeline, paths: dict[str, Path], stage: Stage
    ) -> BuildOutcome:
        db, compiler = self._connect(plan, paths, sample=None)
        outputs = plan.spec.outputs
        try:
            failures: list[RuleFailure] = []
            for index, output in enumerate(outputs):
                stage(f"computing {output.node}", index, len(outputs))
                failures += self._computed(db, compiler, plan, output, f"out{index}")
            if failures:
                return BuildOutcome(failures=failures)
            stage("writing", 0, len(outputs))
            built = [
                self._written(db, plan, output, f"out{i}")
                for i, output in enumerate(outputs)
            ]
            return BuildOutcome(outputs=built)
        finally:
            db.close()

    def _computed(
        self,
        db: duckdb.DuckDBPyConnection,
        compiler: Compiler,
        plan: ValidatedPipeline,
        output: Output,
        relation: str,
    ) -> list[RuleFailure]:
        try:
            db.execute(
                f"CREATE TEMP TABLE {quote(relation)} AS {compiler.sql(output.node)}"
            )
        except duckdb.Error as error:
            raise EngineFailure(output.node, _message(error)) from None
        return check(db, relation, output, plan)

    def _written(
        self,
        db: duckdb.DuckDBPyConnection,
        plan: ValidatedPipeline,
        output: Output,
        relation: str,
    ) -> BuiltOutput:
        """As text, like an ingested file: what `datasetRows` and objectify read."""
        schema = plan.schemas[output.node]
        handle, name = tempfile.mkstemp(suffix=".parquet", dir=self._work_dir)
        os.close(handle)
        target = Path(name)
        texts = ", ".join(
            f"CAST({quote(c.name)} AS VARCHAR) AS {quote(c.name)}" for c in schema
        )
        db.execute(
            f"COPY (SELECT {texts} FROM {quote(relation)}) TO '{_path(target)}' (FORMAT PARQUET)"
        )
        count = db.execute(f"SELECT count(*) FROM {quote(relation)}").fetchone()
        return BuiltOutput(
            node=output.node, dataset=output.dataset, parquet=target,
            content_hash=sha256_of(target), row_count=int(count[0]) if count else 0,
            columns=_columns(target, schema),
        )  # fmt: skip


def _columns(parquet: Path, schema: tuple[Column, ...]) -> list[dict[str, Any]]:
    """The profile of the written file, with the pipeline's types (not re-inferred)."""
    profiled = {
        c.name: c
        for c in profile_file(
            parquet,
            file_format="parquet",
            memory_limit="128MB",
            temp_directory=parquet.parent,
        ).columns
    }
    out: list[dict[str, Any]] = []
    for column in schema:
        found = profiled.get(column.name)
        payload: dict[str, Any] = {"name": column.name}
        if found is not None:
            payload = {
                f.name: getattr(found, f.name)
                for f in dataclasses.fields(found)
                if f.name != "value_sample"
            }
            payload["samples"] = list(found.samples)
            payload["top_values"] = [dataclasses.asdict(v) for v in found.top_values]
            payload["histogram"] = [dataclasses.asdict(b) for b in found.histogram]
        payload.update(type=column.type, format="YYYY-MM-DD" if column.type == DATE else None,
                       confidence=1.0, reason="the pipeline's computed schema")  # fmt: skip
        out.append(payload)
    return out


def _setting(value: str) -> str:
    if not value.isalnum():
        raise ValueError(f"invalid memory limit {value!r}")
    return value


def _path(path: Path) -> str:
    return str(path).replace("'", "''")


def _message(error: duckdb.Error) -> str:
    return str(error).splitlines()[0][:500]
