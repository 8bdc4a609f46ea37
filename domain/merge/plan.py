"""A merge of one branch into another, decided from its three sides.

Shared by the merge command (which writes the outcome) and the preview query
(which only shows it): both read the sides the same way, so what a preview
shows is what a merge at the same moment does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain import events as ev
from domain.errors import FieldError, ValidationFailed
from domain.events import EventEnvelope, NewEvent, StreamId
from domain.merge.instances import class_of, merged_instance_event
from domain.merge.integrity import checked_state, references
from domain.merge.resolve import Resolution, resolve
from domain.merge.sides import Setup, Sides, read_sides
from domain.merge.three_way import (
    MergeConflict,
    ObjectMerge,
    Side,
    State,
    Strategy,
    merge_object,
)
from domain.ontology import Ontology
from domain.ports import EventStore, StreamAppend


@dataclass(frozen=True, slots=True)
class Requested:
    """A resolution as the client names it: by class, instance id and field."""

    class_id: str
    instance_id: str
    field: str
    take: Side | None
    value: Any
    index: int


@dataclass(frozen=True, slots=True)
class MergePlan:
    setup: Setup
    sides: Sides
    merges: list[ObjectMerge]

    @property
    def conflicts(self) -> list[ObjectMerge]:
        return [m for m in self.merges if m.conflict is not None]

    def classes(self) -> dict[str, str]:
        """The class of each conflicting object (the target's, if it has one)."""
        return {m.key: class_of(_shown(m)) for m in self.conflicts}


@dataclass(frozen=True, slots=True)
class Write:
    """One instance stream append decided by the merge."""

    key: str
    expected_seq: int
    event: NewEvent


def instance_append(db: str, branch: str, write: Write) -> StreamAppend:
    """The write as an append to its instance stream on `branch`."""
    stream = StreamId(db, branch, ev.INSTANCE, write.key)
    return StreamAppend(
        stream=stream, expected_seq=write.expected_seq, events=[write.event]
    )


async def plan_merge(store: EventStore, merge: Setup) -> MergePlan:
    sides = await read_sides(store, merge)
    merges = [
        merge_object(k, sides.base[k], sides.source[k], sides.target[k])
        for k in sides.keys
    ]
    return MergePlan(merge, sides, merges)


def decide(
    plan: MergePlan, *, strategy: Strategy, requested: Sequence[Requested] = ()
) -> dict[str, State]:
    """The final state of every changed object; MergeConflict names the classes."""
    resolutions = _keyed(plan, requested)
    try:
        return resolve(plan.merges, strategy=strategy, resolutions=resolutions)
    except MergeConflict as conflict:
        raise MergeConflict(conflict.conflicts, plan.classes()) from None


def writes(
    plan: MergePlan, final: Mapping[str, State], ontology: Ontology
) -> list[Write]:
    """The target's appends, each object checked against the target's ontology."""
    return writes_onto(final, plan.sides.target, plan.sides.tips, ontology)


def writes_onto(
    final: Mapping[str, State],
    current: Mapping[str, State],
    tips: Mapping[str, EventEnvelope],
    ontology: Ontology,
    *,
    summary: str = "the merged objects are not valid on the target",
) -> list[Write]:
    """The appends that bring a branch from `current` (its last events `tips`)
    to `final`, each changed object checked against the branch's ontology."""
    found: list[Write] = []
    errors: list[FieldError] = []
    for key, state in final.items():
        if state is not None and state != current.get(key):
            state, problems = checked_state(ontology, key, state)
            errors += problems
        tip = tips.get(key)
        event = merged_instance_event(ontology, key, state, tip)
        if event is not None:
            found.append(Write(key, tip.seq if tip else 0, event))
    if errors:
        raise ValidationFailed(errors=errors, summary=summary)
    return found


def wanted_references(
    final: Mapping[str, State], written: Sequence[Write], ontology: Ontology
) -> list[tuple[tuple[str, ...], str, str]]:
    """(path, target class, target id) of every reject-policy link written."""
    wanted = []
    for write in written:
        state = final.get(write.key)
        if state is not None:
            wanted += [
                (r.path, r.target_class, r.target_id)
                for r in references(ontology, write.key, state)
            ]
    return wanted


def _keyed(plan: MergePlan, requested: Sequence[Requested]) -> list[Resolution]:
    """Client resolutions by object key; naming an object not in conflict is an error."""
    by_subject: dict[tuple[str, str], str] = {}
    for merge in plan.conflicts:
        instance_id = merge.key.partition("/")[2]
        for side in (merge.source, merge.target):
            if side is not None:
                by_subject[(class_of(side), instance_id)] = merge.key
    keyed: list[Resolution] = []
    errors: list[FieldError] = []
    for r in requested:
        key = by_subject.get((r.class_id, r.instance_id))
        if key is None:
            message = f"{r.class_id} {r.instance_id!r} is not in conflict"
            errors.append(
                FieldError(("resolutions", str(r.index)), "not_in_conflict", message)
            )
        else:
            keyed.append(Resolution(key, r.field, r.take, r.value, r.index))
    if errors:
        raise ValidationFailed(errors=errors, summary="invalid conflict resolutions")
    return keyed


def _shown(merge: ObjectMerge) -> Mapping[str, Any]:
    shown = merge.target if merge.target is not None else merge.source
    assert shown is not None  # noqa: S101 - a conflict has a live side
    return shown
