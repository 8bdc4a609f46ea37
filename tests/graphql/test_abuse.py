"""R19: abusive requests are rejected before execution with a generic error, and logged."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from graphql import get_introspection_query

from app.settings import Settings
from tests.conftest import make_settings
from tests.graphql.client import GraphQL, open_client

SHOP = "/graphql/shop"
REJECTED = "QUERY_REJECTED"


def _rejected(body: dict[str, Any], reason: str, code: str = REJECTED) -> None:
    """No data at all (nothing ran) and one generic, coded error naming the limit."""
    assert "data" not in body or body["data"] is None, body
    errors = body["errors"]
    assert any(
        e.get("extensions", {}).get("code") == code and reason in e["message"]
        for e in errors
    ), errors


def _nested(levels: int) -> str:
    """Product -> ownedBy -> owns -> nodes -> ownedBy … `levels` times."""
    inner = "id"
    for _ in range(levels):
        inner = f"ownedBy {{ owns {{ nodes {{ {inner} }} }} }}"
    return f"{{ products {{ nodes {{ {inner} }} }} }}"


async def test_depth_bomb_is_rejected_and_logged(
    shop: GraphQL, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="schema.protection"):
        body = await shop.post(_nested(6), SHOP)
    _rejected(body, "depth")
    assert any("rejected" in r.getMessage() for r in caplog.records)


async def test_depth_counts_through_fragments(shop: GraphQL) -> None:
    query = """
      { products { nodes { ...P } } }
      fragment P on Product { ownedBy { owns { nodes { ...Q } } } }
      fragment Q on Product { ownedBy { owns { nodes { ...R } } } }
      fragment R on Product { ownedBy { owns { nodes { ...S } } } }
      fragment S on Product { ownedBy { owns { nodes { ownedBy { owns { nodes { id } } } } } } }
    """
    _rejected(await shop.post(query, SHOP), "depth")


async def test_a_moderate_query_runs(shop: GraphQL) -> None:
    data = await shop.data(_nested(1), SHOP)
    assert data == {"products": {"nodes": []}}


async def test_circular_fragments_are_rejected(shop: GraphQL) -> None:
    query = """
      { products { nodes { ...A } } }
      fragment A on Product { ownedBy { owns { nodes { ...B } } } }
      fragment B on Product { ...A }
    """
    body = await shop.post(query, SHOP)
    assert body.get("data") is None
    assert any("A" in e["message"] and "itself" in e["message"] for e in body["errors"])


async def test_alias_bomb_is_rejected(gql: GraphQL) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(31))
    _rejected(await gql.post(f"{{ {aliases} }}"), "aliases")


async def test_aliases_count_every_fragment_spread(gql: GraphQL) -> None:
    fragment = " ".join(f"a{i}: __typename" for i in range(10))
    query = f"{{ ...F ...F ...F ...F }} fragment F on Query {{ {fragment} }}"
    _rejected(await gql.post(query), "40 aliases")


async def test_doubling_fragment_chain_is_measured_quickly(gql: GraphQL) -> None:
    """F_i spreads F_(i-1) twice: 2**40 aliases, measured once per fragment."""
    chain = ["fragment F0 on Query { a: __typename }"]
    chain += [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 41)
    ]
    started = time.perf_counter()
    body = await gql.post("{ ...F40 } " + " ".join(chain))
    assert time.perf_counter() - started < 5
    _rejected(body, f"{2**40} aliases")


async def test_token_bomb_is_rejected(
    gql: GraphQL, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="schema.protection"):
        body = await gql.post("{ " + "__typename " * 6000 + "}")
    assert body.get("data") is None
    assert "tokens" in body["errors"][0]["message"]
    assert any("tokens" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "query",
    ["{ products(first: 99999999) { nodes { id } } }",
     "query($n: Int) { products(first: $n) { nodes { id } } }"],
    ids=["literal", "variable"],
)  # fmt: skip
async def test_page_size_above_the_cap_is_rejected(shop: GraphQL, query: str) -> None:
    body = await shop.post(query, SHOP, n=99999999)
    _rejected(body, "page size cap", code="BAD_USER_INPUT")


async def test_nested_connections_multiply_the_cost(shop: GraphQL) -> None:
    query = "{ customers(first: 1000) { nodes { owns(first: 1000) { nodes { id name } } } } }"
    _rejected(await shop.post(query, SHOP), "estimated cost")


@pytest.fixture
def strict(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        graphql_max_cost=50,
        graphql_max_depth=4,
        graphql_introspection=False,
        graphql_max_body_bytes=2048,
    )


async def test_limits_come_from_settings(strict: Settings) -> None:
    async with open_client(strict) as gql:
        await gql.create_database("shop")
        await gql.define(
            "shop",
            {
                "id": "T",
                "label": "T",
                "primaryKey": "n",
                "properties": [{"name": "n", "type": "string"}],
            },
        )
        assert (await gql.data("{ ts(first: 10) { nodes { id n } } }", SHOP)) == {
            "ts": {"nodes": []}
        }
        _rejected(await gql.post("{ ts(first: 30) { nodes { id n } } }", SHOP), "cost")
        body = await gql.post("{ __schema { types { name } } }", SHOP)
        assert body.get("data") is None
        assert "introspection" in body["errors"][0]["message"].lower()
        response = await gql.http.post("/graphql", json={"query": "{ x }" + " " * 3000})
        assert response.status_code == 413


async def test_introspection_runs_under_the_default_limits(shop: GraphQL) -> None:
    body = await shop.post(get_introspection_query(descriptions=True), SHOP)
    assert body.get("errors") is None
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_huge_body_is_413(gql: GraphQL, caplog: pytest.LogCaptureFixture) -> None:
    padding = " " * (1024 * 1024)
    with caplog.at_level(logging.WARNING, logger="app.graphql.http"):
        response = await gql.http.post(
            "/graphql", json={"query": "{ databases { name } }" + padding}
        )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
    assert any("size limit" in r.getMessage() for r in caplog.records)


async def test_huge_chunked_body_is_413(gql: GraphQL) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 65536

    response = await gql.http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_batches_run_up_to_the_limit(gql: GraphQL) -> None:
    small = [{"query": "{ __typename }"}] * 2
    response = await gql.http.post("/graphql", json=small)
    assert response.status_code == 200
    assert response.json() == [{"data": {"__typename": "Query"}}] * 2
    large = [{"query": "{ __typename }"}] * 11
    response = await gql.http.post("/graphql", json=large)
    assert response.status_code == 400
    assert "Too many operations" in response.text


async def test_variable_defaults_count_for_the_page_cap(shop: GraphQL) -> None:
    query = "query($n: Int = 5000) { products(first: $n) { nodes { id } } }"
    _rejected(await shop.post(query, SHOP), "page size cap", code="BAD_USER_INPUT")
