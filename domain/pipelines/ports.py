"""What validation and runs need from an engine: expression checking, preview, build."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from domain.pipelines.plan import ValidatedPipeline
from domain.pipelines.types import Schema


class ExpressionProblem(Exception):
    """An expression that cannot run: it does not parse, names an unknown column,
    uses an operator or function outside the allow-list, or mixes types."""

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.message, self.column = message, column


class ExpressionTyper(Protocol):
    def type_of(self, expr: str, schema: Schema) -> str:
        """The type of `expr` over `schema`; raises ExpressionProblem."""
        ...


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """A contract or expectation that failed on an output (PipelineRun.errors)."""

    node: str
    rule: str
    message: str
    count: int
    examples: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True, slots=True)
class Preview:
    schema: Schema
    rows: Sequence[Mapping[str, Any]]
    row_count: int  # rows of the node over the sample (not only those returned)
    errors: Sequence[tuple[str, str]] = ()  # (node, message)


@dataclass(frozen=True, slots=True)
class BuiltOutput:
    """An output computed and checked, in a local Parquet file (every column text)
    until it is stored; `columns` are the profile payloads with the computed types."""

    node: str
    dataset: str
    parquet: Path
    content_hash: str
    row_count: int
    columns: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    outputs: Sequence[BuiltOutput] = ()
    failures: Sequence[RuleFailure] = field(default_factory=tuple)


class PipelineEngine(Protocol):
    """Runs validated pipelines over stored dataset versions (adapters/pipelines)."""

    @property
    def expressions(self) -> ExpressionTyper: ...

    async def preview(
        self, plan: ValidatedPipeline, node: str, *, limit: int
    ) -> Preview:
        """`node` over a sample of each input (cached by the plan's hash)."""
        ...

    async def build(
        self,
        plan: ValidatedPipeline,
        *,
        on_stage: Callable[[str, int, int], None] | None = None,
    ) -> BuildOutcome:
        """Every output over all rows, checked; nothing is stored here. Raises
        EngineFailure when the engine cannot run it (e.g. a value a cast refuses)."""
        ...


class EngineFailure(Exception):
    """The engine stopped on the data (a cast that fails on a value, …)."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(message)
        self.node, self.message = node, message
