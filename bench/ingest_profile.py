"""Profile a 1,000,000-row x 10-column CSV: convert it to Parquet with DuckDB, then
profile every column (adapters/dataplane/profiling.py). Prints rows/s, MB/s and peak
memory, median of 3 runs; each run is a fresh child process so that its
`ru_maxrss` is the run's own peak, DuckDB's native memory included.

    .venv/bin/python -m bench.ingest_profile [--rows 1000000] [--runs 3] [--threads 2]

Target (issue 14): >= 200,000 rows/s and < 500 MB peak on 2 cores.
Measured 2026-12-07 on a shared 2-core machine (load average 4.6-5.4 from other
work), 112.6 MB CSV, medians of 3: CSV->Parquet 2.8-3.7 s, profile 3.6-5.4 s
(185,000-280,000 rows/s), end to end 116,000-156,000 rows/s; peak 250 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from adapters.dataplane.profiling import profile_file

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
    duckdb.execute(GENERATE.format(rows=rows, path=path))


def convert(csv: Path, parquet: Path, threads: int) -> None:
    connection = duckdb.connect(":memory:")
    try:
        connection.execute(f"SET threads = {threads}")
        # Rows keep their order (row numbers in objectify reports depend on it).
        connection.execute("SET memory_limit = '200MB'")
        connection.execute(
            f"COPY (SELECT * FROM read_csv('{csv}', all_varchar = true, header = true)) "
            f"TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        connection.close()


def child(csv: Path, workdir: Path, threads: int) -> None:
    """One measured run: CSV -> Parquet -> profile; prints its figures as JSON."""
    parquet = workdir / "data.parquet"
    started = time.perf_counter()
    convert(csv, parquet, threads)
    converted = time.perf_counter()
    profile = profile_file(parquet, threads=threads, memory_limit="200MB")
    finished = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": profile.row_count,
                "convert_s": converted - started,
                "profile_s": finished - converted,
                "total_s": finished - started,
                "peak_mb": peak_kb / 1024,
                "types": {c.name: c.type for c in profile.columns},
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("CSV", "WORKDIR"))
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.threads)
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        generate(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        results = []
        for run in range(args.runs):
            workdir = Path(tmp) / f"run{run}"
            workdir.mkdir()
            command = [sys.executable, "-m", "bench.ingest_profile", "--threads",
                       str(args.threads), "--child", str(csv), str(workdir)]  # fmt: skip
            output = subprocess.run(command, check=True, capture_output=True, text=True)
            results.append(json.loads(output.stdout))
        report(results, size_mb, args.threads)


def report(results: list[dict[str, object]], size_mb: float, threads: int) -> None:
    def median(key: str) -> float:
        return statistics.median(float(str(r[key])) for r in results)

    rows = int(str(results[0]["rows"]))
    total = median("total_s")
    print(
        f"rows: {rows:,}  CSV: {size_mb:.1f} MB  threads: {threads}  runs: {len(results)}"
    )
    print(f"types: {results[0]['types']}")
    print(
        f"convert CSV->Parquet: {median('convert_s'):.2f} s   profile: {median('profile_s'):.2f} s"
    )
    print(
        f"total (median): {total:.2f} s  = {rows / total:,.0f} rows/s, {size_mb / total:.1f} MB/s"
    )
    print(f"profile only: {rows / median('profile_s'):,.0f} rows/s")
    print(f"peak memory (median of child ru_maxrss): {median('peak_mb'):.0f} MB")


if __name__ == "__main__":
    main()
