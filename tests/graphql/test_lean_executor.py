"""The lean query executor gives exactly what graphql-core's executor gives: the
same data and the same errors (message, path), on the same schema and data."""

from __future__ import annotations

from typing import Any

import pytest

from app.graphql import ports_of
from app.graphql.engine import Engine, Request
from domain.security import SYSTEM
from resolvers.context import Context
from schema.limits import Limits
from tests.graphql.client import RESULT, GraphQL
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

SHOP = "/graphql/shop"

QUERIES = {
    "plain": '{ customer(id: "c1") { id customerId name } }',
    "aliases-and-typename": '{ a: customer(id: "c1") { __typename who: name } b: customer(id: "zz") { id } }',
    "nested-lists": "{ customers(first: 5) { totalCount nodes { id owns(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name ownedBy { name } } } } } } }",
    "fragments": """
        query { products { nodes { ...P ... on Product { name } } } }
        fragment P on Product { id ownedBy { ...C } }
        fragment C on Customer { customerId owns(first: 1) { nodes { id } } }
    """,
    "skip-include": "query($s: Boolean!, $i: Boolean!) { customers { nodes { id name @skip(if: $s) customerId @include(if: $i) } } }",
    "variables": "query($id: ID!, $n: Int) { customer(id: $id) { owns(first: $n) { nodes { id } } } }",
    "filters-and-order": '{ products(where: {name: {in: ["apple", "pear"]}}, orderBy: [{name: DESC}]) { nodes { id name } } }',
    "aggregate": "{ productsAggregate { count groupBy(fields: [name]) { key count } } }",
    "meta": '{ product(id: "p1") { _meta { seq dataStatus branch indexStatus { eventSequence } } } }',
    "search": '{ search(query: "apple") { totalCount nodes { __typename ... on Product { id } } } }',
    # A bad cursor in a non-null nested connection nulls the nearest nullable parent.
    "error-in-nullable-parent": '{ customer(id: "c1") { id owns(after: "%%%") { totalCount } } }',
    "error-propagates-to-data": '{ customers { nodes { owns(after: "%%%") { totalCount } } } }',
    "error-nulls-data": "{ customers { nodes { id } } products(first: -1) { totalCount } }",
    "missing-variable-value": "query($id: ID!) { customer(id: $id) { id } }",
    # To-one hops resolved once per wave for every object (batch resolvers): the
    # same link under two aliases, a product without an owner, hops below hops.
    "to-one-batches": "{ products { nodes { id a: ownedBy { name } b: ownedBy { customerId owns(first: 1) { nodes { ownedBy { name } } } } } } }",
    "error-below-to-one": '{ products { nodes { id ownedBy { owns(after: "%%%") { totalCount } } } } }',
    "graph-query": '{ graphQuery(input: {startClass: "Customer", hops: [{predicate: "owns"}], includePaths: true}) { nodes { key hop dataStatus } edges { from to predicate hop } paths { nodes } warnings truncated } }',
}
VARIABLES: dict[str, dict[str, Any]] = {
    "skip-include": {"s": True, "i": True},
    "variables": {"id": "c1", "n": 1},
}


@pytest.fixture
async def engines(shop: GraphQL) -> tuple[Engine, Engine, Context]:
    customers = [{"customerId": f"c{i}", "name": f"C{i}"} for i in range(1, 4)]
    products = [
        {"productId": "p1", "name": "apple", "ownedBy": "c1"},
        {"productId": "p2", "name": "pear", "ownedBy": "c1"},
        {"productId": "p3", "name": "plum", "ownedBy": "c2"},
        {"productId": "p4", "name": "fig"},
    ]
    for mutation, kind, inputs in (
        ("createCustomers", "CustomerInput", customers),
        ("createProducts", "ProductInput", products),
    ):
        await shop.data(
            f"mutation($i: [{kind}!]!) {{ {mutation}(inputs: $i, wait: INDEXED) {{ {RESULT} }} }}",
            SHOP,
            i=inputs,
        )
    view = await shop.app.graphql.schemas(shop.container).view("shop", "main")
    ports = ports_of(shop.container, Limits())
    graphql_core = Engine(view.engine.schema, limits=ports.limits, dev=True)
    lean = Engine(view.engine.schema, limits=ports.limits, dev=True, lean=True)
    context = Context(
        ports=ports, db="shop", branch="main", lineage=view.lineage, principal=SYSTEM
    )
    return lean, graphql_core, context


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    errors = sorted(
        (e["message"], tuple(e.get("path") or ())) for e in body.get("errors", [])
    )
    return {"data": body.get("data"), "errors": errors}


@pytest.mark.parametrize("name", list(QUERIES))
async def test_lean_and_graphql_core_agree(
    engines: tuple[Engine, Engine, Context], name: str
) -> None:
    lean, graphql_core, context = engines
    request = Request(query=QUERIES[name], variables=VARIABLES.get(name))
    prepared = lean.prepare(request)
    assert prepared.lean, "the lean executor must take this query"
    reference = graphql_core.prepare(request)
    assert not reference.lean
    ours = lean.formatted(await lean.execute(prepared, _fresh(context)))
    theirs = graphql_core.formatted(
        await graphql_core.execute(reference, _fresh(context))
    )
    assert _comparable(ours) == _comparable(theirs)
    if name.startswith("error"):
        assert ours["errors"], "an error case must produce errors"
    elif name != "missing-variable-value":
        assert "errors" not in ours, ours


def _fresh(context: Context) -> Context:
    """Each run gets its own loaders, as each request does."""
    return Context(
        ports=context.ports,
        db=context.db,
        branch=context.branch,
        lineage=context.lineage,
        principal=context.principal,
    )


@pytest.mark.parametrize(
    "query",
    [
        'mutation { deleteProduct(id: "x", expectedSeq: 1) { __typename } }',
        "{ __schema { queryType { name } } }",
        '{ customer(id: "c1") { id } __type(name: "Product") { name } }',
    ],
    ids=["mutation", "introspection", "type-lookup"],
)
async def test_other_operations_stay_on_graphql_core(
    engines: tuple[Engine, Engine, Context], query: str
) -> None:
    lean, _, _ = engines
    assert not lean.prepare(Request(query=query)).lean


@pytest.mark.parametrize(
    ("name", "runs"),
    [
        ("skip-include", [{"s": True, "i": True}, {"s": False, "i": False}]),
        ("variables", [{"id": "c1", "n": 1}, {"id": "c2", "n": 5}]),
        ("plain", [None, None]),
    ],
)
async def test_plans_shared_between_requests_follow_each_requests_variables(
    engines: tuple[Engine, Engine, Context], name: str, runs: list[Any]
) -> None:
    lean, graphql_core, context = engines
    answers = []
    for variables in runs:
        request = Request(query=QUERIES[name], variables=variables)
        ours = lean.formatted(
            await lean.execute(lean.prepare(request), _fresh(context))
        )
        theirs = graphql_core.formatted(
            await graphql_core.execute(graphql_core.prepare(request), _fresh(context))
        )
        assert ours == theirs
        answers.append(ours)
    if runs[0] != runs[1]:
        assert answers[0] != answers[1]
