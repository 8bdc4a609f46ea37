"""GraphStore contract: version-guarded writes, latest visible version, as-of
reads, branch overlay, keyset pagination, reverse links and content hashes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from adapters.errors import StoreUnavailable
from adapters.graph_store.sql import SqlGraphStore
from adapters.sql_engine import SqlDatabase
from domain.events import MAIN_BRANCH
from domain.ports import BranchSpan, GraphStore, NodeVersion, ReadScope
from tests.factories import node_version

DB = "shop"
FORK = 10  # `dev` forks from main at this position


def on_main(*, as_of: int | None = None, db: str = DB) -> ReadScope:
    return ReadScope(
        db=db,
        lineage=[BranchSpan(branch=MAIN_BRANCH, until_position=None)],
        as_of=as_of,
    )


def on_dev(*, as_of: int | None = None) -> ReadScope:
    lineage = [
        BranchSpan(branch="dev", until_position=None),
        BranchSpan(branch=MAIN_BRANCH, until_position=FORK),
    ]
    return ReadScope(db=DB, lineage=lineage, as_of=as_of)


def ids(nodes: list[NodeVersion]) -> list[str]:
    return [n.instance_id for n in nodes]


async def live_seqs(
    store: GraphStore, scope: ReadScope, instance_ids: list[str]
) -> dict[str, int]:
    found = await store.get_many(scope, ["Thing"], instance_ids)
    return {i: n.seq for i, n in found.items()}


# --- writes -----------------------------------------------------------------------


async def test_put_of_the_same_versions_twice_changes_nothing(
    graph_store: GraphStore,
) -> None:
    versions = [
        node_version(instance_id="a", values={"name": "Ada"}, links={"knows": ["b"]}),
        node_version(instance_id="b", seq=1, position=2),
    ]
    await graph_store.put(versions)
    before = await graph_store.content_hash()

    await graph_store.put(versions)

    assert await graph_store.content_hash() == before
    assert await graph_store.count(on_main(), ["Thing"]) == 2


async def test_put_never_overwrites_a_stored_version(graph_store: GraphStore) -> None:
    await graph_store.put([node_version(instance_id="a", values={"name": "Ada"})])

    await graph_store.put([node_version(instance_id="a", values={"name": "Eve"})])

    found = await graph_store.get_many(on_main(), ["Thing"], ["a"])
    assert found["a"].values == {"name": "Ada"}


async def test_reads_back_what_was_put(graph_store: GraphStore) -> None:
    version = node_version(
        instance_id="a",
        seq=2,
        position=7,
        values={"name": "Ada", "age": 36, "tags": ["x", "y"]},
        links={"knows": ["b", "c"], "employer": ["acme"]},
    )
    await graph_store.put([version])

    found = await graph_store.get_many(on_main(), ["Thing"], ["a"])

    assert found == {"a": version}


async def test_reads_back_text_beyond_the_basic_multilingual_plane(
    graph_store: GraphStore,
) -> None:
    """Emoji and CJK extension characters (JSON surrogate pairs when escaped)
    in values, ids of links and the instance id round-trip exactly."""
    text = "caf\u00e9 \U0001f600 \U00020000 \u4e2d"
    version = node_version(
        instance_id="a-\U0001f600",
        values={"name": text, "tags": [text]},
        links={"knows": ["b-\U0001f600"]},
    )
    await graph_store.put([version])

    found = await graph_store.get_many(on_main(), ["Thing"], ["a-\U0001f600"])

    assert found == {"a-\U0001f600": version}
    sources = await graph_store.linking_to(
        on_main(), ["Thing"], "knows", ["b-\U0001f600"]
    )
    assert [v.instance_id for v in sources] == ["a-\U0001f600"]


# --- get_many -------------------------------------------------------------------


async def test_get_many_returns_the_highest_visible_seq(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", seq=3, position=5),
            node_version(instance_id="a", seq=1, position=1),
            node_version(instance_id="a", seq=2, position=3),
            node_version(instance_id="b", seq=1, position=2),
        ]
    )

    found = await graph_store.get_many(on_main(), ["Thing"], ["a", "b", "unknown"])

    assert {i: (n.seq, n.values) for i, n in found.items()} == {
        "a": (3, {"seq": 3}),
        "b": (1, {"seq": 1}),
    }


async def test_get_many_reads_only_the_asked_classes_and_database(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", class_id="Person"),
            node_version(instance_id="b", class_id="Robot"),
            node_version(instance_id="c", class_id="Person", db="other"),
        ]
    )

    found = await graph_store.get_many(on_main(), ["Person"], ["a", "b", "c"])
    both = await graph_store.get_many(on_main(), ["Person", "Robot"], ["a", "b"])

    assert set(found) == {"a"}
    assert set(both) == {"a", "b"}


async def test_get_many_and_linking_to_take_many_ids(graph_store: GraphStore) -> None:
    many = [f"n{i:04}" for i in range(600)]
    await graph_store.put(
        [node_version(instance_id=i, links={"owner": [f"p{i}"]}) for i in many]
    )

    found = await graph_store.get_many(on_main(), ["Thing"], many)
    linking = await graph_store.linking_to(
        on_main(), ["Thing"], "owner", [f"p{i}" for i in many]
    )

    assert set(found) == set(many)
    assert sorted(ids(linking)) == many


async def test_limited_linking_to_takes_many_targets(graph_store: GraphStore) -> None:
    many = [f"n{i:04}" for i in range(600)]
    await graph_store.put(
        [
            node_version(instance_id=i, links={"owner": [f"p{int(i[1:]) % 300}"]})
            for i in many
        ]
    )

    linking = await graph_store.linking_to(
        on_main(), ["Thing"], "owner", [f"p{i}" for i in range(300)], limit_per_target=1
    )

    # Each target's first source by id: n0000..n0299 (n0300.. come second).
    assert sorted(ids(linking)) == many[:300]


async def test_get_many_hides_tombstones(graph_store: GraphStore) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", seq=1, position=1),
            node_version(instance_id="a", seq=2, position=2, deleted=True),
            node_version(instance_id="b", seq=1, position=3),
        ]
    )

    assert set(await graph_store.get_many(on_main(), ["Thing"], ["a", "b"])) == {"b"}
    assert await graph_store.count(on_main(), ["Thing"]) == 1
    assert ids(await graph_store.list_nodes(on_main(), ["Thing"])) == ["b"]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [(0, {}), (1, {"a": 1}), (4, {"a": 1}), (5, {"a": 2}), (8, {"a": 2}), (9, {})],
)
async def test_reads_as_of_a_position(
    graph_store: GraphStore, as_of: int, expected: dict[str, int]
) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", seq=1, position=1),
            node_version(instance_id="a", seq=2, position=5),
            node_version(instance_id="a", seq=3, position=9, deleted=True),
        ]
    )

    assert await live_seqs(graph_store, on_main(as_of=as_of), ["a"]) == expected


# --- branches ---------------------------------------------------------------------


async def branch_history(store: GraphStore) -> None:
    """a and b exist on main before the fork; a changes on both sides after it;
    c appears on main after the fork; b is deleted on dev."""
    await store.put(
        [
            node_version(instance_id="a", seq=1, position=1),
            node_version(instance_id="b", seq=1, position=2),
            node_version(instance_id="a", seq=2, position=11),
            node_version(instance_id="c", seq=1, position=12),
            node_version(instance_id="a", branch="dev", seq=2, position=13),
            node_version(
                instance_id="b", branch="dev", seq=2, position=14, deleted=True
            ),
        ]
    )


async def test_a_branch_sees_its_own_versions_over_the_parent(
    graph_store: GraphStore,
) -> None:
    await branch_history(graph_store)

    dev = await graph_store.get_many(on_dev(), ["Thing"], ["a"])
    main = await graph_store.get_many(on_main(), ["Thing"], ["a"])

    assert (dev["a"].branch, dev["a"].position) == ("dev", 13)
    assert (main["a"].branch, main["a"].position) == (MAIN_BRANCH, 11)


async def test_parent_versions_after_the_fork_are_invisible_on_the_branch(
    graph_store: GraphStore,
) -> None:
    await branch_history(graph_store)

    assert "c" not in await graph_store.get_many(on_dev(), ["Thing"], ["c"])
    assert "c" in await graph_store.get_many(on_main(), ["Thing"], ["c"])
    # Before dev's own write, dev sees main's version as of the fork.
    assert await live_seqs(graph_store, on_dev(as_of=12), ["a"]) == {"a": 1}


async def test_a_tombstone_on_a_branch_hides_the_node_on_that_branch_only(
    graph_store: GraphStore,
) -> None:
    await branch_history(graph_store)

    assert await live_seqs(graph_store, on_dev(), ["a", "b", "c"]) == {"a": 2}
    assert await live_seqs(graph_store, on_main(), ["a", "b", "c"]) == {
        "a": 2,
        "b": 1,
        "c": 1,
    }
    assert await graph_store.count(on_dev(), ["Thing"]) == 1
    assert await graph_store.count(on_main(), ["Thing"]) == 3


# --- list_nodes and count ----------------------------------------------------------


async def five_nodes(store: GraphStore) -> None:
    """n1..n5 live (n2 in two versions), n3 deleted, a Robot among them."""
    await store.put(
        [node_version(instance_id=f"n{i}", position=i) for i in (5, 4, 3, 2, 1)]
        + [
            node_version(instance_id="n2", seq=2, position=6),
            node_version(instance_id="n3", seq=2, position=7, deleted=True),
            node_version(instance_id="n0", class_id="Robot", position=8),
        ]
    )


@pytest.mark.parametrize(
    ("after_id", "expected"),
    [
        (None, ["n1", "n2"]),
        ("n2", ["n4", "n5"]),
        ("n4", ["n5"]),
        ("n5", []),
    ],
    ids=["first", "middle", "last", "empty"],
)
async def test_lists_live_nodes_by_id_in_pages(
    graph_store: GraphStore, after_id: str | None, expected: list[str]
) -> None:
    await five_nodes(graph_store)

    page = await graph_store.list_nodes(
        on_main(), ["Thing"], after_id=after_id, limit=2
    )

    assert ids(page) == expected
    assert all(n.class_id == "Thing" and not n.deleted for n in page)


async def test_lists_the_latest_version_of_each_node(graph_store: GraphStore) -> None:
    await five_nodes(graph_store)

    nodes = await graph_store.list_nodes(on_main(), ["Thing", "Robot"])

    assert [(n.instance_id, n.seq) for n in nodes] == [
        ("n0", 1),
        ("n1", 1),
        ("n2", 2),
        ("n4", 1),
        ("n5", 1),
    ]


async def test_counts_live_nodes_of_the_classes(graph_store: GraphStore) -> None:
    await five_nodes(graph_store)

    assert await graph_store.count(on_main(), ["Thing"]) == 4
    assert await graph_store.count(on_main(), ["Thing", "Robot"]) == 5
    assert await graph_store.count(on_main(as_of=5), ["Thing"]) == 5
    assert await graph_store.count(on_main(db="other"), ["Thing"]) == 0


# --- linking_to -------------------------------------------------------------------


async def test_finds_nodes_linking_to_targets(graph_store: GraphStore) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", links={"owner": ["p"]}),
            node_version(instance_id="b", links={"owner": ["p", "q"]}),
            node_version(instance_id="c", links={"owner": ["q"]}),
            node_version(instance_id="d", links={"friend": ["p"]}),
            node_version(instance_id="e", class_id="Robot", links={"owner": ["p"]}),
        ]
    )

    to_p = await graph_store.linking_to(on_main(), ["Thing"], "owner", ["p"])
    to_q = await graph_store.linking_to(on_main(), ["Thing"], "owner", ["q"])
    to_any = await graph_store.linking_to(
        on_main(), ["Thing", "Robot"], "owner", ["p", "q"]
    )

    assert sorted(ids(to_p)) == ["a", "b"]
    assert sorted(ids(to_q)) == ["b", "c"]
    assert sorted(ids(to_any)) == ["a", "b", "c", "e"]


async def test_excludes_nodes_whose_current_version_no_longer_links(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", links={"owner": ["p"]}),
            node_version(instance_id="b", seq=1, position=1, links={"owner": ["p"]}),
            node_version(instance_id="b", seq=2, position=2, links={"owner": ["q"]}),
            node_version(instance_id="c", seq=1, position=1, links={"owner": ["p"]}),
            node_version(instance_id="c", seq=2, position=3, deleted=True),
        ]
    )

    linking = await graph_store.linking_to(on_main(), ["Thing"], "owner", ["p"])
    before = await graph_store.linking_to(on_main(as_of=1), ["Thing"], "owner", ["p"])

    assert ids(linking) == ["a"]
    assert sorted(ids(before)) == ["a", "b", "c"]


async def test_limit_per_target_keeps_the_first_sources_of_each_target(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            *(
                node_version(instance_id=f"a{i}", links={"owner": ["p"]})
                for i in range(5)
            ),
            *(
                node_version(instance_id=f"b{i}", links={"owner": ["q"]})
                for i in range(3)
            ),
            node_version(instance_id="c", links={"owner": ["r"]}),
        ]
    )

    found = await graph_store.linking_to(
        on_main(), ["Thing"], "owner", ["p", "q", "r", "s"], limit_per_target=2
    )

    assert sorted(ids(found)) == ["a0", "a1", "b0", "b1", "c"]


async def test_limit_per_target_skips_sources_that_no_longer_link(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", seq=1, position=1, links={"owner": ["p"]}),
            node_version(instance_id="a", seq=2, position=2, links={"owner": ["q"]}),
            node_version(instance_id="b", seq=1, position=1, links={"owner": ["p"]}),
            node_version(instance_id="b", seq=2, position=3, deleted=True),
            node_version(instance_id="c", links={"owner": ["p"]}),
            node_version(instance_id="d", links={"owner": ["p"]}),
        ]
    )

    found = await graph_store.linking_to(
        on_main(), ["Thing"], "owner", ["p"], limit_per_target=2
    )
    before = await graph_store.linking_to(
        on_main(as_of=1), ["Thing"], "owner", ["p"], limit_per_target=2
    )

    assert ids(found) == ["c", "d"]
    assert ids(before) == ["a", "b"]


async def test_counts_live_sources_per_target(graph_store: GraphStore) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", links={"owner": ["p"]}),
            node_version(instance_id="b", links={"owner": ["p", "q"]}),
            node_version(instance_id="c", seq=1, position=1, links={"owner": ["q"]}),
            node_version(instance_id="c", seq=2, position=2, links={"owner": []}),
            node_version(instance_id="d", class_id="Robot", links={"owner": ["p"]}),
        ]
    )

    counts = await graph_store.count_linking_to(
        on_main(), ["Thing"], "owner", ["p", "q", "z"]
    )
    before = await graph_store.count_linking_to(
        on_main(as_of=1), ["Thing"], "owner", ["q"]
    )

    assert counts == {"p": 2, "q": 1, "z": 0}
    assert before == {"q": 2}


async def test_counts_follow_the_branch_overlay(graph_store: GraphStore) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", position=1, links={"owner": ["p"]}),
            node_version(instance_id="b", position=2, links={"owner": ["p"]}),
            node_version(
                instance_id="a", branch="dev", seq=2, position=11, links={"owner": []}
            ),
            node_version(instance_id="c", position=12, links={"owner": ["p"]}),
        ]
    )

    assert await graph_store.count_linking_to(on_main(), ["Thing"], "owner", ["p"]) == {
        "p": 3
    }
    assert await graph_store.count_linking_to(on_dev(), ["Thing"], "owner", ["p"]) == {
        "p": 1
    }


async def test_an_unlink_on_a_branch_is_seen_on_that_branch_only(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(
        [
            node_version(instance_id="a", position=1, links={"owner": ["p"]}),
            node_version(
                instance_id="a", branch="dev", seq=2, position=11, links={"owner": []}
            ),
        ]
    )

    assert ids(await graph_store.linking_to(on_main(), ["Thing"], "owner", ["p"])) == [
        "a"
    ]
    assert await graph_store.linking_to(on_dev(), ["Thing"], "owner", ["p"]) == []


# --- content_hash -------------------------------------------------------------------


def some_versions() -> list[NodeVersion]:
    return [
        node_version(instance_id="a", values={"name": "Ada"}, links={"knows": ["b"]}),
        node_version(instance_id="a", seq=2, position=3, values={"name": "Ada L."}),
        node_version(instance_id="b", position=2, deleted=True),
        node_version(instance_id="c", branch="dev", position=4),
    ]


async def test_equal_content_gives_an_equal_hash(
    graph_store: GraphStore, other_graph_store: GraphStore
) -> None:
    versions = some_versions()
    await graph_store.put(versions)

    for version in reversed(versions):
        await other_graph_store.put([version])

    assert await graph_store.content_hash() == await other_graph_store.content_hash()
    assert await graph_store.content_hash(DB) == await other_graph_store.content_hash(
        DB
    )


async def test_different_content_gives_a_different_hash(
    graph_store: GraphStore, other_graph_store: GraphStore
) -> None:
    versions = some_versions()
    await graph_store.put(versions)
    changed = node_version(
        instance_id="a", values={"name": "Eve"}, links={"knows": ["b"]}
    )
    await other_graph_store.put([changed, *versions[1:]])

    assert await graph_store.content_hash() != await other_graph_store.content_hash()
    assert await other_graph_store.content_hash("other") == (
        await graph_store.content_hash("other")
    )


async def test_the_hash_of_a_database_ignores_other_databases(
    graph_store: GraphStore,
) -> None:
    await graph_store.put(some_versions())
    before = await graph_store.content_hash(DB)
    whole = await graph_store.content_hash()

    await graph_store.put([node_version(db="other", instance_id="z")])

    assert await graph_store.content_hash(DB) == before
    assert await graph_store.content_hash() != whole


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["put", "get_many", "count"])
async def test_translates_driver_errors_into_store_unavailable(
    unreachable_database: SqlDatabase, operation: str
) -> None:
    store = SqlGraphStore(unreachable_database)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "put": lambda: store.put([node_version()]),
        "get_many": lambda: store.get_many(on_main(), ["Thing"], ["a"]),
        "count": lambda: store.count(on_main(), ["Thing"]),
    }

    with pytest.raises(StoreUnavailable) as error:
        await calls[operation]()

    assert error.value.retriable is True
    assert error.value.__cause__ is not None
