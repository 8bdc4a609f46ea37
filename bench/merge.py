"""Merge of a branch with many changed objects (issue 16: 10,000 under 5 s).

On a fresh database: --objects/2 customers on main, a branch `feature` that
updates all of them and creates as many new ones (bulk upserts of 500), then
times `branchDiff` (the domain query), `mergePreview` and the merge command up
to ACCEPTED (its events appended; projections are not waited for). The baseline,
measured in the same run, is the branch's own bulk upserts of as many objects:
the ratio is what merging costs over writing the same changes directly. Each
figure is the median of --runs runs, each on a database of its own.
"""

from __future__ import annotations

import argparse
import time

from app.bootstrap import Container
from bench.common import bench_container, median_of, meta, prepare_database, run
from domain import commands as c
from domain.merge.queries import branch_diff, merge_preview

BATCH = 500


async def fill(container: Container, db: str, objects: int) -> float:
    """Seconds the branch's own writes took: the baseline a merge that appends
    as many objects is set against."""
    half = objects // 2
    await upsert(container, db, "main", range(half), "main")
    await container.handlers.dispatch(c.CreateBranch(db=db, name="feature"), meta())
    started = time.perf_counter()
    await upsert(container, db, "feature", range(objects), "feature")
    return time.perf_counter() - started


async def upsert(
    container: Container, db: str, branch: str, ids: range, name: str
) -> None:
    for start in range(ids.start, ids.stop, BATCH):
        items = [
            {"customer_id": f"C{i}", "name": f"{name} {i}", "age": i % 90}
            for i in range(start, min(start + BATCH, ids.stop))
        ]
        command = c.UpsertInstances(
            db=db, branch=branch, class_id="Customer", items=items
        )
        await container.handlers.dispatch(command, meta())


async def once(container: Container, db: str, objects: int) -> dict[str, float]:
    await prepare_database(container, db)
    written = await fill(container, db, objects)
    model, store = container.handlers.model, container.event_store
    started = time.perf_counter()
    changes = await branch_diff(model, store, db, from_="main", to="feature")
    diffed = time.perf_counter()
    preview = await merge_preview(model, store, db, source="feature", target="main")
    previewed = time.perf_counter()
    receipt = await container.handlers.dispatch(
        c.MergeBranch(db=db, source="feature"), meta()
    )
    merged = time.perf_counter()
    assert len(changes) == objects, len(changes)  # noqa: S101 - a wrong bench lies
    assert preview.changes == objects, preview.changes  # noqa: S101
    assert receipt.last_position - receipt.first_position == objects  # noqa: S101
    return {
        "branchDiff": diffed - started,
        "mergePreview": previewed - diffed,
        "mergeBranch": merged - previewed,
        "baseline: the branch's own bulk upserts": written,
    }


async def main(args: argparse.Namespace) -> None:
    results: list[dict[str, float]] = []
    async with bench_container(args.backend) as container:
        for index in range(args.runs):
            results.append(await once(container, f"bench-merge-{index}", args.objects))
    for name in results[0]:
        seconds = median_of([r[name] for r in results])
        print(f"{name} of {args.objects:,} changed objects: {seconds:.2f} s")
    merge = median_of([r["mergeBranch"] for r in results])
    baseline = median_of(
        [r["baseline: the branch's own bulk upserts"] for r in results]
    )
    print(f"mergeBranch / baseline: {merge / baseline:.2f}x")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run(lambda: main(args))


if __name__ == "__main__":
    cli()
