"""Three-way merge of plain objects, checked against a reference written as patches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ValidationFailed
from domain.merge.resolve import Resolution, resolve
from domain.merge.three_way import (
    ConflictKind,
    MergeConflict,
    Side,
    State,
    Strategy,
    merge_object,
)
from tests.merge_reference import reference

KEYS = ("a", "b", "c", "d")
FIELDS = ("x", "y", "z")

values = st.integers(min_value=0, max_value=2)
objects = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(FIELDS), values, max_size=3)
)


@st.composite
def three_sides(draw: st.DrawFn) -> tuple[dict[str, State], ...]:
    """Each side keeps the base's object or has one of its own (often equal)."""
    base: dict[str, State] = {k: draw(objects) for k in KEYS}

    def side() -> dict[str, State]:
        return {k: base[k] if draw(st.booleans()) else draw(objects) for k in KEYS}

    return base, side(), side()


# --- properties --------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(three_sides(), st.sampled_from(list(Strategy)))
def test_merge_equals_the_reference_three_way_merge(
    sides: tuple[dict[str, State], ...], strategy: Strategy
) -> None:
    base, source, target = sides
    merges = [merge_object(k, base[k], source[k], target[k]) for k in KEYS]
    expected = {k: reference(base[k], source[k], target[k], strategy) for k in KEYS}
    conflicts = {
        m.conflict.key: (m.conflict.kind, {f.name for f in m.conflict.fields})
        for m in merges
        if m.conflict is not None
    }
    assert conflicts == {k: c for k, (_, c) in expected.items() if c is not None}
    if strategy is Strategy.FAIL and conflicts:
        with pytest.raises(MergeConflict) as raised:
            resolve(merges, strategy=strategy)
        assert {c.key for c in raised.value.conflicts} == set(conflicts)
        return
    final = resolve(merges, strategy=strategy)
    assert final == {k: merged for k, (merged, _) in expected.items()}


@settings(max_examples=300, deadline=None)
@given(three_sides(), st.data())
def test_resolutions_decide_exactly_the_fields_they_name(
    sides: tuple[dict[str, State], ...], data: st.DataObject
) -> None:
    """Resolving every conflicting field by a side equals that side's strategy
    for UPDATE_UPDATE; leaving some unresolved under FAIL reports exactly those."""
    base, source, target = sides
    merges = [merge_object(k, base[k], source[k], target[k]) for k in KEYS]
    updates = [
        m
        for m in merges
        if m.conflict and m.conflict.kind is ConflictKind.UPDATE_UPDATE
    ]
    side = data.draw(st.sampled_from(list(Side)))
    chosen = [
        (m.key, f.name)
        for m in updates
        for f in m.conflict.fields  # type: ignore[union-attr]
        if data.draw(st.booleans())
    ]
    resolutions = [Resolution(k, f, take=side) for k, f in chosen]
    others = [m for m in merges if m.conflict is None or m in updates]
    left = {
        (m.key, f.name)
        for m in updates
        for f in m.conflict.fields  # type: ignore[union-attr]
    } - set(chosen)
    if left:
        with pytest.raises(MergeConflict) as raised:
            resolve(others, strategy=Strategy.FAIL, resolutions=resolutions)
        reported = {(c.key, f.name) for c in raised.value.conflicts for f in c.fields}
        assert reported == left
        return
    final = resolve(others, strategy=Strategy.FAIL, resolutions=resolutions)
    as_strategy = resolve(others, strategy=Strategy(side.value))
    assert final == as_strategy


# --- examples ----------------------------------------------------------------------


def test_different_fields_changed_on_both_sides_merge() -> None:
    merge = merge_object("k", {"x": 1, "y": 1}, {"x": 2, "y": 1}, {"x": 1, "y": 3})
    assert merge.conflict is None
    assert merge.merged == {"x": 2, "y": 3}


def test_same_field_changed_differently_is_an_update_update_conflict() -> None:
    merge = merge_object("k", {"x": 1}, {"x": 2}, {"x": 3})
    assert merge.conflict is not None
    assert merge.conflict.kind is ConflictKind.UPDATE_UPDATE
    field = merge.conflict.fields[0]
    assert (field.name, field.base, field.source, field.target) == ("x", 1, 2, 3)


def test_delete_against_update_lists_the_updated_fields_with_null_on_the_deleting_side() -> (
    None
):
    merge = merge_object("k", {"x": 1, "y": 1}, None, {"x": 1, "y": 2})
    assert merge.conflict is not None
    assert merge.conflict.kind is ConflictKind.DELETE_UPDATE
    assert [(f.name, f.base, f.source, f.target) for f in merge.conflict.fields] == [
        ("y", 1, None, 2)
    ]


def test_a_value_resolution_sets_the_field() -> None:
    merges = [merge_object("k", {"x": 1}, {"x": 2}, {"x": 3})]
    final = resolve(
        merges, strategy=Strategy.FAIL, resolutions=[Resolution("k", "x", value=7)]
    )
    assert final == {"k": {"x": 7}}


def test_a_null_value_resolution_clears_the_field() -> None:
    merges = [merge_object("k", {"x": 1, "y": 1}, {"x": 2, "y": 1}, {"x": 3, "y": 1})]
    final = resolve(
        merges, strategy=Strategy.FAIL, resolutions=[Resolution("k", "x", value=None)]
    )
    assert final == {"k": {"y": 1}}


def test_delete_update_resolved_by_the_deleting_side_deletes() -> None:
    merges = [merge_object("k", {"x": 1}, None, {"x": 2})]
    resolution = Resolution("k", "x", take=Side.SOURCE)
    assert resolve(merges, strategy=Strategy.FAIL, resolutions=[resolution]) == {
        "k": None
    }


def test_delete_update_resolved_with_a_value_keeps_the_updated_object() -> None:
    merges = [merge_object("k", {"x": 1, "y": 1}, {"x": 1, "y": 2}, None)]
    resolution = Resolution("k", "y", value=5)
    assert resolve(merges, strategy=Strategy.FAIL, resolutions=[resolution]) == {
        "k": {"x": 1, "y": 5}
    }


@pytest.mark.parametrize(
    ("resolutions", "code"),
    [
        ([Resolution("other", "x", take=Side.SOURCE)], "not_in_conflict"),
        ([Resolution("k", "y", take=Side.SOURCE)], "not_in_conflict"),
        (
            [Resolution("k", "x", take=Side.SOURCE), Resolution("k", "x", value=1)],
            "duplicate_resolution",
        ),
    ],
    ids=["unknown-object", "field-not-in-conflict", "twice"],
)
def test_resolutions_must_name_conflicting_fields_once(
    resolutions: list[Resolution], code: str
) -> None:
    merges = [
        merge_object("k", {"x": 1, "y": 1}, {"x": 2, "y": 1}, {"x": 3, "y": 1}),
        merge_object("other", {"x": 1}, {"x": 2}, {"x": 1}),
    ]
    with pytest.raises(ValidationFailed) as raised:
        resolve(merges, strategy=Strategy.SOURCE, resolutions=resolutions)
    assert [e.code for e in raised.value.errors] == [code]


def test_resolutions_of_a_delete_update_conflict_must_agree_on_deleting() -> None:
    merges = [merge_object("k", {"x": 1, "y": 1}, None, {"x": 2, "y": 2})]
    resolutions = [
        Resolution("k", "x", take=Side.SOURCE, index=0),
        Resolution("k", "y", take=Side.TARGET, index=1),
    ]
    with pytest.raises(ValidationFailed) as raised:
        resolve(merges, strategy=Strategy.FAIL, resolutions=resolutions)
    assert [(e.path, e.code) for e in raised.value.errors] == [
        (("resolutions", "0"), "inconsistent")
    ]
