"""`lineage(db, node, direction, depth)`: where data came from and went, read
from the event store itself (dataset versions, mapping versions, objectify
runs, and the metadata objectify puts on every instance event), so it needs no
projection and survives every rebuild.

Edges point downstream: dataset → dataset-version → objectify-run → instance,
and mapping version → objectify-run. Node ids follow SPEC §6.1:
`dataset:<name>`, `dataset-version:<id>`, `mapping:<id>:<version>`,
`objectify-run:<id>`, `instance:<classId>:<id>`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import strawberry

from domain.dataplane import datasets as ds
from domain.dataplane.records import OBJECTIFY_RUN, OBJECTIFY_RUN_RECORDED
from domain.events import INSTANCE, MAIN_BRANCH, StreamId
from domain.ids import instance_aggregate_id
from domain.pipelines.records import PIPELINE_RUN, pipeline_run
from resolvers.context import Context
from resolvers.datasets import all_datasets
from resolvers.errors import RequestError
from schema.dataplane_types import (
    LineageDirection,
    LineageEdge,
    LineageGraph,
    LineageNode,
)

Info = strawberry.Info[Context, None]
MAX_DEPTH = 10
MAX_NODES = 5_000  # a lineage answer is for a person: bounded


@dataclass(slots=True)
class _Facts:
    """What the database's dataset and run events say, read once per request."""

    versions: dict[str, ds.DatasetVersion] = field(default_factory=dict)
    runs: dict[str, dict[str, object]] = field(default_factory=dict)
    # pipeline run id -> (input version ids, output version ids)
    builds: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


async def lineage(
    info: Info,
    db: str,
    node: strawberry.ID,
    direction: LineageDirection = LineageDirection.BOTH,
    depth: int = 5,
) -> LineageGraph:
    if not 1 <= depth <= MAX_DEPTH:
        raise RequestError(f"depth must be between 1 and {MAX_DEPTH}")
    ctx = info.context
    facts = await _facts(ctx, db)
    start = str(node)
    kinds = {start: _kind(start)}
    edges: set[tuple[str, str, str]] = set()
    queue = deque([(start, 0)])
    while queue and len(kinds) < MAX_NODES:
        current, distance = queue.popleft()
        if distance >= depth:
            continue
        for source, target, kind in await _edges(ctx, db, facts, current, direction):
            edges.add((source, target, kind))
            other = target if source == current else source
            if other not in kinds:
                kinds[other] = _kind(other)
                queue.append((other, distance + 1))
    nodes = [
        LineageNode(id=strawberry.ID(n), kind=k, label=_label(n, facts))
        for n, k in kinds.items()
    ]
    return LineageGraph(
        nodes=nodes,
        edges=[
            LineageEdge(from_=strawberry.ID(s), to=strawberry.ID(t), kind=k)
            for s, t, k in sorted(edges)
        ],
    )


async def _facts(ctx: Context, db: str) -> _Facts:
    store = ctx.ports.store
    datasets = await all_datasets(ctx, db)
    facts = _Facts(versions={v.id: v for d in datasets.values() for v in d.versions})
    for event in await store.read_aggregate_type(db, MAIN_BRANCH, OBJECTIFY_RUN):
        if event.event_type == OBJECTIFY_RUN_RECORDED:
            facts.runs[event.aggregate_id] = dict(event.data)
    events = await store.read_aggregate_type(db, MAIN_BRANCH, PIPELINE_RUN)
    for run_id in {e.aggregate_id for e in events}:
        found = pipeline_run(e for e in events if e.aggregate_id == run_id)
        if found is not None:
            outputs = [str(o["version"]) for o in found.record.get("outputs", [])]
            facts.builds[run_id] = (list(found.record.get("inputs", [])), outputs)
    return facts


def _build_edges(
    facts: _Facts, node: str, *, up: bool, down: bool
) -> list[tuple[str, str, str]]:
    """Input version -> pipeline-run -> output version (SPEC §6.1)."""
    kind, _, key = node.partition(":")
    found: list[tuple[str, str, str]] = []
    for run_id, (inputs, outputs) in facts.builds.items():
        run = f"pipeline-run:{run_id}"
        if kind == "pipeline-run" and run_id == key:
            found += [(f"dataset-version:{v}", run, "input") for v in inputs if up]
            found += [(run, f"dataset-version:{v}", "output") for v in outputs if down]
        elif kind == "dataset-version":
            found += [(node, run, "input") for v in inputs if down and v == key]
            found += [(run, node, "output") for v in outputs if up and v == key]
    return found


async def _edges(
    ctx: Context, db: str, facts: _Facts, node: str, direction: LineageDirection
) -> list[tuple[str, str, str]]:
    up = direction is not LineageDirection.DOWNSTREAM
    down = direction is not LineageDirection.UPSTREAM
    kind, _, key = node.partition(":")
    found = _build_edges(facts, node, up=up, down=down)
    if kind == "dataset" and down:
        found += [
            (node, f"dataset-version:{v.id}", "version")
            for v in facts.versions.values()
            if v.dataset == key
        ]
    elif kind == "dataset-version":
        version = facts.versions.get(key)
        if version is not None and up:
            found.append((f"dataset:{version.dataset}", node, "version"))
        if down:
            found += [
                (node, f"objectify-run:{r}", "input")
                for r, run in facts.runs.items()
                if run.get("datasetVersion") == key
            ]
    elif kind == "mapping" and down:
        found += [
            (node, f"objectify-run:{r}", "mapping")
            for r, run in facts.runs.items()
            if run.get("mapping") == key
        ]
    elif kind == "objectify-run":
        found += await _run_edges(ctx, facts, node, key, up=up, down=down)
    elif kind == "instance" and up:
        found += await _instance_edges(ctx, db, node, key)
    return found


async def _run_edges(
    ctx: Context, facts: _Facts, node: str, run_id: str, *, up: bool, down: bool
) -> list[tuple[str, str, str]]:
    run = facts.runs.get(run_id)
    if run is None:
        return []
    found: list[tuple[str, str, str]] = []
    if up:
        found.append((f"dataset-version:{run['datasetVersion']}", node, "input"))
        found.append((f"mapping:{run['mapping']}", node, "mapping"))
    if down:
        class_id = str(run.get("classId", ""))
        for command_id in run.get("commandIds", []):  # type: ignore[attr-defined]
            stored = await ctx.ports.store.find_command(str(command_id))
            if stored is None:
                continue
            for stream in stored.result.heads:
                if stream.aggregate_type == INSTANCE:
                    instance_id = stream.aggregate_id.partition("/")[2]
                    found.append((node, f"instance:{class_id}:{instance_id}", "wrote"))
    return found


async def _instance_edges(
    ctx: Context, db: str, node: str, key: str
) -> list[tuple[str, str, str]]:
    class_id, _, instance_id = key.partition(":")
    branch = await ctx.ports.ontologies.branch_context(db, MAIN_BRANCH)
    root = (branch.ontology.ancestors(class_id) or (class_id,))[-1]
    stream = StreamId(
        db, MAIN_BRANCH, INSTANCE, instance_aggregate_id(root, instance_id)
    )
    runs = {
        e.metadata.get("objectify_run")
        for e in await ctx.ports.store.read_stream(stream)
    }
    return [(f"objectify-run:{r}", node, "wrote") for r in sorted(r for r in runs if r)]


def _kind(node: str) -> str:
    return node.partition(":")[0]


def _label(node: str, facts: _Facts) -> str:
    kind, _, key = node.partition(":")
    if kind == "dataset-version" and key in facts.versions:
        version = facts.versions[key]
        return f"{version.dataset} ({version.filename}, {version.row_count} rows)"
    if kind == "objectify-run" and key in facts.runs:
        return f"objectify {facts.runs[key].get('status', '')}".strip()
    return key
