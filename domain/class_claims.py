"""Unique keys of existing instances when their class changes: a property made
unique or a relationship made exclusive claims what the branch already holds
(refused if two instances share a key), the reverse frees it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import events as ev
from domain.claims import (
    CARDINALITY_VIOLATION,
    TARGET,
    UNIQUE_VIOLATION,
    Claim,
    class_change_claims,
    rescoped,
    split_scope,
)
from domain.errors import ClaimTaken, FieldError, ValidationFailed
from domain.events import StreamId
from domain.ids import split_instance_aggregate_id
from domain.ontology import ClassDef, Ontology
from domain.ports import EventStore
from domain.write_model import BranchContext

_CHUNK = 500


async def claims_for_change(
    store: EventStore, ctx: BranchContext, classdef: ClassDef
) -> tuple[list[Claim], dict[str, int]]:
    """The claims that keep the branch's keys right once `classdef` replaces its
    class, and the quiet_since guard of the instances they were read from (an
    instance written after the read would escape them: the append then fails
    with ConcurrencyConflict and the command may be retried)."""
    old = ctx.ontology
    new = old.with_class(classdef)
    classes = rescoped(old, new, classdef.id)
    if not classes:
        return [], {}
    read_at = (await store.last_positions()).get(ctx.db, 0)
    roots = {_root(old, k) for k in classes} | {_root(new, k) for k in classes}
    states = await _live_states(store, ctx, roots, read_at)
    return class_change_claims(old, new, classes, states), {ev.INSTANCE: read_at}


def shared_keys(taken: ClaimTaken) -> ValidationFailed:
    """Existing instances that share a key the change would make unique."""
    errors = []
    for key in taken.taken:
        kind, _, member = split_scope(key.scope)
        first = " ".join(split_instance_aggregate_id(key.owner))
        second = " ".join(split_instance_aggregate_id(key.claimant))
        if kind == TARGET:
            path, code = ("relationships", member, "cardinality"), CARDINALITY_VIOLATION
            message = f"{first} and {second} both link to {key.key} through {member}"
        else:
            path, code = ("properties", member, "unique"), UNIQUE_VIOLATION
            message = f"{first} and {second} share the {member} {key.key}"
        errors.append(FieldError(path, code, message))
    return ClaimTaken(
        errors=errors,
        summary="existing instances break the change: fix them first",
        code=taken.code,
        taken=taken.taken,
    )


async def _live_states(
    store: EventStore, ctx: BranchContext, roots: set[str], read_at: int
) -> list[tuple[str, Mapping[str, Any]]]:
    """(stream id, last event data) of every live instance under the roots."""
    ids = await store.changed_streams(
        ctx.db, ctx.branch, ev.INSTANCE, after_position=0, until_position=read_at
    )
    wanted = [i for i in ids if i.partition("/")[0] in roots]
    states: list[tuple[str, Mapping[str, Any]]] = []
    for start in range(0, len(wanted), _CHUNK):
        streams = [
            StreamId(ctx.db, ctx.branch, ev.INSTANCE, i)
            for i in wanted[start : start + _CHUNK]
        ]
        tips = await store.last_events(streams, as_of=read_at)
        states += [
            (stream.aggregate_id, tip.data)
            for stream, tip in tips.items()
            if tip.event_type != ev.INSTANCE_DELETED
        ]
    return states


def _root(ontology: Ontology, class_id: str) -> str:
    ancestors = ontology.ancestors(class_id)
    return ancestors[-1] if ancestors else class_id
