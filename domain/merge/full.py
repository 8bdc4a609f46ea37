"""A merge of classes and instances together, decided as one.

Conflicts of both kinds are reported together (a client sees them all at
once), and the instances are checked against the merged ontology: an instance
of a class the merge brings validates against that class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.merge.class_merge import (
    MergedOntology,
    class_resolution,
    decide_classes,
    merged_ontology,
)
from domain.merge.class_sides import (
    ClassPlan,
    Definitions,
    plan_classes,
    read_class_sides,
)
from domain.merge.classes import is_ontology_id
from domain.merge.plan import MergePlan, Requested, decide, plan_merge
from domain.merge.sides import Setup
from domain.merge.three_way import Conflict, MergeConflict, State, Strategy
from domain.ontology import Ontology
from domain.ports import EventStore


@dataclass(frozen=True, slots=True)
class FullPlan:
    classes: ClassPlan
    instances: MergePlan

    def conflict_classes(self) -> dict[str, str]:
        """The class of each conflicting object or class member, by key."""
        return {**self.classes.classes(), **self.instances.classes()}


@dataclass(frozen=True, slots=True)
class Decided:
    definitions: Definitions
    instances: dict[str, State]


async def plan_full(store: EventStore, merge: Setup) -> FullPlan:
    classes = plan_classes(await read_class_sides(store, merge))
    return FullPlan(classes, await plan_merge(store, merge))


def decide_full(
    plan: FullPlan, *, strategy: Strategy, requested: Sequence[Requested] = ()
) -> Decided:
    """Both merges decided; MergeConflict lists the conflicts left in either."""
    on_classes = [r for r in requested if is_ontology_id(r.instance_id)]
    on_objects = [r for r in requested if not is_ontology_id(r.instance_id)]
    resolutions = [
        class_resolution(r.class_id, r.instance_id, r.field, r.take, r.value, r.index)
        for r in on_classes
    ]
    left: list[Conflict] = []
    definitions: Definitions = {}
    instances: dict[str, State] = {}
    try:
        definitions = decide_classes(
            plan.classes, strategy=strategy, resolutions=resolutions
        )
    except MergeConflict as conflict:
        left += conflict.conflicts
    try:
        instances = decide(plan.instances, strategy=strategy, requested=on_objects)
    except MergeConflict as conflict:
        left += conflict.conflicts
    if left:
        raise MergeConflict(tuple(left), plan.conflict_classes())
    return Decided(definitions, instances)


async def target_ontology(
    store: EventStore,
    merge: Setup,
    target: Ontology,
    plan: FullPlan,
    definitions: Definitions,
) -> MergedOntology:
    """The target's ontology with the merged classes, checked (ValidationFailed)."""
    return await ontology_onto(
        store,
        merge.db,
        merge.target,
        target,
        definitions,
        seqs=plan.classes.sides.seqs,
    )


async def ontology_onto(
    store: EventStore,
    db: str,
    branch: str,
    current: Ontology,
    definitions: Definitions,
    *,
    seqs: Mapping[str, int],
) -> MergedOntology:
    """`branch`'s ontology `current` with the merged classes, whose streams
    are at `seqs` there, checked against the branch's data."""
    with_data = frozenset(
        [
            k
            for k in definitions
            if k in current and await _has_data(store, db, branch, current, k)
        ]
    )
    return merged_ontology(current, definitions, seqs, with_data=with_data)


async def _has_data(
    store: EventStore, db: str, branch: str, ontology: Ontology, class_id: str
) -> bool:
    # Instances live in the streams of their root class (as class_handlers asks).
    ancestors = ontology.ancestors(class_id)
    root = ancestors[-1] if ancestors else class_id
    return await store.has_instances(db, branch, f"{root}/")
