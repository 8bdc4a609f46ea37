"""Reading a node's `args` (JSON) with errors that name the argument."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.pipelines.problems import NodeProblem
from domain.pipelines.types import Column, Schema, column


def text(args: Mapping[str, Any], name: str, *, default: str | None = None) -> str:
    value = args.get(name, default)
    if not isinstance(value, str) or not value:
        raise NodeProblem("invalid_argument", f"`{name}` must be a non-empty string")
    return value


def texts(
    args: Mapping[str, Any], name: str, *, allow_empty: bool = False
) -> list[str]:
    value = args.get(name)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise NodeProblem(
            "invalid_argument", f"`{name}` must be a list of column names"
        )
    if not value and not allow_empty:
        raise NodeProblem("invalid_argument", f"`{name}` must name at least one column")
    return list(value)


def records(args: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = args.get(name)
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise NodeProblem("invalid_argument", f"`{name}` must be a list of objects")
    return list(value)


def existing(schema: Schema, name: str) -> Column:
    found = column(schema, name)
    if found is None:
        known = ", ".join(c.name for c in schema)
        raise NodeProblem(
            "unknown_column", f"no column {name!r} (columns: {known})", column=name
        )
    return found


def all_existing(schema: Schema, names: Sequence[str]) -> list[Column]:
    return [existing(schema, n) for n in names]


def unknown_args(args: Mapping[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(set(args) - allowed)
    if extra:
        raise NodeProblem(
            "unknown_argument",
            f"unknown argument(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}",
        )
