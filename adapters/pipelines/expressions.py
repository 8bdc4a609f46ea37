"""Pipeline expressions (`filter`, `compute`): parsed by sqlglot into a tree,
checked against an allow-list of node types, typed over the input schema, and
rendered per dialect from the tree, never pasted into SQL as text.

The allow-list (README "Pipeline expressions") is the set of node classes in
`_TYPERS`: anything else (subqueries, table functions, unknown functions,
`*`) is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from domain.pipelines import types as ty
from domain.pipelines.ports import ExpressionProblem
from domain.pipelines.types import Schema, column

MAX_LENGTH: Final = 4_000
MAX_DEPTH: Final = 64  # levels of nesting; a person writes a handful
_TOO_DEEP: Final = f"the expression is nested more than {MAX_DEPTH} levels deep"
Typer = Callable[["_Checker", exp.Expr], str]


def parse(expr: str) -> exp.Expr:
    if len(expr) > MAX_LENGTH:
        raise ExpressionProblem(
            f"the expression is longer than {MAX_LENGTH} characters"
        )
    try:
        tree = sqlglot.parse_one(expr, read="duckdb")
    except ParseError as error:
        raise ExpressionProblem(
            f"cannot parse {expr!r}: {error.errors[0]['description'] if error.errors else error}"
        ) from None
    except RecursionError:  # the parser recurses per level: `NOT NOT … true`
        raise ExpressionProblem(_TOO_DEEP) from None
    if tree is None:
        raise ExpressionProblem("an empty expression")
    # The checker, the rewrites and SQL generation recurse over the tree too:
    # bound its depth here, walking it without recursion.
    if any(node.depth > MAX_DEPTH for node in tree.walk()):
        raise ExpressionProblem(_TOO_DEEP)
    return tree


class SqlglotExpressions:
    """The ExpressionTyper of every engine: one meaning, each dialect's rendering."""

    def type_of(self, expr: str, schema: Schema) -> str:
        return _Checker(schema).type(parse(expr))

    def render(self, expr: str, schema: Schema) -> exp.Expr:
        """The checked tree with every column a quoted identifier."""
        tree = parse(expr)
        checker = _Checker(schema)
        checker.type(tree)
        holder = exp.Paren(this=tree)  # so that the root, too, can be replaced
        for node in list(tree.find_all(exp.Floor, exp.Ceil, exp.Cast)):
            _whole_numbers(checker, node)
        rendered: exp.Expr = holder.this
        return rendered.transform(_quoted)


def _quoted(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Column):
        return exp.column(node.name, quoted=True)
    return node


def _whole_numbers(checker: _Checker, node: exp.Expr) -> None:
    """What the checker types as integer is an integer on every engine: DuckDB's
    floor/ceil of a double return a double (11.0), and its CAST to an integer
    rounds half to even where Spark truncates, so truncate explicitly. A CAST
    names the physical type of its target (`decimal` is DOUBLE, as in `cast`
    nodes, not DuckDB's DECIMAL(18,3) that drops digits; `timestamp` is TZ-aware)."""
    bigint = exp.DataType.build("BIGINT")
    if isinstance(node, exp.Floor | exp.Ceil):
        node.replace(exp.Cast(this=node.copy(), to=bigint))
        return
    target = _CAST_TYPES[node.args["to"].this]
    value = node.this.copy()
    if target == ty.INTEGER and ty.kind_of(checker.type(node.this)) == ty.DECIMAL:
        value = exp.Anonymous(this="TRUNC", expressions=[value])
    node.replace(exp.Cast(this=value, to=physical(target)))


def physical(type_name: str) -> exp.DataType:
    """The engine type that holds a column of `type_name`."""
    return exp.DataType.build(PHYSICAL[ty.kind_of(type_name)], dialect="duckdb")


class _Checker:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def type(self, node: exp.Expr) -> str:
        typer = _TYPERS.get(type(node))
        if typer is None:
            raise ExpressionProblem(
                f"{_describe(node)} is not allowed in expressions (see the README's allow-list)"
            )
        return typer(self, node)

    def column(self, node: exp.Expr) -> str:
        if not isinstance(node, exp.Column) or node.table:
            raise ExpressionProblem(
                f"qualified name {node.sql()!r}: name the column alone"
            )
        found = column(self.schema, node.name)
        if found is None:
            raise ExpressionProblem(f"unknown column {node.name!r}", column=node.name)
        return found.type

    def args(self, node: exp.Expr) -> list[str]:
        return [self.type(a) for a in _operands(node)]

    def numeric(self, node: exp.Expr, what: str) -> list[str]:
        found = self.args(node)
        for operand, kind in zip(_operands(node), found, strict=True):
            if ty.kind_of(kind) not in ty.NUMERIC | {ty.NULL}:
                raise ExpressionProblem(
                    f"{what} needs numbers, but {operand.sql()!r} is {kind}",
                    column=_column_name(operand),
                )
        return found

    def text(self, node: exp.Expr, what: str) -> list[str]:
        found = self.args(node)
        for operand, kind in zip(_operands(node), found, strict=True):
            if ty.kind_of(kind) not in (ty.STRING, ty.NULL):
                raise ExpressionProblem(
                    f"{what} needs text, but {operand.sql()!r} is {kind}",
                    column=_column_name(operand),
                )
        return found

    def boolean(self, node: exp.Expr, what: str) -> str:
        for operand, kind in zip(_operands(node), self.args(node), strict=True):
            if kind not in (ty.BOOLEAN, ty.NULL):
                raise ExpressionProblem(
                    f"{what} needs conditions, but {operand.sql()!r} is {kind}"
                )
        return ty.BOOLEAN

    def unify(self, nodes: list[exp.Expr], what: str) -> str:
        result = ty.NULL
        for operand in nodes:
            kind = self.type(operand)
            merged = ty.unified(result, kind)
            if merged is None:
                raise ExpressionProblem(
                    f"{what} mixes {result} and {kind} ({operand.sql()!r})"
                )
            result = merged
        return result


def _operands(node: exp.Expr) -> list[exp.Expr]:
    """The value operands (not the DataType of a CAST, not literal options)."""
    if isinstance(node, exp.Cast):
        return [node.this]
    found: list[exp.Expr] = []
    for value in node.args.values():
        items = value if isinstance(value, list) else [value]
        found += [
            v
            for v in items
            if isinstance(v, exp.Expr) and not isinstance(v, exp.DataType)
        ]
    return found


def _column_name(node: exp.Expr) -> str | None:
    return node.name if isinstance(node, exp.Column) else None


def _describe(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return f"function {node.name!r}"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name()!r}"
    return f"{type(node).__name__} ({node.sql()[:40]!r})"


def _literal(_: _Checker, node: exp.Expr) -> str:
    if not isinstance(node, exp.Literal) or node.is_string:
        return ty.STRING
    return ty.DECIMAL if any(c in node.this for c in ".eE") else ty.INTEGER


def _arithmetic(c: _Checker, node: exp.Expr) -> str:
    name: dict[type[exp.Expr], str] = {
        exp.Add: "+",
        exp.Sub: "-",
        exp.Mul: "*",
        exp.Div: "/",
        exp.Mod: "%",
        exp.IntDiv: "//",
    }
    kinds = c.numeric(node, f"'{name.get(type(node), '?')}'")
    if isinstance(node, exp.Div):
        return ty.DECIMAL
    return ty.INTEGER if all(k in (ty.INTEGER, ty.NULL) for k in kinds) else ty.DECIMAL


def _comparison(c: _Checker, node: exp.Expr) -> str:
    left, right = node.this, node.expression
    a, b = c.type(left), c.type(right)
    if not (ty.comparable(a, b) or _temporal_vs_text(left, a, right, b)):
        raise ExpressionProblem(
            f"cannot compare {left.sql()!r} ({a}) with {right.sql()!r} ({b})",
            column=_column_name(left) or _column_name(right),
        )
    return ty.BOOLEAN


def _temporal_vs_text(left: exp.Expr, a: str, right: exp.Expr, b: str) -> bool:
    """`day >= '2024-01-01'`: a date compared with a text literal reads the literal."""
    return (
        a in ty.TEMPORAL and isinstance(right, exp.Literal) and right.is_string
    ) or (b in ty.TEMPORAL and isinstance(left, exp.Literal) and left.is_string)


def _in(c: _Checker, node: exp.Expr) -> str:
    if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
        raise ExpressionProblem("IN takes a list of values, not a query")
    base = c.type(node.this)
    for item in node.expressions:
        kind = c.type(item)
        if not (
            ty.comparable(base, kind) or _temporal_vs_text(node.this, base, item, kind)
        ):
            raise ExpressionProblem(
                f"IN mixes {base} with {item.sql()!r} ({kind})",
                column=_column_name(node.this),
            )
    return ty.BOOLEAN


def _between(c: _Checker, node: exp.Expr) -> str:
    base = c.type(node.this)
    for bound in (node.args["low"], node.args["high"]):
        kind = c.type(bound)
        if not (
            ty.comparable(base, kind) or _temporal_vs_text(node.this, base, bound, kind)
        ):
            raise ExpressionProblem(
                f"BETWEEN mixes {base} with {bound.sql()!r} ({kind})",
                column=_column_name(node.this),
            )
    return ty.BOOLEAN


def _case(c: _Checker, node: exp.Expr) -> str:
    if node.this is not None:
        raise ExpressionProblem(
            "write CASE WHEN <condition> THEN …, not CASE <value> WHEN …"
        )
    results: list[exp.Expr] = []
    for branch in node.args.get("ifs") or []:
        if c.type(branch.this) not in (ty.BOOLEAN, ty.NULL):
            raise ExpressionProblem(f"WHEN needs a condition: {branch.this.sql()!r}")
        results.append(branch.args["true"])
    if node.args.get("default") is not None:
        results.append(node.args["default"])
    return c.unify(results, "CASE")


def _if(c: _Checker, node: exp.Expr) -> str:
    if c.type(node.this) not in (ty.BOOLEAN, ty.NULL):
        raise ExpressionProblem(f"IF needs a condition: {node.this.sql()!r}")
    branches = [node.args["true"]] + (
        [node.args["false"]] if node.args.get("false") else []
    )
    return c.unify(branches, "IF")


def _cast(c: _Checker, node: exp.Expr) -> str:
    c.args(node)
    target = _CAST_TYPES.get(node.args["to"].this)
    if target is None:
        raise ExpressionProblem(f"cannot cast to {node.args['to'].sql()!r}")
    return target


def _coalesce(c: _Checker, node: exp.Expr) -> str:
    return c.unify(_operands(node), "COALESCE")


def _same_as_first(check: str) -> Typer:
    def typer(c: _Checker, node: exp.Expr) -> str:
        return (c.numeric(node, check) if check != "text" else c.text(node, check))[0]

    return typer


def _fixed(result: str, check: str) -> Typer:
    def typer(c: _Checker, node: exp.Expr) -> str:
        if check == "text":
            c.text(node, type(node).__name__.lower())
        elif check == "numeric":
            c.numeric(node, type(node).__name__.lower())
        elif check == "temporal":
            kind = c.type(node.this)
            if kind not in (ty.DATE, ty.DATETIME, ty.NULL):
                raise ExpressionProblem(
                    f"{type(node).__name__.lower()} needs a date, not {kind}",
                    column=_column_name(node.this),
                )
        else:
            c.args(node)
        return result

    return typer


def _substring(c: _Checker, node: exp.Expr) -> str:
    if ty.kind_of(c.type(node.this)) not in (ty.STRING, ty.NULL):
        raise ExpressionProblem("substring needs text", column=_column_name(node.this))
    for arg in (node.args.get("start"), node.args.get("length")):
        if arg is not None and c.type(arg) not in (ty.INTEGER, ty.NULL):
            raise ExpressionProblem("substring positions are integers")
    return ty.STRING


def _round(c: _Checker, node: exp.Expr) -> str:
    kinds = c.numeric(node, "round")
    return kinds[0]


PHYSICAL: Final = {ty.INTEGER: "BIGINT", ty.DECIMAL: "DOUBLE", ty.BOOLEAN: "BOOLEAN",
                   ty.DATE: "DATE", ty.DATETIME: "TIMESTAMPTZ", ty.TIME: "TIME",
                   ty.STRING: "VARCHAR"}  # fmt: skip
_CAST_TYPES: Final = {
    exp.DataType.Type.BIGINT: ty.INTEGER, exp.DataType.Type.INT: ty.INTEGER,
    exp.DataType.Type.DOUBLE: ty.DECIMAL, exp.DataType.Type.DECIMAL: ty.DECIMAL,
    exp.DataType.Type.VARCHAR: ty.STRING, exp.DataType.Type.TEXT: ty.STRING,
    exp.DataType.Type.BOOLEAN: ty.BOOLEAN, exp.DataType.Type.DATE: ty.DATE,
    exp.DataType.Type.TIMESTAMP: ty.DATETIME, exp.DataType.Type.TIMESTAMPTZ: ty.DATETIME,
    exp.DataType.Type.TIMESTAMPNTZ: ty.DATETIME,
    exp.DataType.Type.TIME: ty.TIME,
}  # fmt: skip

_TYPERS: Final[dict[type[exp.Expr], Typer]] = {
    exp.Column: lambda c, n: c.column(n),
    exp.Literal: _literal,
    exp.Boolean: lambda _c, _n: ty.BOOLEAN,
    exp.Null: lambda _c, _n: ty.NULL,
    exp.Paren: lambda c, n: c.type(n.this),
    exp.And: lambda c, n: c.boolean(n, "AND"),
    exp.Or: lambda c, n: c.boolean(n, "OR"),
    exp.Not: lambda c, n: c.boolean(n, "NOT"),
    **dict.fromkeys((exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE), _comparison),
    **dict.fromkeys(
        (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv), _arithmetic
    ),
    exp.Neg: _same_as_first("unary minus"),
    exp.Abs: _same_as_first("abs"),
    exp.Floor: _fixed(ty.INTEGER, "numeric"),
    exp.Ceil: _fixed(ty.INTEGER, "numeric"),
    exp.Round: _round,
    exp.Is: lambda c, n: (c.type(n.this), ty.BOOLEAN)[1],
    exp.In: _in,
    exp.Between: _between,
    exp.Like: _fixed(ty.BOOLEAN, "text"),
    exp.ILike: _fixed(ty.BOOLEAN, "text"),
    exp.DPipe: _fixed(ty.STRING, "text"),
    exp.Concat: _fixed(ty.STRING, "text"),
    exp.Lower: _fixed(ty.STRING, "text"),
    exp.Upper: _fixed(ty.STRING, "text"),
    exp.Trim: _fixed(ty.STRING, "text"),
    exp.Length: _fixed(ty.INTEGER, "text"),
    exp.Substring: _substring,
    exp.Year: _fixed(ty.INTEGER, "temporal"),
    exp.Month: _fixed(ty.INTEGER, "temporal"),
    exp.Day: _fixed(ty.INTEGER, "temporal"),
    exp.Case: _case,
    exp.If: _if,
    exp.Coalesce: _coalesce,
    exp.Cast: _cast,
}
