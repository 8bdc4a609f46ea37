"""A validated pipeline as one DuckDB query: a CTE per node, built as sqlglot
trees (identifiers quoted, values as literals), rendered in the duckdb dialect."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from sqlglot import exp

from adapters.pipelines.expressions import SqlglotExpressions, physical
from domain.pipelines import ops_combine as oc
from domain.pipelines.plan import ValidatedPipeline
from domain.pipelines.spec import Node
from domain.pipelines.types import Column, Schema, kind_of

DIALECT: Final = "duckdb"
_RN: Final = "__spice_rn"
_AGG: Final = {"count": "COUNT", "sum": "SUM", "avg": "AVG", "min": "MIN", "max": "MAX"}


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def aliased(value: exp.Expr, name: str) -> exp.Expr:
    return exp.alias_(value, exp.to_identifier(name, quoted=True))


def table(name: str, alias: str | None = None) -> exp.Table:
    found = exp.Table(this=exp.to_identifier(name, quoted=True))
    return found if alias is None else exp.alias_(found, alias, table=True)  # type: ignore[return-value]


class Compiler:
    """`query(node)`: the rows of `node`, over relations named by `relation_of`."""

    def __init__(self, plan: ValidatedPipeline, relation_of: Mapping[str, str]) -> None:
        self.plan, self.relation_of = plan, relation_of
        self.expressions = SqlglotExpressions()

    def query(self, target: str) -> exp.Select:
        nodes = self.plan.upstream(target)
        final = exp.select(exp.Star()).from_(table(self._cte(target)))
        for node_id in nodes:
            final = final.with_(
                exp.to_identifier(self._cte(node_id), quoted=True),
                as_=self.node(node_id),
            )
        return final

    def sql(self, target: str) -> str:
        return self.query(target).sql(dialect=DIALECT)

    def node(self, node_id: str) -> exp.Select:
        node = self.plan.node(node_id)
        build = _BUILDERS[oc_name(node.op)]
        return build(self, node)

    def _cte(self, node_id: str) -> str:
        return f"n{self.plan.order.index(node_id)}"

    def source(self, ref: str) -> str:
        return self._cte(ref) if ref in self.plan.schemas else self.relation_of[ref]

    def schema_in(self, node: Node, index: int = 0) -> Schema:
        ref = node.inputs[index]
        found = self.plan.schemas.get(ref)
        return found if found is not None else self.plan.sources[ref].schema

    def schema_out(self, node: Node) -> Schema:
        return self.plan.schemas[node.id]

    def from_input(self, node: Node, *columns: exp.Expr) -> exp.Select:
        listed = columns or tuple(col(c.name) for c in self.schema_in(node))
        return exp.select(*listed).from_(table(self.source(node.inputs[0])))


def oc_name(op: str) -> str:
    return "groupBy" if op == "aggregate" else op


def _select(c: Compiler, node: Node) -> exp.Select:
    return c.from_input(node, *(col(x.name) for x in c.schema_out(node)))


def _filter(c: Compiler, node: Node) -> exp.Select:
    condition = c.expressions.render(str(node.args["expr"]), c.schema_in(node))
    return c.from_input(node).where(condition)


def _compute(c: Compiler, node: Node) -> exp.Select:
    target = str(node.args["column"])
    value = c.expressions.render(str(node.args["expr"]), c.schema_in(node))
    return c.from_input(
        node,
        *(
            aliased(value, x.name) if x.name == target else col(x.name)
            for x in c.schema_out(node)
        ),
    )


def _cast(c: Compiler, node: Node) -> exp.Select:
    target = str(node.args["column"])
    before = {x.name: x.type for x in c.schema_in(node)}[target]
    # CAST, not TRY_CAST: a value that does not convert stops the run, rather
    # than becoming a null nobody asked for.
    return c.from_input(node, *(
        aliased(cast_value(col(x.name), before, x.type), x.name) if x.name == target else col(x.name)
        for x in c.schema_out(node)
    ))  # fmt: skip


def cast_value(value: exp.Expr, source: str, target: str) -> exp.Expr:
    """Decimal to integer truncates toward zero, as Spark does; DuckDB's plain
    CAST rounds half to even (10.7 -> 11), a different meaning."""
    if kind_of(source) == "decimal" and kind_of(target) == "integer":
        value = exp.Anonymous(this="TRUNC", expressions=[value])
    return exp.Cast(this=value, to=physical(target))


def _rename(c: Compiler, node: Node) -> exp.Select:
    pairs = zip(c.schema_in(node), c.schema_out(node), strict=True)
    return c.from_input(node, *(aliased(col(old.name), new.name) for old, new in pairs))


def _dedupe(c: Compiler, node: Node) -> exp.Select:
    schema = c.schema_in(node)
    keys = list(node.args.get("columns") or [x.name for x in schema])
    numbered = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in keys])
    inner = c.from_input(node, *(col(x.name) for x in schema), aliased(numbered, _RN))
    outer = exp.select(*(col(x.name) for x in schema)).from_(inner.subquery("d"))
    return outer.where(exp.EQ(this=col(_RN), expression=exp.Literal.number(1)))


def _sort(c: Compiler, node: Node) -> exp.Select:
    keys = [
        exp.Ordered(
            this=col(str(k["column"])), desc=bool(k.get("desc")), nulls_first=False
        )
        for k in node.args["by"]
    ]
    return c.from_input(node).order_by(*keys)


def _limit(c: Compiler, node: Node) -> exp.Select:
    return c.from_input(node).limit(int(node.args["n"]))


def _explode(c: Compiler, node: Node) -> exp.Select:
    target = str(node.args["column"])
    if "separator" in node.args:
        items: exp.Expr = exp.Anonymous(
            this="string_split",
            expressions=[col(target), exp.Literal.string(str(node.args["separator"]))],
        )
    else:
        items = exp.Anonymous(
            this="json_extract_string",
            expressions=[col(target), exp.Literal.string("$[*]")],
        )
    each = exp.Anonymous(this="unnest", expressions=[items])
    return c.from_input(
        node,
        *(
            aliased(each, x.name) if x.name == target else col(x.name)
            for x in c.schema_out(node)
        ),
    )


def _join(c: Compiler, node: Node) -> exp.Select:
    left, right = c.schema_in(node, 0), c.schema_in(node, 1)
    keys = oc.join_keys(node.args)
    how = str(node.args.get("how", "inner"))
    select = exp.select(*_join_columns(left, right, keys, how)).from_(
        table(c.source(node.inputs[0]), "l")
    )
    on = (
        exp.and_(
            *(exp.EQ(this=col(lk, "l"), expression=col(rk, "r")) for lk, rk in keys)
        )
        if keys
        else None
    )
    side = {
        "inner": None,
        "cross": None,
        "left": "LEFT",
        "right": "RIGHT",
        "full": "FULL",
    }[how]
    kind = "CROSS" if how == "cross" else None
    joined = exp.Join(
        this=table(c.source(node.inputs[1]), "r"), on=on, side=side, kind=kind
    )
    return select.join(joined)


def _join_columns(
    left: Schema, right: Schema, keys: list[tuple[str, str]], how: str
) -> list[exp.Expr]:
    """Keys under the left name once; a right or full join takes the right key
    where the left side has no row."""
    right_of = dict(keys)
    out: list[exp.Expr] = []
    for side, column in oc.join_columns(left, right, keys):
        if side == "l" and column.name in right_of and how in ("right", "full"):
            value: exp.Expr = exp.Coalesce(
                this=col(column.name, "l"),
                expressions=[col(right_of[column.name], "r")],
            )
            out.append(aliased(value, column.name))
        elif side == "l":
            out.append(col(column.name, "l"))
        else:
            original = _right_name(column, right)
            out.append(aliased(col(original, "r"), column.name))
    return out


def _right_name(column: Column, right: Schema) -> str:
    names = {x.name for x in right}
    if column.name in names:
        return column.name
    return column.name[: -len(oc.RIGHT_SUFFIX)]


def _union(c: Compiler, node: Node) -> exp.Select:
    names = [x.name for x in c.schema_out(node)]
    parts = [
        exp.select(*(col(n) for n in names)).from_(table(c.source(ref)))
        for ref in node.inputs
    ]
    union: exp.Expr = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    return exp.select(exp.Star()).from_(union.subquery("u"))  # type: ignore[attr-defined]


def aggregate(fn: str, value: exp.Expr | None) -> exp.Expr:
    if value is None:
        return exp.Count(this=exp.Star())
    if fn == "countDistinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    return exp.Anonymous(this=_AGG[fn], expressions=[value])


def _group_by(c: Compiler, node: Node) -> exp.Select:
    keys = [str(k) for k in (node.args.get("keys") or [])]
    out = c.schema_out(node)[len(keys) :]
    specs = list(node.args["aggregates"])
    values = [
        aliased(
            aggregate(str(s["fn"]), col(str(s["column"])) if s.get("column") else None),
            o.name,
        )
        for s, o in zip(specs, out, strict=True)
    ]
    select = c.from_input(node, *(col(k) for k in keys), *values)
    return select.group_by(*(col(k) for k in keys)) if keys else select


def _window(c: Compiler, node: Node) -> exp.Select:
    a = node.args
    fn = str(a["fn"])
    target = col(str(a["column"])) if a.get("column") else None
    if fn in oc.RANKS:
        call: exp.Expr = exp.Anonymous(this=fn.upper(), expressions=[])
    elif fn in ("lag", "lead"):
        call = exp.Anonymous(
            this=fn.upper(),
            expressions=[target, exp.Literal.number(int(a.get("offset", 1)))],
        )
    elif fn in ("first_value", "last_value"):
        call = exp.Anonymous(this=fn.upper(), expressions=[target])
    else:
        call = aggregate(fn, target)
    order = [
        exp.Ordered(this=col(n), desc=d) for n, d in oc.order_keys(a.get("orderBy"))
    ]
    partition = [
        col(str(p))
        for p in (
            [a["partitionBy"]]
            if isinstance(a.get("partitionBy"), str)
            else a.get("partitionBy") or []
        )
    ]
    over = exp.Window(
        this=call,
        partition_by=partition,
        order=exp.Order(expressions=order) if order else None,
    )
    return c.from_input(
        node, *(col(x.name) for x in c.schema_in(node)), aliased(over, str(a["as"]))
    )


def _pivot(c: Compiler, node: Node) -> exp.Select:
    """Conditional aggregation: the same SQL on every engine, columns known upfront."""
    a = node.args
    index = [a["index"]] if isinstance(a["index"], str) else list(a["index"])
    fn, pivot = str(a.get("fn", "sum")), col(str(a["column"]))
    values: list[exp.Expr] = []
    for v in a["pivotValues"]:
        hit = exp.EQ(
            this=exp.Cast(this=pivot, to=physical("string")),
            expression=exp.Literal.string(str(v)),
        )
        picked = col(str(a["values"])) if a.get("values") else exp.Literal.number(1)
        case = exp.Case(ifs=[exp.If(this=hit, true=picked)])
        values.append(
            aliased(
                aggregate(fn if a.get("values") else "count", case)
                if a.get("values")
                else exp.Count(this=case),
                str(v),
            )
        )
    return c.from_input(node, *(col(i) for i in index), *values).group_by(
        *(col(i) for i in index)
    )


_BUILDERS: Final[dict[str, Callable[[Compiler, Node], exp.Select]]] = {
    "select": _select, "filter": _filter, "compute": _compute, "cast": _cast,
    "rename": _rename, "dedupe": _dedupe, "sort": _sort, "limit": _limit,
    "explode": _explode, "join": _join, "union": _union, "groupBy": _group_by,
    "window": _window, "pivot": _pivot,
}  # fmt: skip
