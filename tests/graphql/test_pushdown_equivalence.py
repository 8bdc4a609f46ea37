"""The graph store's answers equal the in-memory evaluation's, on generated data.

For orderBy through to-one relationships, aggregates with groupBy on properties
and relationships, and filtered nested lists: Hypothesis writes node versions
(updates, tombstones, a branch forked off main, dangling links, values of
another type than declared) straight into the graph store, then the same read
runs through the resolvers with the store's evaluation and with the in-memory
one (Limits.filter_pushdown), at a generated as-of position and branch. Where
the SQL store must answer (everything but decimal order on SQLite), it is
checked to have answered rather than declined.

Hypothesis is synchronous: it runs in a worker thread and sends each example's
coroutine to the test's event loop, where the container lives.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.graph_store.sql import SqlGraphStore
from app.bootstrap import Container
from app.graphql.endpoint import ports_of
from domain.events import MAIN_BRANCH
from domain.ontology import Ontology, class_from_dict
from domain.ports import BranchSpan, NodeVersion
from domain.queries import AllOf, AnyOf, Condition, Negated, NodeFilter, Relation
from resolvers.context import Context
from resolvers.instances import aggregates, grouping, pushdown, reads
from resolvers.instances.grouping import Figures
from resolvers.instances.rows import ConnectionPage, NodeRow
from schema.limits import Limits
from schema.ontology.plan import LinkField, plan_schema
from tests.factories import node_version

CUSTOMER = {
    "id": "Customer",
    "label": "Customer",
    "primaryKey": "customer_id",
    "properties": [
        {"name": "customer_id", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "tier", "type": "integer"},
    ],
    "relationships": [
        {"predicate": "referred_by", "target": "Customer", "cardinality": "MANY_TO_ONE"}
    ],
}
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "primaryKey": "product_id",
    "properties": [
        {"name": "product_id", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "price", "type": "decimal"},
        {"name": "qty", "type": "integer"},
        {"name": "weight", "type": "float"},
    ],
    "relationships": [
        {
            "predicate": "owned_by",
            "target": "Customer",
            "cardinality": "MANY_TO_ONE",
            "inverse": {"predicate": "owns"},
        },
        {"predicate": "likes", "target": "Customer", "cardinality": "MANY_TO_MANY"},
    ],
}
PLANS = {
    p.class_id: p
    for p in plan_schema(
        Ontology({c.id: c for c in map(class_from_dict, (CUSTOMER, PRODUCT))})
    ).classes
}
CUSTOMERS = [f"c{i}" for i in range(4)]
PRODUCTS = [f"p{i}" for i in range(7)]
TARGETS = [*CUSTOMERS, "ghost"]  # "ghost" is never written: a dangling link
DEV = "dev"
EXAMPLES = 25
# A passing run takes seconds; a failing one shrinks its example for minutes.
pytestmark = pytest.mark.timeout(600)

# --- generated data ----------------------------------------------------------------

ABSENT = object()  # a value left out of a version (as opposed to null)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(ABSENT), st.none(), values, values)


NAMES = _maybe(st.sampled_from(["a", "ab", "b", "B", "", "é"]) | st.just(5))
TIERS = _maybe(st.integers(-3, 3) | st.sampled_from([2**40, "2", 1.5]))
PRICES = _maybe(
    st.sampled_from(["0", "1.5", "-2.25", "10", "10.01", "99.999", "n/a"]) | st.just(3)
)
QTYS = _maybe(st.integers(-5, 5) | st.sampled_from([2**62, "7", 2.5]))
WEIGHTS = _maybe(st.sampled_from([0.1, 0.2, -1.5, 2.0, 3, 1e20, "x"]))


@st.composite
def _one_link(draw: st.DrawFn) -> Any:
    target = draw(st.sampled_from(TARGETS))
    return draw(st.sampled_from([target, [target]]))  # a to-one as an id or a list


CUSTOMER_VALUES = st.fixed_dictionaries(
    {"name": NAMES, "tier": TIERS, "referred_by": _maybe(_one_link())}
)
PRODUCT_VALUES = st.fixed_dictionaries(
    {
        "name": NAMES,
        "price": PRICES,
        "qty": QTYS,
        "weight": WEIGHTS,
        "owned_by": _maybe(_one_link()),
        "likes": _maybe(st.lists(st.sampled_from(TARGETS), unique=True, max_size=3)),
    }
)
LINKS = ("referred_by", "owned_by", "likes")


@dataclass(frozen=True, slots=True)
class Line:
    """Versions of one instance: before the fork (main), then after it on main
    and on dev; each a dict of values and links, or None for a tombstone."""

    before: list[dict[str, Any] | None]
    main: list[dict[str, Any] | None]
    dev: list[dict[str, Any] | None]


def _line(values: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Line]:
    version = st.one_of(values, values, values, st.none())
    versions = st.lists(version, max_size=2)
    return st.builds(Line, versions, versions, versions)


@dataclass(slots=True)
class World:
    lines: dict[tuple[str, str], Line]
    branch: str
    as_of: int | None = None
    fork: int = 0
    versions: list[NodeVersion] = field(default_factory=list)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    lines = {("Customer", i): draw(_line(CUSTOMER_VALUES)) for i in CUSTOMERS}
    lines |= {("Product", i): draw(_line(PRODUCT_VALUES)) for i in PRODUCTS}
    world = World(lines, draw(st.sampled_from([MAIN_BRANCH, DEV])))
    last = _number_versions(world)
    world.as_of = draw(st.none() | st.integers(0, last))
    return world


def _number_versions(world: World) -> int:
    """Positions in write order, the fork after every `before` version; seqs
    continue per branch from the fork (as the event store numbers them)."""
    positions = itertools.count(1)
    pending: list[tuple[str, str, str, int, dict[str, Any] | None]] = []
    for (cls, iid), line in world.lines.items():
        for seq, values in enumerate(line.before, 1):
            pending.append((cls, iid, MAIN_BRANCH, seq, values))
    world.fork = len(pending)
    for (cls, iid), line in world.lines.items():
        start = len(line.before)
        for branch, versions in ((MAIN_BRANCH, line.main), (DEV, line.dev)):
            for seq, values in enumerate(versions, start + 1):
                pending.append((cls, iid, branch, seq, values))
    for cls, iid, branch, seq, values in pending:
        world.versions.append(_version(cls, iid, branch, seq, next(positions), values))
    return len(pending)


def _version(
    cls: str, iid: str, branch: str, seq: int, position: int, given: Any
) -> NodeVersion:
    values = {k: v for k, v in (given or {}).items() if v is not ABSENT}
    links = {k: values.pop(k) for k in LINKS if k in values and values[k] is not None}
    for k in LINKS:
        values.pop(k, None)
    key = "customer_id" if cls == "Customer" else "product_id"
    return node_version(
        db="", branch=branch, class_id=cls, instance_id=iid, seq=seq,
        position=position, deleted=given is None, values={key: iid, **values},
        links=links,
    )  # fmt: skip


# --- the two evaluations -----------------------------------------------------------

_databases = itertools.count()


@dataclass(frozen=True, slots=True)
class Info:
    context: Context


@dataclass(slots=True)
class Reads:
    """The same reads with the store's evaluation (`store`) and in memory."""

    container: Container
    world: World
    db: str

    def info(self, *, pushdown: bool) -> Info:
        lineage = [BranchSpan(branch=MAIN_BRANCH, until_position=None)]
        if self.world.branch == DEV:
            lineage = [
                BranchSpan(branch=DEV, until_position=None),
                BranchSpan(branch=MAIN_BRANCH, until_position=self.world.fork),
            ]
        ports = ports_of(self.container, Limits(filter_pushdown=pushdown))
        context = Context(
            ports=ports, db=self.db, branch=self.world.branch, lineage=lineage
        )
        return Info(context)

    async def both(self, read: Callable[[Info], Awaitable[Any]]) -> tuple[Any, Any]:
        """(in the store, in memory): each with its own request context."""
        return await read(self.info(pushdown=True)), await read(
            self.info(pushdown=False)
        )

    @property
    def graph(self) -> SqlGraphStore:
        graph = self.container.graph
        assert isinstance(graph, SqlGraphStore)
        return graph

    @property
    def sqlite(self) -> bool:
        return self.container.settings.database_url.startswith("sqlite")


async def _written(container: Container, world: World) -> Reads:
    db = f"h{next(_databases)}"
    versions = [_in_db(v, db) for v in world.versions]
    await container.graph.put(versions)
    return Reads(container, world, db)


def _in_db(version: NodeVersion, db: str) -> NodeVersion:
    return NodeVersion(
        db=db, branch=version.branch, class_id=version.class_id,
        instance_id=version.instance_id, seq=version.seq, position=version.position,
        deleted=version.deleted, values=version.values, links=version.links,
    )  # fmt: skip


def _examples(
    loop: asyncio.AbstractEventLoop,
    check: Callable[[World, Any], Awaitable[None]],
    choices: st.SearchStrategy[Any],
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(world=worlds(), choice=choices)
    def run(world: World, choice: Any) -> None:
        asyncio.run_coroutine_threadsafe(check(world, choice), loop).result(120)

    run()


def _declined_on_sqlite(where: NodeFilter | None, keys: Sequence[Any]) -> bool:
    """SQLite has no exact decimal order (domain.queries; sql_filter.py)."""
    return any(k.kind == "decimal" for k in keys) or _decimal_order(where)


def _decimal_order(node: NodeFilter | None) -> bool:
    if isinstance(node, AllOf | AnyOf):
        return any(_decimal_order(p) for p in node.parts)
    if isinstance(node, Negated):
        return _decimal_order(node.part)
    if isinstance(node, Condition):
        return node.kind == "decimal" and node.op not in ("eq", "ne", "in", "nin")
    return False


# --- 1. orderBy through to-one relationships -----------------------------------------

ORDERS = [
    [{"r_owned_by": {"p_name": "ASC"}}, {"p_qty": "DESC"}],
    [{"r_owned_by": {"p_tier": "DESC"}}],
    [{"r_owned_by": {"id": "DESC"}}, {"p_weight": "ASC"}],
    [{"r_owned_by": {"r_referred_by": {"p_name": "ASC"}}}, {"id": "DESC"}],
    [{"r_owned_by": {"p_name": "DESC", "p_tier": "ASC"}}, {"p_name": "ASC"}],
    [{"r_owned_by": {"p_customer_id": "ASC"}}, {"p_price": "ASC"}],
]
PRODUCT_WHERES: list[dict[str, Any] | None] = [
    None,
    {"p_qty": {"gt": 0}},
    {"p_price": {"gte": "1.5"}},
    {"or_": [{"p_name": {"starts_with": "a"}}, {"not_": {"p_weight": {"lt": 0.2}}}]},
    {"p_name": {"is_null": True}},
    {"r_owned_by": {"p_name": {"eq": "a"}}},  # a relationship condition: in memory
]


async def _walk(info: Info, where: Any, order: Any, as_of: int | None) -> list[Any]:
    """Every page of 3 along the cursors."""
    pages: list[Any] = []
    after: str | None = None
    for _ in range(10):
        page = await reads.many(
            PLANS["Product"], info, where=where, order_by=order, first=3,
            after=after, as_of=as_of,
        )  # fmt: skip
        pages.append(await _shown(page))
        if not page.page_info.has_next_page:
            break
        after = page.edges[-1].cursor
    return pages


async def _shown(page: ConnectionPage) -> tuple[list[str], bool, bool, int]:
    info = page.page_info
    ids = [e.node.instance_id for e in page.edges]
    return ids, info.has_next_page, info.has_previous_page, await page.total_count


async def test_sorting_by_related_properties_matches_the_in_memory_order(
    container: Container,
) -> None:
    async def check(world: World, choice: tuple[Any, Any]) -> None:
        where, order = choice
        found = await _written(container, world)
        in_store, in_memory = await found.both(
            lambda info: _walk(info, where, order, world.as_of)
        )
        assert in_store == in_memory
        await _answered_find(found, where, order)

    choices = st.tuples(st.sampled_from(PRODUCT_WHERES), st.sampled_from(ORDERS))
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(_examples, loop, check, choices)


async def _answered_find(found: Reads, where: Any, order: Any) -> None:
    info = found.info(pushdown=True)
    plan = PLANS["Product"]
    condition = await pushdown.store_condition(info.context, where, plan)
    keys = pushdown.sort_keys(order, plan)
    if condition is None or (found.sqlite and _declined_on_sqlite(condition, keys)):
        return
    scope = info.context.scope(found.world.as_of)
    nodes = await found.graph.find(scope, plan.class_ids, where=condition, order=keys)
    assert nodes is not None, "the SQL store must sort by related properties"


# --- 2. aggregates and groupBy ---------------------------------------------------------

GROUPS = [
    [],
    ["p_name"],
    ["r_owned_by"],
    ["r_likes"],
    ["p_qty", "r_owned_by"],
    ["r_likes", "p_price"],
    ["p_weight", "r_likes", "r_owned_by"],
]
APPROXIMATE = {"p_weight"}  # float sums and averages: the adding order differs


async def _aggregated(
    info: Info, where: Any, fields: list[str], as_of: int | None
) -> tuple[Figures, list[Figures]]:
    found = await aggregates.aggregate(PLANS["Product"], info, where=where, as_of=as_of)
    whole = Figures(
        {}, await found.count, await found.sum, await found.avg,
        await found.min_, await found.max_,
    )  # fmt: skip
    return whole, await aggregates.group_by(found, info, fields=fields)


def _same_figures(a: Figures, b: Figures) -> None:
    assert (a.key, a.count, a.min_, a.max_) == (b.key, b.count, b.min_, b.max_)
    for mine, theirs in ((a.sum, b.sum), (a.avg, b.avg)):
        assert mine.keys() == theirs.keys()
        for name, value in mine.items():
            if name in APPROXIMATE and value is not None:
                assert theirs[name] is not None
                assert math.isclose(value, theirs[name], rel_tol=1e-9, abs_tol=1e-9)
            else:
                assert (value, type(value)) == (theirs[name], type(theirs[name]))


async def test_aggregates_and_groups_match_the_in_memory_figures(
    container: Container,
) -> None:
    async def check(world: World, choice: tuple[Any, list[str]]) -> None:
        where, fields = choice
        found = await _written(container, world)
        in_store, in_memory = await found.both(
            lambda info: _aggregated(info, where, fields, world.as_of)
        )
        _same_figures(in_store[0], in_memory[0])
        assert len(in_store[1]) == len(in_memory[1])
        for mine, theirs in zip(in_store[1], in_memory[1], strict=True):
            _same_figures(mine, theirs)
        await _answered_aggregate(found, where, fields)

    choices = st.tuples(st.sampled_from(PRODUCT_WHERES), st.sampled_from(GROUPS))
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(_examples, loop, check, choices)


async def _answered_aggregate(found: Reads, where: Any, fields: list[str]) -> None:
    info = found.info(pushdown=True)
    plan = PLANS["Product"]
    condition = await pushdown.store_condition(info.context, where, plan)
    if condition is None or (found.sqlite and _declined_on_sqlite(condition, [])):
        return
    groups = await found.graph.aggregate(
        info.context.scope(found.world.as_of),
        plan.class_ids,
        where=condition,
        measures=grouping.measures(plan),
        group_by=grouping.group_fields(plan, fields),
    )
    assert groups is not None, "the SQL store must aggregate"


# --- 3. filtered nested lists ----------------------------------------------------------

NESTED = [
    # (the parents' class, their to-many field, where, orderBy)
    ("Customer", "v_owns", {"p_qty": {"gte": 0}}, None),
    ("Customer", "v_owns", {"p_name": {"in_": ["a", "b"]}}, [{"p_weight": "DESC"}]),
    ("Customer", "v_owns", None, [{"r_owned_by": {"p_name": "ASC"}}, {"p_qty": "ASC"}]),
    ("Customer", "v_owns", {"p_price": {"gt": "0"}}, [{"p_price": "DESC"}]),
    ("Product", "r_likes", {"p_tier": {"ne": 1}}, None),
    ("Product", "r_likes", {"p_customer_id": {"starts_with": "g"}}, None),  # dangling
    ("Product", "r_likes", None, [{"p_name": "DESC"}, {"id": "ASC"}]),
    ("Product", "r_likes", {"p_name": {"is_null": True}}, [{"r_referred_by": {"id": "ASC"}}]),
    ("Customer", "v_owns", {"r_likes": {"some": {"p_tier": {"gt": 0}}}}, None),  # in memory
]  # fmt: skip


async def _nested(
    info: Info, case: tuple[str, str, Any, Any], as_of: int | None
) -> dict[str, list[Any]]:
    """Two pages of 2 of every live parent's list, the parents' lists read
    together (as sibling fields of one request are)."""
    cls, name, where, order = case
    plan = PLANS[cls]
    link = plan.link_for(name)
    assert link is not None
    parents = (await reads.many(plan, info, first=50, as_of=as_of)).nodes
    firsts = await asyncio.gather(
        *(_nested_page(link, p, info, where, order, None) for p in parents)
    )
    afters = [page.edges[-1].cursor if page.edges else None for page in firsts]
    seconds = await asyncio.gather(
        *(_nested_page(link, p, info, where, order, a) for p, a in zip(parents, afters, strict=True))
    )  # fmt: skip
    return {
        p.instance_id: [await _shown_nested(a), await _shown_nested(b)]
        for p, a, b in zip(parents, firsts, seconds, strict=True)
    }


async def _nested_page(
    link: LinkField, parent: NodeRow, info: Info, where: Any, order: Any, after: Any
) -> ConnectionPage:
    return await reads.to_many(
        link, parent, info, where=where, order_by=order, first=2, after=after
    )


async def _shown_nested(page: ConnectionPage) -> tuple[Any, ...]:
    nodes = [(n.instance_id, n.node is None, dict(n.values)) for n in page.nodes]
    return (*await _shown(page), nodes)


async def test_filtered_nested_lists_match_the_in_memory_pages(
    container: Container,
) -> None:
    async def check(world: World, case: tuple[str, str, Any, Any]) -> None:
        found = await _written(container, world)
        in_store, in_memory = await found.both(
            lambda info: _nested(info, case, world.as_of)
        )
        assert in_store == in_memory
        await _answered_related(found, case)

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(_examples, loop, check, st.sampled_from(NESTED))


async def _answered_related(found: Reads, case: tuple[str, str, Any, Any]) -> None:
    cls, name, where, order = case
    link = PLANS[cls].link_for(name)
    assert link is not None
    info = found.info(pushdown=True)
    condition = await pushdown.store_condition(info.context, where, link.target)
    keys = pushdown.sort_keys(order or (), link.target)
    if condition is None or (found.sqlite and _declined_on_sqlite(condition, keys)):
        return
    relation = Relation(
        link.predicate, link.target.class_ids, PLANS[cls].class_ids, link.inverse,
        link.target.key,
    )  # fmt: skip
    pages = await found.graph.find_related(
        info.context.scope(found.world.as_of), relation, ["c0", "p0"],
        where=condition, order=keys,
    )  # fmt: skip
    assert pages is not None, "the SQL store must read nested lists"
