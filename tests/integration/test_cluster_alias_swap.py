"""OpenSearch and Elasticsearch specifics: index per (db, branch) behind an alias,
typed mappings, and the rebuild swap (new generation, atomic alias update, late
writes kept)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from adapters.search_index import dsl
from adapters.search_index.alias_swap import swap_in_shadow
from domain.ports import SearchDocument

pytestmark = pytest.mark.timeout(60)


def doc(instance_id: str, seq: int, position: int, **data: Any) -> SearchDocument:
    return SearchDocument(
        db="shop",
        branch="main",
        class_id="Product",
        instance_id=instance_id,
        seq=seq,
        position=position,
        deleted=False,
        data=data,
    )


async def test_writes_through_an_alias_per_database_and_branch(
    cluster_index: Any,
) -> None:
    await cluster_index.upsert([doc("P1", 1, 1, name="x")])
    await cluster_index.upsert([replace(doc("P1", 2, 2, name="y"), branch="Dev/1")])
    aliases = await cluster_index.backend.aliases(cluster_index.pattern())
    prefix = cluster_index.prefix
    assert aliases == {
        f"{prefix}.shop.main": [f"{prefix}_g0.shop.main"],
        f"{prefix}.shop.{dsl.encode_branch('Dev/1')}": [f"{prefix}_g0.shop._44ev_2f1"],
    }


async def test_a_field_takes_any_value_kind_without_mapping_conflicts(
    cluster_index: Any,
) -> None:
    await cluster_index.upsert(
        [
            doc("P1", 1, 1, code="2024-01-01", size=3),
            doc("P2", 1, 2, code="not a date", size="large"),
            doc("P3", 1, 3, code=17, size={"w": 1}),
        ]
    )
    found = await cluster_index.search("shop", ["main"])
    assert [d.instance_id for d in found] == ["P1", "P2", "P3"]


async def test_swaps_in_a_rebuilt_generation_and_keeps_later_writes(
    cluster_index: Any,
) -> None:
    live = cluster_index
    await live.upsert([doc("P1", 1, 1, name="stale"), doc("P2", 1, 2, name="gone")])
    shadow = live.shadow()
    await shadow.upsert([doc("P1", 1, 1, name="rebuilt")])
    horizon = {"shop": 2}
    # Written live after the rebuild's horizon: must survive the swap.
    await live.upsert([doc("P3", 1, 3, name="late"), doc("P1", 2, 4, name="newer")])
    old = await live.backend.aliases(live.pattern())

    retired = await swap_in_shadow(live, shadow, horizon)

    assert retired == old[f"{live.prefix}.shop.main"]
    now = await live.backend.aliases(live.pattern())
    assert now == {f"{live.prefix}.shop.main": [shadow.name("shop", "main")]}
    assert await live.backend.indexes(f"{live.prefix}_g0.*") == []
    found = await live.search("shop", ["main"])
    assert [(d.instance_id, d.seq, d.data["name"]) for d in found] == [
        ("P1", 2, "newer"),
        ("P3", 1, "late"),
    ]
    # New writes go through the alias to the new generation.
    await live.upsert([doc("P4", 1, 5, name="after")])
    assert len(await live.search("shop", ["main"])) == 3
