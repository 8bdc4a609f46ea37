"""Rebase: a branch's own changes replayed onto the current head of its parent.

How it is done here. The branch's lineage (adapters/event_store) keeps its
original fork limit: moving it would make the parent's newer events visible
under the branch's older ones, and the read models pick a stream's highest seq
(graph store) or the nearest branch's document (search index), so the moved
view would be wrong until every stream was rewritten — and the store checks a
batch's expected seqs against the lineage before the batch, so the rewrite
could not be appended atomically with the move. Instead the branch receives,
in one append, the full state of every object that differs from "the parent's
head with the branch's changes replayed on it", and a `branch.rebased.v1`
record on its merge stream of the parent. That record makes the parent's head
the merge base (base.py reads it like a merge record), so `branchDiff` and the
next merge see only the branch's own changes since: the new fork point after
a rebase. The cost is copy-on-rebase: one event per object the parent changed
since the old base.

The sides are those of a merge of the branch into its parent: the branch is
the source, the parent the target, so a rebase reports the conflicts a
`mergePreview` of the branch shows, and SOURCE keeps the branch's value.
"""

from __future__ import annotations

from dataclasses import replace

from domain import events as ev
from domain.errors import FieldError, ValidationFailed
from domain.merge.checks import Branches
from domain.merge.class_sides import plan_classes, read_class_sides
from domain.merge.full import FullPlan
from domain.merge.plan import MergePlan
from domain.merge.sides import Setup, changed_keys, read_sides, setup
from domain.merge.three_way import merge_object
from domain.ports import EventStore
from domain.write_model import BranchContext


async def prepare_rebase(
    branches: Branches, store: EventStore, db: str, branch: str, onto: str
) -> tuple[BranchContext, Setup]:
    """Both branches exist (NotFoundError) and `onto` is the branch's parent."""
    ctx = await branches.branch_context(db, branch)
    await branches.branch_context(db, onto)
    lineage = await store.lineage(db, branch)
    parent = lineage[1].branch if len(lineage) > 1 else None
    if parent != onto:
        message = (
            f"{branch!r} has no parent to rebase onto"
            if parent is None
            else f"{branch!r} can be rebased onto its parent {parent!r} only"
        )
        raise ValidationFailed(
            errors=[FieldError(("onto",), "not_parent", message)], summary=message
        )
    return ctx, await setup(store, db, source=branch, target=onto)


async def plan_rebase(store: EventStore, merge: Setup) -> FullPlan:
    """Every class and object either side changed since the base, merged three
    ways: the parent's class changes are replayed onto the branch like its
    objects, by the rules of a merge (class_merge.py)."""
    keys = await _changed_by_either(store, merge, ev.INSTANCE)
    sides = await read_sides(store, merge, keys=keys)
    merges = [
        merge_object(k, sides.base[k], sides.source[k], sides.target[k])
        for k in sides.keys
    ]
    class_ids = await _changed_by_either(store, merge, ev.CLASS)
    classes = plan_classes(await read_class_sides(store, merge, class_ids=class_ids))
    return FullPlan(classes, MergePlan(merge, sides, merges))


async def _changed_by_either(
    store: EventStore, merge: Setup, aggregate_type: str
) -> list[str]:
    keys = set(await changed_keys(store, merge, aggregate_type))
    keys |= set(await changed_keys(store, _mirrored(merge), aggregate_type))
    return sorted(keys)


def _mirrored(merge: Setup) -> Setup:
    """The same base seen from the parent: where the parent's changes are."""
    return replace(merge, source=merge.target, target=merge.source)
