"""`where` operators `regex` (per text field) and `search` (class-level full
text), each case with the store's filtering and with the in-memory one, on SQLite
and PostgreSQL: both must give the answer computed here from the data."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.settings import Settings
from domain.ports import BranchSpan, ReadScope
from domain.regex import parse
from resolvers.instances.patterns import matches
from tests.conftest import make_settings
from tests.factories import REGEX_VALUE_ALPHABET, node_version, regex_patterns
from tests.graphql.client import RESULT, GraphQL, open_client

T = TypeVar("T")
SHOP = "/graphql/shop"
ITEM = {
    "id": "Item",
    "label": "Item",
    "primaryKey": "code",
    "properties": [
        {"name": "code", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "qty", "type": "integer"},
    ],
}
# No word is a prefix of another: the index matches the last word as a prefix.
WORDS = ("red", "blue", "shoe", "hat", "coat")
EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LIST = (
    "query($w: ItemWhere, $o: [ItemOrderBy!], $first: Int, $after: String) {"
    " items(where: $w, orderBy: $o, first: $first, after: $after) {"
    " totalCount nodes { id _meta { dataStatus } } pageInfo { hasNextPage endCursor } } }"
)


@pytest.fixture(params=[True, False], ids=["in-store", "in-memory"])
def settings(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    return make_settings(database_url, tmp_path, graphql_filter_pushdown=request.param)


@pytest.fixture
async def items(shop: GraphQL) -> GraphQL:
    await shop.define("shop", ITEM)
    return shop


async def create(
    gql: GraphQL, inputs: list[dict[str, Any]], wait: str = "INDEXED"
) -> None:
    data = await gql.data(
        f"mutation($i: [ItemInput!]!) {{ createItems(inputs: $i, wait: {wait}) {{ {RESULT} }} }}",
        SHOP,
        i=inputs,
    )
    assert data["createItems"]["__typename"] == "CommandReceipt", data


async def every_page(
    gql: GraphQL, where: Any, order: Any = None, size: int = 3
) -> tuple[list[str], int]:
    """The ids of every page in turn, and the first page's totalCount."""
    found: list[str] = []
    after, total = None, None
    while True:
        data = await gql.data(LIST, SHOP, w=where, o=order, first=size, after=after)
        page = data["items"]
        total = page["totalCount"] if total is None else total
        found += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found, total
        after = page["pageInfo"]["endCursor"]


def threaded(check: Any) -> Any:
    """Runs a hypothesis test in a worker thread, its coroutines on this loop."""
    loop = asyncio.get_running_loop()

    def run(work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, loop).result()

    return asyncio.to_thread(check, run)


# --- regex ------------------------------------------------------------------------


async def test_regex_answers_like_re2_on_generated_data(items: GraphQL) -> None:
    def check(run: Any) -> None:
        @EXAMPLES
        @given(
            names=st.lists(
                st.text(alphabet=REGEX_VALUE_ALPHABET, max_size=8), max_size=6
            ),
            source=regex_patterns(),
        )
        def example(names: list[str], source: str) -> None:
            batch = uuid.uuid4().hex[:8]  # this example's items only
            inputs = [{"code": f"{batch}-{i}", "name": n} for i, n in enumerate(names)]
            if inputs:
                run(create(items, inputs, wait="APPLIED"))
            where = {"code": {"startsWith": batch}, "name": {"regex": source}}
            found, total = run(every_page(items, where))
            pattern = parse(source)
            expected = [i["code"] for i in inputs if matches(pattern, i["name"])]
            assert found == sorted(expected), (source, names)
            assert total == len(expected)

        example()

    await threaded(check)


async def test_regex_anchors_the_whole_value_and_works_on_the_id(
    items: GraphQL,
) -> None:
    await create(items, [{"code": c, "name": n} for c, n in
                         (("ab1", "abc"), ("ab2", "abbbc\n"), ("xab", "ac"), ("zz", "ABC"))])  # fmt: skip
    assert (await every_page(items, {"name": {"regex": "^ab+c"}}))[0] == ["ab1", "ab2"]
    # `$` is the end of the value, not before a final newline (Python's would be).
    assert (await every_page(items, {"name": {"regex": "c$"}}))[0] == ["ab1", "xab"]
    assert (await every_page(items, {"id": {"regex": "^ab\\d"}}))[0] == ["ab1", "ab2"]
    assert (await every_page(items, {"not": {"name": {"regex": "b"}}}))[0] == [
        "xab",
        "zz",
    ]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(?<=a)b", "only (?: groups"),
        ("(a)\\1", "backreferences"),
        ("(?i)abc", "only (?: groups"),
        ("a*?", "lazy"),
        ("[[:alpha:]]", "POSIX"),
        ("a{1000}", "above 255"),
        ("((a{100}){100})", "multiply out"),
        ("(", "missing ')'"),
        ("x" * 300, "longer than 256"),
    ],
)
async def test_a_bad_pattern_is_an_error_naming_the_field(
    items: GraphQL, pattern: str, reason: str
) -> None:
    await create(items, [{"code": "a", "name": "abc"}], wait="APPLIED")
    body = await items.post(LIST, SHOP, w={"name": {"regex": pattern}})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "BAD_REGEX",
        "field": "name",
        "operator": "regex",
    }
    assert error["message"].startswith("where.name.regex: ")
    assert reason in error["message"]
    assert error["path"] == ["items"]


async def test_a_bad_pattern_is_an_error_even_where_no_object_is(shop: GraphQL) -> None:
    nested = '{ products(where: {ownedBy: {name: {regex: "\\\\b"}}}) { totalCount } }'
    body = await shop.post(nested, SHOP)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REGEX"]
    counted = '{ productsAggregate(where: {name: {regex: "a**"}}) { count } }'
    body = await shop.post(counted, SHOP)
    assert [e["extensions"]["field"] for e in body["errors"]] == ["name"]


# --- search -----------------------------------------------------------------------


async def test_search_and_graph_conditions_answer_together_on_generated_data(
    items: GraphQL,
) -> None:
    def check(run: Any) -> None:
        @EXAMPLES
        @given(
            rows=st.lists(
                st.tuples(
                    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
                    st.integers(0, 5),
                ),
                max_size=8,
            ),
            word=st.sampled_from(WORDS),
            below=st.integers(0, 6),
            negate=st.booleans(),
        )
        def example(
            rows: list[tuple[list[str], int]], word: str, below: int, negate: bool
        ) -> None:
            batch = f"t{uuid.uuid4().hex[:8]}"  # a word only this example's items have
            inputs = [
                {"code": f"{batch}-{i}", "name": " ".join([batch, *words]), "qty": qty}
                for i, (words, qty) in enumerate(rows)
            ]
            if inputs:
                run(create(items, inputs))
            qty = {"lt": below}
            where = {
                "search": f"{batch} {word}",
                **({"not": {"qty": qty}} if negate else {"qty": qty}),
            }
            order = [{"qty": "DESC"}]
            found, total = run(every_page(items, where, order, size=2))
            kept = [
                i for i in inputs
                if word in i["name"].split() and (i["qty"] < below) != negate
            ]  # fmt: skip
            kept.sort(key=lambda i: i["code"])
            kept.sort(key=lambda i: i["qty"], reverse=True)
            assert found == [i["code"] for i in kept], (where, inputs)
            assert total == len(kept)

        example()

    await threaded(check)


async def test_search_pages_and_counts_exactly_with_other_conditions(
    items: GraphQL,
) -> None:
    inputs = [
        {"code": f"i{n:02}", "name": f"{'red' if n % 2 else 'blue'} shoe", "qty": n % 7}
        for n in range(40)
    ]
    await create(items, inputs)
    where = {
        "search": "red",
        "qty": {"lt": 4},
        "or": [{"qty": {"ne": 1}}, {"code": {"gt": "i20"}}],
    }
    found, total = await every_page(
        items, where, [{"qty": "DESC"}, {"code": "ASC"}], size=3
    )
    kept = [
        i for i in inputs
        if "red" in i["name"] and i["qty"] < 4 and (i["qty"] != 1 or i["code"] > "i20")
    ]  # fmt: skip
    kept.sort(key=lambda i: (-i["qty"], i["code"]))
    assert found == [i["code"] for i in kept]
    assert total == len(kept) == 10  # over four pages


async def test_a_node_whose_search_document_is_stale_is_partial(items: GraphQL) -> None:
    await create(
        items, [{"code": "a", "name": "red hat"}, {"code": "b", "name": "red coat"}]
    )
    # The graph moves ahead of the index (as while the search consumer lags).
    graph = items.container.graph
    main = ReadScope(
        db="shop", lineage=[BranchSpan(branch="main", until_position=None)]
    )
    [current] = (await graph.get_many(main, ["Item"], ["b"])).values()
    await graph.put([node_version(
        db="shop", class_id="Item", instance_id="b", seq=current.seq + 1,
        position=current.position + 1000, values={**current.values, "name": "blue coat"},
    )])  # fmt: skip
    data = await items.data(LIST, SHOP, w={"search": "red"}, first=10)
    statuses = {n["id"]: n["_meta"]["dataStatus"] for n in data["items"]["nodes"]}
    assert statuses == {"a": "FULL", "b": "PARTIAL"}


async def test_a_blank_search_is_an_error(items: GraphQL) -> None:
    body = await items.post(LIST, SHOP, w={"search": "  "})
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "search",
    }


async def test_a_search_with_a_nul_byte_is_an_error(items: GraphQL) -> None:
    # The index splits words at NUL: "\x00" alone would match everything. Like
    # a NUL in any read, it is refused before execution (test_hostile_requests).
    body = await items.post(LIST, SHOP, w={"search": "\x00"})
    assert body.get("data") is None
    assert body["errors"][0]["extensions"] == {"code": "NUL_CHARACTER"}


async def test_a_search_matching_more_documents_than_the_cap_is_an_error(
    database_url: str, tmp_path: Path
) -> None:
    capped = make_settings(database_url, tmp_path, graphql_search_max_ids=3)
    async with open_client(capped) as gql:
        await gql.create_database("shop")
        await gql.define("shop", ITEM)
        await create(gql, [{"code": f"i{n}", "name": "red"} for n in range(4)])
        body = await gql.post(LIST, SHOP, w={"search": "red"})
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {
            "code": "SEARCH_TOO_BROAD",
            "field": "search",
            "limit": 3,
        }
        # The cap bounds the text part: other conditions do not lift it.
        narrow = await gql.post(LIST, SHOP, w={"search": "red", "code": {"eq": "i1"}})
        assert narrow["errors"][0]["extensions"]["code"] == "SEARCH_TOO_BROAD"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_search_with_the_index_down_is_a_retriable_error(tmp_path: Path) -> None:
    down = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}",
        tmp_path,
        search_url=f"opensearch://127.0.0.1:{_closed_port()}?timeout=1&max_retries=0",
    )
    async with open_client(down) as gql:
        await gql.create_database("shop")
        await gql.define("shop", ITEM)
        await create(gql, [{"code": "a", "name": "red"}], wait="APPLIED")
        body = await gql.post(LIST, SHOP, w={"search": "red"})
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {
            "code": "UNAVAILABLE",
            "field": "search",
            "retriable": True,
        }
        # Without the text part the graph answers alone.
        plain = await gql.post(LIST, SHOP, w={"name": {"eq": "red"}})
        assert [n["id"] for n in plain["data"]["items"]["nodes"]] == ["a"]
