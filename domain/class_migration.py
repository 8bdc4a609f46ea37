"""Carrying out a class change's migration plan: one full-state instance event per
live instance the steps change, appended with the class event so that the change
and its data move together (or not at all), and replayed like any other write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain import events as ev
from domain.errors import FieldError, ValidationFailed
from domain.events import EventEnvelope, NewEvent, StreamId
from domain.instance_handlers import state_payload
from domain.instances import validate_instance
from domain.ontology import ClassDef, Ontology
from domain.ontology.convert import ConversionError
from domain.ontology.migration import Step, apply_steps
from domain.ports import EventStore, StreamAppend
from domain.write_model import BranchContext

# One append holds the class event and every migrated instance: above this the
# batch (and the transaction holding the branch's lock) grows past what a
# request should hold; such classes need an offline migration.
MAX_MIGRATED = 10_000
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Migration:
    appends: list[StreamAppend]
    # The instance position the states were read at: quiet_since for the append.
    read_at: int


async def migrate_instances(
    store: EventStore, ctx: BranchContext, classdef: ClassDef, steps: list[Step]
) -> Migration:
    """The instance appends of `steps`; ValidationFailed naming every instance
    whose values do not convert or do not fit the new class."""
    new = ctx.ontology.with_class(classdef)
    read_at = (await store.last_positions()).get(ctx.db, 0)
    tips = await _live_tips(store, ctx, classdef.id, read_at)
    if len(tips) > MAX_MIGRATED:
        raise _refused([FieldError(("migration_plan",), "too_many_instances",
                        f"{len(tips)} instances exceed the limit of {MAX_MIGRATED}")])  # fmt: skip
    types = _new_types(new, classdef.id)
    appends: list[StreamAppend] = []
    errors: list[FieldError] = []
    for tip in tips:
        try:
            event = _migrated(new, tip, steps, types)
        except ValidationFailed as failed:
            errors += failed.errors
            continue
        if event is not None:
            stream = StreamId(ctx.db, ctx.branch, ev.INSTANCE, tip.aggregate_id)
            appends.append(
                StreamAppend(stream=stream, expected_seq=tip.seq, events=[event])
            )
    if errors:
        raise _refused(errors)
    return Migration(appends, read_at)


def _migrated(
    ontology: Ontology, tip: EventEnvelope, steps: list[Step], types: Mapping[str, str]
) -> NewEvent | None:
    """The instance's event after the steps, None if they change nothing."""
    class_id, instance_id = str(tip.data["class_id"]), str(tip.data["instance_id"])
    path = ("instances", class_id, instance_id)
    old = tip.data["values"]
    try:
        values = apply_steps(steps, old, types)
    except ConversionError as error:
        raise _refused([FieldError(path, "conversion_failed", str(error))]) from None
    check = validate_instance(
        ontology, class_id, {**values, **tip.data["links"]}, partial=False
    )
    errors = [FieldError((*path, *e.path), e.code, e.message) for e in check.errors]
    if not errors and check.instance_id != instance_id:
        errors.append(FieldError(path, "instance_id_changed", "the key would change"))
    if errors:
        raise _refused(errors)
    if check.values == old:
        return None
    payload = state_payload(class_id, instance_id, check.values, check.links)
    payload["changed"] = sorted(
        set(old) ^ set(check.values) | _differing(old, check.values)
    )
    payload["created_at"] = tip.data.get("created_at") or tip.occurred_at.isoformat()
    return NewEvent(event_type=ev.INSTANCE_UPDATED, data=payload)


def _differing(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    return {k for k in old.keys() & new.keys() if old[k] != new[k]}


async def _live_tips(
    store: EventStore, ctx: BranchContext, class_id: str, read_at: int
) -> list[EventEnvelope]:
    """Last events of the live instances of the class and its subclasses."""
    classes = set(ctx.ontology.subclasses(class_id))
    ancestors = ctx.ontology.ancestors(class_id)
    root = ancestors[-1] if ancestors else class_id
    ids = await store.changed_streams(
        ctx.db, ctx.branch, ev.INSTANCE, after_position=0, until_position=read_at
    )
    wanted = [i for i in ids if i.partition("/")[0] == root]
    tips: list[EventEnvelope] = []
    for start in range(0, len(wanted), _CHUNK):
        streams = [
            StreamId(ctx.db, ctx.branch, ev.INSTANCE, i)
            for i in wanted[start : start + _CHUNK]
        ]
        found = await store.last_events(streams, as_of=read_at)
        tips += [
            tip
            for tip in found.values()
            if tip.event_type != ev.INSTANCE_DELETED and tip.data["class_id"] in classes
        ]
    return sorted(tips, key=lambda tip: tip.aggregate_id)


def _new_types(ontology: Ontology, class_id: str) -> dict[str, str]:
    """Property name -> family of scalar properties after the change (arrays are
    left to instance validation)."""
    return {
        p.name: p.type.family.value
        for p in ontology.effective_properties(class_id)
        if not p.type.is_array
    }


def _refused(errors: list[FieldError]) -> ValidationFailed:
    return ValidationFailed(
        errors=errors, summary="the migration plan does not fit existing instances"
    )
