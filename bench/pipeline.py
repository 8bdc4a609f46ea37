"""A join + groupBy pipeline over 1,000,000 rows on the embedded engine, and the
preview latency of a node on that input (issue 15; target: preview under 2 s).

Both inputs go through the product's ingest (`BlobDatasetFiles.ingest`: CSV ->
Parquet -> profile, then `store`), so the engine reads real dataset versions.
The baseline, measured in the same run, is the same join + groupBy written by hand
in DuckDB SQL over the same stored Parquet files (typed the same way, written to
Parquet): the ratio product/baseline is what to watch, as absolute figures move
with the machine's load.

    .venv/bin/python -m bench.pipeline [--rows 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from adapters.blob_store.filesystem import FilesystemBlobStore
from adapters.dataplane.files import BlobDatasetFiles
from adapters.pipelines.duckdb_engine import DuckDbPipelineEngine
from domain.dataplane.datasets import IngestOptions, Upload
from domain.pipelines.plan import Source, ValidatedPipeline
from domain.pipelines.spec import PipelineSpec
from domain.pipelines.types import Column, source_type
from domain.pipelines.validate import validate

CUSTOMERS = 50_000
GENERATE_ORDERS = """COPY (SELECT i AS order_id, (hash(i) % {customers})::VARCHAR AS customer_id,
  printf('%.2f', (hash(i * 7) % 100000) / 100.0) AS amount,
  ['PAID', 'NEW', 'SHIPPED'][1 + (i % 3)::INTEGER] AS status
  FROM range({rows}) t(i)) TO '{path}' (FORMAT csv, HEADER)"""
GENERATE_CUSTOMERS = """COPY (SELECT i::VARCHAR AS customer_id,
  ['north', 'south', 'east', 'west'][1 + (i % 4)::INTEGER] AS region
  FROM range({customers}) t(i)) TO '{path}' (FORMAT csv, HEADER)"""
PIPELINE = {
    "id": "bench",
    "nodes": [
        {"id": "paid", "op": "filter", "inputs": ["dataset:orders"], "args": {"expr": "status = 'PAID'"}},
        {"id": "j", "op": "join", "inputs": ["paid", "dataset:customers"],
         "args": {"how": "inner", "on": [["customer_id", "customer_id"]]}},
        {"id": "g", "op": "groupBy", "inputs": ["j"], "args": {"keys": ["region"], "aggregates": [
            {"fn": "count", "as": "orders"}, {"fn": "sum", "column": "amount", "as": "total"}]}},
    ],
    "outputs": [{"node": "g", "dataset": "by_region"}],
}  # fmt: skip
# The baseline: what a person would write, reading the same all-text Parquet files.
BASELINE = """COPY (SELECT c.region, count(*) AS orders, sum(TRY_CAST(o.amount AS DOUBLE)) AS total
  FROM read_parquet('{orders}') o JOIN read_parquet('{customers}') c
    ON TRY_CAST(o.customer_id AS BIGINT) = TRY_CAST(c.customer_id AS BIGINT)
  WHERE o.status = 'PAID' GROUP BY c.region) TO '{out}' (FORMAT parquet)"""


def _generate(sql: str, **values: Any) -> None:
    db = duckdb.connect(":memory:")
    try:
        db.execute("SET enable_progress_bar = false")
        db.execute(sql.format(**values))
    finally:
        db.close()


async def _ingest(files: BlobDatasetFiles, name: str, csv: Path) -> Source:
    found = await files.ingest(Upload(csv.name, "text/csv", csv), IngestOptions())
    key = f"datasets/bench/{name}/v1.parquet"
    await files.store(key, found.parquet)
    schema = tuple(
        Column(str(c["name"]), source_type(c.get("type"))) for c in found.columns
    )
    return Source(
        ref=f"dataset:{name}", version_id=found.content_hash, dataset=name,
        blob_key=key, columns=found.columns, schema=schema,
    )  # fmt: skip


def _timed_sync(work: Any) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


class Bench:
    def __init__(self, root: Path, rows: int) -> None:
        self.root, self.rows = root, rows
        self.files = BlobDatasetFiles(
            FilesystemBlobStore(root / "blobs"), work_dir=root / "work"
        )

    async def prepare(self) -> ValidatedPipeline:
        orders, customers = self.root / "orders.csv", self.root / "customers.csv"
        _generate(GENERATE_ORDERS, rows=self.rows, customers=CUSTOMERS, path=orders)
        _generate(GENERATE_CUSTOMERS, customers=CUSTOMERS, path=customers)
        sources = {
            s.ref: s
            for s in [
                await _ingest(self.files, "orders", orders),
                await _ingest(self.files, "customers", customers),
            ]
        }
        spec = PipelineSpec.from_input(PIPELINE)
        return validate(spec, sources, DuckDbPipelineEngine(self.files).expressions)

    def engine(self) -> DuckDbPipelineEngine:
        """A fresh engine per run: its preview cache must not answer."""
        return DuckDbPipelineEngine(self.files, work_dir=self.root / "work")

    async def build(self, plan: ValidatedPipeline) -> tuple[float, int]:
        started = time.perf_counter()
        outcome = await self.engine().build(plan)
        elapsed = time.perf_counter() - started
        if outcome.failures or len(outcome.outputs) != 1:
            raise RuntimeError(f"the build failed: {outcome.failures}")
        outcome.outputs[0].parquet.unlink()
        return elapsed, outcome.outputs[0].row_count

    async def preview(self, plan: ValidatedPipeline, node: str) -> float:
        started = time.perf_counter()
        found = await self.engine().preview(plan, node, limit=200)
        if found.errors:
            raise RuntimeError(f"the preview failed: {found.errors}")
        return time.perf_counter() - started

    async def baseline(self, plan: ValidatedPipeline) -> float:
        paths = {
            r: await self.files.local_path(s.blob_key) for r, s in plan.sources.items()
        }
        out = self.root / "work" / "baseline.parquet"
        sql = BASELINE.format(
            orders=paths["dataset:orders"],
            customers=paths["dataset:customers"],
            out=out,
        )

        def run() -> None:
            db = duckdb.connect(":memory:")
            try:
                db.execute("SET enable_progress_bar = false")
                db.execute(sql)
            finally:
                db.close()

        return _timed_sync(run)


async def measure(rows: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp), rows)
        started = time.perf_counter()
        plan = await bench.prepare()
        prepared = time.perf_counter() - started
        builds, baselines, previews, filters = [], [], [], []
        for _ in range(runs):  # interleaved: both see the same machine load
            elapsed, out_rows = await bench.build(plan)
            builds.append(elapsed)
            baselines.append(await bench.baseline(plan))
            previews.append(await bench.preview(plan, "g"))
            filters.append(await bench.preview(plan, "paid"))
        report(rows, runs, prepared, out_rows, builds, baselines, previews, filters)


def report(
    rows: int, runs: int, prepared: float, out_rows: int, builds: list[float],
    baselines: list[float], previews: list[float], filters: list[float],
) -> None:  # fmt: skip
    build, base = statistics.median(builds), statistics.median(baselines)
    print(f"orders: {rows:,} rows joined with {CUSTOMERS:,} customers, grouped by "
          f"region ({out_rows} rows out); runs: {runs} (medians)")  # fmt: skip
    print(f"ingest of both inputs (once): {prepared:.2f} s")
    print(f"build filter+join+groupBy on the embedded engine: {build:.2f} s "
          f"= {rows / build:,.0f} input rows/s")  # fmt: skip
    print(f"baseline hand-written DuckDB SQL, same Parquet: {base:.2f} s")
    print(f"product / baseline time: {build / base:.2f}x")
    print(f"preview of the groupBy node (sample of each input): "
          f"{statistics.median(previews) * 1000:.0f} ms; of the filter node: "
          f"{statistics.median(filters) * 1000:.0f} ms (target < 2000 ms)")  # fmt: skip
    print(f"all builds (s): {[round(b, 2) for b in builds]}  "
          f"baselines (s): {[round(b, 2) for b in baselines]}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(measure(args.rows, args.runs))


if __name__ == "__main__":
    main()
