"""TerminusDB only: what the graph store contract lets a store decline, the
TerminusDB store must answer for the subset it translates to WOQL (filters.py),
with the SQL store's answers; and caller values stay data on the server."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from adapters.graph_store.sql import SqlGraphStore
from adapters.graph_store.terminus.store import TerminusGraphStore
from adapters.migrations import upgrade
from adapters.sql_engine import open_database
from app.bootstrap import Container, open_container
from domain.events import MAIN_BRANCH
from domain.ports import BranchSpan, GraphStore, NodeVersion, ReadScope
from domain.queries import AllOf, AnyOf, Condition, Negated, NodeFilter, SortKey
from tests.conftest import make_settings
from tests.contract.conftest import TERMINUS_VARIABLE, GraphBackend
from tests.contract.test_graph_store import DB, on_dev, on_main
from tests.contract.test_graph_store_find import CASES, DECIMAL_ORDER, VALUES, c
from tests.factories import node_version
from tests.graphql.test_pushdown_equivalence import (
    PRODUCT_WHERES,
    World,
    _examples,
    _walk,
    _written,
)

pytestmark = [
    pytest.mark.terminus,
    pytest.mark.parametrize("graph_backend", ["terminus"], indirect=True),
]


@pytest.fixture
async def things(graph_store: GraphStore) -> TerminusGraphStore:
    assert isinstance(graph_store, TerminusGraphStore)
    await graph_store.put(
        [node_version(instance_id=i, values=v) for i, v in VALUES.items()]
        + [node_version(instance_id="z", seq=2, position=3, deleted=True)]
    )
    return graph_store


def _ids(nodes: list[NodeVersion] | None) -> list[str]:
    assert nodes is not None, "declined"
    return [n.instance_id for n in nodes]


async def test_answers_every_operator_of_the_find_contract(
    things: TerminusGraphStore,
) -> None:
    for name, where, expected in [*CASES, *DECIMAL_ORDER]:
        found = await things.find(on_main(), ["Thing"], where=where, limit=50)
        counted = await things.count_where(on_main(), ["Thing"], where)
        assert (name, _ids(found), counted) == (name, expected, len(expected))
    assert things.pushed_down == 2 * len(CASES + DECIMAL_ORDER)


async def test_answers_sort_keys_and_pages(things: TerminusGraphStore) -> None:
    async def order(*keys: SortKey, offset: int = 0, limit: int = 100) -> list[str]:
        found = await things.find(
            on_main(), ["Thing"], where=None, order=keys, offset=offset, limit=limit
        )
        return _ids(found)

    assert await order(SortKey("qty", False, "integer")) == ["a", "c", "b", "d", "e"]
    assert await order(SortKey("qty", True, "integer")) == ["b", "c", "a", "d", "e"]
    assert await order(SortKey("at", True, "datetime")) == ["b", "a", "c", "d", "e"]
    assert await order(SortKey("price", True, "decimal")) == ["c", "b", "a", "d", "e"]
    assert await order(SortKey("w", False, "float")) == ["b", "a", "c", "d", "e"]
    assert await order(
        SortKey("ok", False, "boolean"), SortKey("name", True, "text")
    ) == ["b", "c", "a", "d", "e"]
    assert await order(SortKey(None, True, "text")) == ["e", "d", "c", "b", "a"]
    name = SortKey("name", False, "text")
    pages = [await order(name, offset=o, limit=2) for o in (0, 2, 4, 6)]
    assert pages == [["d", "a"], ["b", "c"], ["e"], []]
    assert await order(name, limit=0) == []


async def test_answers_through_the_branch_overlay_and_as_of(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", position=1, values={"n": "old"}),
            node_version(instance_id="b", position=2, values={"n": "old"}),
            node_version(instance_id="a", branch="dev", seq=2, position=11, values={"n": "new"}),
            node_version(instance_id="b", branch="dev", seq=2, position=12, deleted=True),
            node_version(instance_id="c", position=13, values={"n": "old"}),
            # On main after the fork: invisible on dev, newest on main.
            node_version(instance_id="a", seq=3, position=14, values={"n": "main"}),
        ]
    )  # fmt: skip
    old, new = c("n", "eq", "old"), c("n", "eq", "new")

    assert _ids(await graph_store.find(on_dev(), ["Thing"], where=old)) == []
    assert _ids(await graph_store.find(on_dev(), ["Thing"], where=new)) == ["a"]
    assert _ids(await graph_store.find(on_main(), ["Thing"], where=old)) == ["b", "c"]
    assert _ids(await graph_store.find(on_main(as_of=1), ["Thing"], where=old)) == ["a"]
    assert await graph_store.count_where(on_dev(), ["Thing"], None) == 1
    assert await graph_store.count_where(on_main(as_of=13), ["Thing"], old) == 3


async def test_declines_what_it_cannot_evaluate_exactly(
    things: TerminusGraphStore,
) -> None:
    regex = c("name", "regex", object())
    related = SortKey("name", False, "text", via=(object(),))  # type: ignore[arg-type]

    assert await things.find(on_main(), ["Thing"], where=regex) is None
    assert await things.count_where(on_main(), ["Thing"], regex) is None
    assert await things.find(on_main(), ["Thing"], where=None, order=[related]) is None
    assert things.pushed_down == 0


async def test_ids_and_values_that_look_like_woql_stay_data(
    graph_store: GraphStore,
) -> None:
    tricky = ["v:Doc", "v:Id", "@schema:key", "rdf:type", '"}]']
    await graph_store.put(
        [
            node_version(instance_id=t, position=p, values={"v:Value1": t, "name": t})
            for p, t in enumerate(tricky, 1)
        ]
    )

    for t in tricky:
        by_id = await graph_store.find(on_main(), ["Thing"], where=c(None, "eq", t))
        by_value = await graph_store.find(
            on_main(), ["Thing"], where=c("v:Value1", "eq", t)
        )
        starts = await graph_store.find(
            on_main(), ["Thing"], where=c("name", "starts_with", t)
        )
        assert (_ids(by_id), _ids(by_value), _ids(starts)) == ([t], [t], [t])
    assert await graph_store.count_where(on_main(), ["v:Class"], None) == 0


# --- against the SQL store, on generated data ------------------------------------

FIELDS = {
    "name": ["a", "ab", "B", "", "é", 5, None],
    "qty": [-3, 0, 2, 7, 2**62, "7", 2.5, None],
    "w": [0.1, 0.25, -1.5, 2, 2.0, 1e20, "x", None],
    "price": ["0", "1.5", "-2.25", "10", "10.01", "99.999", "n/a", 3, None],
    "at": ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z", "2023-06-01T12:00:00Z", 17],
    "ok": [True, False, "yes", None],
}  # fmt: skip
KINDS = {"name": "text", "qty": "integer", "w": "float", "price": "decimal",
         "at": "datetime", "ok": "boolean"}  # fmt: skip
OPERANDS: dict[str, list[Any]] = {
    "name": ["a", "ab", "B", ""],
    "qty": [0, 2, 7, 2**62, -1.5],
    "w": [0.1, 0.25, 2, 1e20],
    # Canonical decimal texts only: SQLite compares decimals as text (10 is not
    # 10.0 there, as it is in memory and on TerminusDB).
    "price": ["1.5", "10", "10.01", "-3"],
    "at": ["2024-01-01T00:00:00Z", "2023-06-01T12:00:00Z"],
    "ok": [True, False],
}
OPS = {"text": ["eq", "ne", "gt", "lte", "in", "nin", "contains", "starts_with",
                "ends_with", "is_null"],
       "boolean": ["eq", "ne", "in", "is_null"]}  # fmt: skip
DEFAULT_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "is_null"]


def _condition(rng: random.Random) -> Condition:
    field = rng.choice([*FIELDS, None])
    if field is None:
        op = rng.choice(["eq", "gt", "in", "starts_with"])
        value: Any = ["p1", "p3"] if op == "in" else rng.choice(["p1", "p2", "p"])
        return Condition(None, op, value, "text")
    kind = KINDS[field]
    op = rng.choice(OPS.get(kind, DEFAULT_OPS))
    if op == "is_null":
        return Condition(field, op, rng.choice([True, False]), kind)
    if op in ("in", "nin"):
        return Condition(field, op, rng.sample(OPERANDS[field], 2), kind)
    return Condition(field, op, rng.choice(OPERANDS[field]), kind)


def _filter(rng: random.Random, depth: int = 0) -> NodeFilter:
    shape = rng.choice(["one", "one", "all", "any", "not"] if depth < 2 else ["one"])
    if shape == "one":
        return _condition(rng)
    if shape == "not":
        return Negated(_filter(rng, depth + 1))
    parts = tuple(_filter(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return AllOf(parts) if shape == "all" else AnyOf(parts)


def _versions(rng: random.Random) -> list[NodeVersion]:
    """Eight instances with up to three versions each: on main before the fork
    (position <= 20), then on main or dev; tombstones among them."""
    versions = []
    for n in range(8):
        position = rng.randint(1, 10)
        for seq in range(1, rng.randint(1, 3) + 1):
            branch = "main" if seq == 1 else rng.choice(["main", "dev"])
            values = {f: rng.choice(v) for f, v in FIELDS.items() if rng.random() < 0.8}
            versions.append(
                node_version(
                    instance_id=f"p{n}", branch=branch, seq=seq, position=position,
                    deleted=seq > 1 and rng.random() < 0.2,
                    values={k: v for k, v in values.items() if v is not None} | {"nul": None},
                )
            )  # fmt: skip
            position += rng.randint(5, 15)
    return versions


def _on_dev(as_of: int | None) -> ReadScope:
    lineage = [
        BranchSpan(branch="dev", until_position=None),
        BranchSpan(branch=MAIN_BRANCH, until_position=20),
    ]
    return ReadScope(db=DB, lineage=lineage, as_of=as_of)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlGraphStore]:
    database = open_database(f"sqlite:///{tmp_path / 'reference.db'}")
    await upgrade(database)
    try:
        yield SqlGraphStore(database)
    finally:
        await database.dispose()


async def test_finds_what_the_sql_store_finds(
    graph_store: GraphStore, sqlite_store: SqlGraphStore
) -> None:
    rng = random.Random(20261208)
    versions = _versions(rng)
    await graph_store.put(versions)
    await sqlite_store.put(versions)
    scopes = [on_main(), _on_dev(None), on_main(as_of=25), _on_dev(30)]
    for _ in range(60):
        where, scope = _filter(rng), rng.choice(scopes)
        field = rng.choice([*FIELDS, None])
        keys = [SortKey(field, rng.random() < 0.5, KINDS.get(field or "", "text"))]
        offset, limit = rng.choice([(0, 100), (1, 3)])

        async def find(
            store: GraphStore,
            scope: ReadScope = scope,
            where: NodeFilter = where,
            keys: list[SortKey] = keys,
            page: tuple[int, int] = (offset, limit),
        ) -> list[str] | None:
            found = await store.find(
                scope, ["Thing"], where=where, order=keys, offset=page[0], limit=page[1]
            )
            return None if found is None else [n.instance_id for n in found]

        expected, found = await find(sqlite_store), await find(graph_store)
        if expected is None:  # decimal order, which SQLite declines
            continue
        assert found == expected, (where, keys, scope)
        counted = await graph_store.count_where(scope, ["Thing"], where)
        assert counted == await sqlite_store.count_where(scope, ["Thing"], where)


# --- the resolvers' reads, pushed down vs in memory (tests/graphql) -------------------

PLAIN_ORDERS = [
    [{"p_qty": "DESC"}],
    [{"p_price": "ASC"}, {"id": "DESC"}],
    [{"p_name": "ASC"}, {"p_weight": "DESC"}],
]


@pytest.fixture
async def terminus_container(
    graph_backend: GraphBackend, tmp_path: Path
) -> AsyncIterator[Container]:
    """The embedded container with its graph store on the TerminusDB server,
    under a prefix of its own (dropped afterwards)."""
    assert graph_backend.terminus is not None
    prefix = f"t{uuid.uuid4().hex[:12]}"
    graph_backend.prefixes.append(prefix)  # the backend drops its databases
    url = os.environ[TERMINUS_VARIABLE]
    graph_url = f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}"
    settings = make_settings(database_url, tmp_path, graph_url=graph_url)
    async with open_container(settings) as container:
        yield container


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("SPICE_TEST_LONG") != "1",
    reason="long variant (about 5 minutes): run by hand with SPICE_TEST_LONG=1",
)
@pytest.mark.timeout(900)
async def test_resolver_reads_match_the_in_memory_evaluation(
    terminus_container: Container,
) -> None:
    """test_pushdown_equivalence's generated worlds and filters, with the
    orders TerminusDB answers (its related sort keys are declined there)."""
    graph = terminus_container.graph
    assert isinstance(graph, TerminusGraphStore)

    async def check(world: World, choice: tuple[Any, Any]) -> None:
        where, order = choice
        found = await _written(terminus_container, world)
        in_store, in_memory = await found.both(
            lambda info: _walk(info, where, order, world.as_of)
        )
        assert in_store == in_memory

    choices = st.tuples(st.sampled_from(PRODUCT_WHERES), st.sampled_from(PLAIN_ORDERS))
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(_examples, loop, check, choices)
    assert graph.pushed_down > 0
