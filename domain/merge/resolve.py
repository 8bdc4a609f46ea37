"""Deciding conflicts: per-field resolutions first, then the strategy, else failure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import FieldError, ValidationFailed
from domain.merge.three_way import (
    Conflict,
    ConflictKind,
    FieldConflict,
    MergeConflict,
    ObjectMerge,
    Side,
    State,
    Strategy,
)


@dataclass(frozen=True, slots=True)
class Resolution:
    """Take one side's value of a conflicting field, or (`take` None) set `value`
    (None clears the field). `index` is its place in the request, for errors."""

    key: str
    field: str
    take: Side | None = None
    value: Any = None
    index: int = 0


def resolve(
    merges: Sequence[ObjectMerge],
    *,
    strategy: Strategy,
    resolutions: Sequence[Resolution] = (),
) -> dict[str, State]:
    """The final state of every merged object, keyed like `merges`.

    Raises ValidationFailed for a resolution that names no conflicting field (or
    one twice, or sides that disagree on deleting), and MergeConflict listing
    what is left unresolved under Strategy.FAIL."""
    chosen = _by_conflict(merges, resolutions)
    final: dict[str, State] = {}
    unresolved: list[Conflict] = []
    for merge in merges:
        if merge.conflict is None:
            final[merge.key] = merge.merged
            continue
        state, left = _decide(merge, chosen.get(merge.key, {}), strategy)
        if left is None:
            final[merge.key] = state
        else:
            unresolved.append(left)
    if unresolved:
        raise MergeConflict(tuple(unresolved))
    return final


def _by_conflict(
    merges: Sequence[ObjectMerge], resolutions: Sequence[Resolution]
) -> dict[str, dict[str, Resolution]]:
    conflicts = {m.key: m.conflict for m in merges if m.conflict is not None}
    chosen: dict[str, dict[str, Resolution]] = {}
    errors: list[FieldError] = []
    for r in resolutions:
        conflict = conflicts.get(r.key)
        path = ("resolutions", str(r.index))
        if conflict is None:
            errors.append(
                _error(path, "not_in_conflict", "the object is not in conflict")
            )
        elif r.field not in {f.name for f in conflict.fields}:
            message = f"field {r.field!r} is not in conflict"
            errors.append(_error((*path, "field"), "not_in_conflict", message))
        elif r.field in chosen.setdefault(r.key, {}):
            message = f"field {r.field!r} is resolved twice"
            errors.append(_error(path, "duplicate_resolution", message))
        else:
            chosen[r.key][r.field] = r
    if errors:
        raise ValidationFailed(errors=errors, summary="invalid conflict resolutions")
    return chosen


def _decide(
    merge: ObjectMerge, chosen: Mapping[str, Resolution], strategy: Strategy
) -> tuple[State, Conflict | None]:
    assert merge.conflict is not None  # noqa: S101 - only conflicts are decided
    if merge.conflict.kind is ConflictKind.DELETE_UPDATE:
        return _decide_delete(merge, merge.conflict, chosen, strategy)
    merged = dict(merge.merged or {})
    left: list[FieldConflict] = []
    for field in merge.conflict.fields:
        resolution = chosen.get(field.name)
        if resolution is not None:
            value = _value(resolution, field)
        elif strategy is Strategy.FAIL:
            left.append(field)
            continue
        else:
            value = field.source if strategy is Strategy.SOURCE else field.target
        _put(merged, field.name, value)
    if left:
        return None, Conflict(merge.key, merge.conflict.kind, tuple(left))
    return merged, None


def _decide_delete(
    merge: ObjectMerge,
    conflict: Conflict,
    chosen: Mapping[str, Resolution],
    strategy: Strategy,
) -> tuple[State, Conflict | None]:
    """Deleting is one decision for the whole object: every resolution of it must
    agree on keeping or deleting; values set fields of the kept version."""
    keeps = {_keeps(merge, r) for r in chosen.values()}
    if len(keeps) > 1:
        first = min(r.index for r in chosen.values())
        message = "resolutions of one delete/update conflict disagree on deleting"
        raise ValidationFailed(
            errors=[_error(("resolutions", str(first)), "inconsistent", message)],
            summary="invalid conflict resolutions",
        )
    if not keeps:
        if strategy is Strategy.FAIL:
            return None, conflict
        return (merge.source if strategy is Strategy.SOURCE else merge.target), None
    if not keeps.pop():
        return None, None
    kept = dict(merge.source if merge.source is not None else merge.target or {})
    for r in chosen.values():
        if r.take is None:
            _put(kept, r.field, r.value)
    return kept, None


def _keeps(merge: ObjectMerge, resolution: Resolution) -> bool:
    if resolution.take is None:
        return True
    side = merge.source if resolution.take is Side.SOURCE else merge.target
    return side is not None


def _value(resolution: Resolution, field: FieldConflict) -> Any:
    if resolution.take is Side.SOURCE:
        return field.source
    if resolution.take is Side.TARGET:
        return field.target
    return resolution.value


def _put(fields: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        fields.pop(name, None)
    else:
        fields[name] = value


def _error(path: tuple[str, ...], code: str, message: str) -> FieldError:
    return FieldError(path, code, message)
