"""Schemas of the ops that combine rows or inputs: join union groupBy window pivot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from domain.pipelines import args as a
from domain.pipelines.problems import NodeProblem
from domain.pipelines.types import (
    DECIMAL,
    INTEGER,
    NUMERIC,
    Column,
    Schema,
    comparable,
    kind_of,
    names,
)

JOINS: Final = frozenset({"inner", "left", "right", "full", "cross"})
UNIONS: Final = frozenset({"strict", "byName"})
AGGREGATES: Final = frozenset({"count", "sum", "avg", "min", "max", "countDistinct"})
RANKS: Final = frozenset({"row_number", "rank", "dense_rank"})
WINDOWS: Final = RANKS | frozenset(
    {"count", "sum", "avg", "min", "max", "lag", "lead", "first_value", "last_value"}
)
RIGHT_SUFFIX: Final = "_right"


def join_columns(
    left: Schema, right: Schema, keys: Sequence[tuple[str, str]]
) -> list[tuple[str, Column]]:
    """(side, column as output) for every output column: the left side's, then the
    right side's non-key columns, `_right` added to names the left side has."""
    right_keys = {r for _, r in keys}
    out: list[tuple[str, Column]] = [("l", c) for c in left]
    taken = set(names(left))
    for c in right:
        if c.name in right_keys:
            continue
        name = c.name + RIGHT_SUFFIX if c.name in taken else c.name
        if name in taken:
            raise NodeProblem(
                "duplicate_column", f"{name!r} exists on the left too", column=name
            )
        taken.add(name)
        out.append(("r", Column(name, c.type)))
    return out


def join_keys(args: Mapping[str, Any]) -> list[tuple[str, str]]:
    on = args.get("on") or []
    if not isinstance(on, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
        for p in on
    ):
        raise NodeProblem(
            "invalid_argument", "`on` must be a list of [leftColumn, rightColumn]"
        )
    return [(p[0], p[1]) for p in on]


def join(inputs: Sequence[Schema], args: Mapping[str, Any]) -> Schema:
    left, right = _arity(inputs, 2, "join")
    how = args.get("how", "inner")
    if how not in JOINS:
        raise NodeProblem(
            "invalid_argument", f"`how` must be one of {', '.join(sorted(JOINS))}"
        )
    keys = join_keys(args)
    _join_mode(how, keys, args)
    for lk, rk in keys:
        lc, rc = a.existing(left, lk), _right_column(right, rk)
        if not comparable(lc.type, rc.type):
            raise NodeProblem(
                "type_mismatch",
                f"join key {lk!r} is {lc.type} but right {rk!r} is {rc.type}",
                column=lk,
            )
    return tuple(c for _, c in join_columns(left, right, keys))


def _join_mode(how: str, keys: list[tuple[str, str]], args: Mapping[str, Any]) -> None:
    if how == "cross":
        if keys:
            raise NodeProblem("invalid_argument", "a cross join takes no `on`")
        if args.get("allowCross") is not True:
            raise NodeProblem("cross_join", "a cross join needs `allowCross: true`")
    elif not keys:
        raise NodeProblem("invalid_argument", f"a {how} join needs `on` keys")


def _right_column(right: Schema, name: str) -> Column:
    try:
        return a.existing(right, name)
    except NodeProblem as problem:
        raise NodeProblem(
            problem.code, f"right side: {problem.message}", column=name
        ) from None


def union(inputs: Sequence[Schema], args: Mapping[str, Any]) -> Schema:
    if len(inputs) < 2:
        raise NodeProblem("invalid_inputs", "union needs at least two inputs")
    mode = args.get("mode", "strict")
    if mode not in UNIONS:
        raise NodeProblem("invalid_argument", "`mode` must be strict or byName")
    first = inputs[0]
    for index, other in enumerate(inputs[1:], start=2):
        if mode == "strict" and names(other) != names(first):
            raise NodeProblem(
                "schema_mismatch",
                f"strict union: input {index} has columns {names(other)}, input 1 {names(first)}",
            )
        _same_columns(first, other, index)
    return first


def _same_columns(first: Schema, other: Schema, index: int) -> None:
    mine = {c.name: c.type for c in other}
    if set(mine) != set(names(first)):
        missing = sorted(set(names(first)) ^ set(mine))
        raise NodeProblem(
            "schema_mismatch",
            f"input {index} differs in columns {missing}",
            column=missing[0],
        )
    for c in first:
        if kind_of(mine[c.name]) != kind_of(c.type):
            raise NodeProblem(
                "type_mismatch",
                f"input {index} has {mine[c.name]} where input 1 has {c.type}",
                column=c.name,
            )


def group_by(inputs: Sequence[Schema], args: Mapping[str, Any]) -> Schema:
    (schema,) = _arity(inputs, 1, "groupBy")
    keys = a.all_existing(schema, a.texts(args, "keys", allow_empty=True))
    out = list(keys)
    for spec in a.records(args, "aggregates"):
        fn = str(spec.get("fn"))
        name = spec.get("as") or (
            f"{fn}_{spec['column']}" if spec.get("column") else fn
        )
        out.append(Column(str(name), aggregate_type(schema, fn, spec.get("column"))))
    _unique_names(out)
    return tuple(out)


def aggregate_type(schema: Schema, fn: str, column: object) -> str:
    if fn not in AGGREGATES:
        raise NodeProblem(
            "unknown_function",
            f"aggregate {fn!r}; one of {', '.join(sorted(AGGREGATES))}",
        )
    if column is None:
        if fn != "count":
            raise NodeProblem("invalid_argument", f"{fn} needs a `column`")
        return INTEGER
    found = a.existing(schema, str(column))
    return _fn_type(fn, found)


def _fn_type(fn: str, found: Column) -> str:
    if fn in ("count", "countDistinct", *RANKS):
        return INTEGER
    if fn in ("sum", "avg") and kind_of(found.type) not in NUMERIC:
        raise NodeProblem(
            "type_error",
            f"{fn} needs numbers; {found.name!r} is {found.type}",
            column=found.name,
        )
    if fn == "avg":
        return DECIMAL
    return kind_of(found.type) if fn == "sum" else found.type


def window(inputs: Sequence[Schema], args: Mapping[str, Any]) -> Schema:
    (schema,) = _arity(inputs, 1, "window")
    a.all_existing(
        schema,
        a.texts(args, "partitionBy", allow_empty=True) if "partitionBy" in args else [],
    )
    for key in order_keys(args.get("orderBy")):
        a.existing(schema, key[0])
    fn = a.text(args, "fn")
    if fn not in WINDOWS:
        raise NodeProblem(
            "unknown_function",
            f"window function {fn!r}; one of {', '.join(sorted(WINDOWS))}",
        )
    if fn in RANKS:
        kind = INTEGER
    elif "column" in args:
        kind = _fn_type(fn, a.existing(schema, a.text(args, "column")))
    elif fn == "count":
        kind = INTEGER
    else:
        raise NodeProblem("invalid_argument", f"{fn} needs a `column`")
    out = [*schema, Column(a.text(args, "as"), kind)]
    _unique_names(out)
    return tuple(out)


def order_keys(value: object) -> list[tuple[str, bool]]:
    """`orderBy`: column names or {column desc} objects -> (column, descending)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise NodeProblem("invalid_argument", "`orderBy` must be a list")
    keys: list[tuple[str, bool]] = []
    for item in value:
        if isinstance(item, str):
            keys.append((item, False))
        elif isinstance(item, Mapping):
            keys.append((a.text(item, "column"), bool(item.get("desc"))))
        else:
            raise NodeProblem(
                "invalid_argument", "`orderBy` items: a column or {column desc}"
            )
    return keys


def pivot(inputs: Sequence[Schema], args: Mapping[str, Any]) -> Schema:
    """Output columns must be known before running, so the pivot column's values
    are listed (`pivotValues`) rather than discovered from the data."""
    (schema,) = _arity(inputs, 1, "pivot")
    index = a.all_existing(schema, a.texts(args, "index"))
    a.existing(schema, a.text(args, "column"))
    kind = aggregate_type(schema, a.text(args, "fn", default="sum"), args.get("values"))
    values = args.get("pivotValues")
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str | int) for v in values)
    ):
        raise NodeProblem(
            "invalid_argument", "`pivotValues` must list the pivot column's values"
        )
    out = [*index, *(Column(str(v), kind) for v in values)]
    _unique_names(out)
    return tuple(out)


def _arity(inputs: Sequence[Schema], n: int, op: str) -> Sequence[Schema]:
    if len(inputs) != n:
        raise NodeProblem(
            "invalid_inputs", f"{op} takes {n} input(s), got {len(inputs)}"
        )
    return inputs


def _unique_names(columns: list[Column]) -> None:
    seen: set[str] = set()
    for c in columns:
        if c.name in seen:
            raise NodeProblem(
                "duplicate_column", "column appears twice in the output", column=c.name
            )
        seen.add(c.name)
