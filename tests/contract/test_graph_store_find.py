"""GraphStore.find / count_where contract: filters and sort keys with the meaning
of domain.queries, or None (declined). The SQL store must evaluate everything
except decimal order on SQLite; it is checked against the in-memory semantics
case by case."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.graph_store.sql import SqlGraphStore
from domain.ports import GraphStore
from domain.queries import AllOf, AnyOf, Condition, Negated, NodeFilter, SortKey
from tests.contract.test_graph_store import on_dev, on_main
from tests.factories import node_version

VALUES: dict[str, dict[str, Any]] = {
    "a": {"name": "apple", "qty": 3, "w": 1.5, "price": "9.99", "ok": True,
          "day": "2024-01-01", "at": "2024-01-01T00:00:00Z", "t": "10:00:00"},
    "b": {"name": "banana", "qty": 10, "w": 0.25, "price": "10.5", "ok": False,
          "day": "2024-03-01", "at": "2024-01-01T00:00:00.500000Z", "t": "10:00:00.5"},
    "c": {"name": "cherry", "qty": 7, "w": 2, "price": "100", "ok": True,
          "day": "2023-12-31", "at": "2023-06-01T12:00:00Z", "t": "09:30:00"},
    "d": {"name": "Date", "qty": None},
    # Written under an older type: matches only ne/nin, sorts with the nulls.
    "e": {"name": 5, "qty": "many", "price": "n/a", "ok": "yes", "at": 17},
}  # fmt: skip


def c(field: str | None, op: str, value: Any, kind: str = "text") -> Condition:
    return Condition(field, op, value, kind)


CASES: list[tuple[str, NodeFilter, list[str]]] = [
    ("eq", c("name", "eq", "apple"), ["a"]),
    ("ne", c("name", "ne", "apple"), ["b", "c", "d", "e"]),
    ("gt-text", c("name", "gt", "b"), ["b", "c"]),
    ("in", c("name", "in", ["cherry", "Date", "x"]), ["c", "d"]),
    ("in-empty", c("name", "in", []), []),
    ("nin", c("name", "nin", ["apple"]), ["b", "c", "d", "e"]),
    ("nin-skips-nulls", c("qty", "nin", [3], "integer"), ["b", "c", "e"]),
    ("contains", c("name", "contains", "an"), ["b"]),
    ("contains-case", c("name", "contains", "date"), []),
    ("starts", c("name", "starts_with", "ch"), ["c"]),
    ("ends", c("name", "ends_with", "e"), ["a", "d"]),
    ("empty-operand", c("name", "starts_with", ""), ["a", "b", "c", "d"]),
    ("int-gte", c("qty", "gte", 7, "integer"), ["b", "c"]),
    ("int-in", c("qty", "in", [3, 7], "integer"), ["a", "c"]),
    ("float-lt", c("w", "lt", 1.6, "float"), ["a", "b"]),
    ("float-eq-int", c("w", "eq", 2.0, "float"), ["c"]),
    ("decimal-eq", c("price", "eq", "10.5", "decimal"), ["b"]),
    ("decimal-ne", c("price", "ne", "10.5", "decimal"), ["a", "c", "e"]),
    ("bool", c("ok", "eq", True, "boolean"), ["a", "c"]),
    ("bool-false", c("ok", "eq", False, "boolean"), ["b"]),
    ("date", c("day", "lt", "2024-02-01", "date"), ["a", "c"]),
    ("time", c("t", "gt", "10:00:00", "time"), ["b"]),
    ("instant-fraction", c("at", "gt", "2024-01-01T00:00:00Z", "datetime"), ["b"]),
    ("instant-eq", c("at", "eq", "2024-01-01T00:00:00Z", "datetime"), ["a"]),
    ("is-null", c("qty", "is_null", True, "integer"), ["d"]),
    ("is-null-missing", c("price", "is_null", True, "decimal"), ["d"]),
    ("not-null", c("qty", "is_null", False, "integer"), ["a", "b", "c", "e"]),
    ("id", c(None, "in", ["a", "e"]), ["a", "e"]),
    ("id-gt", c(None, "gt", "c"), ["d", "e"]),
    ("and", AllOf((c("ok", "eq", True, "boolean"), c("qty", "gt", 5, "integer"))), ["c"]),
    ("or", AnyOf((c("name", "eq", "apple"), c("qty", "is_null", True, "integer"))), ["a", "d"]),
    ("or-empty", AnyOf(()), []),
    ("and-empty", AllOf(()), ["a", "b", "c", "d", "e"]),
    # Not is the complement, nulls and other types included.
    ("not", Negated(c("qty", "gt", 5, "integer")), ["a", "d", "e"]),
    ("not-not", Negated(Negated(c("ok", "eq", True, "boolean"))), ["a", "c"]),
]  # fmt: skip
# SQLite has no exact decimal: these are declined there.
DECIMAL_ORDER = [
    ("decimal-gt", c("price", "gt", "10", "decimal"), ["b", "c"]),
    ("decimal-lte", c("price", "lte", "10.5", "decimal"), ["a", "b"]),
]


@pytest.fixture
async def things(graph_store: GraphStore) -> GraphStore:
    await graph_store.put(
        [node_version(instance_id=i, values=v) for i, v in VALUES.items()]
        + [node_version(instance_id="z", seq=2, position=3, deleted=True)]
    )
    return graph_store


def _ids(nodes: list[Any] | None) -> list[str] | None:
    return None if nodes is None else [n.instance_id for n in nodes]


def _sql(store: GraphStore) -> bool:
    return isinstance(store, SqlGraphStore)


@pytest.mark.parametrize(
    ("name", "where", "expected"), CASES, ids=[x[0] for x in CASES]
)
async def test_find_evaluates_each_operator(
    things: GraphStore, name: str, where: NodeFilter, expected: list[str]
) -> None:
    found = _ids(await things.find(on_main(), ["Thing"], where=where, limit=50))
    counted = await things.count_where(on_main(), ["Thing"], where)
    if found is None:
        assert not _sql(things), f"{name}: the SQL store must evaluate this"
        return
    assert found == expected
    assert counted == len(expected)


@pytest.mark.parametrize(
    ("name", "where", "expected"), DECIMAL_ORDER, ids=[x[0] for x in DECIMAL_ORDER]
)
async def test_decimal_order_is_exact_or_declined(
    things: GraphStore, name: str, where: NodeFilter, expected: list[str]
) -> None:
    found = _ids(await things.find(on_main(), ["Thing"], where=where, limit=50))
    if found is None:
        assert not (_sql(things) and things._db.dialect == "postgresql"), name  # type: ignore[attr-defined]
        return
    assert found == expected


async def test_sorts_with_nulls_and_other_types_last_then_by_id(
    things: GraphStore,
) -> None:
    async def order(*keys: SortKey) -> list[str] | None:
        return _ids(await things.find(on_main(), ["Thing"], where=None, order=keys))

    by_qty = await order(SortKey("qty", False, "integer"))
    if by_qty is None:
        assert not _sql(things)
        return
    assert by_qty == ["a", "c", "b", "d", "e"]
    assert await order(SortKey("qty", True, "integer")) == ["b", "c", "a", "d", "e"]
    assert await order(SortKey("at", True, "datetime")) == ["b", "a", "c", "d", "e"]
    assert await order(SortKey("ok", False, "boolean"), SortKey("name", True, "text")) == [
        "b", "c", "a", "d", "e",
    ]  # fmt: skip
    assert await order(SortKey(None, True, "text")) == ["e", "d", "c", "b", "a"]


async def test_pages_with_offset_and_limit(things: GraphStore) -> None:
    keys = [SortKey("name", False, "text")]
    pages = [
        _ids(await things.find(on_main(), ["Thing"], where=None, order=keys, offset=o, limit=2))
        for o in (0, 2, 4, 6)
    ]  # fmt: skip
    if pages[0] is None:
        assert not _sql(things)
        return
    # Text order is code point order: "Date" sorts before the lower-case names.
    assert pages == [["d", "a"], ["b", "c"], ["e"], []]


async def test_finds_through_the_branch_overlay_and_as_of(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", position=1, values={"n": "old"}),
            node_version(instance_id="b", position=2, values={"n": "old"}),
            node_version(instance_id="a", branch="dev", seq=2, position=11, values={"n": "new"}),
            node_version(instance_id="b", branch="dev", seq=2, position=12, deleted=True),
            node_version(instance_id="c", position=13, values={"n": "old"}),
        ]
    )  # fmt: skip
    old = c("n", "eq", "old")
    on_branch = _ids(await graph_store.find(on_dev(), ["Thing"], where=old))
    if on_branch is None:
        assert not _sql(graph_store)
        return
    assert on_branch == []
    assert _ids(await graph_store.find(on_main(), ["Thing"], where=old)) == [
        "a",
        "b",
        "c",
    ]
    assert _ids(await graph_store.find(on_main(as_of=1), ["Thing"], where=old)) == ["a"]
    assert _ids(
        await graph_store.find(on_dev(), ["Thing"], where=c("n", "eq", "new"))
    ) == ["a"]
    assert await graph_store.count_where(on_dev(), ["Thing"], None) == 1


async def test_values_cannot_break_out_of_their_parameters(things: GraphStore) -> None:
    hostile = c("name'); DROP TABLE graph_nodes; --", "eq", "x' OR '1'='1")
    assert _ids(await things.find(on_main(), ["Thing"], where=hostile)) in ([], None)
    assert await things.count(on_main(), ["Thing"]) == 5
