"""`<plural>Aggregate(where)`: count, sum/avg/min/max over numeric properties, groupBy."""

from __future__ import annotations

from decimal import Decimal

from tests.graphql.client import GraphQL
from tests.graphql.test_filters import SHOP, items  # noqa: F401 - the fixture
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

ALL = """{ itemsAggregate {
  count
  sum { price qty } avg { price qty } min { price qty } max { price qty }
  groupBy(fields: [active]) { key count }
} }"""


async def test_aggregates_over_every_item(items: GraphQL) -> None:  # noqa: F811
    data = (await items.data(ALL, SHOP))["itemsAggregate"]
    assert data["count"] == 4
    assert data["sum"] == {"price": "120.49", "qty": 21}
    assert Decimal(data["avg"]["price"]).quantize(Decimal("0.01")) == Decimal("40.16")
    assert data["avg"]["qty"] == 5.25
    assert data["min"] == {"price": "9.99", "qty": 1}
    assert data["max"] == {"price": "100", "qty": 10}
    assert data["groupBy"] == [
        {"key": {"active": False}, "count": 2},
        {"key": {"active": True}, "count": 2},
    ]


async def test_aggregates_respect_where(items: GraphQL) -> None:  # noqa: F811
    query = """query($w: ItemWhere) { itemsAggregate(where: $w) {
      count sum { qty } groupBy(fields: [active, name]) { key count } } }"""
    data = await items.data(query, SHOP, w={"qty": {"gte": 5}})
    assert data["itemsAggregate"] == {
        "count": 2,
        "sum": {"qty": 17},
        "groupBy": [
            {"key": {"active": False, "name": "banana"}, "count": 1},
            {"key": {"active": True, "name": "cherry"}, "count": 1},
        ],
    }


async def test_empty_aggregate_is_null_not_zero(items: GraphQL) -> None:  # noqa: F811
    query = '{ itemsAggregate(where: {name: {eq: "none"}}) { count sum { qty } avg { price } groupBy(fields: [active]) { count } } }'
    data = await items.data(query, SHOP)
    assert data["itemsAggregate"] == {
        "count": 0,
        "sum": {"qty": None},
        "avg": {"price": None},
        "groupBy": [],
    }
