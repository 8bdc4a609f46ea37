"""Validation before running: every problem names its node and column."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.pipelines.expressions import SqlglotExpressions
from domain.pipelines.plan import Source
from domain.pipelines.problems import PipelineInvalid
from domain.pipelines.spec import PipelineSpec
from domain.pipelines.types import Column
from domain.pipelines.validate import validate

ORDERS = (Column("id", "integer"), Column("name", "string"), Column("qty", "integer"))
CLIENTS = (Column("id", "string"), Column("name", "string"))
SOURCES = {
    "dataset:orders": Source("dataset:orders", "v1", "orders", "k1", [], ORDERS),
    "dataset:clients": Source("dataset:clients", "v2", "clients", "k2", [], CLIENTS),
}


def _check(
    nodes: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None
) -> None:
    outputs = outputs or [{"node": nodes[-1]["id"], "dataset": "out"}]
    spec = PipelineSpec.from_input({"id": "p", "nodes": nodes, "outputs": outputs})
    validate(spec, SOURCES, SqlglotExpressions())


def _error(
    nodes: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None
) -> str:
    with pytest.raises(PipelineInvalid) as raised:
        _check(nodes, outputs)
    return " | ".join(e.message for e in raised.value.errors)


def node(id: str, op: str, inputs: list[str], **args: Any) -> dict[str, Any]:
    return {"id": id, "op": op, "inputs": inputs, "args": args}


def test_accepts_a_valid_pipeline() -> None:
    _check([node("f", "filter", ["dataset:orders"], expr="qty > 1 and name = 'x'")])


def test_rejects_a_cycle() -> None:
    message = _error([node("a", "limit", ["b"], n=1), node("b", "limit", ["a"], n=1)])
    assert "cycle" in message


def test_rejects_an_unknown_op_and_an_unknown_input() -> None:
    assert "unknown op 'frobnicate'" in _error(
        [node("a", "frobnicate", ["dataset:orders"])]
    )
    assert "dataset:nope" in _error([node("a", "limit", ["dataset:nope"], n=1)])


def test_rejects_an_unknown_column_naming_node_and_column() -> None:
    message = _error([node("s", "select", ["dataset:orders"], columns=["id", "price"])])
    assert "node 's', column 'price'" in message


def test_rejects_a_function_outside_the_allow_list() -> None:
    message = _error(
        [node("f", "filter", ["dataset:orders"], expr="read_csv('x') is null")]
    )
    assert "not allowed" in message


def test_rejects_expressions_nested_past_the_limit() -> None:
    """Each is a clear error, not a RecursionError from the parser or checker."""
    for expr in ("(" * 1500 + "qty" + ")" * 1500 + " > 1", "NOT " * 900 + "true",
                 "qty" + " + 1" * 900 + " > 1"):  # fmt: skip
        message = _error([node("f", "filter", ["dataset:orders"], expr=expr)])
        assert "nested more than 64 levels deep" in message


def test_rejects_adding_a_number_to_a_string() -> None:
    message = _error(
        [node("c", "compute", ["dataset:orders"], column="x", expr="name + 1")]
    )
    assert "'+' needs numbers, but 'name' is string" in message


def test_rejects_a_join_on_mistyped_keys() -> None:
    nodes = [
        node(
            "j",
            "join",
            ["dataset:orders", "dataset:clients"],
            how="inner",
            on=[["id", "id"]],
        )
    ]
    assert "join key 'id' is integer but right 'id' is string" in _error(nodes)


def test_rejects_a_cross_join_without_the_flag() -> None:
    nodes = [node("j", "join", ["dataset:orders", "dataset:clients"], how="cross")]
    assert "allowCross" in _error(nodes)


def test_rejects_a_strict_union_of_different_schemas() -> None:
    nodes = [node("u", "union", ["dataset:orders", "dataset:clients"], mode="strict")]
    assert "strict union" in _error(nodes)


def test_rejects_a_contract_that_cannot_hold() -> None:
    outputs = [
        {
            "node": "l",
            "dataset": "out",
            "contract": [{"column": "qty", "type": "string"}],
        }
    ]
    message = _error([node("l", "limit", ["dataset:orders"], n=5)], outputs)
    assert "contract expects string, the node makes integer" in message


def test_join_suffixes_clashing_right_columns() -> None:
    spec = PipelineSpec.from_input({"id": "p", "outputs": [{"node": "j", "dataset": "o"}], "nodes": [
        node("c", "cast", ["dataset:clients"], column="id", type="integer"),
        node("j", "join", ["dataset:orders", "c"], how="left", on=[["id", "id"]])]})  # fmt: skip
    plan = validate(spec, SOURCES, SqlglotExpressions())
    assert [c.name for c in plan.schemas["j"]] == ["id", "name", "qty", "name_right"]
