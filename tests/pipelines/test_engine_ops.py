"""Every op, expectation and contract on the embedded engine, over real dataset
versions (ingested, profiled, stored): the rows each op makes (as a multiset where
the op defines no order) and each failing rule's count and examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.pipelines.ports import EngineFailure
from domain.pipelines.problems import PipelineInvalid
from tests.pipelines.engine_lab import EngineLab, node, unordered

ORDERS = """order_id,client,qty,price,day,status,tags,notes
1,C1,2,10.5,2024-01-01,PAID,"[""a"",""b""]",x;y
2,C2,1,4,2024-01-02,OPEN,"[""c""]",z
3,C1,5,1,2024-01-03,PAID,[],
4,C3,,2,2024-01-04,PAID,"[""d""]",w
"""
CLIENTS = "client,name,qty\nC1,Acme,7\nC2,Beta,8\nC4,Delta,9\n"
ORD = "dataset:orders"


@pytest.fixture
async def lab(tmp_path: Path) -> EngineLab:
    found = EngineLab(tmp_path)
    await found.dataset("orders", ORDERS)
    await found.dataset("clients", CLIENTS)
    return found


def _ids(rows: list[dict[str, Any]], key: str = "order_id") -> list[Any]:
    return [r[key] for r in rows]


async def test_the_ingested_columns_have_the_types_the_tests_rely_on(
    lab: EngineLab,
) -> None:
    types = {c.name: c.type for c in lab.sources[ORD].schema}
    assert types == {
        "order_id": "integer", "client": types["client"], "qty": "integer",
        "price": "decimal", "day": "date", "status": types["status"],
        "tags": "json", "notes": "string",
    }  # fmt: skip


async def test_select_keeps_the_listed_columns_in_their_order(lab: EngineLab) -> None:
    rows = await lab.rows([node("s", "select", [ORD], columns=["qty", "order_id"])])
    assert unordered(rows) == unordered(
        [{"qty": 2, "order_id": 1}, {"qty": 1, "order_id": 2},
         {"qty": 5, "order_id": 3}, {"qty": None, "order_id": 4}]
    )  # fmt: skip
    assert list(rows[0]) == ["qty", "order_id"]


async def test_filter_keeps_rows_where_the_condition_is_true_not_null(
    lab: EngineLab,
) -> None:
    f = node("f", "filter", [ORD], expr="status = 'PAID' and qty > 1")
    assert sorted(_ids(await lab.rows([f]))) == [1, 3]


async def test_filter_with_in_between_like_and_is_null(lab: EngineLab) -> None:
    exprs = {
        "client in ('C1', 'C3')": [1, 3, 4],
        "price between 2 and 5": [2, 4],
        "notes like 'x%'": [1],
        "qty is null": [4],
        "not (qty is null) and day >= '2024-01-02'": [2, 3],
        "coalesce(qty, 0) * 2 = 0": [4],
    }
    for expr, expected in exprs.items():
        rows = await lab.rows([node("f", "filter", [ORD], expr=expr)])
        assert sorted(_ids(rows)) == expected, expr


async def test_compute_adds_a_column_and_replaces_an_existing_one(
    lab: EngineLab,
) -> None:
    nodes = [
        node("a", "compute", [ORD], column="amount", expr="qty * price"),
        node("b", "compute", ["a"], column="client", expr="lower(client) || '!'"),
        node("s", "select", ["b"], columns=["order_id", "client", "amount"]),
    ]
    assert unordered(await lab.rows(nodes)) == unordered(
        [{"order_id": 1, "client": "c1!", "amount": 21.0},
         {"order_id": 2, "client": "c2!", "amount": 4.0},
         {"order_id": 3, "client": "c1!", "amount": 5.0},
         {"order_id": 4, "client": "c3!", "amount": None}]
    )  # fmt: skip


async def test_compute_case_and_integer_arithmetic(lab: EngineLab) -> None:
    nodes = [
        node("c", "compute", [ORD], column="size",
             expr="case when qty >= 5 then 'big' when qty is null then 'none' else 'small' end"),
        node("d", "compute", ["c"], column="half", expr="qty // 2 + qty % 2"),
        node("s", "select", ["d"], columns=["order_id", "size", "half"]),
    ]  # fmt: skip
    rows = {r["order_id"]: (r["size"], r["half"]) for r in await lab.rows(nodes)}
    assert rows == {1: ("small", 1), 2: ("small", 1), 3: ("big", 3), 4: ("none", None)}
    assert lab.plan(nodes).schemas["d"][-1].type == "integer"


async def test_cast_converts_and_a_value_that_does_not_convert_stops_the_build(
    lab: EngineLab,
) -> None:
    nodes = [
        node("c", "cast", [ORD], column="day", type="string"),
        node("q", "cast", ["c"], column="qty", type="decimal"),
        node("s", "select", ["q"], columns=["order_id", "day", "qty"]),
    ]
    rows = {r["order_id"]: (r["day"], r["qty"]) for r in await lab.rows(nodes)}
    assert rows[1] == ("2024-01-01", 2.0)
    assert rows[4] == ("2024-01-04", None)
    bad = [node("c", "cast", [ORD], column="notes", type="integer")]
    with pytest.raises(EngineFailure) as raised:
        await lab.build(bad)
    assert raised.value.node == "c"
    assert "x;y" in raised.value.message


async def test_cast_of_a_decimal_to_integer_truncates_toward_zero(
    lab: EngineLab,
) -> None:
    """Spark truncates; DuckDB's plain CAST rounds: one meaning, so truncate."""
    nodes = [
        node("m", "compute", [ORD], column="price", expr="price + 0.25"),
        node("n", "compute", ["m"], column="neg", expr="0 - price"),
        node("c", "cast", ["n"], column="price", type="integer"),
        node("d", "cast", ["c"], column="neg", type="integer"),
        node("s", "select", ["d"], columns=["order_id", "price", "neg"]),
    ]
    rows = {r["order_id"]: (r["price"], r["neg"]) for r in await lab.rows(nodes)}
    assert rows[1] == (10, -10)


async def test_rename_renames_in_place(lab: EngineLab) -> None:
    nodes = [
        node("r", "rename", [ORD], columns={"order_id": "id", "qty": "quantity"}),
        node("s", "select", ["r"], columns=["id", "quantity"]),
    ]
    assert sorted(_ids(await lab.rows(nodes), "id")) == [1, 2, 3, 4]
    assert [c.name for c in lab.plan(nodes).schemas["r"]][:3] == [
        "id", "client", "quantity",
    ]  # fmt: skip


def _join(how: str, **extra: Any) -> list[dict[str, Any]]:
    on = [] if how == "cross" else [["client", "client"]]
    return [
        node("o", "select", [ORD], columns=["order_id", "client", "qty"]),
        node("j", "join", ["o", "dataset:clients"], how=how, on=on, **extra),
    ]


async def test_inner_join_keeps_matches_with_the_key_once_and_right_suffix(
    lab: EngineLab,
) -> None:
    rows = await lab.rows(_join("inner"))
    assert unordered(rows) == unordered(
        [{"order_id": 1, "client": "C1", "qty": 2, "name": "Acme", "qty_right": 7},
         {"order_id": 2, "client": "C2", "qty": 1, "name": "Beta", "qty_right": 8},
         {"order_id": 3, "client": "C1", "qty": 5, "name": "Acme", "qty_right": 7}]
    )  # fmt: skip


async def test_left_join_keeps_unmatched_left_rows(lab: EngineLab) -> None:
    rows = await lab.rows(_join("left"))
    assert sorted(_ids(rows)) == [1, 2, 3, 4]
    assert {r["order_id"]: r["name"] for r in rows}[4] is None


async def test_right_join_keeps_unmatched_right_rows_with_their_key(
    lab: EngineLab,
) -> None:
    rows = await lab.rows(_join("right"))
    delta = [r for r in rows if r["order_id"] is None]
    assert delta == [
        {"order_id": None, "client": "C4", "qty": None, "name": "Delta", "qty_right": 9}
    ]
    assert len(rows) == 4


async def test_full_join_keeps_both_sides(lab: EngineLab) -> None:
    rows = await lab.rows(_join("full"))
    assert sorted(r["client"] for r in rows) == ["C1", "C1", "C2", "C3", "C4"]


async def test_cross_join_pairs_every_row_and_needs_the_flag(lab: EngineLab) -> None:
    rows = await lab.rows(_join("cross", allowCross=True))
    assert len(rows) == 12
    assert "client_right" in rows[0]
    with pytest.raises(PipelineInvalid, match="allowCross"):
        lab.plan(_join("cross"))


async def test_join_on_differently_named_keys(lab: EngineLab) -> None:
    nodes = [
        node("c", "rename", ["dataset:clients"], columns={"client": "code"}),
        node("j", "join", [ORD, "c"], how="inner", on=[["client", "code"]]),
        node("s", "select", ["j"], columns=["order_id", "client", "name"]),
    ]
    assert unordered(await lab.rows(nodes)) == unordered(
        [{"order_id": 1, "client": "C1", "name": "Acme"},
         {"order_id": 2, "client": "C2", "name": "Beta"},
         {"order_id": 3, "client": "C1", "name": "Acme"}]
    )  # fmt: skip


async def test_union_strict_stacks_rows_with_duplicates(lab: EngineLab) -> None:
    nodes = [
        node("a", "select", [ORD], columns=["order_id", "client"]),
        node("u", "union", ["a", "a"], mode="strict"),
    ]
    assert sorted(_ids(await lab.rows(nodes))) == [1, 1, 2, 2, 3, 3, 4, 4]


async def test_union_by_name_matches_columns_by_name_not_position(
    lab: EngineLab,
) -> None:
    nodes = [
        node("a", "select", [ORD], columns=["order_id", "client"]),
        node("b", "select", [ORD], columns=["client", "order_id"]),
        node("u", "union", ["a", "b"], mode="byName"),
    ]
    rows = await lab.rows(nodes)
    assert all(r["client"].startswith("C") for r in rows)
    assert len(rows) == 8
    with pytest.raises(PipelineInvalid, match="strict union"):
        lab.plan([*nodes[:2], node("u", "union", ["a", "b"], mode="strict")])


async def test_dedupe_keeps_one_row_per_key_or_per_whole_row(lab: EngineLab) -> None:
    by_client = await lab.rows([node("d", "dedupe", [ORD], columns=["client"])])
    assert sorted(r["client"] for r in by_client) == ["C1", "C2", "C3"]
    nodes = [
        node("a", "select", [ORD], columns=["client", "status"]),
        node("d", "dedupe", ["a"]),
    ]
    assert unordered(await lab.rows(nodes)) == unordered(
        [{"client": "C1", "status": "PAID"}, {"client": "C2", "status": "OPEN"},
         {"client": "C3", "status": "PAID"}]
    )  # fmt: skip


async def test_group_by_with_every_aggregate(lab: EngineLab) -> None:
    aggregates = [
        {"fn": "count", "as": "rows"}, {"fn": "count", "column": "qty", "as": "qtys"},
        {"fn": "sum", "column": "qty", "as": "sum"}, {"fn": "avg", "column": "price", "as": "avg"},
        {"fn": "min", "column": "day", "as": "first"}, {"fn": "max", "column": "price", "as": "max"},
        {"fn": "countDistinct", "column": "client", "as": "clients"},
    ]  # fmt: skip
    rows = await lab.rows(
        [node("g", "groupBy", [ORD], keys=["status"], aggregates=aggregates)]
    )
    assert unordered(rows) == unordered(
        [{"status": "PAID", "rows": 3, "qtys": 2, "sum": 7, "avg": 4.5,
          "first": "2024-01-01", "max": 10.5, "clients": 2},
         {"status": "OPEN", "rows": 1, "qtys": 1, "sum": 1, "avg": 4.0,
          "first": "2024-01-02", "max": 4.0, "clients": 1}]
    )  # fmt: skip


async def test_group_by_without_keys_is_one_row_even_over_no_rows(
    lab: EngineLab,
) -> None:
    nodes = [
        node("f", "filter", [ORD], expr="qty > 100"),
        node("g", "groupBy", ["f"], keys=[],
             aggregates=[{"fn": "count", "as": "n"}, {"fn": "sum", "column": "qty", "as": "s"}]),
    ]  # fmt: skip
    assert await lab.rows(nodes) == [{"n": 0, "s": None}]


async def test_the_aggregate_alias_groups_under_the_key(lab: EngineLab) -> None:
    nodes = [
        node("g", "aggregate", [ORD], keys=["client"], aggregates=[{"fn": "count"}])
    ]
    assert unordered(await lab.rows(nodes)) == unordered(
        [{"client": "C1", "count": 2}, {"client": "C2", "count": 1},
         {"client": "C3", "count": 1}]
    )  # fmt: skip


async def _window(lab: EngineLab, **args: Any) -> dict[int, Any]:
    nodes = [
        node("w", "window", [ORD], partitionBy=["client"], as_="v", **args),
    ]
    nodes[0]["args"]["as"] = nodes[0]["args"].pop("as_")
    return {r["order_id"]: r["v"] for r in await lab.rows(nodes)}


async def test_window_ranks_and_offsets(lab: EngineLab) -> None:
    by_day = {"orderBy": [{"column": "day"}]}
    assert await _window(lab, fn="row_number", **by_day) == {1: 1, 2: 1, 3: 2, 4: 1}
    desc = {"orderBy": [{"column": "qty", "desc": True}]}
    assert await _window(lab, fn="rank", **desc) == {1: 2, 2: 1, 3: 1, 4: 1}
    assert await _window(lab, fn="dense_rank", orderBy=["status"]) == {
        1: 1,
        2: 1,
        3: 1,
        4: 1,
    }
    assert await _window(lab, fn="lag", column="qty", **by_day) == {
        1: None,
        2: None,
        3: 2,
        4: None,
    }
    assert await _window(lab, fn="lead", column="qty", offset=1, **by_day) == {
        1: 5,
        2: None,
        3: None,
        4: None,
    }
    assert await _window(lab, fn="first_value", column="qty", **by_day) == {
        1: 2,
        2: 1,
        3: 2,
        4: None,
    }


async def test_window_aggregates_over_the_whole_partition_or_running(
    lab: EngineLab,
) -> None:
    assert await _window(lab, fn="sum", column="qty") == {1: 7, 2: 1, 3: 7, 4: None}
    assert await _window(lab, fn="count") == {1: 2, 2: 1, 3: 2, 4: 1}
    running = {"orderBy": ["day"]}
    assert await _window(lab, fn="sum", column="qty", **running) == {
        1: 2,
        2: 1,
        3: 7,
        4: None,
    }
    assert await _window(lab, fn="max", column="price", **running) == {
        1: 10.5,
        2: 4.0,
        3: 10.5,
        4: 2.0,
    }


async def test_pivot_makes_one_column_per_listed_value(lab: EngineLab) -> None:
    nodes = [node("p", "pivot", [ORD], index=["client"], column="status",
                  values="qty", fn="sum", pivotValues=["PAID", "OPEN", "VOID"])]  # fmt: skip
    assert unordered(await lab.rows(nodes)) == unordered(
        [{"client": "C1", "PAID": 7, "OPEN": None, "VOID": None},
         {"client": "C2", "PAID": None, "OPEN": 1, "VOID": None},
         {"client": "C3", "PAID": None, "OPEN": None, "VOID": None}]
    )  # fmt: skip


async def test_pivot_without_values_counts_rows(lab: EngineLab) -> None:
    nodes = [node("p", "pivot", [ORD], index=["status"], column="client",
                  fn="count", pivotValues=["C1", "C2"])]  # fmt: skip
    assert unordered(await lab.rows(nodes)) == unordered(
        [{"status": "PAID", "C1": 2, "C2": 0}, {"status": "OPEN", "C1": 0, "C2": 1}]
    )


async def test_sort_orders_by_several_keys_with_nulls_last(lab: EngineLab) -> None:
    by = [{"column": "status"}, {"column": "qty", "desc": True}]
    assert _ids(await lab.rows([node("s", "sort", [ORD], by=by)])) == [2, 3, 1, 4]
    up = [node("s", "sort", [ORD], by=[{"column": "qty"}])]
    assert _ids(await lab.rows(up)) == [2, 1, 3, 4]


async def test_sort_then_limit_keeps_the_first_rows_in_order(lab: EngineLab) -> None:
    nodes = [
        node("s", "sort", [ORD], by=[{"column": "price", "desc": True}]),
        node("l", "limit", ["s"], n=2),
    ]
    assert _ids(await lab.rows(nodes)) == [1, 2]
    assert _ids(await lab.built_text(nodes)) == ["1", "2"]


async def test_limit_zero_makes_no_rows(lab: EngineLab) -> None:
    assert await lab.rows([node("l", "limit", [ORD], n=0)]) == []


async def test_explode_a_json_array_one_row_per_item(lab: EngineLab) -> None:
    nodes = [
        node("e", "explode", [ORD], column="tags"),
        node("s", "select", ["e"], columns=["order_id", "tags"]),
    ]
    assert unordered(await lab.rows(nodes)) == unordered(
        [{"order_id": 1, "tags": "a"}, {"order_id": 1, "tags": "b"},
         {"order_id": 2, "tags": "c"}, {"order_id": 4, "tags": "d"}]
    )  # fmt: skip


async def test_explode_text_on_a_separator(lab: EngineLab) -> None:
    nodes = [
        node("e", "explode", [ORD], column="notes", separator=";"),
        node("s", "select", ["e"], columns=["order_id", "notes"]),
    ]
    assert unordered(await lab.rows(nodes)) == unordered(
        [{"order_id": 1, "notes": "x"}, {"order_id": 1, "notes": "y"},
         {"order_id": 2, "notes": "z"}, {"order_id": 4, "notes": "w"}]
    )  # fmt: skip


async def test_a_build_writes_text_with_the_computed_types(lab: EngineLab) -> None:
    nodes = [node("a", "compute", [ORD], column="amount", expr="qty * price")]
    outcome = await lab.build(nodes)
    types = {c["name"]: c["type"] for c in outcome.outputs[0].columns}
    assert (types["amount"], types["day"], types["order_id"]) == (
        "decimal",
        "date",
        "integer",
    )
    rows = {r["order_id"]: r for r in await lab.built_text(nodes)}
    assert (rows["1"]["amount"], rows["1"]["day"], rows["4"]["amount"]) == (
        "21.0",
        "2024-01-01",
        None,
    )


async def test_floor_ceil_and_cast_in_expressions_make_whole_numbers(
    lab: EngineLab,
) -> None:
    nodes = [
        node("f", "compute", [ORD], column="down", expr="floor(price + 0.75)"),
        node("c", "compute", ["f"], column="up", expr="ceil(price)"),
        node("t", "compute", ["c"], column="cut", expr="cast(price + 0.25 as integer)"),
        node("s", "select", ["t"], columns=["order_id", "down", "up", "cut"]),
    ]
    rows = {r["order_id"]: r for r in await lab.built_text(nodes)}
    assert (rows["1"]["down"], rows["1"]["up"], rows["1"]["cut"]) == ("11", "11", "10")


def _out(*expectations: dict[str, Any], contract: Any = ()) -> list[dict[str, Any]]:
    return [{"node": "s", "dataset": "out", "expectations": list(expectations),
             "contract": list(contract)}]  # fmt: skip


_ALL = [
    node(
        "s",
        "select",
        [ORD],
        columns=["order_id", "client", "qty", "price", "status", "notes"],
    )
]


async def _failures(
    lab: EngineLab, *rules: dict[str, Any], contract: Any = ()
) -> list[tuple[str, int, list[Any]]]:
    outcome = await lab.build(_ALL, _out(*rules, contract=contract))
    assert not outcome.failures or not outcome.outputs  # atomic: all or nothing
    return [(f.rule, f.count, [dict(e) for e in f.examples]) for f in outcome.failures]


async def test_expectations_that_hold_publish_the_output(lab: EngineLab) -> None:
    holding: list[dict[str, Any]] = [
        {"rule": "not_null", "columns": ["order_id", "client"]},
        {"rule": "unique", "columns": ["order_id"]},
        {"rule": "unique", "columns": ["client", "qty"]},
        {"rule": "row_count_min", "value": 4}, {"rule": "row_count_max", "value": 4},
        {"rule": "range", "columns": ["price"], "value": {"min": 1, "max": 10.5}},
        {"rule": "regex", "columns": ["client"], "value": "C[0-9]"},
        {"rule": "in_set", "columns": ["status"], "value": ["PAID", "OPEN"]},
        {"rule": "in_set", "columns": ["qty"], "value": [1, 2, 5]},
    ]  # fmt: skip
    outcome = await lab.build(_ALL, _out(*holding))
    assert not outcome.failures
    assert outcome.outputs[0].row_count == 4


async def test_not_null_counts_the_null_rows_with_examples(lab: EngineLab) -> None:
    found = await _failures(lab, {"rule": "not_null", "columns": ["qty", "notes"]})
    assert [(r, n, sorted(e["order_id"] for e in ex)) for r, n, ex in found] == [
        ("not_null", 2, [3, 4])
    ]


async def test_unique_counts_every_row_of_a_repeated_key(lab: EngineLab) -> None:
    (single,) = await _failures(lab, {"rule": "unique", "columns": ["client"]})
    assert single[:2] == ("unique", 2)
    assert single[2] == [{"client": "C1"}, {"client": "C1"}]
    (both,) = await _failures(lab, {"rule": "unique", "columns": ["client", "status"]})
    assert both[:2] == ("unique", 2)
    assert both[2][0] == {"client": "C1", "status": "PAID"}


async def test_row_count_bounds(lab: EngineLab) -> None:
    found = await _failures(
        lab,
        {"rule": "row_count_min", "value": 5},
        {"rule": "row_count_max", "value": 3},
    )
    assert [(r, n) for r, n, _ in found] == [("row_count_min", 4), ("row_count_max", 4)]


async def test_range_counts_rows_outside_either_bound(lab: EngineLab) -> None:
    (found,) = await _failures(
        lab, {"rule": "range", "columns": ["price"], "value": {"min": 2, "max": 5}}
    )
    assert found[:2] == ("range", 2)
    assert sorted(e["order_id"] for e in found[2]) == [1, 3]
    (negative,) = await _failures(
        lab, {"rule": "range", "columns": ["price"], "value": {"min": -1.5, "max": 3}}
    )
    assert negative[:2] == ("range", 2)


async def test_regex_must_match_the_whole_value(lab: EngineLab) -> None:
    (found,) = await _failures(
        lab, {"rule": "regex", "columns": ["notes"], "value": "[a-z]"}
    )
    assert found[:2] == ("regex", 1)
    assert found[2][0]["notes"] == "x;y"


async def test_in_set_on_text_and_numbers(lab: EngineLab) -> None:
    (text,) = await _failures(
        lab, {"rule": "in_set", "columns": ["status"], "value": ["PAID"]}
    )
    assert text[:2] == ("in_set", 1)
    assert text[2][0]["order_id"] == 2
    (number,) = await _failures(
        lab, {"rule": "in_set", "columns": ["qty"], "value": [1, 2]}
    )
    assert number[:2] == ("in_set", 1)
    assert number[2][0]["order_id"] == 3


async def test_a_required_contract_column_fails_on_nulls(lab: EngineLab) -> None:
    contract = [{"column": "qty", "type": "integer", "required": True}]
    assert [(r, n) for r, n, _ in await _failures(lab, contract=contract)] == [
        ("not_null", 1)
    ]


async def test_a_contract_the_schema_cannot_hold_is_refused_before_running(
    lab: EngineLab,
) -> None:
    contract = [
        {"column": "qty", "type": "date"},
        {"column": "missing", "type": "string"},
    ]
    with pytest.raises(PipelineInvalid) as raised:
        lab.plan(_ALL, _out(contract=contract))
    messages = " | ".join(e.message for e in raised.value.errors)
    assert "column 'qty'" in messages
    assert "column 'missing'" in messages


async def test_cast_in_expressions_uses_the_column_types_physical_form(
    lab: EngineLab,
) -> None:
    """`decimal` keeps its digits (not DuckDB's DECIMAL(18,3)); `timestamp` parses."""
    nodes = [
        node("d", "compute", [ORD], column="third", expr="cast(price / 3 as decimal)"),
        node("t", "compute", ["d"], column="at", expr="cast(day as timestamp)"),
        node("s", "select", ["t"], columns=["order_id", "third", "at"]),
    ]
    rows = {r["order_id"]: r for r in await lab.rows(nodes)}
    assert rows[2]["third"] == pytest.approx(4 / 3, rel=1e-12)
    assert rows[2]["at"] == "2024-01-02T00:00:00+00:00"
