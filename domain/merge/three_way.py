"""Three-way merge of objects, each a flat map of field values, against their base.

An object is `None` when it is absent (never created, or deleted). Per object: a
side that left it as the base had it takes the other side's version; otherwise
fields merge one by one, and a field both sides changed to different values is an
UPDATE_UPDATE conflict. One side deleting what the other changed is a
DELETE_UPDATE conflict, decided for the whole object. Field values are compared
whole (a to-many link list is one value), as the SPEC asks: "per field".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError

Fields = Mapping[str, Any]
State = Fields | None


class Side(enum.Enum):
    SOURCE = "SOURCE"
    TARGET = "TARGET"


class Strategy(enum.Enum):
    """What unresolved conflicts do: fail the merge, or take one side's value."""

    FAIL = "FAIL"
    SOURCE = "SOURCE"
    TARGET = "TARGET"


class ConflictKind(enum.Enum):
    UPDATE_UPDATE = "UPDATE_UPDATE"
    DELETE_UPDATE = "DELETE_UPDATE"


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """One field of a conflict; a deleting side's value is None."""

    name: str
    base: Any
    source: Any
    target: Any


@dataclass(frozen=True, slots=True)
class Conflict:
    key: str
    kind: ConflictKind
    fields: tuple[FieldConflict, ...]


@dataclass(frozen=True, slots=True)
class ObjectMerge:
    """The merge of one object: `merged` is final when `conflict` is None; with a
    conflict it holds the cleanly merged fields (conflicting ones at the target's
    value) and the three versions needed to decide it."""

    key: str
    merged: State
    conflict: Conflict | None = None
    source: State = None
    target: State = None


class MergeConflict(DomainError):
    """Conflicts left unresolved under the FAIL strategy: nothing was written."""

    code = "merge_conflict"

    def __init__(
        self, conflicts: tuple[Conflict, ...], classes: Mapping[str, str] | None = None
    ) -> None:
        count = len(conflicts)
        noun = "object" if count == 1 else "objects"
        super().__init__(f"{count} {noun} changed on both sides since the merge base")
        self.conflicts = conflicts
        # The class of each conflicting object by key, where the caller knows it.
        self.classes: Mapping[str, str] = classes or {}


def merge_object(key: str, base: State, source: State, target: State) -> ObjectMerge:
    if source in (base, target):
        return ObjectMerge(key, target)
    if target == base:
        return ObjectMerge(key, source)
    if source is None or target is None:
        return _delete_update(key, base, source, target)
    return _merge_fields(key, base or {}, source, target)


def _delete_update(key: str, base: State, source: State, target: State) -> ObjectMerge:
    """One side deleted, the other changed: the conflict lists the fields the
    changing side changed. (The base is live: had it been absent, the deleting
    side would equal it and no conflict would arise.)"""
    live = source if source is not None else target
    assert live is not None  # noqa: S101 - merge_object handled "both deleted"
    before = base or {}
    names = sorted(n for n in {*before, *live} if before.get(n) != live.get(n))
    fields = tuple(
        FieldConflict(
            name,
            before.get(name),
            None if source is None else source.get(name),
            None if target is None else target.get(name),
        )
        for name in names
    )
    conflict = Conflict(key, ConflictKind.DELETE_UPDATE, fields)
    return ObjectMerge(key, target, conflict, source, target)


def _merge_fields(
    key: str, base: Fields, source: Fields, target: Fields
) -> ObjectMerge:
    merged: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for name in sorted({*base, *source, *target}):
        b, s, t = base.get(name), source.get(name), target.get(name)
        if s in (b, t):
            value = t
        elif t == b:
            value = s
        else:
            conflicts.append(FieldConflict(name, b, s, t))
            value = t
        if value is not None:
            merged[name] = value
    if not conflicts:
        return ObjectMerge(key, merged)
    conflict = Conflict(key, ConflictKind.UPDATE_UPDATE, tuple(conflicts))
    return ObjectMerge(key, merged, conflict, source, target)
