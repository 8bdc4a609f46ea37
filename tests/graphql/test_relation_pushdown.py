"""orderBy through to-one relationships, groupBy on relationships with figures per
group, and filtered nested lists: each case runs with the graph store's
evaluation and with the in-memory one, which must give the same answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLObjectType

from app.graphql.wiring import INSTANCE_RESOLVERS
from app.settings import Settings
from domain.ontology import Ontology, class_from_dict
from schema.ontology.builder import build_generated_schema
from tests.conftest import make_settings
from tests.graphql.client import RESULT, GraphQL

PATH = "/graphql/market"
CUSTOMER = {
    "id": "Customer",
    "label": "Customer",
    "primaryKey": "customer_id",
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
    ],
}
TAG = {
    "id": "Tag",
    "label": "Tag",
    "primaryKey": "code",
    "properties": [{"name": "code", "type": "string", "required": True}],
}
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "primaryKey": "product_id",
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "price", "type": "decimal"},
        {"name": "qty", "type": "integer"},
    ],
    "relationships": [
        {
            "predicate": "owned_by",
            "target": "Customer",
            "cardinality": "MANY_TO_ONE",
            "inverse": {"predicate": "owns"},
            "danglingPolicy": "ALLOW",
        },
        {"predicate": "tags", "target": "Tag", "cardinality": "MANY_TO_MANY"},
    ],
}
CUSTOMERS = [
    {"customerId": "c1", "name": "Zoe"},
    {"customerId": "c2", "name": "Amy"},
    {"customerId": "c3", "name": "Bob"},
]
PRODUCTS = [
    {"productId": "p1", "name": "apple", "price": "9.99", "qty": 3, "ownedBy": "c1", "tags": ["t1"]},
    {"productId": "p2", "name": "pear", "price": "20.5", "qty": 1, "ownedBy": "c2", "tags": ["t1", "t2"]},
    {"productId": "p3", "name": "plum", "price": "10.01", "qty": 7, "ownedBy": "c1"},
    {"productId": "p4", "name": "fig", "price": "30", "qty": 2},
    {"productId": "p5", "name": "kiwi", "price": "11", "qty": 5, "ownedBy": "c2", "tags": ["t2"]},
    {"productId": "p6", "name": "lime", "qty": 4, "ownedBy": "gone"},
]  # fmt: skip


@pytest.fixture(params=[True, False], ids=["in-store", "in-memory"])
def settings(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    return make_settings(database_url, tmp_path, graphql_filter_pushdown=request.param)


async def _bulk(gql: GraphQL, plural: str, kind: str, inputs: list[Any]) -> None:
    data = await gql.data(
        f"mutation($i: [{kind}Input!]!) {{ create{plural}(inputs: $i, wait: APPLIED) {{ {RESULT} }} }}",
        PATH,
        i=inputs,
    )
    assert data[f"create{plural}"]["__typename"] == "CommandReceipt", data


@pytest.fixture
async def market(gql: GraphQL) -> GraphQL:
    """c1 Zoe owns apple and plum, c2 Amy pear and kiwi, c3 Bob nothing; fig
    has no owner, lime a dangling one."""
    await gql.create_database("market")
    await gql.define("market", CUSTOMER, TAG, PRODUCT)
    await _bulk(gql, "Customers", "Customer", CUSTOMERS)
    await _bulk(gql, "Tags", "Tag", [{"code": "t1"}, {"code": "t2"}])
    await _bulk(gql, "Products", "Product", PRODUCTS)
    return gql


async def _products(gql: GraphQL, order: Any, **args: Any) -> dict[str, Any]:
    data = await gql.data(
        "query($o: [ProductOrderBy!], $first: Int, $after: String) {"
        " products(orderBy: $o, first: $first, after: $after) {"
        " totalCount nodes { id } pageInfo { hasNextPage endCursor } } }",
        PATH,
        o=order,
        **args,
    )
    page: dict[str, Any] = data["products"]
    return page


async def test_order_by_a_related_property_puts_missing_owners_last(
    market: GraphQL,
) -> None:
    order = [{"ownedBy": {"name": "ASC"}}, {"qty": "DESC"}]
    page = await _products(market, order)
    # Amy (kiwi 5, pear 1), Zoe (plum 7, apple 3), then no owner and a dangling one.
    assert [n["id"] for n in page["nodes"]] == ["p5", "p2", "p3", "p1", "p6", "p4"]
    descending = await _products(market, [{"ownedBy": {"name": "DESC"}}])
    assert [n["id"] for n in descending["nodes"]] == [
        "p1",
        "p3",
        "p2",
        "p5",
        "p4",
        "p6",
    ]


async def test_pages_sorted_by_a_related_property_are_exact(market: GraphQL) -> None:
    order = [{"ownedBy": {"name": "ASC"}}, {"qty": "DESC"}]
    seen: list[str] = []
    after = None
    for _ in range(4):
        page = await _products(market, order, first=4, after=after)
        seen += [n["id"] for n in page["nodes"]]
        assert page["totalCount"] == 6
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == ["p5", "p2", "p3", "p1", "p6", "p4"]


GROUPS = """query($w: ProductWhere) { productsAggregate(where: $w) {
  groupBy(fields: [ownedBy]) { key count sum { price qty } avg { qty } min { price } max { price } }
} }"""


async def test_group_by_a_to_one_relationship_gives_figures_per_owner(
    market: GraphQL,
) -> None:
    data = await market.data(GROUPS, PATH)
    assert data["productsAggregate"]["groupBy"] == [
        {"key": {"ownedBy": "c1"}, "count": 2, "sum": {"price": "20.00", "qty": 10},
         "avg": {"qty": 5.0}, "min": {"price": "9.99"}, "max": {"price": "10.01"}},
        {"key": {"ownedBy": "c2"}, "count": 2, "sum": {"price": "31.5", "qty": 6},
         "avg": {"qty": 3.0}, "min": {"price": "11"}, "max": {"price": "20.5"}},
        # The dangling id is a group of its own: grouping reads the links only.
        {"key": {"ownedBy": "gone"}, "count": 1, "sum": {"price": None, "qty": 4},
         "avg": {"qty": 4.0}, "min": {"price": None}, "max": {"price": None}},
        {"key": {"ownedBy": None}, "count": 1, "sum": {"price": "30", "qty": 2},
         "avg": {"qty": 2.0}, "min": {"price": "30"}, "max": {"price": "30"}},
    ]  # fmt: skip


async def test_group_by_a_to_many_relationship_counts_a_node_in_each_group(
    market: GraphQL,
) -> None:
    query = """query($w: ProductWhere) { productsAggregate(where: $w) {
      count groupBy(fields: [tags, name]) { key count } } }"""
    data = await market.data(query, PATH, w={"qty": {"lte": 5}})
    aggregate = data["productsAggregate"]
    assert aggregate["count"] == 5
    assert aggregate["groupBy"] == [
        {"key": {"name": "apple", "tags": "t1"}, "count": 1},
        {"key": {"name": "fig", "tags": None}, "count": 1},
        {"key": {"name": "kiwi", "tags": "t2"}, "count": 1},
        {"key": {"name": "lime", "tags": None}, "count": 1},
        {"key": {"name": "pear", "tags": "t1"}, "count": 1},
        {"key": {"name": "pear", "tags": "t2"}, "count": 1},
    ]


NESTED = """{ customers(first: 10) { nodes { id
  owns(where: {price: {gt: "10"}}, orderBy: [{price: DESC}], first: 1) {
    totalCount nodes { id ownedBy { name } } pageInfo { hasNextPage } }
  tags: owns(orderBy: [{name: ASC}], first: 10) { nodes {
    tags(where: {code: {ne: "t1"}}, first: 10) { totalCount nodes { code } } } }
} } }"""


async def test_nested_filtered_lists_page_each_parent(market: GraphQL) -> None:
    data = await market.data(NESTED, PATH)
    nodes = {n["id"]: n for n in data["customers"]["nodes"]}
    assert nodes["c1"]["owns"] == {
        "totalCount": 1,
        "nodes": [{"id": "p3", "ownedBy": {"name": "Zoe"}}],
        "pageInfo": {"hasNextPage": False},
    }
    assert nodes["c2"]["owns"] == {
        "totalCount": 2,
        "nodes": [{"id": "p2", "ownedBy": {"name": "Amy"}}],
        "pageInfo": {"hasNextPage": True},
    }
    assert nodes["c3"]["owns"]["totalCount"] == 0
    assert [p["tags"] for p in nodes["c2"]["tags"]["nodes"]] == [
        {"totalCount": 1, "nodes": [{"code": "t2"}]},  # kiwi
        {"totalCount": 1, "nodes": [{"code": "t2"}]},  # pear
    ]


async def test_a_nested_filtered_list_takes_one_store_call_per_hop(
    gql: GraphQL, settings: Settings
) -> None:
    await gql.create_database("market")
    await gql.define("market", CUSTOMER, TAG, PRODUCT)
    customers = [{"customerId": f"c{i:02}", "name": f"n{i}"} for i in range(40)]
    await _bulk(gql, "Customers", "Customer", customers)
    products = [
        {"productId": f"p{i:03}", "qty": i, "ownedBy": f"c{i % 40:02}"}
        for i in range(400)
    ]
    await _bulk(gql, "Products", "Product", products)
    graph = gql.container.graph
    graph.calls = graph.statements = 0
    await gql.data("{ customers(first: 40) { nodes { id } } }", PATH)
    page = (graph.calls, graph.statements)
    graph.calls = graph.statements = 0
    data = await gql.data(
        "{ customers(first: 40) { nodes { owns(where: {qty: {gte: 200}}, first: 2) {"
        " totalCount nodes { id ownedBy { id } } } } } }",
        PATH,
    )
    first = data["customers"]["nodes"][0]["owns"]
    assert first == {
        "totalCount": 5,
        "nodes": [{"id": "p200", "ownedBy": {"id": "c00"}}, {"id": "p240", "ownedBy": {"id": "c00"}}],
    }  # fmt: skip
    # After the customers page, one store call and one statement per hop for
    # all 40 customers: their filtered pages (in the store; in memory, every
    # product linking to them), then the owners of the products shown.
    assert (graph.calls - page[0], graph.statements - page[1]) == (2, 2)


def test_the_schema_offers_related_sort_keys_and_groups_with_figures() -> None:
    classes = [class_from_dict(c) for c in (CUSTOMER, TAG, PRODUCT)]
    built = build_generated_schema(
        Ontology({c.id: c for c in classes}),
        resolvers=INSTANCE_RESOLVERS, db="market", branch="main", version=1,
    )  # fmt: skip
    sdl, types = built.sdl(), built.schema.type_map
    assert "  ownedBy: CustomerOrderBy\n" in sdl  # to-one: the target's keys
    assert "tags: TagOrderBy" not in sdl  # to-many: no single value to sort by
    assert "groupBy(fields: [ProductGroupField!]!): [ProductAggregateGroup!]!" in sdl
    group = types["ProductAggregateGroup"]
    assert isinstance(group, GraphQLObjectType)
    assert {n: str(f.type) for n, f in group.fields.items()} == {
        "key": "JSON!", "count": "Int!", "sum": "ProductAggregateSum!",
        "avg": "ProductAggregateAvg!", "min": "ProductAggregateMin!",
        "max": "ProductAggregateMax!",
    }  # fmt: skip
    fields = types["ProductGroupField"]
    assert isinstance(fields, GraphQLEnumType)
    assert list(fields.values) == [
        "productId",
        "name",
        "price",
        "qty",
        "ownedBy",
        "tags",
    ]
