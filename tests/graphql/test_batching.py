"""Multi-hop reads batch: one graph store call per hop, whatever the fan-out."""

from __future__ import annotations

from typing import Any

from adapters.graph_store.sql import SqlGraphStore
from tests.graphql.client import RESULT, GraphQL
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

PATH = "/graphql/graph"
ROOTS = 1000


def _class(
    class_id: str, key: str, link: tuple[str, str] | None = None
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "id": class_id,
        "label": class_id,
        "primaryKey": key,
        "properties": [{"name": key, "type": "string"}],
    }
    if link is not None:
        definition["relationships"] = [
            {"predicate": link[0], "target": link[1], "cardinality": "MANY_TO_ONE"}
        ]
    return definition


async def _bulk(
    gql: GraphQL, mutation: str, input_type: str, inputs: list[dict[str, Any]]
) -> None:
    data = await gql.data(
        f"mutation($i: [{input_type}!]!) {{ {mutation}(inputs: $i, wait: APPLIED) {{ {RESULT} }} }}",
        PATH,
        i=inputs,
    )
    assert data[mutation]["__typename"] == "CommandReceipt", data
    assert data[mutation]["status"] in {"APPLIED", "COMPLETED"}


async def test_three_hops_over_many_roots_take_one_store_call_per_hop(
    gql: GraphQL,
) -> None:
    await gql.create_database("graph")
    await gql.define(
        "graph",
        _class("Country", "code"),
        _class("Region", "code", ("country", "Country")),
        _class("Customer", "customer_id", ("region", "Region")),
        _class("Product", "product_id", ("owned_by", "Customer")),
    )
    await _bulk(
        gql, "createCountries", "CountryInput", [{"code": f"k{i}"} for i in range(3)]
    )
    await _bulk(
        gql,
        "createRegions",
        "RegionInput",
        [{"code": f"r{i}", "country": f"k{i % 3}"} for i in range(10)],
    )
    await _bulk(
        gql,
        "createCustomers",
        "CustomerInput",
        [{"customerId": f"c{i}", "region": f"r{i % 10}"} for i in range(200)],
    )
    await _bulk(
        gql,
        "createProducts",
        "ProductInput",
        [{"productId": f"p{i:04}", "ownedBy": f"c{i % 200}"} for i in range(ROOTS)],
    )

    graph = gql.container.graph
    graph.calls = graph.statements = 0
    data = await gql.data(
        f"{{ products(first: {ROOTS}) {{ nodes {{ id ownedBy {{ id region {{ id country {{ code }} }} }} }} }} }}",
        PATH,
    )
    nodes = data["products"]["nodes"]
    assert len(nodes) == ROOTS
    assert nodes[1]["ownedBy"] == {
        "id": "c1",
        "region": {"id": "r1", "country": {"code": "k1"}},
    }
    # The root page, then customers, regions and countries: one call each.
    assert graph.calls == 4
    on_postgres = gql.container.database.dialect == "postgresql"
    if on_postgres and isinstance(graph, SqlGraphStore):
        # And one SQL statement each: the page walks ids and reads their
        # versions together; each hop reads all its ids as one array.
        assert graph.statements == 4


async def test_inverse_hops_read_only_their_pages_in_one_call_per_hop(
    gql: GraphQL,
) -> None:
    await gql.create_database("graph")
    await gql.define(
        "graph",
        _class("Country", "code"),
        _inverse(
            _class("Customer", "customer_id", ("country", "Country")), "customers"
        ),
        _inverse(_class("Product", "product_id", ("owned_by", "Customer")), "products"),
    )
    await _bulk(
        gql, "createCountries", "CountryInput", [{"code": f"k{i}"} for i in range(3)]
    )
    customers = [{"customerId": f"c{i:02}", "country": f"k{i % 3}"} for i in range(30)]
    await _bulk(gql, "createCustomers", "CustomerInput", customers)
    products = [
        {"productId": f"p{i:04}", "ownedBy": f"c{i % 30:02}"} for i in range(300)
    ]
    await _bulk(gql, "createProducts", "ProductInput", products)

    graph = gql.container.graph
    graph.calls = 0
    data = await gql.data(
        "{ countries(first: 3) { nodes { code customers(first: 4) { pageInfo { hasNextPage }"
        " nodes { customerId products(first: 2) { pageInfo { hasNextPage } nodes { productId } } } } } } }",
        PATH,
    )
    # The root page, then one reverse-link read per hop, whatever the fan-out.
    assert graph.calls == 3
    first = data["countries"]["nodes"][0]
    assert first["code"] == "k0"
    assert first["customers"]["pageInfo"] == {"hasNextPage": True}
    assert [c["customerId"] for c in first["customers"]["nodes"]] == [
        "c00",
        "c03",
        "c06",
        "c09",
    ]
    assert first["customers"]["nodes"][0]["products"] == {
        "pageInfo": {"hasNextPage": True},
        "nodes": [{"productId": "p0000"}, {"productId": "p0030"}],
    }

    graph.calls = 0
    counted = await gql.data(
        "{ countries { nodes { customers(first: 1) { totalCount } } } }", PATH
    )
    assert [c["customers"]["totalCount"] for c in counted["countries"]["nodes"]] == [
        10,
        10,
        10,
    ]
    assert graph.calls == 3  # the page, the reverse links, one count for all


def _inverse(definition: dict[str, Any], inverse: str) -> dict[str, Any]:
    definition["relationships"][0]["inverse"] = {"predicate": inverse}
    return definition
