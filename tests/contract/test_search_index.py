"""SearchIndex contract: seq-guarded upserts, tombstones, branch overlay, full
text, typed filters, class filter, listing order, get_many and content hashes.

Runs on every adapter of the `search_index` fixture (tests/contract/conftest.py):
SQLite FTS5, OpenSearch and Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.errors import StoreUnavailable
from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex
from adapters.sql_engine import SqlDatabase
from domain.events import MAIN_BRANCH
from domain.ports import FieldFilter, SearchDocument, SearchIndex
from tests.factories import search_document

DB = "shop"
# Branch names may hold upper case, "/", ".", "_" and "-" (domain.ids.BRANCH_NAME),
# none of which a cluster index name may: the overlay must work with all of them.
DEV = "Dev/Fix_1.2-b"
BOTH = [DEV, MAIN_BRANCH]


def ids(documents: list[SearchDocument]) -> list[str]:
    return [d.instance_id for d in documents]


async def found(
    index: SearchIndex, text: str, branches: list[str] | None = None
) -> set[str]:
    return set(ids(await index.search(DB, branches or [MAIN_BRANCH], text=text)))


# --- upserts ---------------------------------------------------------------------


@pytest.mark.parametrize("seq", [1, 2], ids=["older", "equal"])
async def test_ignores_a_document_that_is_not_newer(
    search_index: SearchIndex, seq: int
) -> None:
    await search_index.upsert(
        [search_document(instance_id="a", seq=2, position=2, data={"name": "Ada"})]
    )

    await search_index.upsert(
        [search_document(instance_id="a", seq=seq, position=3, data={"name": "Eve"})]
    )

    stored = await search_index.get_many(DB, [MAIN_BRANCH], [("Thing", "a")])
    kept = stored[(MAIN_BRANCH, "Thing", "a")]
    assert (kept.seq, kept.data) == (2, {"name": "Ada"})
    assert await found(search_index, "Eve") == set()
    assert await found(search_index, "Ada") == {"a"}


async def test_a_newer_document_replaces_the_stored_one(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert([search_document(instance_id="a", data={"name": "Ada"})])

    await search_index.upsert(
        [search_document(instance_id="a", seq=2, position=2, data={"name": "Grace"})]
    )

    stored = await search_index.get_many(DB, [MAIN_BRANCH], [("Thing", "a")])
    kept = stored[(MAIN_BRANCH, "Thing", "a")]
    assert (kept.seq, kept.position, kept.data) == (2, 2, {"name": "Grace"})
    assert await found(search_index, "Grace") == {"a"}
    assert await found(search_index, "Ada") == set()


async def test_keeps_the_newest_of_one_batch(search_index: SearchIndex) -> None:
    await search_index.upsert(
        [
            search_document(instance_id="a", seq=2, position=2, data={"name": "Grace"}),
            search_document(instance_id="a", seq=1, position=1, data={"name": "Ada"}),
        ]
    )

    assert await found(search_index, "Grace") == {"a"}
    assert await found(search_index, "Ada") == set()


async def test_a_tombstone_hides_the_document_from_search_only(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert(
        [
            search_document(instance_id="a", data={"name": "Ada"}),
            search_document(instance_id="b", data={"name": "Ada"}),
        ]
    )

    await search_index.upsert(
        [search_document(instance_id="a", seq=2, position=2, deleted=True)]
    )

    assert ids(await search_index.search(DB, [MAIN_BRANCH])) == ["b"]
    assert await found(search_index, "Ada") == {"b"}
    stored = await search_index.get_many(DB, [MAIN_BRANCH], [("Thing", "a")])
    assert stored[(MAIN_BRANCH, "Thing", "a")].deleted is True


# --- branch overlay ------------------------------------------------------------------


async def branch_documents(index: SearchIndex) -> None:
    """a changed on DEV, b only on main, c deleted on DEV, d only on DEV."""
    await index.upsert(
        [
            search_document(instance_id="a", data={"name": "Ada"}),
            search_document(instance_id="b", data={"name": "Bob"}),
            search_document(instance_id="c", data={"name": "Cid"}),
            search_document(instance_id="a", branch=DEV, seq=2, data={"name": "Alma"}),
            search_document(instance_id="c", branch=DEV, seq=2, deleted=True),
            search_document(instance_id="d", branch=DEV, data={"name": "Dora"}),
        ]
    )


async def test_the_first_branch_holding_a_document_wins(
    search_index: SearchIndex,
) -> None:
    await branch_documents(search_index)

    on_dev = await search_index.search(DB, BOTH)

    assert [(d.instance_id, d.branch) for d in on_dev] == [
        ("a", DEV),
        ("b", MAIN_BRANCH),
        ("d", DEV),
    ]
    assert await found(search_index, "Ada", BOTH) == set()
    assert await found(search_index, "Alma", BOTH) == {"a"}


async def test_a_branch_tombstone_hides_the_parent_document_there_only(
    search_index: SearchIndex,
) -> None:
    await branch_documents(search_index)

    assert await found(search_index, "Cid", BOTH) == set()
    assert await found(search_index, "Cid") == {"c"}
    assert ids(await search_index.search(DB, [MAIN_BRANCH])) == ["a", "b", "c"]


async def test_the_nearest_branch_wins_through_three_levels(
    search_index: SearchIndex,
) -> None:
    await branch_documents(search_index)
    await search_index.upsert(
        [
            search_document(
                instance_id="b", branch="feature", seq=2, data={"name": "Bea"}
            )
        ]
    )

    on_feature = await search_index.search(DB, ["feature", *BOTH])

    assert [(d.instance_id, d.branch) for d in on_feature] == [
        ("a", DEV),
        ("b", "feature"),
        ("d", DEV),
    ]


async def test_an_empty_lineage_finds_nothing(search_index: SearchIndex) -> None:
    await branch_documents(search_index)

    assert await search_index.search(DB, []) == []
    assert await search_index.search(DB, [], text="Ada") == []


# --- full text ----------------------------------------------------------------------


async def people(index: SearchIndex) -> None:
    await index.upsert(
        [
            search_document(
                instance_id="ada", data={"name": "Ada Lovelace", "city": "London"}
            ),
            search_document(
                instance_id="grace", data={"name": "Grace Hopper", "city": "New York"}
            ),
            search_document(
                instance_id="alan", data={"name": "Alan Turing", "city": "London"}
            ),
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lovelace", {"ada"}),
        ("lovelace", {"ada"}),
        ("Lov", {"ada"}),
        ("Ada Lov", {"ada"}),
        ("London", {"ada", "alan"}),
        ("London Tur", {"alan"}),
        ("Lov Ada", set()),
        ("Ada Hopper", set()),
        ("Babbage", set()),
    ],
    ids=[
        "word",
        "any case",
        "prefix",
        "prefix of the last word",
        "two documents",
        "all words required",
        "earlier words are whole",
        "words of different documents",
        "no match",
    ],
)
async def test_matches_every_word_and_the_last_as_a_prefix(
    search_index: SearchIndex, text: str, expected: set[str]
) -> None:
    await people(search_index)

    assert await found(search_index, text) == expected


async def test_full_text_finds_a_document_by_its_instance_id(
    search_index: SearchIndex,
) -> None:
    await people(search_index)
    await search_index.upsert([search_document(instance_id="P2", data={"n": 2})])

    assert await found(search_index, "P2") == {"P2"}


async def test_ranks_and_limits_text_matches(search_index: SearchIndex) -> None:
    await people(search_index)

    result = await search_index.search(DB, [MAIN_BRANCH], text="London", limit=1)

    assert len(result) == 1
    assert result[0].instance_id in {"ada", "alan"}


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '"Ada',
        'Ada"',
        "'",
        "AND",
        "Ada OR NOT Grace",
        "NEAR(Ada Grace)",
        "(Ada",
        "*",
        "Ada*",
        "-Ada",
        "+Ada",
        "name:Ada",
        "^Ada",
        "Ada\x00Grace",
        "   ",
        "",
    ],
)
async def test_user_text_with_quotes_or_operators_does_not_raise(
    search_index: SearchIndex, text: str
) -> None:
    await people(search_index)

    result = await search_index.search(DB, [MAIN_BRANCH], text=text)

    assert set(ids(result)) <= {"ada", "grace", "alan"}


async def test_quoted_words_are_searched_as_words(search_index: SearchIndex) -> None:
    await people(search_index)

    assert await found(search_index, '"Ada"') == {"ada"}
    assert await found(search_index, "Hopper AND") == set()


# --- filters ---------------------------------------------------------------------


async def scientists(index: SearchIndex) -> None:
    await index.upsert(
        [
            search_document(
                instance_id="a",
                data={
                    "name": "Ada",
                    "age": 36,
                    "score": 9.5,
                    "city": "London",
                    "active": True,
                    "born": "1815-12-10",
                    "fee": "9.99",
                },
            ),
            search_document(
                instance_id="b",
                data={
                    "name": "Grace",
                    "age": 85,
                    "score": 7.25,
                    "city": "New York",
                    "active": False,
                    "born": "1906-12-09",
                    "fee": "19.50",
                },
            ),
            search_document(
                instance_id="c",
                data={
                    "name": "Alan",
                    "age": 41,
                    "score": 8,
                    "city": "Wilmslow",
                    "born": "1912-06-23",
                },
            ),
            search_document(
                instance_id="d",
                data={
                    "name": "Bob",
                    "age": 9,
                    "score": 10,
                    "city": "Paris",
                    "fee": "4.25",
                },
            ),
        ]
    )


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("age", "eq", 36, {"a"}),
        ("score", "eq", 7.25, {"b"}),
        ("name", "eq", "Grace", {"b"}),
        ("age", "ne", 36, {"b", "c", "d"}),
        ("name", "ne", "Ada", {"b", "c", "d"}),
        ("age", "gt", 36, {"b", "c"}),
        ("score", "gt", 8, {"a", "d"}),
        ("name", "gt", "B", {"b", "d"}),
        ("age", "gte", 41, {"b", "c"}),
        ("score", "gte", 8, {"a", "c", "d"}),
        ("age", "lt", 36, {"d"}),
        ("name", "lt", "B", {"a", "c"}),
        ("age", "lte", 36, {"a", "d"}),
        ("score", "lte", 8, {"b", "c"}),
        ("age", "in", [36, 85, 1], {"a", "b"}),
        ("name", "in", ["Ada", "Bob"], {"a", "d"}),
        ("name", "in", [], set()),
        ("active", "eq", True, {"a"}),
        ("active", "eq", False, {"b"}),
        # A document without the field is neither equal nor unequal to a value.
        ("active", "ne", True, {"b"}),
        # Decimals travel as strings: numeric filters compare them as numbers.
        ("fee", "lt", 10, {"a", "d"}),
        ("fee", "gt", 5, {"a", "b"}),
        ("born", "gte", "1900-01-01", {"b", "c"}),
        ("born", "lt", "1900-01-01", {"a"}),
        ("city", "contains", "York", {"b"}),
        ("city", "contains", "york", {"b"}),
        ("city", "contains", "on", {"a"}),
        ("city", "contains", "%", set()),
        ("city", "contains", "_", set()),
    ],
    ids=str,
)
async def test_filters_by_typed_field_values(
    search_index: SearchIndex, field: str, op: str, value: Any, expected: set[str]
) -> None:
    await scientists(search_index)

    result = await search_index.search(
        DB, [MAIN_BRANCH], filters=[FieldFilter(field=field, op=op, value=value)]
    )

    assert set(ids(result)) == expected


async def test_combines_filters_and_text(search_index: SearchIndex) -> None:
    await scientists(search_index)

    result = await search_index.search(
        DB,
        [MAIN_BRANCH],
        text="London",
        filters=[FieldFilter(field="age", op="gt", value=30)],
    )
    none = await search_index.search(
        DB,
        [MAIN_BRANCH],
        filters=[
            FieldFilter(field="age", op="gt", value=30),
            FieldFilter(field="age", op="lt", value=36),
        ],
    )

    assert ids(result) == ["a"]
    assert none == []


@pytest.mark.parametrize(
    "field",
    ["a.b", "name') OR 1=1 --", "", "1st", "with space", "x" * 101, "$.name"],
)
async def test_rejects_invalid_field_names(
    search_index: SearchIndex, field: str
) -> None:
    with pytest.raises(ValueError, match="field"):
        await search_index.search(
            DB, [MAIN_BRANCH], filters=[FieldFilter(field=field, op="eq", value=1)]
        )


async def test_rejects_unknown_filter_operators(search_index: SearchIndex) -> None:
    with pytest.raises(ValueError, match="operator"):
        await search_index.search(
            DB, [MAIN_BRANCH], filters=[FieldFilter(field="age", op="like", value=1)]
        )


async def test_filters_by_class(search_index: SearchIndex) -> None:
    await search_index.upsert(
        [
            search_document(instance_id="a", class_id="Person"),
            search_document(instance_id="b", class_id="Robot"),
            search_document(instance_id="c", class_id="Person"),
        ]
    )

    async def of(class_ids: list[str] | None) -> list[str]:
        return ids(await search_index.search(DB, [MAIN_BRANCH], class_ids=class_ids))

    assert await of(["Person"]) == ["a", "c"]
    assert sorted(await of(["Person", "Robot"])) == ["a", "b", "c"]
    assert await of([]) == []
    assert sorted(await of(None)) == ["a", "b", "c"]


async def test_searches_one_database(search_index: SearchIndex) -> None:
    await search_index.upsert(
        [
            search_document(instance_id="a", data={"name": "Ada"}),
            search_document(db="other", instance_id="b", data={"name": "Ada"}),
        ]
    )

    assert await found(search_index, "Ada") == {"a"}
    assert ids(await search_index.search("other", [MAIN_BRANCH])) == ["b"]


async def test_lists_by_class_then_instance_id_within_the_limit(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert(
        [
            search_document(class_id="Robot", instance_id="a"),
            search_document(class_id="Person", instance_id="b"),
            search_document(class_id="Person", instance_id="a"),
            search_document(class_id="Animal", instance_id="z"),
        ]
    )

    listed = await search_index.search(DB, [MAIN_BRANCH])
    first_two = await search_index.search(DB, [MAIN_BRANCH], limit=2)

    keys = [(d.class_id, d.instance_id) for d in listed]
    assert keys == [("Animal", "z"), ("Person", "a"), ("Person", "b"), ("Robot", "a")]
    assert [(d.class_id, d.instance_id) for d in first_two] == keys[:2]


# --- get_many and content_hash --------------------------------------------------------


async def test_get_many_returns_stored_documents_by_branch_and_key(
    search_index: SearchIndex,
) -> None:
    await branch_documents(search_index)

    stored = await search_index.get_many(
        DB, BOTH, [("Thing", "a"), ("Thing", "c"), ("Thing", "x"), ("Robot", "a")]
    )
    main_only = await search_index.get_many(DB, [MAIN_BRANCH], [("Thing", "d")])

    assert {key: (d.seq, d.deleted) for key, d in stored.items()} == {
        (DEV, "Thing", "a"): (2, False),
        (MAIN_BRANCH, "Thing", "a"): (1, False),
        (DEV, "Thing", "c"): (2, True),
        (MAIN_BRANCH, "Thing", "c"): (1, False),
    }
    assert stored[(DEV, "Thing", "a")].data == {"name": "Alma"}
    assert main_only == {}


async def test_get_many_takes_many_keys(search_index: SearchIndex) -> None:
    keys = [("Thing", f"n{i:04}") for i in range(450)]
    await search_index.upsert([search_document(instance_id=i) for _, i in keys])

    stored = await search_index.get_many(DB, [MAIN_BRANCH], keys)

    assert set(stored) == {(MAIN_BRANCH, *key) for key in keys}


async def test_round_trips_document_data(search_index: SearchIndex) -> None:
    data: dict[str, Any] = {
        "name": "Ünïcode ✓",
        "price": {"amount": "1.50", "currency": "EUR"},
        "tags": ["x", 2, None],
        "count": 3,
        "ratio": 0.5,
        "active": False,
        "note": None,
    }
    await search_index.upsert([search_document(instance_id="a", seq=4, data=data)])

    stored = await search_index.get_many(DB, [MAIN_BRANCH], [("Thing", "a")])

    document = stored[(MAIN_BRANCH, "Thing", "a")]
    assert (document.seq, document.deleted, dict(document.data)) == (4, False, data)
    assert document.indexed_at is not None


def some_documents() -> list[SearchDocument]:
    return [
        search_document(instance_id="a", data={"name": "Ada", "age": 36}),
        search_document(instance_id="b", seq=3, position=5, deleted=True),
        search_document(instance_id="a", branch=DEV, seq=2, position=6),
        search_document(db="other", instance_id="z"),
    ]


async def test_equal_content_gives_an_equal_hash(
    search_index: SearchIndex, other_search_index: SearchIndex
) -> None:
    documents = some_documents()
    await search_index.upsert(documents)

    for document in reversed(documents):
        await other_search_index.upsert([document])

    assert await search_index.content_hash() == await other_search_index.content_hash()
    assert await search_index.content_hash(DB) == await other_search_index.content_hash(
        DB
    )


async def test_different_content_gives_a_different_hash(
    search_index: SearchIndex, other_search_index: SearchIndex
) -> None:
    documents = some_documents()
    await search_index.upsert(documents)
    changed = search_document(instance_id="a", data={"name": "Ada", "age": 37})
    await other_search_index.upsert([changed, *documents[1:]])

    assert await search_index.content_hash() != await other_search_index.content_hash()
    assert await search_index.content_hash("other") == (
        await other_search_index.content_hash("other")
    )


async def test_the_hash_follows_content_only(search_index: SearchIndex) -> None:
    empty = await search_index.content_hash()
    documents = some_documents()
    await search_index.upsert(documents)
    full = await search_index.content_hash()

    await search_index.upsert(documents)  # not newer: nothing changes

    assert await search_index.content_hash() == full != empty
    assert await search_index.content_hash("absent") == empty


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize("unreachable_database", ["sqlite-unreadable"], indirect=True)
@pytest.mark.parametrize("operation", ["upsert", "search", "get_many"])
async def test_translates_driver_errors_into_store_unavailable(
    unreachable_database: SqlDatabase, operation: str
) -> None:
    index = SqliteFtsSearchIndex(unreachable_database)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "upsert": lambda: index.upsert([search_document()]),
        "search": lambda: index.search(DB, [MAIN_BRANCH], text="Ada"),
        "get_many": lambda: index.get_many(DB, [MAIN_BRANCH], [("Thing", "a")]),
    }

    with pytest.raises(StoreUnavailable) as error:
        await calls[operation]()

    assert error.value.retriable is True
    assert error.value.__cause__ is not None
