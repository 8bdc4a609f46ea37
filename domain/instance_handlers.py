"""Handlers of instance commands: create, patch, delete, bulk create and upsert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain import commands as c
from domain import events as ev
from domain.appender import Appender
from domain.commands import CommandMeta, Receipt
from domain.errors import (
    ClaimTaken,
    ConcurrencyConflict,
    FieldError,
    NotFoundError,
    ValidationFailed,
)
from domain.events import EventEnvelope, NewEvent, StreamId
from domain.ids import instance_aggregate_id
from domain.instance_claims import located, write_claims
from domain.instances import InstanceCheck, checked_state, validate_instance
from domain.ontology import Ontology
from domain.ports import StreamAppend
from domain.types import validate_value
from domain.write_model import BranchContext, WriteModel


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """One instance stream write decided by a command, before appending."""

    class_id: str
    instance_id: str
    expected_seq: int
    event: NewEvent
    check: InstanceCheck
    # The instance's state before the write (its last event's data), None if
    # it is new or deleted: what it gives up of its unique keys.
    before: Mapping[str, Any] | None = None


class InstanceHandlers:
    def __init__(self, model: WriteModel, appender: Appender) -> None:
        self._model = model
        self._appender = appender

    def table(self) -> dict[type, Any]:
        return {
            c.CreateInstance: self.create_instance,
            c.UpdateInstance: self.update_instance,
            c.DeleteInstance: self.delete_instance,
            c.CreateInstances: self.create_instances,
            c.UpsertInstances: self.upsert_instances,
            c.DeleteInstances: self.delete_instances,
        }

    async def create_instance(
        self, cmd: c.CreateInstance, meta: CommandMeta
    ) -> Receipt:
        ctx = await self._model.branch_context(cmd.db, cmd.branch)
        write = _planned_create(ctx.ontology, cmd.class_id, cmd.data, expected_seq=0)
        await self._check_references(ctx, [write])
        return await self._append(meta, cmd, ctx, [write])

    async def update_instance(
        self, cmd: c.UpdateInstance, meta: CommandMeta
    ) -> Receipt:
        ctx = await self._model.branch_context(cmd.db, cmd.branch)
        tip = await self._live_tip(ctx, cmd.class_id, cmd.instance_id)
        if tip.seq != cmd.expected_seq:
            raise ConcurrencyConflict(
                tip.aggregate_id, expected=cmd.expected_seq, actual=tip.seq
            )
        write = _planned_patch(ctx.ontology, tip, cmd.patch)
        await self._check_references(ctx, [write])
        return await self._append(meta, cmd, ctx, [write])

    async def delete_instance(
        self, cmd: c.DeleteInstance, meta: CommandMeta
    ) -> Receipt:
        ctx = await self._model.branch_context(cmd.db, cmd.branch)
        tip = await self._live_tip(ctx, cmd.class_id, cmd.instance_id)
        return await self._append_deletes(meta, cmd, ctx, [(tip, cmd.expected_seq)])

    async def delete_instances(
        self, cmd: c.DeleteInstances, meta: CommandMeta
    ) -> Receipt:
        ctx = await self._model.branch_context(cmd.db, cmd.branch)
        if ctx.ontology.get(cmd.class_id) is None:
            raise NotFoundError("class", cmd.class_id)
        ids = sorted(cmd.expected_seqs)
        if not ids:
            raise ValidationFailed(
                errors=[FieldError(("ids",), "empty", "name at least one instance")],
                summary="nothing to delete",
            )
        root = _root(ctx.ontology, cmd.class_id)
        streams = [_stream(ctx, instance_aggregate_id(root, i)) for i in ids]
        tips = await self._appender.store.last_events(streams)
        allowed = ctx.ontology.subclasses(cmd.class_id)
        deletes = [
            (
                _live(tips.get(stream), allowed, (cmd.class_id, instance_id)),
                cmd.expected_seqs[instance_id],
            )
            for instance_id, stream in zip(ids, streams, strict=True)
        ]
        return await self._append_deletes(meta, cmd, ctx, deletes)

    async def _append_deletes(
        self,
        meta: CommandMeta,
        cmd: c.DeleteInstance | c.DeleteInstances,
        ctx: BranchContext,
        deletes: list[tuple[EventEnvelope, int]],
    ) -> Receipt:
        """Tombstones of live instances (tip, seq the deleter saw); a deleted
        instance frees its unique keys, so releases cannot fail."""
        appends = [_tombstone(ctx, tip, seq) for tip, seq in deletes]
        claims = write_claims(
            ctx.ontology,
            [(tip.data, None) for tip, _ in deletes],
            [tip.aggregate_id for tip, _ in deletes],
        )
        return await self._appender.append_in(meta, cmd, ctx, appends, claims=claims)

    async def create_instances(
        self, cmd: c.CreateInstances, meta: CommandMeta
    ) -> Receipt:
        ctx = await self._model.branch_context(cmd.db, cmd.branch)
        plan = (
            _prechecked_create
            if cmd.validated_at == ctx.ontology_version
            else _planned_create
        )
        writes = _collect(
            [
                lambda i=i: plan(ctx.ontology, cmd.class_id, i, expected_seq=0)
                for i in cmd.items
            ]
        )
        await self._check_references(ctx, writes)
        return await self._append(meta, cmd, ctx, writes)

    async def upsert_instances(
        self, cmd: c.UpsertInstances, meta: CommandMeta
    ) -> Receipt:
        ctx = await self._model.branch_context(cmd.db, cmd.branch)
        ids = [
            _key_of(ctx.ontology, cmd.class_id, item, index)
            for index, item in enumerate(cmd.items)
        ]
        root = _root(ctx.ontology, cmd.class_id)
        streams = [_stream(ctx, instance_aggregate_id(root, i)) for i in ids]
        tips = await self._appender.store.last_events(streams)
        writes = _collect(
            [
                lambda item=item, stream=stream: _planned_upsert(
                    ctx.ontology, cmd.class_id, item, tips.get(stream)
                )
                for item, stream in zip(cmd.items, streams, strict=True)
            ]
        )
        await self._check_references(ctx, writes)
        return await self._append(meta, cmd, ctx, writes)

    async def _live_tip(
        self, ctx: BranchContext, class_id: str, instance_id: str
    ) -> EventEnvelope:
        if ctx.ontology.get(class_id) is None:
            raise NotFoundError("class", class_id)
        aggregate_id = instance_aggregate_id(_root(ctx.ontology, class_id), instance_id)
        stream = _stream(ctx, aggregate_id)
        tip = (await self._appender.store.last_events([stream])).get(stream)
        return _live(tip, ctx.ontology.subclasses(class_id), (class_id, instance_id))

    async def _check_references(
        self, ctx: BranchContext, writes: Sequence[PlannedWrite]
    ) -> None:
        """Targets of relationships with the `reject` policy must exist and fit the
        target class, counting instances created by the same command."""
        in_batch = {
            (w.instance_id, w.class_id)
            for w in writes
            if w.event.event_type != ev.INSTANCE_DELETED
        }
        wanted = _wanted_targets(ctx.ontology, writes)
        if not wanted:
            return
        found = await self._existing_targets(
            ctx, {target for _, _, target, _ in wanted}
        )
        errors = []
        for index, predicate, (target_class, target_id), many in wanted:
            allowed = set(ctx.ontology.subclasses(target_class))
            actual = found.get((_root(ctx.ontology, target_class), target_id))
            ok = actual in allowed or any(
                i == target_id and k in allowed for i, k in in_batch
            )
            if not ok:
                path = (
                    *_item_path(index, len(writes)),
                    predicate,
                    *([target_id] if many else []),
                )
                errors.append(
                    FieldError(
                        path,
                        "dangling_reference",
                        f"{target_class} {target_id!r} does not exist",
                    )
                )
        if errors:
            raise ValidationFailed(
                errors=errors, summary="relationship targets do not exist"
            )

    async def _existing_targets(
        self, ctx: BranchContext, targets: set[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """Maps (root class, id) of each live target to its concrete class."""
        streams = [
            _stream(ctx, instance_aggregate_id(_root(ctx.ontology, k), i))
            for k, i in sorted(targets)
        ]
        found: dict[tuple[str, str], str] = {}
        for tip in (await self._appender.store.last_events(streams)).values():
            if tip.event_type != ev.INSTANCE_DELETED:
                root, _, instance_id = tip.aggregate_id.partition("/")
                found[(root, instance_id)] = str(tip.data["class_id"])
        return found

    async def _append(
        self,
        meta: CommandMeta,
        cmd: c.Command,
        ctx: BranchContext,
        writes: Sequence[PlannedWrite],
    ) -> Receipt:
        holders = [
            instance_aggregate_id(_root(ctx.ontology, w.class_id), w.instance_id)
            for w in writes
        ]
        appends = [
            StreamAppend(
                stream=_stream(ctx, holder),
                expected_seq=w.expected_seq,
                events=[w.event],
            )
            for w, holder in zip(writes, holders, strict=True)
        ]
        if not appends:
            raise ValidationFailed(
                errors=[
                    FieldError(
                        ("inputs",), "empty", "at least one instance is required"
                    )
                ],
                summary="nothing to write",
            )
        claims = write_claims(
            ctx.ontology, [(w.before, w.event.data) for w in writes], holders
        )
        try:
            return await self._appender.append_in(
                meta, cmd, ctx, appends, claims=claims
            )
        except ClaimTaken as taken:
            raise located(taken, holders) from None


def _live(
    tip: EventEnvelope | None, classes: Sequence[str], named: tuple[str, str]
) -> EventEnvelope:
    """The tip of a live instance of one of `classes`; NotFoundError naming
    (class, id) otherwise."""
    if (
        tip is None
        or tip.event_type == ev.INSTANCE_DELETED
        or tip.data["class_id"] not in classes
    ):
        raise NotFoundError(*named)
    return tip


def _tombstone(
    ctx: BranchContext, tip: EventEnvelope, expected_seq: int
) -> StreamAppend:
    """The delete of a live instance whose deleter last saw `expected_seq`."""
    if tip.seq != expected_seq:
        raise ConcurrencyConflict(
            tip.aggregate_id, expected=expected_seq, actual=tip.seq
        )
    data = {
        "class_id": tip.data["class_id"],
        "instance_id": tip.data["instance_id"],
        "created_at": tip.data.get("created_at") or tip.occurred_at.isoformat(),
    }
    event = NewEvent(event_type=ev.INSTANCE_DELETED, data=data)
    return StreamAppend(
        stream=_stream(ctx, tip.aggregate_id), expected_seq=tip.seq, events=[event]
    )


def _planned_create(
    ontology: Ontology, class_id: str, data: Mapping[str, Any], *, expected_seq: int
) -> PlannedWrite:
    check = validate_instance(ontology, class_id, data, partial=False)
    return _create_write(class_id, check, expected_seq)


def _prechecked_create(
    ontology: Ontology, class_id: str, state: Mapping[str, Any], *, expected_seq: int
) -> PlannedWrite:
    """A create whose item `validate_instance` accepted against this ontology."""
    check = checked_state(ontology, class_id, state)
    return _create_write(class_id, check, expected_seq)


def _create_write(
    class_id: str, check: InstanceCheck, expected_seq: int
) -> PlannedWrite:
    if check.errors or check.instance_id is None:
        raise ValidationFailed(
            errors=check.errors, summary=f"invalid {class_id} instance"
        )
    payload = state_payload(class_id, check.instance_id, check.values, check.links)
    event = NewEvent(event_type=ev.INSTANCE_CREATED, data=payload)
    return PlannedWrite(class_id, check.instance_id, expected_seq, event, check)


def _planned_patch(
    ontology: Ontology, tip: EventEnvelope, patch: Mapping[str, Any]
) -> PlannedWrite:
    class_id = str(tip.data["class_id"])
    instance_id = str(tip.data["instance_id"])
    current = {**tip.data["values"], **tip.data["links"]}
    check = validate_instance(ontology, class_id, patch, partial=True, current=current)
    if check.errors:
        raise ValidationFailed(errors=check.errors, summary=f"invalid {class_id} patch")
    values = _merged(tip.data["values"], check.values, patch)
    links = _merged(tip.data["links"], check.links, patch)
    payload = state_payload(class_id, instance_id, values, links)
    payload["changed"] = sorted(patch)
    payload["created_at"] = tip.data.get("created_at") or tip.occurred_at.isoformat()
    event = NewEvent(event_type=ev.INSTANCE_UPDATED, data=payload)
    return PlannedWrite(class_id, instance_id, tip.seq, event, check, tip.data)


def _planned_upsert(
    ontology: Ontology,
    class_id: str,
    item: Mapping[str, Any],
    tip: EventEnvelope | None,
) -> PlannedWrite:
    if tip is None or tip.event_type == ev.INSTANCE_DELETED:
        # Re-creating over a tombstone continues the stream from its current seq.
        return _planned_create(
            ontology, class_id, item, expected_seq=tip.seq if tip else 0
        )
    if tip.data["class_id"] != class_id:
        raise ValidationFailed(
            errors=[
                FieldError(
                    ("id",), "class_mismatch", f"instance is a {tip.data['class_id']}"
                )
            ],
            summary="upsert would change an instance's class",
        )
    return _planned_patch(ontology, tip, item)


def _merged(
    current: Mapping[str, Any], checked: Mapping[str, Any], patch: Mapping[str, Any]
) -> dict[str, Any]:
    """Applies a patch: explicit None (or an empty link list) clears a key."""
    merged = dict(current)
    for key, value in checked.items():
        if key not in patch:
            continue
        if value is None or value == []:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def state_payload(
    class_id: str, instance_id: str, values: Mapping[str, Any], links: Mapping[str, Any]
) -> dict[str, Any]:
    """Instance events carry the full state after the change: projections need no
    history and a stream's last event is its current state."""
    clean_links = {k: v for k, v in links.items() if v not in (None, [])}
    return {
        "class_id": class_id,
        "instance_id": instance_id,
        "values": {k: v for k, v in values.items() if v is not None},
        "links": clean_links,
    }


def _collect(builders: Sequence[Any]) -> list[PlannedWrite]:
    """Runs every item's planning, gathering all item errors under ("inputs", i)."""
    writes: list[PlannedWrite] = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, build in enumerate(builders):
        try:
            write = build()
        except ValidationFailed as failure:
            errors.extend(
                FieldError(("inputs", str(index), *e.path), e.code, e.message)
                for e in failure.errors
            )
            continue
        if write.instance_id in seen:
            errors.append(
                FieldError(
                    ("inputs", str(index)),
                    "duplicate_instance",
                    f"{write.instance_id!r} appears twice",
                )
            )
        seen.add(write.instance_id)
        writes.append(write)
    if errors:
        raise ValidationFailed(errors=errors, summary="some inputs are invalid")
    return writes


def _wanted_targets(
    ontology: Ontology, writes: Sequence[PlannedWrite]
) -> list[tuple[int, str, tuple[str, str], bool]]:
    wanted = []
    for index, write in enumerate(writes):
        relationships = {
            r.predicate: r for r in ontology.effective_relationships(write.class_id)
        }
        for predicate, targets in write.check.links.items():
            rel = relationships.get(predicate)
            if (
                rel is None
                or targets is None
                or str(rel.dangling_policy.value) != "reject"
            ):
                continue
            many = rel.cardinality.to_many
            for target_id in targets:
                wanted.append((index, predicate, (rel.target, str(target_id)), many))
    return wanted


def _key_of(
    ontology: Ontology, class_id: str, item: Mapping[str, Any], index: int
) -> str:
    """The instance id an upsert item addresses: its primary key, normalised the
    way a create would store it (so "ABC" and "abc" uuids meet the same stream)."""
    if ontology.get(class_id) is None:
        raise NotFoundError("class", class_id)
    key = ontology.primary_key_of(class_id)
    prop = ontology.effective_property(class_id, key) if key else None
    raw = item.get(key) if key else None
    path = ("inputs", str(index), str(key))
    if prop is None or raw is None:
        raise ValidationFailed(
            errors=[FieldError(path, "required", "the primary key is required")],
            summary="upsert needs the primary key of every input",
        )
    value, errors = validate_value(prop.type, prop.constraints, raw, path)
    if errors:
        raise ValidationFailed(errors=errors, summary="invalid primary key")
    return str(value)


def _root(ontology: Ontology, class_id: str) -> str:
    ancestors = ontology.ancestors(class_id)
    return ancestors[-1] if ancestors else class_id


def _stream(ctx: BranchContext, aggregate_id: str) -> StreamId:
    return StreamId(ctx.db, ctx.branch, ev.INSTANCE, aggregate_id)


def _item_path(index: int, count: int) -> tuple[str, ...]:
    return ("inputs", str(index)) if count > 1 else ()
