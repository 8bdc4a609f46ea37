"""What a merge checks before it writes, shared by the command and its preview."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from domain import events as ev
from domain.errors import FieldError, ValidationFailed
from domain.events import StreamId
from domain.ids import instance_aggregate_id
from domain.merge.base import check_direction
from domain.merge.instances import class_of, instance_state
from domain.merge.plan import MergePlan, Write, wanted_references
from domain.merge.sides import Setup, setup
from domain.merge.three_way import State
from domain.ontology import Ontology
from domain.ports import EventStore
from domain.write_model import BranchContext


class Branches(Protocol):
    """The write model, as far as a merge needs it."""

    async def branch_context(self, db: str, branch: str) -> BranchContext: ...


async def prepare(
    branches: Branches, store: EventStore, db: str, source: str, target: str
) -> tuple[BranchContext, Setup]:
    """Both branches exist (NotFoundError), the direction makes sense
    (ValidationFailed), and the merge base is found."""
    await branches.branch_context(db, source)
    ctx = await branches.branch_context(db, target)
    check_direction(
        source=source, target=target, target_lineage=await store.lineage(db, target)
    )
    return ctx, await setup(store, db, source, target)


async def check_references(
    store: EventStore,
    ctx: BranchContext,
    plan: MergePlan,
    final: Mapping[str, State],
    planned: Sequence[Write],
) -> None:
    """Links with the `reject` policy must reach an object of the target class (or
    a subclass) that is live on the target after the merge."""
    await check_links(store, ctx, plan.setup.snapshot, final, planned)


async def check_links(
    store: EventStore,
    ctx: BranchContext,
    snapshot: int,
    final: Mapping[str, State],
    planned: Sequence[Write],
) -> None:
    """As `check_references`, for writes onto `ctx.branch` read as of `snapshot`."""
    wanted = wanted_references(final, planned, ctx.ontology)
    keys = {_key(ctx.ontology, cls, i) for _, cls, i in wanted}
    classes = await _live_classes(store, ctx, snapshot, final, keys)
    errors = [
        FieldError(path, "dangling_reference", f"{cls} {i!r} does not exist")
        for path, cls, i in wanted
        if classes.get(_key(ctx.ontology, cls, i)) not in ctx.ontology.subclasses(cls)
    ]
    if errors:
        raise ValidationFailed(
            errors=errors, summary="the merge would leave links to missing objects"
        )


async def _live_classes(
    store: EventStore,
    ctx: BranchContext,
    snapshot: int,
    final: Mapping[str, State],
    keys: set[str],
) -> dict[str, str]:
    """The class of each object among `keys` live on the target after the merge."""
    found = {k: class_of(s) for k in keys if (s := final.get(k)) is not None}
    rest = sorted(k for k in keys if k not in final)
    streams = [StreamId(ctx.db, ctx.branch, ev.INSTANCE, k) for k in rest]
    tips = await store.last_events(streams, as_of=snapshot)
    for stream, tip in tips.items():
        state = instance_state(tip)
        if state is not None:
            found[stream.aggregate_id] = class_of(state)
    return found


def _key(ontology: Ontology, class_id: str, instance_id: str) -> str:
    ancestors = ontology.ancestors(class_id)
    return instance_aggregate_id(ancestors[-1] if ancestors else class_id, instance_id)
