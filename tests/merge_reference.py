"""A reference three-way merge of plain dicts, written as patches against the base.

The domain merges field by field from the three versions; this reference states
the same rule the other way round (each side's changes as a patch, conflicts as
patches that disagree), so the model tests compare two formulations.
"""

from __future__ import annotations

from typing import Any

from domain.merge.three_way import ConflictKind, State, Strategy


def patch(base: State, side: State) -> dict[str, Any]:
    """What a side set (None: removed) relative to the base object."""
    before, after = base or {}, side or {}
    return {n: after.get(n) for n in {*before, *after} if before.get(n) != after.get(n)}


def applied(base: State, changes: dict[str, Any]) -> dict[str, Any]:
    result = dict(base or {})
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def reference(
    b: State, s: State, t: State, strategy: Strategy
) -> tuple[State, tuple[ConflictKind, set[str]] | None]:
    """(merged, None) for a clean merge; else (the state the strategy's side
    gives, (kind, conflicting field names))."""
    if s == b:
        return t, None
    if t == b or s == t:
        return s, None
    if s is None or t is None:
        names = set(patch(b, s if s is not None else t))
        taken = s if strategy is Strategy.SOURCE else t
        return taken, (ConflictKind.DELETE_UPDATE, names)
    sc, tc = patch(b, s), patch(b, t)
    clash = {n for n in sc.keys() & tc.keys() if sc[n] != tc[n]}
    order = (tc, sc) if strategy is Strategy.SOURCE else (sc, tc)
    merged = applied(b, {**order[0], **order[1]})
    return merged, ((ConflictKind.UPDATE_UPDATE, clash) if clash else None)
