"""Where two branches' histories meet: the fork point, or the last merge between them.

A snapshot of a branch is its lineage read as of a position. Two branches share
the snapshot of their nearest common ancestor branch at the smaller of the two
fork limits (the fork point). A merge records the source snapshot it brought in;
from then on that snapshot is a common ancestor of both branches (git's merge
base), so a second merge compares against it and brings only what changed since.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from domain.errors import FieldError, ValidationFailed
from domain.events import EventEnvelope, NewEvent
from domain.ports import BranchSpan

MERGE: Final = "merge"  # aggregate type: on the target, one stream per source branch
BRANCH_MERGED: Final = "branch.merged.v1"
# A rebase of a branch onto its parent: recorded on the branch's merge stream of
# the parent with the same fields as a merge record (source = the parent).
BRANCH_REBASED: Final = "branch.rebased.v1"


@dataclass(frozen=True, slots=True)
class MergeBase:
    """The base is `branch` as of `position`; `fork` is where the two histories
    part, below which both branches see the same events."""

    branch: str
    position: int
    fork: int


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A recorded merge of `source` (as of `source_position`) into `target`."""

    source: str
    target: str
    source_position: int
    recorded_at: int  # the record's own position


@dataclass(frozen=True, slots=True)
class Window:
    """Events of `branch`'s lineage at positions in (after, until]."""

    branch: str
    after: int
    until: int


def fork_position(source: Sequence[BranchSpan], target: Sequence[BranchSpan]) -> int:
    """The last position both lineages see alike: the nearest common branch's
    smaller fork limit. Every lineage ends at main, so one is always shared."""
    limits = {span.branch: span.until_position for span in target}
    for span in source:
        if span.branch in limits:
            found = [
                p for p in (span.until_position, limits[span.branch]) if p is not None
            ]
            return min(found) if found else 0
    return 0


def merge_base(
    *,
    source: str,
    target: str,
    source_lineage: Sequence[BranchSpan],
    target_lineage: Sequence[BranchSpan],
    into_target: Iterable[MergeRecord],
    into_source: Iterable[MergeRecord],
) -> MergeBase:
    """The most recent snapshot both branches contain.

    `into_target` are merges visible on the target of a branch of the source's
    lineage (the source itself, or an ancestor: a stacked branch whose parent
    was merged before); each makes that branch's snapshot, as far as the source
    sees it, common to both. `into_source` likewise the other way. Without
    records the base is the fork point; of the two directions, the later
    merge wins."""
    fork = fork_position(source_lineage, target_lineage)
    found = [
        c
        for c in (
            _best(into_target, source, source_lineage, fork),
            _best(into_source, target, target_lineage, fork),
        )
        if c is not None
    ]
    if not found:
        return MergeBase(source, fork, fork)
    return max(found, key=lambda c: c[0])[1]


def _best(
    records: Iterable[MergeRecord],
    branch: str,
    lineage: Sequence[BranchSpan],
    fork: int,
) -> tuple[int, MergeBase] | None:
    """(recorded at, base) of the latest snapshot of `branch` the records bring
    in. A record of an ancestor counts as far as `branch` sees that ancestor:
    below its fork limit the two histories are one."""
    limits = {span.branch: span.until_position for span in lineage}
    found = []
    for record in records:
        if record.source not in limits:
            continue
        limit = limits[record.source]
        seen = (
            record.source_position
            if limit is None
            else min(record.source_position, limit)
        )
        position = max(seen, fork)
        found.append((position, record.recorded_at, MergeBase(branch, position, fork)))
    if not found:
        return None
    _, recorded_at, base = max(found, key=lambda f: (f[0], f[1]))
    return recorded_at, base


def change_windows(base: MergeBase, *, source: str, snapshot: int) -> list[Window]:
    """Where to look for objects whose state on `source` may differ from the base.

    When the base is a snapshot of the source itself, only its later events can.
    Otherwise both the source and the base branch may have moved since the fork,
    and below the fork both equal their common ancestor."""
    if base.branch == source:
        return [Window(source, base.position, snapshot)]
    return [
        Window(source, base.fork, snapshot),
        Window(base.branch, base.fork, base.position),
    ]


def record_of(event: EventEnvelope) -> MergeRecord:
    data = event.data
    return MergeRecord(
        source=str(data["source"]),
        target=str(data["target"]),
        source_position=int(data["source_position"]),
        recorded_at=event.position,
    )


def merged_event(
    *, source: str, target: str, snapshot: int, base: MergeBase, data: dict[str, Any]
) -> NewEvent:
    """The record of a merge; `data` adds what the merge did (counts, strategy)."""
    payload = {
        "source": source,
        "target": target,
        "source_position": snapshot,
        "base_branch": base.branch,
        "base_position": base.position,
        **data,
    }
    return NewEvent(event_type=BRANCH_MERGED, data=payload)


def check_direction(
    *, source: str, target: str, target_lineage: Sequence[BranchSpan]
) -> None:
    """A branch merges into another that does not already contain it: not into
    itself, nor into a branch forked from it (or from its descendants)."""
    if source == target:
        raise _invalid("same_branch", f"cannot merge {source!r} into itself")
    if any(span.branch == source for span in target_lineage[1:]):
        message = f"{target!r} descends from {source!r}, so it is not a merge target"
        raise _invalid("target_descends_from_source", message)


def _invalid(code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        errors=[FieldError(("target",), code, message)], summary=message
    )
