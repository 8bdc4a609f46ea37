"""Class changes in a branch diff: one node per changed class or member.

A node's `class_id` is the class and its `instance_id` the member, as merge
conflicts name them (classes.py): `@class` for the class's own fields,
`@property.<name>`, `@relationship.<predicate>`. Fields are the member's
(`type`, `required`, `constraints`, ...), compared whole as instance fields are.
"""

from __future__ import annotations

from domain.merge.class_sides import read_class_sides
from domain.merge.classes import class_keys, member_states, split_ontology_key
from domain.merge.diff import ChangeKind, FieldChange, ObjectChange
from domain.merge.sides import Setup
from domain.merge.three_way import State
from domain.ports import EventStore


async def class_changes(store: EventStore, merge: Setup) -> list[ObjectChange]:
    """What the source changed in its classes since the base, by key."""
    sides = await read_class_sides(store, merge, with_target=False)
    changes: list[ObjectChange] = []
    for class_id in sides.class_ids:
        before = member_states(class_id, sides.base.get(class_id))
        after = member_states(class_id, sides.source.get(class_id))
        for key in class_keys(
            class_id, sides.base.get(class_id), sides.source.get(class_id)
        ):
            change = member_change(key, before.get(key), after.get(key))
            if change is not None:
                changes.append(change)
    return changes


def member_change(key: str, before: State, after: State) -> ObjectChange | None:
    """How a class member differs, field by field; None if it does not."""
    if before == after:
        return None
    if before is None:
        kind = ChangeKind.CREATED
    elif after is None:
        kind = ChangeKind.DELETED
    else:
        kind = ChangeKind.UPDATED
    old, new = before or {}, after or {}
    fields = tuple(
        FieldChange(name, old.get(name), new.get(name))
        for name in sorted({*old, *new})
        if old.get(name) != new.get(name)
    )
    class_id, member = split_ontology_key(key)
    return ObjectChange(key, class_id, member, kind, fields)
