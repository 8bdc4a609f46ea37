"""Model-based: every read path of the generated schema, under generated access
policies, against a pure-Python reference evaluation of the same policies.

Hypothesis generates customers and products (names, integers, nulls, links to
customers that may be dangling), a row filter and masks per class, and a
`where`/`orderBy` of the reader's own; the data is written straight into the
graph store and the search index (a fresh database name per example, read
through the `shop` schema), and every read runs through the engine with the
store's evaluation and with the in-memory one. The reference knows nothing of
the implementation: an object is visible when its class's filter holds for its
values (a dangling id: for its stub, the key alone); a masked field is null
with a FORBIDDEN error, and any use of one in where/orderBy/groupBy/sum, or
full-text search over its class, is refused.

Hypothesis is synchronous: it runs in a worker thread and sends each example's
coroutine to the test's event loop, where the app lives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import ExecutionResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.graphql.engine import Request
from domain.security import ALL_DATABASES, ClassAccess, Grant, Principal, Role
from resolvers.context import Context
from resolvers.instances.policies import effective_rules
from tests.factories import node_version, search_document
from tests.graphql.client import GraphQL

EXAMPLES = 30
pytestmark = pytest.mark.timeout(600)
CUSTOMER = {
    "id": "Customer",
    "label": "Customer",
    "primaryKey": "customer_id",
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "tier", "type": "integer"},
    ],
}
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "primaryKey": "product_id",
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "qty", "type": "integer"},
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
KEYS = {"Customer": "customer_id", "Product": "product_id"}
# Property -> kind, per class (GraphQL and ontology names are the same here).
FIELDS = {
    "Customer": {"customer_id": "text", "name": "text", "tier": "int"},
    "Product": {"product_id": "text", "name": "text", "qty": "int"},
}
GRAPHQL = {"customer_id": "customerId", "product_id": "productId"}
CUSTOMERS = ["c0", "c1", "c2"]
PRODUCTS = ["p0", "p1", "p2", "p3", "p4"]
WORDS = ["alpha", "beta", "gamma"]
ORDERS: list[list[dict[str, Any]]] = [
    [],
    [{"qty": "ASC"}],
    [{"name": "DESC"}, {"qty": "ASC"}],
    [{"ownedBy": {"name": "ASC"}}],
    [{"ownedBy": {"tier": "DESC"}}, {"id": "DESC"}],
]
VIEWER = Principal("viewer", frozenset({Grant(ALL_DATABASES, Role.VIEWER)}))

# --- generated data, policies and requests ---------------------------------------

NAMES = st.one_of(st.none(), st.sampled_from(WORDS))
INTS = st.one_of(st.none(), st.integers(-2, 3))


def _operand(kind: str, op: str, ids: list[str]) -> st.SearchStrategy[Any]:
    if op == "isNull":
        return st.booleans()
    one = st.integers(-2, 3) if kind == "int" else st.sampled_from([*WORDS, *ids])
    if op in ("in", "nin"):
        return st.lists(one, max_size=3)
    if op == "startsWith":
        return st.sampled_from(["a", "b", "g", "c", "p"])
    return one


def _ops(kind: str) -> list[str]:
    common = ["eq", "ne", "in", "nin", "gt", "lt", "isNull"]
    return [*common, "startsWith"] if kind == "text" else common


@st.composite
def _leaf(draw: st.DrawFn, class_id: str, fields: list[str]) -> dict[str, Any]:
    ids = CUSTOMERS if class_id == "Customer" else PRODUCTS
    name = draw(st.sampled_from([*fields, "id"]))
    kind = "text" if name == "id" else FIELDS[class_id][name]
    op = draw(st.sampled_from(_ops(kind)))
    return {GRAPHQL.get(name, name): {op: draw(_operand(kind, op, ids))}}


def wheres(class_id: str, fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """`where` inputs (as JSON, GraphQL names) on `fields` of the class."""
    return st.recursive(
        _leaf(class_id, fields),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=2).map(lambda ws: {"and": ws}),
            st.lists(inner, max_size=2).map(lambda ws: {"or": ws}),
            inner.map(lambda w: {"not": w}),
        ),
        max_leaves=3,
    )


@dataclass(frozen=True, slots=True)
class Policy:
    row_filter: dict[str, Any] | None
    masked: frozenset[str]


def policies(class_id: str) -> st.SearchStrategy[Policy]:
    fields = list(FIELDS[class_id])
    masks = st.frozensets(st.sampled_from([f for f in fields if f != KEYS[class_id]]))
    return st.builds(Policy, st.none() | wheres(class_id, fields), masks)


@dataclass(frozen=True, slots=True)
class World:
    customers: dict[str, dict[str, Any]]
    products: dict[str, dict[str, Any]]  # values, and owned_by (an id or None)
    policies: dict[str, Policy]
    where: dict[str, Any] | None  # the reader's own, on products
    word: str


@st.composite
def worlds(draw: st.DrawFn) -> World:
    customers = {
        c: {"name": draw(NAMES), "tier": draw(INTS)}
        for c in CUSTOMERS
        if draw(st.booleans()) or c == "c0"
    }
    owners = st.sampled_from([*CUSTOMERS, "ghost", None])
    products = {
        p: {"name": draw(NAMES), "qty": draw(INTS), "owned_by": draw(owners)}
        for p in PRODUCTS
        if draw(st.integers(0, 3))
    }
    return World(
        customers=customers,
        products=products,
        policies={c: draw(policies(c)) for c in ("Customer", "Product")},
        where=draw(st.none() | wheres("Product", ["name", "qty"])),
        word=draw(st.sampled_from(WORDS)),
    )


# --- the reference ---------------------------------------------------------------


def _holds(where: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    for name, condition in where.items():
        if name == "and":
            ok = all(_holds(w, values) for w in condition)
        elif name == "or":
            ok = any(_holds(w, values) for w in condition)
        elif name == "not":
            ok = not _holds(condition, values)
        else:
            field = {v: k for k, v in GRAPHQL.items()}.get(name, name)
            ok = all(_compare(values.get(field), op, x) for op, x in condition.items())
        if not ok:
            return False
    return True


def _compare(value: Any, op: str, operand: Any) -> bool:
    """SQL-like: a null satisfies only isNull: true."""
    if op == "isNull":
        return (value is None) == operand
    if value is None:
        return False
    if op == "in":
        return value in operand
    if op == "nin":
        return value not in operand
    if op == "startsWith":
        return str(value).startswith(operand)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "lt": lambda a, b: a < b,
    }
    return compare[op](value, operand)


@dataclass(slots=True)
class Reference:
    world: World

    def values(self, class_id: str, instance_id: str) -> dict[str, Any] | None:
        """What the filters see: the object's values, its key and id (None when
        it does not exist)."""
        stored = self.world.customers if class_id == "Customer" else self.world.products
        found = stored.get(instance_id)
        if found is None:
            return None
        values = {k: v for k, v in found.items() if k != "owned_by"}
        return {**values, KEYS[class_id]: instance_id, "id": instance_id}

    def visible(self, class_id: str, instance_id: str, *, stub: bool = False) -> bool:
        values = self.values(class_id, instance_id)
        if values is None:
            if not stub:
                return False
            values = {KEYS[class_id]: instance_id, "id": instance_id}
        row_filter = self.world.policies[class_id].row_filter
        return row_filter is None or _holds(row_filter, values)

    def masked(self, class_id: str) -> frozenset[str]:
        return self.world.policies[class_id].masked

    def customers(self) -> list[str]:
        return [c for c in sorted(self.world.customers) if self.visible("Customer", c)]

    def products(self) -> list[str]:
        return [p for p in sorted(self.world.products) if self.visible("Product", p)]

    def owner(self, product: str) -> str | None:
        """The to-one target as read: visible live, or a dangling id whose
        stub passes; else null."""
        target = self.world.products[product]["owned_by"]
        if target is None or not self.visible("Customer", target, stub=True):
            return None
        return str(target)

    def listed(self, order: list[dict[str, Any]]) -> list[str] | None:
        """`products(where, orderBy)`; None when it must be refused."""
        where = self.world.where
        if where is not None and _fields_of(where) & self.masked("Product"):
            return None
        if _order_fields(order, "Product") & self.masked("Product"):
            return None
        if _order_fields(order, "Customer") & self.masked("Customer"):
            return None
        rows = [
            p
            for p in self.products()
            if where is None or _holds(where, self.values("Product", p) or {})
        ]
        for spec in reversed(order):
            rows = self._sorted(rows, spec)
        return rows

    def _sorted(self, rows: list[str], spec: dict[str, Any]) -> list[str]:
        ((name, direction),) = spec.items()
        if name == "ownedBy":
            ((field, direction),) = direction.items()

            def value(p: str) -> Any:
                owner = self.world.products[p]["owned_by"]
                if owner is None or not self.visible("Customer", owner):
                    return None
                return (self.values("Customer", owner) or {}).get(field)
        else:

            def value(p: str) -> Any:
                return (self.values("Product", p) or {}).get(name)

        present = [r for r in rows if value(r) is not None]
        absent = [r for r in rows if value(r) is None]
        present.sort(key=value, reverse=direction == "DESC")
        return present + absent

    def owns(self, customer: str) -> list[str]:
        return [
            p for p in self.products() if self.world.products[p]["owned_by"] == customer
        ]


def _fields_of(where: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for name, condition in where.items():
        if name in ("and", "or"):
            for part in condition:
                found |= _fields_of(part)
        elif name == "not":
            found |= _fields_of(condition)
        else:
            found.add(name)
    return found


def _order_fields(order: list[dict[str, Any]], class_id: str) -> set[str]:
    found = set()
    for spec in order:
        for name, direction in spec.items():
            if name == "ownedBy" and class_id == "Customer":
                found |= set(direction)
            elif name != "ownedBy" and class_id == "Product":
                found.add(name)
    return found


# --- running the reads -----------------------------------------------------------

_databases = itertools.count()


@dataclass(slots=True)
class Reads:
    gql: GraphQL
    world: World
    db: str

    async def run(
        self, query: str, *, pushdown: bool, lean: bool = True, **variables: Any
    ) -> ExecutionResult:
        """`lean` False: on graphql-core's executor (resolvers per object,
        no batch resolvers) rather than the lean one."""
        endpoint = self.gql.app.graphql
        view = await endpoint.schemas(self.gql.container).view("shop", "main")
        ports = endpoint.ports(self.gql.container)
        limits = dataclasses.replace(ports.limits, filter_pushdown=pushdown)
        policies = {
            c: ClassAccess(p.row_filter, p.masked)
            for c, p in self.world.policies.items()
        }
        # One principal per example: the rate limit's budget is per principal.
        viewer = dataclasses.replace(VIEWER, name=f"viewer-{self.db}")
        context = Context(
            ports=dataclasses.replace(ports, limits=limits),
            actor=viewer.name,
            principal=viewer,
            db=self.db,
            branch="main",
            lineage=view.lineage,
            access=effective_rules(view.ontology, policies),
        )
        engine = view.engine
        prepared = engine.prepare(Request(query=query, variables=variables))
        if not lean:
            prepared = dataclasses.replace(prepared, lean=False)
        return await engine.execute(prepared, context)


async def _written(gql: GraphQL, world: World) -> Reads:
    db = f"m{next(_databases)}"
    positions = itertools.count(1)
    versions, documents = [], []
    for class_id, stored in (
        ("Customer", world.customers),
        ("Product", world.products),
    ):
        for instance_id, given_values in stored.items():
            values = {
                k: v
                for k, v in given_values.items()
                if k != "owned_by" and v is not None
            }
            values[KEYS[class_id]] = instance_id
            owner = given_values.get("owned_by")
            links = {"owned_by": [owner]} if owner is not None else {}
            position = next(positions)
            versions.append(
                node_version(
                    db=db, class_id=class_id, instance_id=instance_id,
                    position=position, values=values, links=links,
                )
            )  # fmt: skip
            documents.append(
                search_document(
                    db=db, class_id=class_id, instance_id=instance_id,
                    position=position, data={**values, **links},
                )
            )  # fmt: skip
    await gql.container.graph.put(versions)
    await gql.container.search.upsert(documents)
    return Reads(gql, world, db)


def _errors(result: ExecutionResult) -> set[tuple[Any, ...]]:
    """Paths of the FORBIDDEN errors; any other error fails the test."""
    found = set()
    for error in result.errors or ():
        assert (error.extensions or {}).get("code") == "FORBIDDEN", error
        found.add(tuple(error.path or ()))
    return found


async def _check(gql: GraphQL, world: World) -> None:
    reads = await _written(gql, world)
    ref = Reference(world)
    for pushdown in (True, False):
        for lean in (True, False):
            await _lists(reads, ref, pushdown=pushdown, lean=lean)
            await _relationships(reads, ref, pushdown=pushdown, lean=lean)
        for order in ORDERS:
            await _listed(reads, ref, order, pushdown=pushdown)
        await _aggregates(reads, ref, pushdown)
    await _by_id(reads, ref)
    await _graph_query(reads, ref)
    await _search(reads, ref)


async def _lists(reads: Reads, ref: Reference, *, pushdown: bool, lean: bool) -> None:
    result = await reads.run(
        "{ customers { totalCount nodes { id name tier } } }",
        pushdown=pushdown,
        lean=lean,
    )
    assert result.data is not None
    nodes = result.data["customers"]["nodes"]
    assert [n["id"] for n in nodes] == ref.customers()
    assert result.data["customers"]["totalCount"] == len(nodes)
    masked = ref.masked("Customer")
    expected = {("customers", "nodes", i, f) for i in range(len(nodes)) for f in masked}
    assert _errors(result) == expected
    for node in nodes:
        values = ref.values("Customer", node["id"]) or {}
        for field in ("name", "tier"):
            assert node[field] == (None if field in masked else values.get(field))


async def _listed(
    reads: Reads, ref: Reference, order: list[dict[str, Any]], *, pushdown: bool
) -> None:
    result = await reads.run(
        "query($w: ProductWhere, $o: [ProductOrderBy!]) {"
        " products(where: $w, orderBy: $o, first: 3) { totalCount nodes { id } } }",
        pushdown=pushdown,
        w=reads.world.where,
        o=order,
    )
    expected = ref.listed(order)
    if expected is None:
        assert result.data is None
        assert _errors(result) == {("products",)}
        return
    assert not result.errors, result.errors
    assert result.data is not None
    page = result.data["products"]
    assert [n["id"] for n in page["nodes"]] == expected[:3]
    assert page["totalCount"] == len(expected)


async def _relationships(
    reads: Reads, ref: Reference, *, pushdown: bool, lean: bool
) -> None:
    result = await reads.run(
        "{ products { nodes { id ownedBy { id } } }"
        "  customers { nodes { id owns { totalCount nodes { id } } } } }",
        pushdown=pushdown,
        lean=lean,
    )
    assert not result.errors, result.errors
    assert result.data is not None
    owners = {n["id"]: n["ownedBy"] for n in result.data["products"]["nodes"]}
    expected = {p: ref.owner(p) for p in ref.products()}
    assert {p: o["id"] if o else None for p, o in owners.items()} == expected
    for customer in result.data["customers"]["nodes"]:
        owns = customer["owns"]
        assert [n["id"] for n in owns["nodes"]] == ref.owns(customer["id"])
        assert owns["totalCount"] == len(owns["nodes"])


async def _aggregates(reads: Reads, ref: Reference, pushdown: bool) -> None:
    result = await reads.run(
        "{ productsAggregate { count sum { qty } groupBy(fields: [ownedBy]) { key count } } }",
        pushdown=pushdown,
    )
    assert result.data is not None
    found = result.data["productsAggregate"]
    products = ref.products()
    assert found["count"] == len(products)
    if "qty" in ref.masked("Product"):
        assert found["sum"] == {"qty": None}
        assert _errors(result) == {("productsAggregate", "sum", "qty")}
    else:
        assert not result.errors, result.errors
        qtys = [(ref.values("Product", p) or {}).get("qty") for p in products]
        numbers = [q for q in qtys if q is not None]
        assert found["sum"] == {"qty": sum(numbers) if numbers else None}
    groups = {g["key"]["ownedBy"]: g["count"] for g in found["groupBy"]}
    expected: dict[str | None, int] = {}
    for p in products:
        owner = ref.owner(p)
        expected[owner] = expected.get(owner, 0) + 1
    assert groups == expected


async def _by_id(reads: Reads, ref: Reference) -> None:
    ids = [*PRODUCTS, "ghost"]
    fields = " ".join(f'{p}: product(id: "{p}") {{ id }}' for p in ids)
    result = await reads.run(f"{{ {fields} }}", pushdown=True)
    assert not result.errors, result.errors
    assert result.data is not None
    shown = {p for p in ids if result.data[p] is not None}
    assert shown == set(ref.products())


async def _graph_query(reads: Reads, ref: Reference) -> None:
    result = await reads.run(
        '{ graphQuery(input: {startClass: "Product", hops: [{predicate: "ownedBy"}]}) '
        "{ nodes { key data } edges { from to } } }",
        pushdown=True,
    )
    assert not result.errors, result.errors
    assert result.data is not None
    found = result.data["graphQuery"]
    products = ref.products()
    owners = {p: ref.owner(p) for p in products}
    expected = {f"Product/{p}" for p in products}
    expected |= {f"Customer/{c}" for c in owners.values() if c is not None}
    assert {n["key"] for n in found["nodes"]} == expected
    edges = {(e["from"], e["to"]) for e in found["edges"]}
    assert edges == {(f"Product/{p}", f"Customer/{c}") for p, c in owners.items() if c}
    for node in found["nodes"]:
        class_id = node["key"].split("/")[0]
        if node["data"] is not None:
            assert not set(node["data"]) & ref.masked(class_id)


async def _search(reads: Reads, ref: Reference) -> None:
    word = reads.world.word
    result = await reads.run(
        f'{{ search(query: "{word}") {{ nodes {{ __typename ... on Product {{ id }} '
        "... on Customer { id } } } }",
        pushdown=True,
    )
    assert not result.errors, result.errors
    assert result.data is not None
    found = {(n["__typename"], n["id"]) for n in result.data["search"]["nodes"]}
    expected = {
        (class_id, i)
        for class_id, ids in (
            ("Customer", ref.customers()),
            ("Product", ref.products()),
        )
        if not ref.masked(class_id)
        for i in ids
        if (ref.values(class_id, i) or {}).get("name") == word
    }
    assert found == expected


def _examples(
    loop: asyncio.AbstractEventLoop, check: Callable[[World], Awaitable[None]]
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(world=worlds())
    def run(world: World) -> None:
        asyncio.run_coroutine_threadsafe(check(world), loop).result(120)

    run()


async def test_every_read_path_agrees_with_the_reference_policy(gql: GraphQL) -> None:
    await gql.create_database("shop")
    await gql.define("shop", CUSTOMER, PRODUCT)
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(_examples, loop, lambda world: _check(gql, world))
