"""The branch overlay the TerminusDB graph store computes from per-branch reads:
the same answers the SQL store gives for the contract suite's histories."""

from __future__ import annotations

from adapters.graph_store.terminus.overlay import (
    EdgeHit,
    Head,
    SpanRead,
    counts,
    current_sources,
    first_ids,
    kept,
    latest,
    live,
    span_reads,
)
from domain.events import MAIN_BRANCH
from domain.ports import BranchSpan, NodeVersion, ReadScope
from tests.factories import node_version

FORK = 10


def main(as_of: int | None = None) -> ReadScope:
    return ReadScope(
        db="shop",
        lineage=[BranchSpan(branch=MAIN_BRANCH, until_position=None)],
        as_of=as_of,
    )


def dev(as_of: int | None = None) -> ReadScope:
    lineage = [
        BranchSpan(branch="dev", until_position=None),
        BranchSpan(branch=MAIN_BRANCH, until_position=FORK),
    ]
    return ReadScope(db="shop", lineage=lineage, as_of=as_of)


def rows_of(stored: list[NodeVersion], span: SpanRead) -> list[Head]:
    """What one branch's heads query returns: that branch's versions at or
    below the span's bound (the query's position filter)."""
    return [
        Head(v.branch, v.class_id, v.instance_id, v.seq, v.deleted)
        for v in stored
        if v.branch == span.branch and (span.bound is None or v.position <= span.bound)
    ]


def resolve(stored: list[NodeVersion], scope: ReadScope) -> dict[str, tuple[str, int]]:
    heads = latest(rows_of(stored, span) for span in span_reads(scope))
    return {h.instance_id: (h.branch, h.seq) for h in live(heads)}


def branch_history() -> list[NodeVersion]:
    """As in the contract suite: a and b on main before the fork; a changes on
    both sides after it; c appears on main after it; b is deleted on dev."""
    return [
        node_version(instance_id="a", seq=1, position=1),
        node_version(instance_id="b", seq=1, position=2),
        node_version(instance_id="a", seq=2, position=11),
        node_version(instance_id="c", seq=1, position=12),
        node_version(instance_id="a", branch="dev", seq=2, position=13),
        node_version(instance_id="b", branch="dev", seq=2, position=14, deleted=True),
    ]


def test_each_span_is_bounded_by_its_fork_and_the_as_of_position() -> None:
    assert span_reads(main()) == [SpanRead(MAIN_BRANCH, None)]
    assert span_reads(main(as_of=4)) == [SpanRead(MAIN_BRANCH, 4)]
    assert span_reads(dev()) == [SpanRead("dev", None), SpanRead(MAIN_BRANCH, FORK)]
    assert span_reads(dev(as_of=12)) == [SpanRead("dev", 12), SpanRead(MAIN_BRANCH, 10)]
    assert span_reads(dev(as_of=5)) == [SpanRead("dev", 5), SpanRead(MAIN_BRANCH, 5)]


def test_a_branch_sees_its_own_versions_over_the_parent_as_of_the_fork() -> None:
    stored = branch_history()

    assert resolve(stored, main()) == {
        "a": (MAIN_BRANCH, 2),
        "b": (MAIN_BRANCH, 1),
        "c": (MAIN_BRANCH, 1),
    }
    # b is a tombstone on dev; c came after the fork.
    assert resolve(stored, dev()) == {"a": ("dev", 2)}
    # Before dev's own write, dev sees main's version as of the fork.
    assert resolve(stored, dev(as_of=12)) == {
        "a": (MAIN_BRANCH, 1),
        "b": (MAIN_BRANCH, 1),
    }


def test_reads_as_of_a_position_see_the_version_live_then() -> None:
    stored = [
        node_version(instance_id="a", seq=1, position=1),
        node_version(instance_id="a", seq=2, position=5),
        node_version(instance_id="a", seq=3, position=9, deleted=True),
    ]
    expected = {0: {}, 1: {"a": 1}, 4: {"a": 1}, 5: {"a": 2}, 8: {"a": 2}, 9: {}}

    for as_of, seqs in expected.items():
        found = resolve(stored, main(as_of=as_of))
        assert {i: seq for i, (_, seq) in found.items()} == seqs, as_of


def test_the_nearer_span_wins_an_equal_seq() -> None:
    near = Head("dev", "Thing", "a", 2, False)
    far = Head(MAIN_BRANCH, "Thing", "a", 2, True)

    assert latest([[near], [far]]) == {("Thing", "a"): near}


def test_classes_are_kept_apart() -> None:
    heads = latest(
        [
            [
                Head(MAIN_BRANCH, "Thing", "a", 1, False),
                Head(MAIN_BRANCH, "Robot", "a", 3, True),
            ]
        ]
    )

    assert [h.class_id for h in live(heads)] == ["Thing"]


def test_the_first_ids_of_the_union_of_pages_are_exact() -> None:
    dev_page = ["a", "c", "e"]  # dev's first three
    main_page = ["b", "c", "d"]  # main's first three

    assert first_ids([dev_page, main_page], 3) == ["a", "b", "c"]
    assert first_ids([[], ["x"]], 3) == ["x"]


def test_only_edges_of_the_latest_live_version_link() -> None:
    heads = latest(
        [
            [
                Head(MAIN_BRANCH, "Thing", "a", 1, False),
                Head(MAIN_BRANCH, "Thing", "b", 2, False),
                Head(MAIN_BRANCH, "Thing", "c", 2, True),
            ]
        ]
    )
    edges = [
        EdgeHit("Thing", "a", 1, "p"),
        EdgeHit("Thing", "b", 1, "p"),  # b's old version linked to p ...
        EdgeHit("Thing", "b", 2, "q"),  # ... its current one links to q
        EdgeHit("Thing", "c", 1, "p"),  # c was deleted since
        EdgeHit("Thing", "z", 1, "p"),  # z is not visible at all
    ]

    by_target = current_sources(edges, heads)

    assert by_target == {"p": [("Thing", "a")], "q": [("Thing", "b")]}
    assert counts(by_target, ["p", "q", "r", "p"]) == {"p": 1, "q": 1, "r": 0}


def test_a_limit_per_target_keeps_the_first_sources_of_each() -> None:
    by_target = {
        "p": [("Thing", f"a{i}") for i in range(5)],
        "q": [("Thing", "a0"), ("Thing", "b1")],
    }

    assert kept(by_target, 2) == {("Thing", "a0"), ("Thing", "a1"), ("Thing", "b1")}
    assert len(kept(by_target, None)) == 6
    assert kept(by_target, 0) == set()
