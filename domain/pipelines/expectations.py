"""Output checks known before running: contracts hold on the computed schema,
expectations name existing columns and carry usable values."""

from __future__ import annotations

import re
from typing import Final

from domain.pipelines.problems import NodeProblem
from domain.pipelines.spec import Expectation, Output
from domain.pipelines.types import NUMERIC, Schema, column, kind_of, satisfies

RULES: Final = frozenset(
    {"not_null", "unique", "row_count_min", "row_count_max", "range", "regex", "in_set"}
)
_NEEDS_COLUMNS: Final = RULES - {"row_count_min", "row_count_max"}


def check_output(output: Output, schema: Schema) -> list[NodeProblem]:
    problems: list[NodeProblem] = []
    for contract in output.contract:
        found = column(schema, contract.column)
        if found is None:
            problems.append(
                NodeProblem(
                    "contract",
                    "the contract expects this column but the node does not make it",
                    column=contract.column,
                )
            )
        elif not satisfies(found.type, contract.type):
            problems.append(
                NodeProblem(
                    "contract",
                    f"the contract expects {contract.type}, the node makes {found.type}",
                    column=contract.column,
                )
            )
    for expectation in output.expectations:
        try:
            check_expectation(expectation, schema)
        except NodeProblem as problem:
            problems.append(problem)
    return problems


def check_expectation(e: Expectation, schema: Schema) -> None:
    if e.rule not in RULES:
        raise NodeProblem(
            "unknown_rule",
            f"unknown rule {e.rule!r}; one of {', '.join(sorted(RULES))}",
        )
    if e.rule in _NEEDS_COLUMNS and not e.columns:
        raise NodeProblem("invalid_expectation", f"{e.rule} needs `columns`")
    for name in e.columns:
        if column(schema, name) is None:
            raise NodeProblem(
                "unknown_column", f"{e.rule}: no column {name!r}", column=name
            )
    _check_value(e, schema)


def _check_value(e: Expectation, schema: Schema) -> None:
    v = e.value
    if e.rule in ("row_count_min", "row_count_max"):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise NodeProblem(
                "invalid_expectation", f"{e.rule} needs a whole number `value`"
            )
    elif e.rule == "range":
        _check_range(e, schema)
    elif e.rule == "regex":
        if not isinstance(v, str):
            raise NodeProblem("invalid_expectation", "regex needs a pattern `value`")
        try:
            re.compile(v)
        except re.error as error:
            raise NodeProblem("invalid_expectation", f"regex: {error}") from None
    elif e.rule == "in_set" and not (isinstance(v, list) and v):
        raise NodeProblem("invalid_expectation", "in_set needs a list `value`")


def _check_range(e: Expectation, schema: Schema) -> None:
    v = e.value
    bounds = [v.get("min"), v.get("max")] if isinstance(v, dict) else []
    if (
        not bounds
        or all(b is None for b in bounds)
        or not all(
            b is None or (isinstance(b, int | float) and not isinstance(b, bool))
            for b in bounds
        )
    ):
        raise NodeProblem(
            "invalid_expectation", "range needs `value: {min, max}` (numbers)"
        )
    for name in e.columns:
        found = column(schema, name)
        if found is not None and kind_of(found.type) not in NUMERIC:
            raise NodeProblem(
                "type_error",
                f"range needs a number column; it is {found.type}",
                column=name,
            )
