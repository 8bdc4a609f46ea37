"""`asOfTime`: an instant instead of a position, on the fields that take `asOf`;
it reads as `asOf` of the last position committed at or before the instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.graphql.client import RESULT, GraphQL
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

SHOP = "/graphql/shop"
CREATE = f"""mutation($id: String!, $name: String) {{
  createProduct(input: {{productId: $id, name: $name}}, wait: APPLIED) {{ {RESULT} }} }}"""
READ = """query($at: Int, $time: DateTime) {
  product(id: "p1", asOf: $at, asOfTime: $time) { name }
  products(asOf: $at, asOfTime: $time, where: {name: {regex: "^O"}}) { totalCount nodes { id } }
  productsAggregate(asOf: $at, asOfTime: $time) { count }
}"""


async def _read(gql: GraphQL, **args: Any) -> dict[str, Any]:
    return await gql.data(READ, SHOP, **args)


async def test_as_of_time_reads_as_of_the_last_position_committed_by_then(
    shop: GraphQL,
) -> None:
    first = await shop.data(CREATE, SHOP, id="p1", name="Old")
    then = datetime.now(UTC)
    await shop.data(CREATE, SHOP, id="p2", name="Other")
    await shop.data(
        f'mutation {{ updateProduct(id: "p1", patch: {{name: "New"}}, expectedSeq: 1, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    position = first["createProduct"]["position"]

    by_time = await _read(shop, time=then.isoformat())
    assert by_time == await _read(shop, at=position)
    assert by_time == {
        "product": {"name": "Old"},
        "products": {"totalCount": 1, "nodes": [{"id": "p1"}]},
        "productsAggregate": {"count": 1},
    }
    # The same instant in another offset.
    tokyo = then.astimezone(timezone(timedelta(hours=9)))
    assert await _read(shop, time=tokyo.isoformat()) == by_time
    now = await _read(shop, time=datetime.now(UTC).isoformat())
    assert now == await _read(shop)
    assert now["product"] == {"name": "New"}


async def test_a_time_before_the_database_existed_reads_nothing(shop: GraphQL) -> None:
    await shop.data(CREATE, SHOP, id="p1", name="Old")
    assert await _read(shop, time="2000-01-01T00:00:00+00:00") == {
        "product": None,
        "products": {"totalCount": 0, "nodes": []},
        "productsAggregate": {"count": 0},
    }


async def test_as_of_and_as_of_time_together_or_a_naive_time_are_errors(
    shop: GraphQL,
) -> None:
    both = await shop.post(READ, SHOP, at=1, time="2030-01-01T00:00:00Z")
    assert {e["extensions"]["field"] for e in both["errors"]} == {"asOfTime"}
    assert "not both" in both["errors"][0]["message"]
    naive = await shop.post(READ, SHOP, time="2030-01-01T00:00:00")
    assert {e["extensions"]["code"] for e in naive["errors"]} == {"BAD_USER_INPUT"}
    assert "UTC offset" in naive["errors"][0]["message"]


async def test_diff_and_graph_query_take_as_of_time_too(shop: GraphQL) -> None:
    first = await shop.data(CREATE, SHOP, id="p1", name="Old")
    then = datetime.now(UTC).isoformat()
    await shop.data(CREATE, SHOP, id="p2", name="Other")
    await shop.data(
        f'mutation {{ updateProduct(id: "p1", patch: {{name: "New"}}, expectedSeq: 1, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    position = first["createProduct"]["position"]
    diff = 'query($at: Int, $time: DateTime) { product(id: "p1") { _diff(asOf: $at, asOfTime: $time) { status changes { field before after } } } }'
    by_time = await shop.data(diff, SHOP, time=then)
    assert by_time == await shop.data(diff, SHOP, at=position)
    assert by_time["product"]["_diff"]["changes"] == [
        {"field": "name", "before": "Old", "after": "New"}
    ]
    walk = "query($r: GraphQueryInput!) { graphQuery(input: $r) { nodes { id } } }"
    start = {"startClass": "Product"}
    nodes = await shop.data(walk, SHOP, r={**start, "asOfTime": then})
    assert nodes == await shop.data(walk, SHOP, r={**start, "asOf": position})
    assert nodes["graphQuery"]["nodes"] == [{"id": "p1"}]
