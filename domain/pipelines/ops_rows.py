"""Schemas of the one-input ops that keep or reshape rows: select filter compute
cast rename dedupe sort limit explode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.pipelines import args as a
from domain.pipelines.ports import ExpressionProblem, ExpressionTyper
from domain.pipelines.problems import NodeProblem
from domain.pipelines.types import (
    BOOLEAN,
    CASTABLE,
    JSON,
    STRING,
    Column,
    Schema,
    kind_of,
)


def select(schema: Schema, args: Mapping[str, Any], _: ExpressionTyper) -> Schema:
    names = a.texts(args, "columns")
    _no_duplicates(names)
    return tuple(a.all_existing(schema, names))


def filter_(schema: Schema, args: Mapping[str, Any], typer: ExpressionTyper) -> Schema:
    found = _typed(typer, a.text(args, "expr"), schema)
    if found != BOOLEAN:
        raise NodeProblem(
            "type_error", f"`expr` must be a condition (boolean), not {found}"
        )
    return schema


def compute(schema: Schema, args: Mapping[str, Any], typer: ExpressionTyper) -> Schema:
    name = a.text(args, "column")
    found = _typed(typer, a.text(args, "expr"), schema)
    return _replaced(schema, Column(name, STRING if found == "null" else found))


def cast(schema: Schema, args: Mapping[str, Any], _: ExpressionTyper) -> Schema:
    target = a.text(args, "type")
    if target not in CASTABLE:
        raise NodeProblem(
            "unknown_type",
            f"cannot cast to {target!r}; one of {', '.join(sorted(CASTABLE))}",
        )
    found = a.existing(schema, a.text(args, "column"))
    return _replaced(schema, Column(found.name, target))


def rename(schema: Schema, args: Mapping[str, Any], _: ExpressionTyper) -> Schema:
    pairs = args.get("columns")
    if not isinstance(pairs, Mapping) or not pairs:
        raise NodeProblem(
            "invalid_argument", "`columns` must map old names to new ones"
        )
    for old in pairs:
        a.existing(schema, str(old))
    renamed = [Column(str(pairs.get(c.name, c.name)), c.type) for c in schema]
    _no_duplicates([c.name for c in renamed])
    return tuple(renamed)


def dedupe(schema: Schema, args: Mapping[str, Any], _: ExpressionTyper) -> Schema:
    if "columns" in args:
        a.all_existing(schema, a.texts(args, "columns"))
    return schema


def sort(schema: Schema, args: Mapping[str, Any], _: ExpressionTyper) -> Schema:
    for key in a.records(args, "by"):
        a.existing(schema, a.text(key, "column"))
    return schema


def limit(schema: Schema, args: Mapping[str, Any], _: ExpressionTyper) -> Schema:
    n = args.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise NodeProblem("invalid_argument", "`n` must be a whole number >= 0")
    return schema


def explode(schema: Schema, args: Mapping[str, Any], _: ExpressionTyper) -> Schema:
    found = a.existing(schema, a.text(args, "column"))
    if "separator" in args:
        a.text(args, "separator")
        if kind_of(found.type) != STRING:
            raise NodeProblem(
                "type_error", f"cannot split a {found.type} column", column=found.name
            )
    elif found.type != JSON:
        raise NodeProblem(
            "type_error",
            f"explode needs a json array column or a `separator`; {found.name!r} is {found.type}",
            column=found.name,
        )
    return _replaced(schema, Column(found.name, STRING))


def _typed(typer: ExpressionTyper, expr: str, schema: Schema) -> str:
    try:
        return typer.type_of(expr, schema)
    except ExpressionProblem as problem:
        raise NodeProblem(
            "invalid_expression", problem.message, column=problem.column
        ) from None


def _replaced(schema: Schema, new: Column) -> Schema:
    if any(c.name == new.name for c in schema):
        return tuple(new if c.name == new.name else c for c in schema)
    return (*schema, new)


def _no_duplicates(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise NodeProblem("duplicate_column", "column appears twice", column=name)
        seen.add(name)
