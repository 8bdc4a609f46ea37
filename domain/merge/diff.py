"""Field-level change of one object between two states (SPEC §5.1 branchDiff)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from domain.ids import split_instance_aggregate_id
from domain.merge.instances import class_of, fields_of
from domain.merge.three_way import State


class ChangeKind(enum.Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ObjectChange:
    key: str  # the instance's stream id: the stable order and cursor of a diff
    class_id: str
    instance_id: str
    kind: ChangeKind
    fields: tuple[FieldChange, ...]


def object_change(key: str, before: State, after: State) -> ObjectChange | None:
    """How `after` differs from `before`, field by field; None if it does not."""
    if before == after:
        return None
    if before is None:
        kind, shown = ChangeKind.CREATED, after
    elif after is None:
        kind, shown = ChangeKind.DELETED, before
    else:
        kind, shown = ChangeKind.UPDATED, after
    assert shown is not None  # noqa: S101 - not both None: they differ
    old, new = fields_of(before), fields_of(after)
    fields = tuple(
        FieldChange(name, old.get(name), new.get(name))
        for name in sorted({*old, *new})
        if old.get(name) != new.get(name)
    )
    _, instance_id = split_instance_aggregate_id(key)
    return ObjectChange(key, class_of(shown), instance_id, kind, fields)
