"""A validated pipeline: what an engine runs (every schema known beforehand)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.pipelines.spec import Node, PipelineSpec
from domain.pipelines.types import Schema


@dataclass(frozen=True, slots=True)
class Source:
    """An input reference resolved to one stored dataset version."""

    ref: str  # "dataset:<name>" or "dataset-version:<id>"
    version_id: str
    dataset: str
    blob_key: str
    columns: Sequence[Mapping[str, Any]]  # the version's profile (type, format)
    schema: Schema


@dataclass(frozen=True, slots=True)
class ValidatedPipeline:
    spec: PipelineSpec
    order: tuple[str, ...]  # node ids, every node after its inputs
    schemas: Mapping[str, Schema]  # node id -> its output columns
    sources: Mapping[str, Source]  # reference -> version
    hash: str  # definition_hash over the resolved versions

    def node(self, node_id: str) -> Node:
        found = self.spec.node(node_id)
        if found is None:
            raise KeyError(node_id)
        return found

    def upstream(self, node_id: str) -> tuple[str, ...]:
        """`node_id` and the nodes it reads, in run order."""
        needed = {node_id}
        for current in reversed(self.order):
            if current in needed:
                needed.update(i for i in self.node(current).inputs if i in self.schemas)
        return tuple(n for n in self.order if n in needed)
