"""Validation before anything runs: a DAG without cycles, known ops and
arguments, inputs that exist, and every node's schema propagated from the input
versions' profiled column types, so problems name their node and column."""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter

from domain.errors import FieldError
from domain.pipelines.expectations import check_output
from domain.pipelines.ops import op_of
from domain.pipelines.plan import Source, ValidatedPipeline
from domain.pipelines.ports import ExpressionTyper
from domain.pipelines.problems import NodeProblem, field_error, invalid
from domain.pipelines.spec import (
    DATASET_REF,
    VERSION_REF,
    PipelineSpec,
    definition_hash,
)
from domain.pipelines.types import Schema

MAX_NODES = 200


def input_refs(spec: PipelineSpec) -> set[str]:
    """The dataset references the nodes read (to be resolved to versions)."""
    return {
        i
        for n in spec.nodes
        for i in n.inputs
        if i.startswith((DATASET_REF, VERSION_REF))
    }


def validate(
    spec: PipelineSpec, sources: Mapping[str, Source], typer: ExpressionTyper
) -> ValidatedPipeline:
    """Raises PipelineInvalid listing every problem found (one per node at most:
    a node whose input is broken is not checked further)."""
    order = _order(spec, sources)
    schemas: dict[str, Schema] = {}
    errors: list[FieldError] = []
    for node_id in order:
        node = spec.node(node_id)
        if node is None:  # unreachable: the order holds the spec's nodes only
            continue
        inputs = [schemas.get(i) or _source_schema(sources, i) for i in node.inputs]
        if any(s is None for s in inputs):
            continue  # an upstream node failed: reported there
        try:
            schemas[node_id] = op_of(node.op).schema(
                [s for s in inputs if s is not None], node.args, typer
            )
        except NodeProblem as problem:
            errors.append(field_error(node_id, problem))
    errors += _output_errors(spec, schemas)
    if errors:
        raise invalid(spec.id, errors)
    versions = sorted(s.version_id for s in sources.values())
    used = {r: s for r, s in sources.items() if r in input_refs(spec)}
    return ValidatedPipeline(
        spec, order, schemas, used, definition_hash(spec, versions)
    )


def _source_schema(sources: Mapping[str, Source], ref: str) -> Schema | None:
    found = sources.get(ref)
    return None if found is None else found.schema


def _order(spec: PipelineSpec, sources: Mapping[str, Source]) -> tuple[str, ...]:
    errors = _graph_errors(spec, sources)
    if errors:
        raise invalid(spec.id, errors)
    graph = {n.id: [i for i in n.inputs if spec.node(i)] for n in spec.nodes}
    try:
        return tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        cycle = [str(n) for n in error.args[1]]
        problem = NodeProblem("cycle", f"the nodes form a cycle: {' -> '.join(cycle)}")
        raise invalid(spec.id, [field_error(cycle[0], problem)]) from None


def _graph_errors(
    spec: PipelineSpec, sources: Mapping[str, Source]
) -> list[FieldError]:
    if not spec.nodes:
        return [FieldError(("input", "nodes"), "empty", "a pipeline needs nodes")]
    if len(spec.nodes) > MAX_NODES:
        return [
            FieldError(("input", "nodes"), "too_many", f"at most {MAX_NODES} nodes")
        ]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for node in spec.nodes:
        problem = _node_problem(spec, node.id, node.op, node.inputs, sources, seen)
        if problem is not None:
            errors.append(field_error(node.id, problem))
        seen.add(node.id)
    return errors


def _node_problem(
    spec: PipelineSpec, node_id: str, op: str, inputs: tuple[str, ...],
    sources: Mapping[str, Source], seen: set[str],
) -> NodeProblem | None:  # fmt: skip
    if not node_id or node_id.startswith((DATASET_REF, VERSION_REF)):
        return NodeProblem(
            "invalid_id", "a node id must not be empty or look like a dataset"
        )
    if node_id in seen:
        return NodeProblem("duplicate_node", "two nodes have this id")
    try:
        op_of(op)
    except NodeProblem as problem:
        return problem
    if not inputs:
        return NodeProblem("invalid_inputs", "a node needs inputs")
    for ref in inputs:
        if spec.node(ref) is None and ref not in sources:
            return NodeProblem(
                "unknown_input", f"input {ref!r} is no node, dataset or version"
            )
    return None


def _output_errors(
    spec: PipelineSpec, schemas: Mapping[str, Schema]
) -> list[FieldError]:
    if not spec.outputs:
        return [FieldError(("input", "outputs"), "empty", "a pipeline needs an output")]
    errors: list[FieldError] = []
    datasets: set[str] = set()
    for output in spec.outputs:
        if spec.node(output.node) is None:
            problem = NodeProblem("unknown_node", "no such node")
            errors.append(field_error(output.node, problem, where="outputs"))
            continue
        if output.dataset in datasets:
            problem = NodeProblem(
                "duplicate_output", f"two outputs write {output.dataset!r}"
            )
            errors.append(field_error(output.node, problem, where="outputs"))
        datasets.add(output.dataset)
        schema = schemas.get(output.node)
        if schema is not None:
            errors += [
                field_error(output.node, p, where="outputs")
                for p in check_output(output, schema)
            ]
    return errors
