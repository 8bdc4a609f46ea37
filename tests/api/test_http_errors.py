"""Bad input over HTTP: spec-conformant GraphQL errors, never a stack trace."""

from __future__ import annotations

import pytest

from tests.graphql.client import GraphQL

JSON_ACCEPT = {"accept": "application/json"}
GRAPHQL_ACCEPT = {"accept": "application/graphql-response+json"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"query": "{ databases { name "}, "Syntax Error"),
        ({"query": "{ nope }"}, "Cannot query field 'nope'"),
        (
            {
                "query": "query($n: Int!) { commands(first: $n) { id } }",
                "variables": {"n": "x"},
            },
            "Variable '$n'",
        ),
    ],
    ids=["syntax", "unknown-field", "variable-type"],
)
async def test_request_errors_are_graphql_errors(
    gql: GraphQL, body: dict[str, object], fragment: str
) -> None:
    legacy = await gql.http.post("/graphql", json=body, headers=JSON_ACCEPT)
    assert legacy.status_code == 200
    assert fragment in legacy.json()["errors"][0]["message"]
    modern = await gql.http.post("/graphql", json=body, headers=GRAPHQL_ACCEPT)
    assert modern.status_code == 400
    assert modern.headers["content-type"].startswith(
        "application/graphql-response+json"
    )
    assert "data" not in modern.json()
    assert "Traceback" not in legacy.text + modern.text


async def test_malformed_json_and_missing_query_get_json_errors(gql: GraphQL) -> None:
    bad = await gql.http.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"]
    missing = await gql.http.post("/graphql", json={})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["message"]


async def test_oversized_page_and_bad_cursor_are_user_errors(shop: GraphQL) -> None:
    body = await shop.post("{ products(first: 5000) { totalCount } }", "/graphql/shop")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "1000" in body["errors"][0]["message"]
    body = await shop.post('{ products(after: "%%%") { totalCount } }', "/graphql/shop")
    assert body["errors"][0]["message"].startswith("invalid cursor")
    body = await shop.post('{ product(id: "x", asOf: -1) { id } }', "/graphql/shop")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unknown_database_or_branch_is_404(shop: GraphQL) -> None:
    for path in ("/graphql/nope", "/graphql/shop/nobranch"):
        response = await shop.http.post(path, json={"query": "{ _schema { db } }"})
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_graphiql_is_served_on_get(shop: GraphQL) -> None:
    for path in ("/graphql", "/graphql/shop", "/graphql/shop/main"):
        response = await shop.http.get(path, headers={"accept": "text/html"})
        assert response.status_code == 200
        assert "graphiql" in response.text.lower()


async def test_queries_work_over_get(shop: GraphQL) -> None:
    response = await shop.http.get(
        "/graphql/shop", params={"query": "{ _schema { db } }"}
    )
    assert response.json() == {"data": {"_schema": {"db": "shop"}}}


async def test_mutations_over_get_are_refused(gql: GraphQL) -> None:
    response = await gql.http.get(
        "/graphql",
        params={"query": 'mutation { createDatabase(name: "zzz") { __typename } }'},
    )
    assert response.status_code == 405
