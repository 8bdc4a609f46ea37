"""A pipeline definition as given to `definePipeline` (SPEC §6.1 PipelineInput)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

DATASET_REF: Final = "dataset:"  # its latest version
VERSION_REF: Final = "dataset-version:"


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    op: str
    inputs: tuple[str, ...]
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ColumnContract:
    column: str
    type: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Expectation:
    rule: str
    columns: tuple[str, ...] = ()
    value: Any = None


@dataclass(frozen=True, slots=True)
class Output:
    node: str
    dataset: str
    contract: tuple[ColumnContract, ...] = ()
    expectations: tuple[Expectation, ...] = ()


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    id: str
    nodes: tuple[Node, ...]
    outputs: tuple[Output, ...] = field(default_factory=tuple)

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    @classmethod
    def from_input(cls, data: Mapping[str, Any]) -> PipelineSpec:
        """From the GraphQL spelling (camelCase), as stored in events."""
        return cls(
            id=str(data["id"]),
            nodes=tuple(_node(n) for n in data.get("nodes") or ()),
            outputs=tuple(_output(o) for o in data.get("outputs") or ()),
        )

    def as_input(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "nodes": [
                {"id": n.id, "op": n.op, "inputs": list(n.inputs), "args": dict(n.args)}
                for n in self.nodes
            ],
            "outputs": [_output_input(o) for o in self.outputs],
        }


def _node(data: Mapping[str, Any]) -> Node:
    args = data.get("args")
    return Node(
        id=str(data["id"]),
        op=str(data["op"]),
        inputs=tuple(str(i) for i in data.get("inputs") or ()),
        args=dict(args) if isinstance(args, Mapping) else {},
    )


def _output(data: Mapping[str, Any]) -> Output:
    return Output(
        node=str(data["node"]),
        dataset=str(data["dataset"]),
        contract=tuple(
            ColumnContract(str(c["column"]), str(c["type"]), bool(c.get("required")))
            for c in data.get("contract") or ()
        ),
        expectations=tuple(
            Expectation(str(e["rule"]), tuple(e.get("columns") or ()), e.get("value"))
            for e in data.get("expectations") or ()
        ),
    )


def _output_input(output: Output) -> dict[str, Any]:
    return {
        "node": output.node,
        "dataset": output.dataset,
        "contract": [
            {"column": c.column, "type": c.type, "required": c.required}
            for c in output.contract
        ],
        "expectations": [
            {"rule": e.rule, "columns": list(e.columns), "value": e.value}
            for e in output.expectations
        ],
    }


def definition_hash(spec: PipelineSpec, versions: Sequence[str]) -> str:
    """Names a definition over given input versions: previews are cached by it."""
    text = json.dumps([spec.as_input(), list(versions)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
