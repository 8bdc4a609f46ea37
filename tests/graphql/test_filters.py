"""`where` operators, and/or/not, orderBy and pagination edges on generated lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from tests.conftest import make_settings
from tests.graphql.client import RESULT, GraphQL

SHOP = "/graphql/shop"
ITEM = {
    "id": "Item",
    "label": "Item",
    "primaryKey": "code",
    "properties": [
        {"name": "code", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "price", "type": "decimal"},
        {"name": "qty", "type": "integer"},
        {"name": "active", "type": "boolean"},
        {"name": "seen_at", "type": "datetime"},
    ],
}
ITEMS = [
    {"code": "a", "name": "apple", "price": "9.99", "qty": 3, "active": True, "seenAt": "2024-01-01T00:00:00Z"},
    {"code": "b", "name": "banana", "price": "10.50", "qty": 10, "active": False, "seenAt": "2024-01-01T09:00:00+09:00"},
    {"code": "c", "name": "cherry", "price": "100", "qty": 7, "active": True},
    {"code": "d", "name": "date", "qty": 1, "active": False, "seenAt": "2025-06-01T12:00:00Z"},
]  # fmt: skip


@pytest.fixture(params=[True, False], ids=["in-store", "in-memory"])
def settings(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    """Every case with the store's filtering and with the in-memory one: both
    must give the same answers."""
    return make_settings(database_url, tmp_path, graphql_filter_pushdown=request.param)


@pytest.fixture
async def items(shop: GraphQL) -> GraphQL:
    await shop.define("shop", ITEM)
    data = await shop.data(
        f"mutation($i: [ItemInput!]!) {{ createItems(inputs: $i, wait: APPLIED) {{ {RESULT} }} }}",
        SHOP,
        i=ITEMS,
    )
    assert data["createItems"]["__typename"] == "CommandReceipt", data
    return shop


async def _codes(
    gql: GraphQL, where: Any = None, order: Any = None, **args: Any
) -> list[str]:
    data = await gql.data(
        "query($w: ItemWhere, $o: [ItemOrderBy!], $first: Int, $after: String) {"
        " items(where: $w, orderBy: $o, first: $first, after: $after) { nodes { id } } }",
        SHOP,
        w=where,
        o=order,
        **args,
    )
    return [n["id"] for n in data["items"]["nodes"]]


CASES = [
    ({"name": {"eq": "apple"}}, ["a"]),
    ({"name": {"ne": "apple"}}, ["b", "c", "d"]),
    ({"price": {"gt": "10"}}, ["b", "c"]),
    ({"price": {"gte": "10.5"}}, ["b", "c"]),
    ({"price": {"lt": "10.5"}}, ["a"]),
    ({"qty": {"lte": 3}}, ["a", "d"]),
    ({"qty": {"in": [1, 7]}}, ["c", "d"]),
    ({"qty": {"nin": [1, 7]}}, ["a", "b"]),
    ({"price": {"isNull": True}}, ["d"]),
    ({"price": {"isNull": False}}, ["a", "b", "c"]),
    ({"name": {"contains": "an"}}, ["b"]),
    ({"name": {"startsWith": "ch"}}, ["c"]),
    ({"name": {"endsWith": "e"}}, ["a", "d"]),
    ({"active": {"eq": True}}, ["a", "c"]),
    ({"seenAt": {"eq": "2024-01-01T00:00:00Z"}}, ["a", "b"]),
    ({"seenAt": {"gt": "2024-06-01T00:00:00Z"}}, ["d"]),
    ({"id": {"in": ["a", "d"]}}, ["a", "d"]),
    ({"and": [{"active": {"eq": True}}, {"qty": {"gt": 5}}]}, ["c"]),
    ({"or": [{"name": {"eq": "apple"}}, {"qty": {"eq": 1}}]}, ["a", "d"]),
    ({"not": {"active": {"eq": True}}}, ["b", "d"]),
    ({"qty": {"gt": 1, "lt": 10}}, ["a", "c"]),
]


@pytest.mark.parametrize(("where", "expected"), CASES, ids=[str(w) for w, _ in CASES])
async def test_where_operator(
    items: GraphQL, where: dict[str, Any], expected: list[str]
) -> None:
    assert await _codes(items, where) == expected


async def test_order_by_keys_in_priority_with_nulls_last(items: GraphQL) -> None:
    assert await _codes(items, order=[{"price": "DESC"}]) == ["c", "b", "a", "d"]
    assert await _codes(items, order=[{"price": "ASC"}]) == ["a", "b", "c", "d"]
    assert await _codes(items, order=[{"active": "ASC"}, {"qty": "DESC"}]) == [
        "b",
        "d",
        "c",
        "a",
    ]


async def _page(gql: GraphQL, **args: Any) -> dict[str, Any]:
    data = await gql.data(
        "query($first: Int, $after: String, $w: ItemWhere) { items(first: $first, after: $after, where: $w) {"
        " totalCount edges { cursor node { id } }"
        " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
        SHOP,
        **args,
    )
    page: dict[str, Any] = data["items"]
    return page


@pytest.mark.parametrize(
    "where", [None, {"qty": {"gte": 0}}], ids=["keyset", "filtered"]
)
async def test_pagination_first_middle_last_and_empty_pages(
    items: GraphQL, where: Any
) -> None:
    first = await _page(items, first=2, w=where)
    assert [e["node"]["id"] for e in first["edges"]] == ["a", "b"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["totalCount"] == 4
    last = await _page(items, first=2, after=first["pageInfo"]["endCursor"], w=where)
    assert [e["node"]["id"] for e in last["edges"]] == ["c", "d"]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["hasPreviousPage"] is True
    empty = await _page(items, first=2, after=last["pageInfo"]["endCursor"], w=where)
    assert empty["edges"] == []
    assert empty["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


async def test_nested_connection_filters_orders_and_pages(shop: GraphQL) -> None:
    await shop.data(
        f'mutation {{ createCustomer(input: {{customerId: "c1"}}, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    inputs = [
        {"productId": f"p{i}", "name": f"n{i}", "ownedBy": "c1"} for i in range(5)
    ]
    await shop.data(
        f"mutation($i: [ProductInput!]!) {{ createProducts(inputs: $i, wait: APPLIED) {{ {RESULT} }} }}",
        SHOP,
        i=inputs,
    )
    data = await shop.data(
        '{ customer(id: "c1") { owns(where: {name: {ne: "n2"}}, orderBy: [{name: DESC}], first: 2) {'
        " totalCount nodes { id } pageInfo { hasNextPage } } } }",
        SHOP,
    )
    assert data["customer"]["owns"] == {
        "totalCount": 4,
        "nodes": [{"id": "p4"}, {"id": "p3"}],
        "pageInfo": {"hasNextPage": True},
    }


async def _owned_page(gql: GraphQL, after: str | None) -> dict[str, Any]:
    data = await gql.data(
        'query($after: String) { customer(id: "c1") { owns(first: 2, after: $after) {'
        " totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage endCursor } } } }",
        SHOP,
        after=after,
    )
    page: dict[str, Any] = data["customer"]["owns"]
    return page


async def test_unfiltered_nested_pages_walk_the_inverse_in_id_order(
    shop: GraphQL,
) -> None:
    await shop.data(
        f'mutation {{ createCustomer(input: {{customerId: "c1"}}, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    inputs = [{"productId": f"p{i}", "ownedBy": "c1"} for i in (4, 1, 3, 0, 2)]
    await shop.data(
        f"mutation($i: [ProductInput!]!) {{ createProducts(inputs: $i, wait: APPLIED) {{ {RESULT} }} }}",
        SHOP,
        i=inputs,
    )
    pages, after = [], None
    for _ in range(4):
        page = await _owned_page(shop, after)
        pages.append(page)
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert [[n["id"] for n in p["nodes"]] for p in pages] == [
        ["p0", "p1"],
        ["p2", "p3"],
        ["p4"],
    ]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    assert {p["totalCount"] for p in pages} == {5}
    empty = await _owned_page(shop, pages[-1]["pageInfo"]["endCursor"])
    assert empty["nodes"] == []
    assert empty["pageInfo"]["hasNextPage"] is False


async def test_filtered_class_lists_read_one_page_from_the_store(
    shop: GraphQL, settings: Settings
) -> None:
    await shop.define("shop", ITEM)
    items = [{"code": f"i{n:04}", "qty": n % 10} for n in range(1200)]
    await shop.data(
        f"mutation($i: [ItemInput!]!) {{ createItems(inputs: $i, wait: APPLIED) {{ {RESULT} }} }}",
        SHOP,
        i=items,
    )
    graph = shop.container.graph
    graph.calls = 0
    codes = await _codes(shop, {"qty": {"eq": 3}}, [{"code": "DESC"}], first=3)
    assert codes == ["i1193", "i1183", "i1173"]
    # In the store: one query for the page. In memory: every node, in pages of
    # 1,000, is read and filtered here.
    assert graph.calls == (1 if settings.graphql_filter_pushdown else 2)
