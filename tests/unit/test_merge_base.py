"""Merge bases from branch lineages and merge records (pure)."""

from __future__ import annotations

import pytest

from domain.errors import ValidationFailed
from domain.merge.base import (
    MergeBase,
    MergeRecord,
    Window,
    change_windows,
    check_direction,
    fork_position,
    merge_base,
)
from domain.ports import BranchSpan

MAIN = [BranchSpan(branch="main", until_position=None)]
FEATURE = [
    BranchSpan(branch="feature", until_position=None),
    BranchSpan(branch="main", until_position=10),
]  # forked at 10
OTHER = [
    BranchSpan(branch="other", until_position=None),
    BranchSpan(branch="main", until_position=20),
]
SUB = [
    BranchSpan(branch="sub", until_position=None),
    BranchSpan(branch="feature", until_position=30),
    BranchSpan(branch="main", until_position=10),
]


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [(FEATURE, MAIN, 10), (MAIN, FEATURE, 10), (FEATURE, OTHER, 10), (OTHER, FEATURE, 10),
     (SUB, MAIN, 10), (SUB, FEATURE, 30), (SUB, OTHER, 10)],
    ids=["child-parent", "parent-child", "siblings", "siblings-back", "grandchild",
         "child-of-feature", "cousin"],
)  # fmt: skip
def test_fork_position_is_where_the_lineages_part(
    source: list[BranchSpan], target: list[BranchSpan], expected: int
) -> None:
    assert fork_position(source, target) == expected


def base(
    source: str, target: str, *records: MergeRecord, back: bool = False
) -> MergeBase:
    lineages = {"main": MAIN, "feature": FEATURE, "other": OTHER, "sub": SUB}
    return merge_base(
        source=source,
        target=target,
        source_lineage=lineages[source],
        target_lineage=lineages[target],
        into_target=[] if back else records,
        into_source=records if back else [],
    )


def test_without_records_the_base_is_the_fork() -> None:
    assert base("feature", "main") == MergeBase("feature", 10, 10)


def test_the_last_merge_of_the_source_is_the_base() -> None:
    records = [
        MergeRecord("feature", "main", 40, 41),
        MergeRecord("feature", "main", 50, 51),
    ]
    assert base("feature", "main", *records) == MergeBase("feature", 50, 10)


def test_a_merged_ancestor_counts_as_far_as_the_source_sees_it() -> None:
    merged = MergeRecord("feature", "main", 40, 41)  # feature up to 40; sub sees 30
    assert base("sub", "main", merged) == MergeBase("sub", 30, 10)


def test_a_merge_the_other_way_makes_the_target_snapshot_the_base() -> None:
    back = MergeRecord("other", "feature", 60, 61)
    assert base("feature", "other", back, back=True) == MergeBase("other", 60, 10)


def test_windows_look_at_the_source_alone_when_the_base_is_its_own() -> None:
    assert change_windows(
        MergeBase("feature", 50, 10), source="feature", snapshot=70
    ) == [Window("feature", 50, 70)]
    assert change_windows(
        MergeBase("other", 60, 10), source="feature", snapshot=70
    ) == [
        Window("feature", 10, 70),
        Window("other", 10, 60),
    ]


@pytest.mark.parametrize(
    ("source", "target", "lineage", "code"),
    [("feature", "feature", FEATURE, "same_branch"),
     ("feature", "sub", SUB, "target_descends_from_source"),
     ("main", "feature", FEATURE, "target_descends_from_source")],
    ids=["itself", "child", "parent-into-child"],
)  # fmt: skip
def test_a_branch_is_not_merged_into_itself_or_a_descendant(
    source: str, target: str, lineage: list[BranchSpan], code: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_direction(source=source, target=target, target_lineage=lineage)
    assert raised.value.errors[0].code == code


def test_a_branch_merges_into_an_ancestor_or_a_sibling() -> None:
    check_direction(source="sub", target="main", target_lineage=MAIN)
    check_direction(source="feature", target="other", target_lineage=OTHER)
