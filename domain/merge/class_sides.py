"""The three sides of the classes a merge brings, and their three-way merge.

Every class event carries the class's full definition after it (class_handlers),
so a class stream's last event visible in a snapshot is the class there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain import events as ev
from domain.events import EventEnvelope
from domain.merge.classes import (
    class_keys,
    member_states,
    split_ontology_key,
)
from domain.merge.sides import Setup, changed_keys, read_tips
from domain.merge.three_way import ObjectMerge, merge_object
from domain.ports import EventStore

Definitions = dict[str, dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class ClassSides:
    """Each class the source changed since the base, as a definition (None when
    absent) at the base, on the source and on the target; `seqs` are the
    target's class stream heads, which the merge's appends expect."""

    class_ids: list[str]
    base: Definitions
    source: Definitions
    target: Definitions = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClassPlan:
    sides: ClassSides
    merges: list[ObjectMerge]

    @property
    def conflicts(self) -> list[ObjectMerge]:
        return [m for m in self.merges if m.conflict is not None]

    def classes(self) -> dict[str, str]:
        """The class of each conflicting object, by key."""
        return {m.key: split_ontology_key(m.key)[0] for m in self.conflicts}


async def read_class_sides(
    store: EventStore,
    merge: Setup,
    *,
    with_target: bool = True,
    class_ids: Sequence[str] | None = None,
) -> ClassSides:
    """The sides of the classes the source changed since the base (or of
    `class_ids`), without those every side has as the base had them."""
    if class_ids is None:
        class_ids = await changed_keys(store, merge, ev.CLASS)
    ids = list(class_ids)
    base, source, tips = await read_tips(
        store, merge, ev.CLASS, ids, with_target=with_target
    )
    # A class either side changed: a rebase asks for the target's changes too.
    changed = [
        k
        for k in ids
        if _definition(base.get(k)) != _definition(source.get(k))
        or (with_target and _definition(base.get(k)) != _definition(tips.get(k)))
    ]
    return ClassSides(
        changed,
        {k: _definition(base.get(k)) for k in changed},
        {k: _definition(source.get(k)) for k in changed},
        {k: _definition(tips.get(k)) for k in changed},
        {k: tips[k].seq for k in changed if k in tips},
    )


def plan_classes(sides: ClassSides) -> ClassPlan:
    """Every class merged three ways, per class and per member."""
    merges: list[ObjectMerge] = []
    for class_id in sides.class_ids:
        versions = [
            member_states(class_id, d.get(class_id))
            for d in (sides.base, sides.source, sides.target)
        ]
        base, source, target = versions
        for key in class_keys(class_id, *(d.get(class_id) for d in _all(sides))):
            merges.append(
                merge_object(key, base.get(key), source.get(key), target.get(key))
            )
    return ClassPlan(sides, merges)


def _all(sides: ClassSides) -> tuple[Mapping[str, Any], ...]:
    return (sides.base, sides.source, sides.target)


def _definition(event: EventEnvelope | None) -> dict[str, Any] | None:
    if event is None:
        return None
    return dict(event.data["definition"])
