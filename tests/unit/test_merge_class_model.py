"""Three-way merge of class definitions, checked against a reference over nested dicts.

The domain splits a class into merge objects (its own fields, each member) and
merges them with the instance rules; the reference merges the nested definition
directly: own fields with the instance reference, members matched by name.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ValidationFailed
from domain.merge.class_merge import decide_classes, merged_ontology
from domain.merge.class_sides import ClassSides, plan_classes
from domain.merge.three_way import ConflictKind, MergeConflict, Strategy
from domain.ontology import Ontology, class_from_dict
from tests.merge_reference import reference

CLASSES = ("A", "B")
PROPS = ("p", "q", "r")
RELS = ("x", "y")

Definition = dict[str, Any] | None

props = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer"]), "required": st.booleans()}
)
rels = st.fixed_dictionaries(
    {"target": st.sampled_from(CLASSES), "cardinality": st.sampled_from(["n:1", "n:m"])}
)


@st.composite
def definitions(draw: st.DrawFn, class_id: str) -> dict[str, Any]:
    own = draw(
        st.fixed_dictionaries(
            {"label": st.sampled_from(["a", "b"]), "abstract": st.booleans()}
        )
    )
    chosen_props = draw(st.lists(st.sampled_from(PROPS), unique=True))
    chosen_rels = draw(st.lists(st.sampled_from(RELS), unique=True))
    return {
        "id": class_id,
        **own,
        "properties": [{"name": n, **draw(props)} for n in chosen_props],
        "relationships": [{"predicate": n, **draw(rels)} for n in chosen_rels],
    }


@st.composite
def three_sides(draw: st.DrawFn) -> tuple[dict[str, Definition], ...]:
    """A side keeps the base's class or has its own; classes are never deleted."""
    base = {k: draw(st.one_of(st.none(), definitions(k))) for k in CLASSES}

    def side() -> dict[str, Definition]:
        found: dict[str, Definition] = {}
        for k in CLASSES:
            keep = draw(st.booleans())
            found[k] = base[k] if keep else draw(definitions(k))
        return found

    return base, side(), side()


def nested(definition: Definition) -> dict[str, Any] | None:
    """A definition as own fields plus members by name (order does not matter)."""
    if definition is None:
        return None
    own = {
        k: v
        for k, v in definition.items()
        if k not in ("properties", "relationships") and v is not None
    }
    return {
        "own": own,
        "properties": {m["name"]: m for m in definition["properties"]},
        "relationships": {m["predicate"]: m for m in definition["relationships"]},
    }


def reference_class(
    class_id: str, b: Definition, s: Definition, t: Definition, strategy: Strategy
) -> tuple[Definition, dict[str, tuple[ConflictKind, set[str]]]]:
    nb, ns, nt = nested(b), nested(s), nested(t)
    own, clash = reference(*(n and n["own"] for n in (nb, ns, nt)), strategy)
    conflicts = {"@class": clash} if clash else {}
    if own is None:
        return None, conflicts
    merged: dict[str, Any] = dict(own)
    for kind, member in (
        ("properties", "@property."),
        ("relationships", "@relationship."),
    ):
        names = {n for x in (nb, ns, nt) if x for n in x[kind]}
        merged[kind] = []
        for name in sorted(names):
            got, found = reference(
                *((x or {}).get(kind, {}).get(name) for x in (nb, ns, nt)), strategy
            )
            if found:
                conflicts[f"{member}{name}"] = found
            if got is not None:
                merged[kind].append(got)
    return merged, conflicts


@settings(max_examples=300, deadline=None)
@given(three_sides(), st.sampled_from(list(Strategy)))
def test_class_merge_equals_the_reference_nested_merge(
    sides: tuple[dict[str, Definition], ...], strategy: Strategy
) -> None:
    base, source, target = sides
    changed = [k for k in CLASSES if base[k] != source[k]]
    plan = plan_classes(
        ClassSides(
            changed,
            {k: base[k] for k in changed},
            {k: source[k] for k in changed},
            {k: target[k] for k in changed},
        )
    )
    expected = {
        k: reference_class(k, base[k], source[k], target[k], strategy) for k in changed
    }
    conflicts = {
        m.conflict.key: (m.conflict.kind, {f.name for f in m.conflict.fields})
        for m in plan.merges
        if m.conflict is not None
    }
    assert conflicts == {
        f"@{k}/{member}": found
        for k, (_, found_by_member) in expected.items()
        for member, found in found_by_member.items()
    }
    if strategy is Strategy.FAIL and conflicts:
        with pytest.raises(MergeConflict) as raised:
            decide_classes(plan, strategy=strategy)
        assert {c.key for c in raised.value.conflicts} == set(conflicts)
        return
    merged = decide_classes(plan, strategy=strategy)
    assert {k: nested(d) for k, d in merged.items()} == {
        k: nested(d) for k, (d, _) in expected.items()
    }


def test_unchanged_members_keep_the_targets_order_and_new_ones_follow() -> None:
    def defn(*names: str) -> dict[str, Any]:
        return {
            "id": "A",
            "properties": [{"name": n, "type": "string"} for n in names],
            "relationships": [],
        }

    plan = plan_classes(
        ClassSides(
            ["A"],
            {"A": defn("p", "q")},
            {"A": defn("q", "p", "s")},
            {"A": defn("r", "p", "q")},
        )
    )
    merged = decide_classes(plan, strategy=Strategy.FAIL)["A"] or {}
    assert [p["name"] for p in merged["properties"]] == ["r", "p", "q", "s"]


KEYED = {"id": "Item", "primary_key": "code", "label": "Item"}


def test_new_classes_may_refer_to_each_other() -> None:
    item = {
        **KEYED,
        "properties": [{"name": "code", "type": "string", "required": True}],
        "relationships": [{"predicate": "box", "target": "Box", "cardinality": "n:1"}],
    }
    box = {
        "id": "Box",
        "label": "Box",
        "primary_key": "code",
        "properties": [{"name": "code", "type": "string", "required": True}],
        "relationships": [],
    }
    result = merged_ontology(
        Ontology(classes={}), {"Item": item, "Box": box}, {}, with_data=frozenset()
    )
    assert sorted(w.class_id for w in result.writes) == ["Box", "Item"]
    assert {w.event.event_type for w in result.writes} == {"class.defined.v1"}
    assert "Box" in result.ontology


def test_a_merged_class_that_is_not_valid_is_refused_with_its_path() -> None:
    item = {**KEYED, "properties": [{"name": "code", "type": "nope"}]}
    with pytest.raises(ValidationFailed) as raised:
        merged_ontology(Ontology(classes={}), {"Item": item}, {}, with_data=frozenset())
    assert raised.value.errors[0].path[:2] == ("classes", "Item")


def test_lint_errors_the_target_already_has_do_not_block() -> None:
    # The target's Item already points at a missing class (a lint error); a
    # merge that only brings a new, valid class is not refused for it.
    broken = {
        **KEYED,
        "properties": [{"name": "code", "type": "string", "required": True}],
        "relationships": [{"predicate": "box", "target": "Box", "cardinality": "n:1"}],
    }
    target = Ontology(classes={"Item": class_from_dict(broken)})
    tag = {
        "id": "Tag",
        "label": "Tag",
        "primary_key": "tag",
        "properties": [{"name": "tag", "type": "string", "required": True}],
        "relationships": [],
    }
    result = merged_ontology(target, {"Tag": tag}, {}, with_data=frozenset())
    assert [w.class_id for w in result.writes] == ["Tag"]
