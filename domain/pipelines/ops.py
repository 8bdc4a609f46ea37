"""The op table (SPEC §6.1): each op's arguments and how it makes its schema."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from domain.pipelines import ops_combine as oc
from domain.pipelines import ops_rows as orow
from domain.pipelines.args import unknown_args
from domain.pipelines.ports import ExpressionTyper
from domain.pipelines.problems import NodeProblem
from domain.pipelines.types import Schema

Rows = Callable[[Schema, Mapping[str, Any], ExpressionTyper], Schema]
Combine = Callable[[Sequence[Schema], Mapping[str, Any]], Schema]


@dataclass(frozen=True, slots=True)
class Op:
    args: frozenset[str]
    rows: Rows | None = None  # one input
    combine: Combine | None = None

    def schema(
        self, inputs: Sequence[Schema], args: Mapping[str, Any], typer: ExpressionTyper
    ) -> Schema:
        unknown_args(args, self.args)
        if self.combine is not None:
            return self.combine(inputs, args)
        if len(inputs) != 1:
            raise NodeProblem("invalid_inputs", f"takes one input, got {len(inputs)}")
        if self.rows is None:
            raise NodeProblem("unknown_op", "the op has no implementation")
        return self.rows(inputs[0], args, typer)


def _args(*names: str) -> frozenset[str]:
    return frozenset(names)


OPS: Final[Mapping[str, Op]] = {
    "select": Op(_args("columns"), rows=orow.select),
    "filter": Op(_args("expr"), rows=orow.filter_),
    "compute": Op(_args("column", "expr"), rows=orow.compute),
    "cast": Op(_args("column", "type"), rows=orow.cast),
    "rename": Op(_args("columns"), rows=orow.rename),
    "dedupe": Op(_args("columns"), rows=orow.dedupe),
    "sort": Op(_args("by"), rows=orow.sort),
    "limit": Op(_args("n"), rows=orow.limit),
    "explode": Op(_args("column", "separator"), rows=orow.explode),
    "join": Op(_args("how", "on", "allowCross"), combine=oc.join),
    "union": Op(_args("mode"), combine=oc.union),
    "groupBy": Op(_args("keys", "aggregates"), combine=oc.group_by),
    "window": Op(
        _args("partitionBy", "orderBy", "fn", "as", "column", "offset"),
        combine=oc.window,
    ),
    "pivot": Op(
        _args("index", "column", "values", "fn", "pivotValues"), combine=oc.pivot
    ),
}
OPS_ALIASES: Final = {"aggregate": "groupBy"}  # SPEC §6: `groupBy`/`aggregate`


def op_of(name: str) -> Op:
    found = OPS.get(OPS_ALIASES.get(name, name))
    if found is None:
        raise NodeProblem(
            "unknown_op", f"unknown op {name!r}; one of {', '.join(sorted(OPS))}"
        )
    return found
