"""SearchIndex contract on SQLite FTS5, OpenSearch and Elasticsearch: seq guard, tombstones,
branch overlay, typed filters, full text, ordering and the content hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex
from adapters.sql_engine import open_database
from domain.ports import FieldFilter, SearchDocument, SearchIndex

pytestmark = pytest.mark.timeout(60)


def doc(
    instance_id: str,
    seq: int = 1,
    *,
    branch: str = "main",
    class_id: str = "Product",
    deleted: bool = False,
    db: str = "shop",
    **data: Any,
) -> SearchDocument:
    return SearchDocument(
        db=db,
        branch=branch,
        class_id=class_id,
        instance_id=instance_id,
        seq=seq,
        position=seq * 100 + len(instance_id),
        deleted=deleted,
        data={} if deleted else data,
    )


def F(field: str, op: str, value: Any) -> FieldFilter:  # noqa: N802 (reads like a literal)
    return FieldFilter(field=field, op=op, value=value)


def ids(docs: list[SearchDocument]) -> list[str]:
    return [d.instance_id for d in docs]


CATALOGUE = [
    doc("P1", name="Blue Widget", price="9.99", stock=5, active=True, tags=["a", "b"]),
    doc("P2", name="Red Widget", price="19.50", stock=0, active=False),
    doc(
        "P3", name="Blue Gadget", price="4.25", stock=12, active=True, made="2024-03-01"
    ),
    doc("C1", class_id="Customer", name="Ada Blue", tier="gold"),
]


async def test_keeps_the_highest_seq_and_ignores_stale_or_equal_writes(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert([doc("P1", 2, name="second")])
    await search_index.upsert([doc("P1", 1, name="first"), doc("P1", 2, name="again")])
    stored = await search_index.get_many("shop", ["main"], [("Product", "P1")])
    assert stored[("main", "Product", "P1")].data == {"name": "second"}
    await search_index.upsert([doc("P1", 3, name="third")])
    stored = await search_index.get_many("shop", ["main"], [("Product", "P1")])
    assert (
        stored[("main", "Product", "P1")].seq,
        stored[("main", "Product", "P1")].data,
    ) == (
        3,
        {"name": "third"},
    )


async def test_stores_tombstones_that_search_does_not_return(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert(
        [doc("P1", 1, name="Widget"), doc("P2", 1, name="Widget")]
    )
    await search_index.upsert([doc("P1", 2, deleted=True)])
    stored = await search_index.get_many(
        "shop", ["main"], [("Product", "P1"), ("Product", "P2"), ("Product", "P9")]
    )
    assert sorted(stored) == [("main", "Product", "P1"), ("main", "Product", "P2")]
    assert stored[("main", "Product", "P1")].deleted
    assert ids(await search_index.search("shop", ["main"], text="widget")) == ["P2"]


async def test_a_branch_overlays_its_parent_including_tombstones(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert(
        [
            doc("P1", 1, name="alpha"),
            doc("P2", 1, name="alpha"),
            doc("P3", 1, name="alpha"),
        ]
    )
    await search_index.upsert(
        [
            doc("P1", 2, branch="Feature/X", name="beta"),
            doc("P2", 2, branch="Feature/X", deleted=True),
        ]
    )
    lineage = ["Feature/X", "main"]
    on_branch = await search_index.search("shop", lineage)
    assert [(d.instance_id, d.branch) for d in on_branch] == [
        ("P1", "Feature/X"),
        ("P3", "main"),
    ]
    assert ids(await search_index.search("shop", lineage, text="alpha")) == ["P3"]
    assert ids(await search_index.search("shop", lineage, text="beta")) == ["P1"]
    assert ids(await search_index.search("shop", ["main"], text="alpha")) == [
        "P1",
        "P2",
        "P3",
    ]
    both = await search_index.get_many("shop", lineage, [("Product", "P2")])
    assert sorted(both) == [("Feature/X", "Product", "P2"), ("main", "Product", "P2")]


FILTERS = [
    ("eq string", [F("name", "eq", "Red Widget")], ["P2"]),
    ("eq number", [F("stock", "eq", 5)], ["P1"]),
    ("eq boolean", [F("active", "eq", True)], ["P1", "P3"]),
    ("ne number", [F("stock", "ne", 0)], ["P1", "P3"]),
    ("gt number", [F("stock", "gt", 5)], ["P3"]),
    ("gte number", [F("stock", "gte", 5)], ["P1", "P3"]),
    ("lt decimal string", [F("price", "lt", 10)], ["P1", "P3"]),
    ("lte number", [F("stock", "lte", 0)], ["P2"]),
    ("in", [F("name", "in", ["Blue Widget", "Blue Gadget"])], ["P1", "P3"]),
    ("in nothing", [F("name", "in", [])], []),
    ("contains", [F("name", "contains", "widget")], ["P1", "P2"]),
    ("date", [F("made", "gte", "2024-01-01")], ["P3"]),
    (
        "and",
        [F("active", "eq", True), F("stock", "lt", 10)],
        ["P1"],
    ),
]


@pytest.mark.parametrize(
    ("filters", "expected"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS]
)
async def test_filters_by_typed_field_values(
    search_index: SearchIndex, filters: list[FieldFilter], expected: list[str]
) -> None:
    await search_index.upsert(CATALOGUE)
    found = await search_index.search(
        "shop", ["main"], class_ids=["Product"], filters=filters
    )
    assert ids(found) == expected


async def test_rejects_unknown_operators_and_field_names(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert(CATALOGUE)
    with pytest.raises(ValueError, match="operator"):
        await search_index.search("shop", ["main"], filters=[F("name", "like", "x")])
    with pytest.raises(ValueError, match="field"):
        await search_index.search(
            "shop", ["main"], filters=[F("name') OR 1=1 --", "eq", "x")]
        )


async def test_full_text_requires_every_word_and_takes_the_last_as_a_prefix(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert(CATALOGUE)
    assert ids(await search_index.search("shop", ["main"], text="blue wid")) == ["P1"]
    assert ids(await search_index.search("shop", ["main"], text="Gadget")) == ["P3"]
    assert await search_index.search("shop", ["main"], text="purple") == []
    found = await search_index.search("shop", ["main"], text="blue")
    assert sorted(ids(found)) == ["C1", "P1", "P3"]
    assert ids(await search_index.search("shop", ["main"], text="P2")) == ["P2"]


async def test_lists_by_class_and_id_within_the_limit(
    search_index: SearchIndex,
) -> None:
    await search_index.upsert(CATALOGUE)
    await search_index.upsert([doc("P9", db="other", name="elsewhere")])
    listed = await search_index.search("shop", ["main"])
    assert [(d.class_id, d.instance_id) for d in listed] == [
        ("Customer", "C1"),
        ("Product", "P1"),
        ("Product", "P2"),
        ("Product", "P3"),
    ]
    assert ids(await search_index.search("shop", ["main"], limit=2)) == ["C1", "P1"]
    assert ids(await search_index.search("shop", ["main"], class_ids=[])) == []
    assert ids(await search_index.search("other", ["main"])) == ["P9"]


async def test_round_trips_document_data(search_index: SearchIndex) -> None:
    data: dict[str, Any] = {
        "name": "Ünïcode ✓",
        "price": {"amount": "1.50", "currency": "EUR"},
        "tags": ["x"],
    }
    await search_index.upsert([doc("P1", 4, **data)])
    stored = (await search_index.get_many("shop", ["main"], [("Product", "P1")]))[
        ("main", "Product", "P1")
    ]
    assert (stored.seq, stored.deleted, dict(stored.data)) == (4, False, data)
    assert stored.indexed_at is not None


async def test_content_hash_follows_content_only(search_index: SearchIndex) -> None:
    empty = await search_index.content_hash()
    await search_index.upsert(CATALOGUE)
    full = await search_index.content_hash()
    await search_index.upsert(CATALOGUE)  # duplicates change nothing
    assert await search_index.content_hash() == full != empty
    assert await search_index.content_hash("other") == empty


async def test_a_cluster_index_hashes_like_the_sqlite_index(
    cluster_index: Any, tmp_path: Path
) -> None:
    """Both adapters digest the same rows in the same order."""
    database = open_database(f"sqlite:///{tmp_path / 'hash.db'}")
    try:
        sqlite_index = SqliteFtsSearchIndex(database)
        docs = [*CATALOGUE, doc("P1", 2, branch="dev", deleted=True)]
        await sqlite_index.upsert(docs)
        await cluster_index.upsert(docs)
        assert await cluster_index.content_hash() == await sqlite_index.content_hash()
        assert await cluster_index.content_hash(
            "shop"
        ) == await sqlite_index.content_hash("shop")
    finally:
        await database.dispose()
