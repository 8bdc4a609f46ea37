"""OpenSearch and Elasticsearch next to the embedded index: the same documents give
the same content hash on a cluster as on SQLite FTS, so a rebuild or a migration
between the adapters can be checked by comparing hashes. The SearchIndex contract
itself runs on every adapter in tests/contract/test_search_index.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex
from adapters.sql_engine import open_database
from domain.ports import SearchDocument
from tests.factories import search_document

pytestmark = pytest.mark.timeout(60)


def catalogue() -> list[SearchDocument]:
    """Two databases, two classes, a branch tombstone and values of every kind."""
    return [
        search_document(
            class_id="Product",
            instance_id="P1",
            data={"name": "Blue Widget", "price": "9.99", "stock": 5, "tags": ["a"]},
        ),
        search_document(
            class_id="Product", instance_id="P2", data={"name": "Ünïcode ✓"}
        ),
        search_document(class_id="Customer", instance_id="C1", data={"vip": True}),
        search_document(
            class_id="Product",
            instance_id="P1",
            branch="Dev/1",
            seq=2,
            position=7,
            deleted=True,
        ),
        search_document(db="other", instance_id="Z9", data={"ratio": 0.5}),
    ]


async def test_a_cluster_index_hashes_like_the_sqlite_index(
    cluster_index: Any, tmp_path: Path
) -> None:
    """Both adapters digest the same rows in the same order."""
    documents = catalogue()
    database = open_database(f"sqlite:///{tmp_path / 'hash.db'}")
    try:
        sqlite_index = SqliteFtsSearchIndex(database)
        await sqlite_index.upsert(documents)
        await cluster_index.upsert(documents)

        assert await cluster_index.content_hash() == await sqlite_index.content_hash()
        assert await cluster_index.content_hash("shop") == (
            await sqlite_index.content_hash("shop")
        )
    finally:
        await database.dispose()
