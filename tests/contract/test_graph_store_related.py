"""GraphStore reads through relationships: `find` with sort keys on related
nodes, `aggregate` with groups, and `find_related` for nested lists. A store
answers with the meaning of domain.queries or declines (None); the SQL store
answers everything here but decimal order on SQLite."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.graph_store.sql import SqlGraphStore
from domain.ports import GraphStore, NodeVersion, RelatedPage
from domain.queries import (
    Condition,
    Group,
    GroupField,
    Hop,
    Measure,
    Relation,
    SortKey,
    Totals,
)
from tests.contract.test_graph_store import on_main
from tests.factories import node_version

OWNER = Hop("owner", ("Person",))


def person(iid: str, name: Any, **extra: Any) -> NodeVersion:
    return node_version(
        class_id="Person", instance_id=iid, values={"name": name}, **extra
    )


def thing(iid: str, links: dict[str, Any], **values: Any) -> NodeVersion:
    return node_version(class_id="Thing", instance_id=iid, values=values, links=links)


@pytest.fixture
async def owned(graph_store: GraphStore) -> GraphStore:
    """Things owned by Zoe, Amy, a deleted person, nobody and a missing id; Amy
    was Bea until position 3."""
    await graph_store.put(
        [
            person("zoe", "Zoe", position=1),
            person("amy", "Bea", position=2),
            person("amy", "Amy", seq=2, position=3),
            person("gone", "Gil", position=4),
            node_version(class_id="Person", instance_id="gone", seq=2, position=5, deleted=True),
            thing("t1", {"owner": "zoe"}, qty=1, price="1.5"),
            thing("t2", {"owner": ["amy"]}, qty=2**62, price="2.25"),
            thing("t3", {"owner": "gone"}, qty=2**62, price="0.25"),
            thing("t4", {}, qty=4, price="n/a"),
            thing("t5", {"owner": "nobody"}, qty="5"),
            thing("t6", {"owner": "zoe"}, qty=None, price="-10"),
        ]
    )  # fmt: skip
    return graph_store


def _sql(store: GraphStore) -> bool:
    return isinstance(store, SqlGraphStore)


async def _sorted(store: GraphStore, *keys: SortKey, as_of: int | None = None) -> Any:
    found = await store.find(on_main(as_of=as_of), ["Thing"], where=None, order=keys)
    return None if found is None else [n.instance_id for n in found]


async def test_sorts_by_the_related_nodes_latest_live_version(
    owned: GraphStore,
) -> None:
    by_name = await _sorted(owned, SortKey("name", False, "text", (OWNER,)))
    if by_name is None:
        assert not _sql(owned)
        return
    # Deleted, missing and absent owners sort as nulls, by id.
    assert by_name == ["t2", "t1", "t6", "t3", "t4", "t5"]
    assert await _sorted(owned, SortKey("name", True, "text", (OWNER,))) == [
        "t1", "t6", "t2", "t3", "t4", "t5",
    ]  # fmt: skip
    # As of position 4 Amy was Bea, and the deleted owner was Gil.
    assert await _sorted(owned, SortKey("name", False, "text", (OWNER,)), as_of=4) == [
        "t2", "t3", "t1", "t6", "t4", "t5",
    ]  # fmt: skip
    by_id = SortKey(None, True, "text", (OWNER,))
    assert await _sorted(owned, by_id, SortKey("qty", True, "integer")) == [
        "t1", "t6", "t2", "t3", "t4", "t5",
    ]  # fmt: skip


async def test_aggregates_exactly_and_groups_by_links(owned: GraphStore) -> None:
    measures = [Measure("qty", "integer"), Measure("price", "decimal")]
    whole = await owned.aggregate(on_main(), ["Thing"], where=None, measures=measures)
    if whole is None:
        assert not _sql(owned)
        return
    assert whole == [
        Group((), 6, {
            # Integer sums leave 64 bits exactly; "5" is not an integer.
            "qty": Totals(4, 2**63 + 5, 1, 2**62),
            "price": Totals(4, Decimal("-6.00"), Decimal("-10"), Decimal("2.25")),
        })
    ]  # fmt: skip
    groups = await owned.aggregate(
        on_main(), ["Thing"], where=Condition("qty", "lt", 2**62, "integer"),
        measures=[Measure("qty", "integer")], group_by=[GroupField("owner", link=True)],
    )  # fmt: skip
    assert groups is not None
    assert sorted(groups, key=lambda g: str(g.key)) == [
        Group(("zoe",), 1, {"qty": Totals(1, 1, 1, 1)}),
        Group((None,), 1, {"qty": Totals(1, 4, 4, 4)}),
    ]


async def test_empty_selection_is_one_group_of_nothing(owned: GraphStore) -> None:
    none = Condition("qty", "gt", 2**62, "integer")
    found = await owned.aggregate(
        on_main(), ["Thing"], where=none, measures=[Measure("price", "decimal")]
    )
    if found is None:
        assert not _sql(owned)
        return
    assert found == [Group((), 0, {"price": Totals(0, None, None, None)})]


async def test_reads_every_parents_page_and_total_at_once(owned: GraphStore) -> None:
    owns = Relation("owner", ("Thing",), ("Person",), inverse=True)
    pages = await owned.find_related(
        on_main(), owns, ["zoe", "amy", "gone", "nobody"], where=None,
        order=[SortKey("qty", True, "integer")], offset=1, limit=5,
    )  # fmt: skip
    if pages is None:
        assert not _sql(owned)
        return
    assert {p: (page.total, _ids(page)) for p, page in pages.items()} == {
        # Past its last item a page is empty, and still tells the total.
        "zoe": (2, ["t6"]), "amy": (1, []), "gone": (1, []), "nobody": (1, []),
    }  # fmt: skip


async def test_forward_lists_keep_dangling_ids_with_their_key(
    owned: GraphStore,
) -> None:
    owners = Relation("owner", ("Person",), ("Thing",), inverse=False, key="pid")
    pages = await owned.find_related(
        on_main(), owners, ["t1", "t3", "t4", "t5"],
        where=Condition("pid", "is_null", False, "text"), order=[],
    )  # fmt: skip
    if pages is None:
        assert not _sql(owned)
        return
    # A dangling id's only value is its key: the live owner has no `pid`.
    assert pages == {
        "t1": RelatedPage(0, ()),
        "t3": RelatedPage(1, ("gone",)),
        "t4": RelatedPage(0, ()),
        "t5": RelatedPage(1, ("nobody",)),
    }


def _ids(page: RelatedPage) -> list[str]:
    return [i if isinstance(i, str) else i.instance_id for i in page.items]
