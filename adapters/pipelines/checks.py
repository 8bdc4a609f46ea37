"""Contracts and expectations on a built output (a DuckDB table): each failed rule
says how many rows broke it and shows a few (SPEC §6.1 PipelineRun.errors)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

import duckdb
from sqlglot import exp

from adapters.pipelines.compile import DIALECT, col, table
from domain.pipelines.plan import ValidatedPipeline
from domain.pipelines.ports import RuleFailure
from domain.pipelines.spec import Expectation, Output
from domain.pipelines.types import NUMERIC, Schema, column, kind_of

EXAMPLES: Final = 5
_COUNT: Final = "__spice_count"


def expectations_of(output: Output) -> list[Expectation]:
    """The output's expectations, a contract's `required` columns as not_null."""
    required = tuple(c.column for c in output.contract if c.required)
    extra = [Expectation("not_null", required)] if required else []
    return [*extra, *output.expectations]


def check(
    db: duckdb.DuckDBPyConnection,
    relation: str,
    output: Output,
    plan: ValidatedPipeline,
) -> list[RuleFailure]:
    schema = plan.schemas[output.node]
    failures: list[RuleFailure] = []
    total = _scalar(db, exp.select(exp.Count(this=exp.Star())).from_(table(relation)))
    for e in expectations_of(output):
        failure = _check_one(db, relation, e, schema, total)
        if failure is not None:
            failures.append(
                RuleFailure(output.node, e.rule, failure[0], failure[1], failure[2])
            )
    return failures


def _check_one(
    db: duckdb.DuckDBPyConnection,
    relation: str,
    e: Expectation,
    schema: Schema,
    total: int,
) -> tuple[str, int, list[dict[str, Any]]] | None:
    if e.rule in ("row_count_min", "row_count_max"):
        low = e.rule == "row_count_min"
        if (total < int(e.value)) if low else (total > int(e.value)):
            word = "at least" if low else "at most"
            return f"{total} rows; {word} {e.value} expected", total, []
        return None
    if e.rule == "unique":
        return _unique(db, relation, e)
    condition = _violation(e, schema)
    query = exp.select(exp.Star()).from_(table(relation)).where(condition)
    count = _scalar(
        db, exp.select(exp.Count(this=exp.Star())).from_(query.subquery("v"))
    )
    if not count:
        return None
    return (
        f"{count} rows break {e.rule} on {', '.join(e.columns)}",
        count,
        _examples(db, query),
    )


def _violation(e: Expectation, schema: Schema) -> exp.Expr:
    cols = [col(c) for c in e.columns]
    if e.rule == "not_null":
        return exp.or_(*(exp.Is(this=c, expression=exp.Null()) for c in cols))
    parts: list[exp.Expr] = []
    for name, c in zip(e.columns, cols, strict=True):
        present = exp.Not(this=exp.Is(this=c, expression=exp.Null()))
        parts.append(exp.and_(present, _breaks(e, c, schema, name)))
    return exp.or_(*parts)


def _breaks(e: Expectation, c: exp.Expr, schema: Schema, name: str) -> exp.Expr:
    if e.rule == "range":
        bounds: list[exp.Expr] = []
        if e.value.get("min") is not None:
            bounds.append(exp.LT(this=c, expression=_number(e.value["min"])))
        if e.value.get("max") is not None:
            bounds.append(exp.GT(this=c, expression=_number(e.value["max"])))
        return exp.or_(*bounds)
    text = exp.Cast(this=c, to=exp.DataType.build("VARCHAR"))
    if e.rule == "regex":
        matches = exp.Anonymous(
            this="regexp_full_match",
            expressions=[text, exp.Literal.string(str(e.value))],
        )
        return exp.Not(this=matches)
    found = column(schema, name)
    numeric = (
        found is not None
        and kind_of(found.type) in NUMERIC
        and all(isinstance(v, int | float) for v in e.value)
    )
    values = (
        [_number(v) for v in e.value]
        if numeric
        else [exp.Literal.string(str(v)) for v in e.value]
    )
    return exp.Not(this=exp.In(this=c if numeric else text, expressions=values))


def _number(value: Any) -> exp.Expr:
    return (
        exp.Literal.number(value)
        if value >= 0
        else exp.Neg(this=exp.Literal.number(-value))
    )


def _unique(
    db: duckdb.DuckDBPyConnection, relation: str, e: Expectation
) -> tuple[str, int, list[dict[str, Any]]] | None:
    """Rows whose key occurs more than once (SPEC §6.1); keys with a null take part."""
    counted = exp.Window(
        this=exp.Count(this=exp.Star()), partition_by=[col(c) for c in e.columns]
    )
    inner = exp.select(exp.Star(), exp.alias_(counted, _COUNT)).from_(table(relation))
    query = (
        exp.select(*(col(c) for c in e.columns), col(_COUNT))
        .from_(inner.subquery("u"))
        .where(exp.GT(this=col(_COUNT), expression=exp.Literal.number(1)))
    )
    count = _scalar(
        db, exp.select(exp.Count(this=exp.Star())).from_(query.subquery("v"))
    )
    if not count:
        return None
    return (
        f"{count} rows share a value of {', '.join(e.columns)}",
        count,
        _examples(db, query),
    )


def _scalar(db: duckdb.DuckDBPyConnection, query: exp.Expr) -> int:
    row = db.execute(query.sql(dialect=DIALECT)).fetchone()
    return int(row[0]) if row else 0


def _examples(db: duckdb.DuckDBPyConnection, query: exp.Select) -> list[dict[str, Any]]:
    cursor = db.execute(query.limit(EXAMPLES).sql(dialect=DIALECT))
    names = [d[0] for d in cursor.description or ()]
    return [
        {n: plain(v) for n, v in zip(names, row, strict=True) if n != _COUNT}
        for row in cursor.fetchall()
    ]


def plain(value: Any) -> Any:
    """A JSON value: dates and times in ISO-8601, decimals as numbers."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
