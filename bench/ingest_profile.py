"""Ingest and profile a 1,000,000-row x 10-column CSV through the product's own path.

Each measured run is a fresh child process (so that its `ru_maxrss` is the run's own
peak, DuckDB's and Arrow's native memory included) doing what `uploadDataset` does:
`BlobDatasetFiles.ingest` (hash, read -> Parquet, profile) then `store` into a
filesystem blob store. A baseline child converts the same file with DuckDB's plain
`read_csv(all_varchar) -> Parquet` on the same machine in the same run; the ratio
product/baseline is what to watch, as absolute figures move with the machine's load.

    .venv/bin/python -m bench.ingest_profile [--rows 1000000] [--runs 3]
    .venv/bin/python -m bench.ingest_profile --memory-proof [--cap-mb 400] [--factor 3]

`--memory-proof` ingests a CSV `--factor` times larger than `--cap-mb`, stores it, and
reads every row back through `batches`, in a child whose peak resident memory
(ru_maxrss) is compared with the cap.

Target (issue 14): >= 200,000 rows/s and < 500 MB peak on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

# Ten columns: ints, decimals (plain and grouped), dates, date-times, strings, an enum,
# emails, a boolean and a column that is 30% empty.
GENERATE = """
COPY (
  SELECT
    i AS order_id,
    (hash(i) % 50000)::VARCHAR AS customer_id,
    printf('%.2f', (hash(i * 7) % 100000) / 100.0) AS amount,
    printf('%,.2f', (hash(i * 11) % 10000000) / 100.0) AS price,
    strftime(DATE '2020-01-01' + (hash(i * 13) % 1500)::INTEGER, '%Y-%m-%d') AS order_date,
    strftime(TIMESTAMP '2020-01-01' + to_seconds((hash(i * 17) % 100000000)::BIGINT),
             '%Y-%m-%dT%H:%M:%SZ') AS created_at,
    'customer ' || (hash(i * 19) % 900000)::VARCHAR AS name,
    ['PAID', 'NEW', 'SHIPPED', 'CANCELLED', 'RETURNED'][1 + (i % 5)::INTEGER] AS status,
    'user' || (hash(i * 23) % 500000)::VARCHAR || '@example.com' AS email,
    CASE WHEN i % 10 < 3 THEN '' WHEN i % 2 = 0 THEN 'yes' ELSE 'no' END AS gift
  FROM range({rows}) t(i)
) TO '{path}' (FORMAT csv, HEADER)
"""


def generate(path: Path, rows: int) -> None:
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET enable_progress_bar = false")
        connection.execute(GENERATE.format(rows=rows, path=path))
    finally:
        connection.close()


KEY = "datasets/bench/data/v1.parquet"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def product_child(
    csv: Path, workdir: Path, *, read_back: bool = False
) -> dict[str, Any]:
    """One run of the product's ingest: read -> Parquet -> profile -> blob store;
    with `read_back`, then every row again through `batches` (objectify's input)."""
    from adapters.blob_store.filesystem import FilesystemBlobStore
    from adapters.dataplane.files import BlobDatasetFiles
    from domain.dataplane.datasets import IngestOptions, Upload

    stages: dict[str, float] = {}
    files = BlobDatasetFiles(FilesystemBlobStore(workdir / "blobs"), work_dir=workdir)

    def on_stage(stage: str) -> None:
        stages[stage] = time.perf_counter()

    async def run() -> tuple[int, dict[str, str]]:
        upload = Upload("data.csv", "text/csv", csv)
        ingested = await files.ingest(upload, IngestOptions(), on_stage=on_stage)
        on_stage("storing")
        await files.store(KEY, ingested.parquet)
        ingested.parquet.unlink()
        if read_back:
            on_stage("reading_back")
            read = sum([len(b) async for b in files.batches(KEY)])
            if read != ingested.row_count:
                raise RuntimeError(f"read back {read} rows of {ingested.row_count}")
        types = {str(c["name"]): str(c.get("type")) for c in ingested.columns}
        return ingested.row_count, types

    started = time.perf_counter()
    rows, types = asyncio.run(run())
    finished = time.perf_counter()
    files.close()
    starts = list(stages.values())
    split = {
        f"{name}_s": end - start
        for name, start, end in zip(
            stages, starts, [*starts[1:], finished], strict=True
        )
    }
    return {"rows": rows, "total_s": finished - started, "peak_mb": _peak_mb(),
            "types": types, **split}  # fmt: skip


def baseline_child(csv: Path, workdir: Path) -> dict[str, Any]:
    """DuckDB's plain CSV -> Parquet (all strings), nothing else: the yardstick."""
    started = time.perf_counter()
    connection = duckdb.connect(":memory:")
    try:
        connection.execute(
            f"COPY (SELECT * FROM read_csv('{csv}', all_varchar = true, header = true)) "
            f"TO '{workdir / 'baseline.parquet'}' (FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        connection.close()
    return {"total_s": time.perf_counter() - started, "peak_mb": _peak_mb()}


def _spawn(kind: str, csv: Path, workdir: Path) -> dict[str, Any]:
    workdir.mkdir()
    command = [sys.executable, "-m", "bench.ingest_profile",
               "--child", kind, str(csv), str(workdir)]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def measure(rows: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        generate(csv, rows)
        size_mb = csv.stat().st_size / 1e6
        product, baseline = [], []
        for run in range(runs):  # interleaved: both see the same machine load
            product.append(_spawn("product", csv, Path(tmp) / f"p{run}"))
            baseline.append(_spawn("baseline", csv, Path(tmp) / f"b{run}"))
        report(product, baseline, size_mb)


def _median(results: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in results if key in r)


def report(
    product: list[dict[str, Any]], baseline: list[dict[str, Any]], size_mb: float
) -> None:
    rows = int(product[0]["rows"])
    total, base = _median(product, "total_s"), _median(baseline, "total_s")
    print(f"rows: {rows:,}  CSV: {size_mb:.1f} MB  runs: {len(product)} (medians)")
    print(f"types: {product[0]['types']}")
    stages = [k for k in product[0] if k.endswith("_s") and k != "total_s"]
    print(
        "stages: " + "  ".join(f"{k[:-2]} {_median(product, k):.2f} s" for k in stages)
    )
    print(f"product ingest+profile+store: {total:.2f} s = {rows / total:,.0f} rows/s, "
          f"{size_mb / total:.1f} MB/s, peak {_median(product, 'peak_mb'):.0f} MB")  # fmt: skip
    print(f"baseline DuckDB read_csv->Parquet: {base:.2f} s = {rows / base:,.0f} rows/s, "
          f"peak {_median(baseline, 'peak_mb'):.0f} MB")  # fmt: skip
    print(f"product / baseline time: {total / base:.2f}x")
    print(f"all product runs (s): {[round(r['total_s'], 2) for r in product]}")


def memory_proof(cap_mb: int, factor: int) -> bool:
    """A CSV `factor` times larger than `cap_mb`, ingested in a child whose peak
    resident memory is compared with the cap; True if within it."""
    rows = int(cap_mb * factor * 1e6 / 112.6)  # the generator writes ~112.6 B/row
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        generate(csv, rows)
        size_mb = csv.stat().st_size / 1e6
        result = _spawn("read-back", csv, Path(tmp) / "p")
    peak = float(result["peak_mb"])
    verdict = "within" if peak < cap_mb else "OVER"
    stages = "  ".join(
        f"{k[:-2]} {v:.1f} s" for k, v in result.items() if k.endswith("_s")
    )
    print(f"memory proof: {rows:,} rows, CSV {size_mb:.0f} MB = "
          f"{size_mb / cap_mb:.1f}x the {cap_mb} MB cap; ingest, store and every row "
          f"read back: peak RSS {peak:.0f} MB ({verdict} the cap)\n  {stages}")  # fmt: skip
    return peak < cap_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-proof", action="store_true")
    parser.add_argument("--cap-mb", type=int, default=400)
    parser.add_argument("--factor", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "CSV", "WORKDIR"))
    args = parser.parse_args()
    if args.child:
        kind, csv, workdir = args.child
        if kind == "baseline":
            result = baseline_child(Path(csv), Path(workdir))
        else:
            result = product_child(
                Path(csv), Path(workdir), read_back=kind == "read-back"
            )
        print(json.dumps(result))
    elif args.memory_proof:
        sys.exit(0 if memory_proof(args.cap_mb, args.factor) else 1)
    else:
        measure(args.rows, args.runs)


if __name__ == "__main__":
    main()
