"""Access policies on every read of the generated schema: row filters hide
objects (they read as not found), masks forbid properties (null with a
FORBIDDEN error) and refuse every use that would show their values.

Requests run on the database's engine with a Context carrying the rules, as the
endpoint builds it for a principal whose role has policies."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import ExecutionResult

from app.graphql.engine import Request
from domain.ontology import Ontology, class_from_dict
from domain.security import NO_RULES, AccessRules, ClassAccess, Grant, Principal, Role
from resolvers.context import Context
from resolvers.instances.policies import check_policy, effective_rules
from tests.graphql.client import RESULT, GraphQL

SHOP = "/graphql/shop"
CUSTOMER = {
    "id": "Customer",
    "label": "Customer",
    "primaryKey": "customer_id",
    "titleKey": "name",
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "region", "type": "string"},
        {"name": "credit", "type": "integer"},
    ],
}
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "primaryKey": "product_id",
    "titleKey": "name",
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "qty", "type": "integer"},
        {"name": "secret", "type": "string"},
    ],
    "relationships": [
        {
            "predicate": "owned_by",
            "target": "Customer",
            "cardinality": "MANY_TO_ONE",
            "inverse": {"predicate": "owns"},
        }
    ],
}
GADGET = {
    "id": "Gadget",
    "label": "Gadget",
    "parent": "Product",
    "properties": [{"name": "volts", "type": "integer"}],
}
VIEWER = Principal("viewer", frozenset({Grant("shop", Role.VIEWER)}))
# Customers outside the EU are hidden and credit is masked; pears are hidden
# and every product's secret is masked (gadgets inherit Product's policy).
POLICIES = {
    "Customer": ClassAccess({"region": {"eq": "EU"}}, frozenset({"credit"})),
    "Product": ClassAccess({"name": {"ne": "pear"}}, frozenset({"secret"})),
}


@pytest.fixture
async def shop(gql: GraphQL) -> GraphQL:
    """c1 Ann (EU) owns p1 apple and p2 pear; c2 Bob (US) owns p3 plum and the
    gadget g1 radio; c3 Cy (EU) owns nothing."""
    await gql.create_database("shop")
    await gql.define("shop", CUSTOMER, PRODUCT, GADGET)
    customers = [
        {"customerId": "c1", "name": "Ann", "region": "EU", "credit": 10},
        {"customerId": "c2", "name": "Bob", "region": "US", "credit": 20},
        {"customerId": "c3", "name": "Cy", "region": "EU", "credit": 30},
    ]
    products = [
        {"productId": "p1", "name": "apple", "qty": 1, "secret": "s1", "ownedBy": "c1"},
        {"productId": "p2", "name": "pear", "qty": 2, "secret": "s2", "ownedBy": "c1"},
        {"productId": "p3", "name": "plum", "qty": 3, "secret": "s3", "ownedBy": "c2"},
    ]
    gadgets = [
        {"productId": "g1", "name": "radio", "qty": 4, "secret": "s4", "volts": 5,
         "ownedBy": "c2"},
    ]  # fmt: skip
    for mutation, kind, inputs in (
        ("createCustomers", "CustomerInput", customers),
        ("createProducts", "ProductInput", products),
        ("createGadgets", "GadgetInput", gadgets),
    ):
        data = await gql.data(
            f"mutation($i: [{kind}!]!) {{ {mutation}(inputs: $i, wait: INDEXED) {{ {RESULT} }} }}",
            SHOP,
            i=inputs,
        )
        assert data[mutation]["status"] == "COMPLETED", data
    return gql


class Reader:
    """Runs queries on the shop's generated schema under given rules."""

    def __init__(self, gql: GraphQL, rules: AccessRules | None = None) -> None:
        self.gql = gql
        self.rules = rules

    async def context(self, *, pushdown: bool = True) -> tuple[Any, Context]:
        endpoint = self.gql.app.graphql
        view = await endpoint.schemas(self.gql.container).view("shop", "main")
        ports = endpoint.ports(self.gql.container)
        if not pushdown:
            limits = dataclasses.replace(ports.limits, filter_pushdown=False)
            ports = dataclasses.replace(ports, limits=limits)
        rules = self.rules
        if rules is None:
            rules = effective_rules(view.ontology, POLICIES)
        context = Context(
            ports=ports,
            actor=VIEWER.name,
            principal=VIEWER,
            db="shop",
            branch="main",
            lineage=view.lineage,
            access=rules,
        )
        return view.engine, context

    async def run(
        self, query: str, *, pushdown: bool = True, **variables: Any
    ) -> ExecutionResult:
        engine, context = await self.context(pushdown=pushdown)
        prepared = engine.prepare(Request(query=query, variables=variables))
        return await engine.execute(prepared, context)

    async def data(self, query: str, **options: Any) -> Any:
        result = await self.run(query, **options)
        assert not result.errors, result.errors
        return result.data


def _forbidden(result: ExecutionResult) -> list[tuple[Any, ...]]:
    """(path, field) of every FORBIDDEN error; other errors fail the test."""
    found = []
    for error in result.errors or ():
        assert (error.extensions or {}).get("code") == "FORBIDDEN", error
        found.append((tuple(error.path or ()), error.extensions["field"]))
    return found


def _ids(connection: dict[str, Any]) -> list[str]:
    return [n["id"] for n in connection["nodes"]]


# --- row filters -------------------------------------------------------------


@pytest.mark.parametrize("pushdown", [True, False], ids=["in-store", "in-memory"])
async def test_lists_and_counts_skip_hidden_objects(
    shop: GraphQL, pushdown: bool
) -> None:
    reader = Reader(shop)
    data = await reader.data(
        """{ customers { totalCount nodes { id name } }
             products(first: 1) { totalCount pageInfo { hasNextPage } nodes { id } }
             gadgets { totalCount nodes { id } }
             filtered: products(where: {qty: {gte: 2}}, orderBy: [{qty: DESC}]) {
               totalCount nodes { id } } }""",
        pushdown=pushdown,
    )
    assert _ids(data["customers"]) == ["c1", "c3"]
    assert data["customers"]["totalCount"] == 2
    # p2 (a pear) is hidden: the products are g1, p1, p3.
    assert data["products"]["totalCount"] == 3
    assert data["products"]["pageInfo"]["hasNextPage"] is True
    assert _ids(data["gadgets"]) == ["g1"]
    assert _ids(data["filtered"]) == ["g1", "p3"]
    assert data["filtered"]["totalCount"] == 2


async def test_a_hidden_object_reads_as_not_found_by_id(shop: GraphQL) -> None:
    result = await Reader(shop).run(
        """{ c2: customer(id: "c2") { id }  p2: product(id: "p2") { id _history { seq } }
             c1: customer(id: "c1") { id name } }"""
    )
    assert not result.errors
    assert result.data == {"c2": None, "p2": None, "c1": {"id": "c1", "name": "Ann"}}


@pytest.mark.parametrize("pushdown", [True, False], ids=["in-store", "in-memory"])
async def test_relationships_never_reach_hidden_objects(
    shop: GraphQL, pushdown: bool
) -> None:
    data = await Reader(shop).data(
        """{ products { nodes { id ownedBy { id } } }
             customers { nodes { id owns { totalCount nodes { id } }
                                  sorted: owns(orderBy: [{qty: DESC}]) { nodes { id } } } }
             p3: product(id: "p3") { ownedBy { id name } } }""",
        pushdown=pushdown,
    )
    owners = {n["id"]: n["ownedBy"] for n in data["products"]["nodes"]}
    # c2 is hidden: a to-one relationship to it is null (lean executor's batch).
    assert owners == {"g1": None, "p1": {"id": "c1"}, "p3": None}
    assert data["p3"] == {"ownedBy": None}
    owns = {n["id"]: n["owns"] for n in data["customers"]["nodes"]}
    assert owns["c1"] == {"totalCount": 1, "nodes": [{"id": "p1"}]}
    assert owns["c3"] == {"totalCount": 0, "nodes": []}
    sorted_owns = {n["id"]: _ids(n["sorted"]) for n in data["customers"]["nodes"]}
    assert sorted_owns == {"c1": ["p1"], "c3": []}


async def test_relationship_conditions_and_sorts_treat_hidden_objects_as_absent(
    shop: GraphQL,
) -> None:
    data = await Reader(shop).data(
        """{ withOwner: products(where: {ownedBy: {id: {isNull: false}}}) { nodes { id } }
             bob: products(where: {ownedBy: {name: {eq: "Bob"}}}) { nodes { id } }
             sorted: products(orderBy: [{ownedBy: {name: DESC}}, {id: ASC}]) { nodes { id } }
             pearOwners: customers(where: {owns: {some: {name: {eq: "pear"}}}}) { nodes { id } } }"""
    )
    assert _ids(data["withOwner"]) == ["p1"]
    assert _ids(data["bob"]) == []
    # Bob's name must not order anything: his products sort as if unowned.
    assert _ids(data["sorted"]) == ["p1", "g1", "p3"]
    assert _ids(data["pearOwners"]) == []


async def test_aggregates_do_not_count_hidden_objects(shop: GraphQL) -> None:
    for pushdown in (True, False):
        data = await Reader(shop).data(
            """{ productsAggregate { count sum { qty }
                   groupBy(fields: [ownedBy]) { key count sum { qty } } }
                 customersAggregate(where: {name: {ne: "x"}}) { count } }""",
            pushdown=pushdown,
        )
        products = data["productsAggregate"]
        assert products["count"] == 3
        assert products["sum"] == {"qty": 8}
        # Grouped by owner, hidden Bob is no group: his products are unowned.
        assert sorted(
            (g["key"]["ownedBy"] or "", g["count"]) for g in products["groupBy"]
        ) == [
            ("", 2),
            ("c1", 1),
        ]
        assert data["customersAggregate"] == {"count": 2}


async def test_graph_query_neither_reaches_nor_traverses_hidden_objects(
    shop: GraphQL,
) -> None:
    data = await Reader(shop).data(
        """{ graphQuery(input: {startClass: "Product", hops: [{predicate: "ownedBy"},
                                                           {predicate: "owns"}]}) {
               nodes { id data links } edges { from to } } }"""
    )
    result = data["graphQuery"]
    ids = sorted(n["id"] for n in result["nodes"])
    assert ids == ["c1", "g1", "p1", "p3"]
    nodes = {n["id"]: n for n in result["nodes"]}
    assert "credit" not in nodes["c1"]["data"]
    assert nodes["c1"]["data"]["name"] == "Ann"
    assert "secret" not in nodes["p1"]["data"]
    # The link to hidden Bob is left out of the links too.
    assert nodes["p3"]["links"].get("owned_by") == []
    assert ("Product/p1", "Customer/c1") in {
        (e["from"], e["to"]) for e in result["edges"]
    }


async def test_search_never_returns_hidden_objects_nor_searches_masked_classes(
    shop: GraphQL,
) -> None:
    # Products without a mask here: a class with masks is not searched.
    product = ClassAccess(POLICIES["Product"].row_filter)
    policies = {**POLICIES, "Product": product}
    endpoint = shop.app.graphql
    view = await endpoint.schemas(shop.container).view("shop", "main")
    reader = Reader(shop, effective_rules(view.ontology, policies))
    data = await reader.data(
        '{ apple: search(query: "apple") { nodes { ... on Product { id } } }'
        '  pear: search(query: "pear") { totalCount }'
        '  ann: search(query: "Ann") { totalCount } }'
    )
    assert data["apple"]["nodes"] == [{"id": "p1"}]
    assert data["pear"]["totalCount"] == 0
    # Customers have a masked field: left out of a search over every class.
    assert data["ann"]["totalCount"] == 0
    everything = await Reader(shop).data('{ search(query: "apple") { totalCount } }')
    assert everything["search"]["totalCount"] == 0
    refused = await reader.run(
        '{ search(query: "Ann", classes: ["Customer"]) { totalCount } }'
    )
    assert _forbidden(refused) == [(("search",), "search")]
    refused = await reader.run('{ customers(where: {search: "Ann"}) { totalCount } }')
    assert _forbidden(refused) == [(("customers",), "search")]


async def test_diff_leaves_out_masked_fields_and_hidden_sides(shop: GraphQL) -> None:
    data = await Reader(shop).data(
        '{ product(id: "p1") { _diff(asOf: 0) { status changes { field } } } }'
    )
    diff = data["product"]["_diff"]
    assert diff["status"] == "ADDED"
    assert sorted(c["field"] for c in diff["changes"]) == [
        "name", "ownedBy", "productId", "qty",
    ]  # fmt: skip


# --- masks ---------------------------------------------------------------------


async def test_a_masked_field_is_null_with_a_forbidden_error(shop: GraphQL) -> None:
    result = await Reader(shop).run(
        """{ customer(id: "c1") { name credit }
             products(where: {id: {in: ["p1", "g1"]}}) { nodes { id secret ... on Gadget { volts } } } }"""
    )
    assert result.data is not None
    assert result.data["customer"] == {"name": "Ann", "credit": None}
    # Masks apply to subclass objects read through the parent's field too.
    assert result.data["products"]["nodes"] == [
        {"id": "g1", "secret": None, "volts": 5},
        {"id": "p1", "secret": None},
    ]
    assert sorted(_forbidden(result)) == [
        (("customer", "credit"), "credit"),
        (("products", "nodes", 0, "secret"), "secret"),
        (("products", "nodes", 1, "secret"), "secret"),
    ]


MASKED_USES = [
    ("where", "{ customers(where: {credit: {gt: 5}}) { totalCount } }", "customers"),
    ("nested where", "{ customers(where: {or: [{name: {eq: \"x\"}}, {not: {credit: {gt: 5}}}]}) { totalCount } }", "customers"),
    ("relationship where", "{ products(where: {ownedBy: {credit: {gt: 5}}}) { totalCount } }", "products"),
    ("inverse where", "{ customers { nodes { owns(where: {secret: {eq: \"s1\"}}) { totalCount } } } }", "customers"),
    ("orderBy", "{ customers(orderBy: [{credit: ASC}]) { totalCount } }", "customers"),
    ("related orderBy", "{ products(orderBy: [{ownedBy: {credit: DESC}}]) { totalCount } }", "products"),
    ("aggregate where", "{ customersAggregate(where: {credit: {gt: 1}}) { count } }", "customersAggregate"),
    ("groupBy", "{ customersAggregate { groupBy(fields: [credit]) { count } } }", "customersAggregate"),
    ("graphQuery where", '{ graphQuery(input: {startClass: "Customer", where: {credit: {gt: 1}}}) { nodes { id } } }', "graphQuery"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "field"), [c[1:] for c in MASKED_USES], ids=[c[0] for c in MASKED_USES]
)
async def test_a_masked_field_cannot_be_filtered_sorted_or_grouped_on(
    shop: GraphQL, query: str, field: str
) -> None:
    result = await Reader(shop).run(query)
    assert result.errors, result
    assert result.data is None or not any(result.data.values())
    [(path, _name)] = _forbidden(result)[:1]
    assert path[0] == field


async def test_aggregates_of_a_masked_field_are_forbidden(shop: GraphQL) -> None:
    result = await Reader(shop).run(
        "{ customersAggregate { count sum { credit } max { credit } } }"
    )
    assert result.data == {
        "customersAggregate": {
            "count": 2,
            "sum": {"credit": None},
            "max": {"credit": None},
        }
    }
    assert sorted(_forbidden(result)) == [
        (("customersAggregate", "max", "credit"), "credit"),
        (("customersAggregate", "sum", "credit"), "credit"),
    ]


async def test_subscriptions_never_deliver_hidden_objects(shop: GraphQL) -> None:
    engine, context = await Reader(shop).context()
    query = "subscription { productChanged { kind id node { name secret } } }"
    stream = await engine.subscribe(engine.prepare(Request(query=query)), context)
    assert isinstance(stream, AsyncIterator)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.2)  # the feed is joined on the first read
    for product_id, name in (("p8", "pear"), ("p9", "kiwi")):
        data = await shop.data(
            f'mutation {{ createProduct(input: {{productId: "{product_id}", '
            f'name: "{name}", secret: "x"}}, wait: APPLIED) {{ {RESULT} }} }}',
            SHOP,
        )
        assert data["createProduct"]["__typename"] == "CommandReceipt", data
    result = await asyncio.wait_for(first, 15)
    await stream.aclose()  # type: ignore[attr-defined]
    assert result.data == {
        "productChanged": {
            "kind": "CREATED",
            "id": "p9",
            "node": {"name": "kiwi", "secret": None},
        }
    }
    assert _forbidden(result) == [(("productChanged", "node", "secret"), "secret")]


# --- no rules, and the policy checks -----------------------------------------------


async def test_without_rules_everything_reads(shop: GraphQL) -> None:
    data = await Reader(shop, NO_RULES).data(
        "{ customers { totalCount nodes { credit } } products { totalCount } }"
    )
    assert data["customers"]["totalCount"] == 3
    assert [n["credit"] for n in data["customers"]["nodes"]] == [10, 20, 30]
    assert data["products"]["totalCount"] == 4


def _ontology() -> Ontology:
    classes = map(class_from_dict, (CUSTOMER, PRODUCT, GADGET))
    return Ontology({c.id: c for c in classes})


def test_a_class_without_a_policy_of_its_own_has_its_nearest_ancestors() -> None:
    ontology = _ontology()
    parent = ClassAccess({"qty": {"gt": 1}}, frozenset({"secret"}))
    rules = effective_rules(ontology, {"Product": parent})
    assert rules.of("Gadget") is parent
    assert rules.of("Customer").unrestricted
    own = ClassAccess(None, frozenset({"volts"}))
    rules = effective_rules(ontology, {"Product": parent, "Gadget": own})
    assert rules.of("Gadget") is own  # its own policy replaces the parent's
    # Masks given by GraphQL name are kept by property name.
    masks = ClassAccess(None, frozenset({"productId", "qty"}))
    assert effective_rules(ontology, {"Product": masks}).of("Gadget").masked == {
        "product_id",
        "qty",
    }


POLICY_PROBLEMS = [
    ({"region": {"eq": "EU"}}, [], []),
    ({"or": [{"credit": {"in": [1, 2]}}, {"not": {"name": {"startsWith": "A"}}}]}, [], []),
    ({"credit": {"gt": "many"}}, [], ["rowFilter.credit.gt"]),
    ({"credit": {"near": 1}}, [], ["unknown field 'near'"]),
    ({"owns": {"some": {"name": {"eq": "x"}}}}, [], ["relationship conditions are not supported"]),
    ({"search": "Ann"}, [], ["full-text search is not supported"]),
    ({"colour": {"eq": "red"}}, [], ["has no property 'colour'"]),
    ({"name": {"regex": "(("}}, [], ["rowFilter.name.regex"]),
    ({"name": "Ann"}, [], ["must be an object of operators"]),
    (None, ["credit", "nope"], ["has no property 'nope'"]),
    (None, ["customerId"], ["primary key"]),
]  # fmt: skip


@pytest.mark.parametrize(("row_filter", "masked", "expected"), POLICY_PROBLEMS)
def test_policies_are_checked_with_clear_messages(
    row_filter: Any, masked: list[str], expected: list[str]
) -> None:
    problems = check_policy(_ontology(), "Customer", row_filter, masked)
    assert len(problems) == len(expected), problems
    for problem, words in zip(problems, expected, strict=True):
        assert words in problem, problem
