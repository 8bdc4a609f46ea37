"""Reads over branches: the diff since the merge base, and a merge's preview."""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.errors import ValidationFailed
from domain.merge.checks import Branches, check_references, prepare
from domain.merge.class_diff import class_changes
from domain.merge.class_merge import MergedOntology
from domain.merge.diff import ObjectChange, object_change
from domain.merge.full import Decided, FullPlan, decide_full, plan_full, target_ontology
from domain.merge.plan import MergePlan, writes
from domain.merge.sides import Setup, read_sides, setup
from domain.merge.three_way import ObjectMerge, State, Strategy
from domain.merge.unique import taken_keys, taken_message, write_claims
from domain.ontology import Ontology, lint
from domain.ports import EventStore
from domain.write_model import BranchContext


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    message: str


@dataclass(frozen=True, slots=True)
class Preview:
    """`changes` counts the objects the merge changes on the target with every
    conflict decided for the target: what it changes at least."""

    changes: int
    conflicts: list[ObjectMerge]
    classes: dict[str, str]  # the class of each conflicting object, by key
    checks: list[Check]

    @property
    def mergeable(self) -> bool:
        return all(c.passed for c in self.checks)


async def branch_diff(
    branches: Branches, store: EventStore, db: str, *, from_: str, to: str
) -> list[ObjectChange]:
    """What `to` changed since its merge base with `from_` (git's from...to),
    ordered by instance stream id."""
    await branches.branch_context(db, from_)
    await branches.branch_context(db, to)
    if from_ == to:
        return []
    merge = await setup(store, db, source=to, target=from_)
    sides = await read_sides(store, merge, with_target=False)
    changes = (object_change(k, sides.base[k], sides.source[k]) for k in sides.keys)
    # Class changes first: their keys sort before every instance stream id.
    return [*await class_changes(store, merge), *(c for c in changes if c)]


async def merge_preview(
    branches: Branches, store: EventStore, db: str, *, source: str, target: str
) -> Preview:
    """What merging `source` into `target` would do now, without writing."""
    ctx, merge = await prepare(branches, store, db, source, target)
    full = await plan_full(store, merge)
    conflicts = [*full.classes.conflicts, *full.instances.conflicts]
    decided = decide_full(full, strategy=Strategy.TARGET)
    onto, ontology = await _ontology_check(store, merge, ctx, full, decided)
    plan, final = full.instances, decided.instances
    changes = sum(1 for k, s in final.items() if s != plan.sides.target.get(k))
    changes += len(onto.writes) if onto else 0
    if onto is not None:
        ctx = replace(ctx, ontology=onto.ontology)
    checks = [
        ontology,
        Check("conflicts", not conflicts, f"{len(conflicts)} objects in conflict"),
        *await _write_checks(store, ctx, plan, final),
    ]
    return Preview(changes, conflicts, full.conflict_classes(), checks)


async def _ontology_check(
    store: EventStore,
    merge: Setup,
    ctx: BranchContext,
    full: FullPlan,
    decided: Decided,
) -> tuple[MergedOntology | None, Check]:
    """The merged ontology (None if refused) and the check that says so."""
    try:
        onto = await target_ontology(
            store, merge, ctx.ontology, full, decided.definitions
        )
    except ValidationFailed as failure:
        return None, Check("ontology", False, _described(failure))
    count = len(onto.writes)
    message = (
        f"{count} merged classes are valid, not breaking and lint clean"
        if count
        else "the merge changes no classes on the target"
    )
    return onto, Check("ontology", True, message)


async def _write_checks(
    store: EventStore,
    ctx: BranchContext,
    plan: MergePlan,
    final: dict[str, State],
) -> list[Check]:
    """The merged objects' validity on the target, then their links."""
    try:
        planned = writes(plan, final, ctx.ontology)
    except ValidationFailed as failure:
        return [Check("valid", False, _described(failure))]
    valid = Check("valid", True, "the merged objects are valid on the target")
    try:
        await check_references(store, ctx, plan, final, planned)
    except ValidationFailed as failure:
        return [valid, Check("references", False, _described(failure))]
    links = Check("references", True, "every required link target exists")
    claims = write_claims(ctx.ontology, planned, plan.sides.tips)
    taken = await taken_keys(store, ctx.db, ctx.branch, claims)
    if taken:
        return [valid, links, Check("unique", False, taken_message(taken))]
    unique = Check("unique", True, "primary keys and unique properties hold")
    return [valid, links, unique]


def lint_check(ontology: Ontology) -> Check:
    """`ontology` (a merge's target after it) has no lint errors; warnings do
    not block. A proposal check: a plain merge refuses only the lint errors it
    brings (class_merge.py), a proposal any."""
    errors = [i for i in lint(ontology) if i.severity == "error"]
    if not errors:
        return Check("lint", True, "the ontology has no lint errors")
    shown = "; ".join(f"{i.class_id}: {i.message}" for i in errors[:5])
    return Check("lint", False, f"{len(errors)} lint errors: {shown}")


def _described(failure: ValidationFailed) -> str:
    """The failure and its first problems, for a person reading the preview."""
    details = "; ".join(f"{'.'.join(e.path)}: {e.message}" for e in failure.errors[:5])
    return f"{failure.message}: {details}" if details else failure.message
