"""Handlers of ontology commands: define, update, deprecate classes and their members."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import commands as c
from domain import events as ev
from domain.appender import Appender
from domain.claims import Claim
from domain.class_claims import claims_for_change, shared_keys
from domain.class_migration import migrate_instances
from domain.commands import CommandMeta, Receipt
from domain.errors import (
    ClaimTaken,
    ConcurrencyConflict,
    FieldError,
    NotFoundError,
    ValidationFailed,
)
from domain.events import NewEvent, StreamId
from domain.ontology import (
    ClassDef,
    breaking_changes,
    class_to_dict,
    validate_class_definition,
)
from domain.ontology.migration import Step, check_steps, parse_plan, uncovered
from domain.ports import StreamAppend
from domain.write_model import BranchContext, WriteModel


class ClassHandlers:
    def __init__(self, model: WriteModel, appender: Appender) -> None:
        self._model = model
        self._appender = appender

    def table(self) -> dict[type, Any]:
        return {
            c.DefineClass: self.define_class,
            c.UpdateClass: self.update_class,
            c.DeprecateClass: self.deprecate_class,
            c.AddProperty: self.add_property,
            c.ChangeProperty: self.change_property,
            c.RemoveProperty: self.remove_property,
            c.AddRelationship: self.add_relationship,
            c.RemoveRelationship: self.remove_relationship,
        }

    async def define_class(self, cmd: c.DefineClass, meta: CommandMeta) -> Receipt:
        ctx = await self._model.branch_context(cmd.db, cmd.branch)
        classdef, errors = validate_class_definition(
            ctx.ontology, cmd.definition, is_update=False
        )
        if errors or classdef is None:
            raise ValidationFailed(errors=errors, summary="invalid class definition")
        event = NewEvent(
            event_type=ev.CLASS_DEFINED, data={"definition": class_to_dict(classdef)}
        )
        return await self._append(meta, cmd, ctx, classdef.id, expected=0, event=event)

    async def update_class(self, cmd: c.UpdateClass, meta: CommandMeta) -> Receipt:
        ctx, current = await self._current(
            cmd.db, cmd.branch, cmd.class_id, cmd.expected_seq
        )
        merged = {**class_to_dict(current), **_snake_keys(cmd.patch), "id": current.id}
        return await self._replace(
            meta,
            cmd,
            ctx,
            current,
            merged,
            ev.CLASS_UPDATED,
            cmd.expected_seq,
            cmd.migration_plan,
        )

    async def deprecate_class(
        self, cmd: c.DeprecateClass, meta: CommandMeta
    ) -> Receipt:
        ctx, current = await self._current(
            cmd.db, cmd.branch, cmd.class_id, cmd.expected_seq
        )
        definition = {**class_to_dict(current), "deprecated": True}
        event = NewEvent(
            event_type=ev.CLASS_DEPRECATED, data={"definition": definition}
        )
        return await self._append(
            meta, cmd, ctx, current.id, expected=cmd.expected_seq, event=event
        )

    async def add_property(self, cmd: c.AddProperty, meta: CommandMeta) -> Receipt:
        ctx, current = await self._current(
            cmd.db, cmd.branch, cmd.class_id, cmd.expected_seq
        )
        merged = class_to_dict(current)
        merged["properties"] = [*merged.get("properties", []), dict(cmd.property)]
        return await self._replace(
            meta, cmd, ctx, current, merged, ev.PROPERTY_ADDED, cmd.expected_seq, None
        )

    async def change_property(
        self, cmd: c.ChangeProperty, meta: CommandMeta
    ) -> Receipt:
        ctx, current = await self._current(
            cmd.db, cmd.branch, cmd.class_id, cmd.expected_seq
        )
        name = str(cmd.property.get("name", ""))
        merged = class_to_dict(current)
        merged["properties"] = _replace_member(
            merged.get("properties", []), "name", name, cmd.property
        )
        return await self._replace(
            meta,
            cmd,
            ctx,
            current,
            merged,
            ev.PROPERTY_CHANGED,
            cmd.expected_seq,
            cmd.migration_plan,
        )

    async def remove_property(
        self, cmd: c.RemoveProperty, meta: CommandMeta
    ) -> Receipt:
        ctx, current = await self._current(
            cmd.db, cmd.branch, cmd.class_id, cmd.expected_seq
        )
        merged = class_to_dict(current)
        merged["properties"] = _replace_member(
            merged.get("properties", []), "name", cmd.name, None
        )
        return await self._replace(
            meta,
            cmd,
            ctx,
            current,
            merged,
            ev.PROPERTY_REMOVED,
            cmd.expected_seq,
            cmd.migration_plan,
        )

    async def add_relationship(
        self, cmd: c.AddRelationship, meta: CommandMeta
    ) -> Receipt:
        ctx, current = await self._current(
            cmd.db, cmd.branch, cmd.class_id, cmd.expected_seq
        )
        merged = class_to_dict(current)
        merged["relationships"] = [
            *merged.get("relationships", []),
            dict(cmd.relationship),
        ]
        return await self._replace(
            meta,
            cmd,
            ctx,
            current,
            merged,
            ev.RELATIONSHIP_ADDED,
            cmd.expected_seq,
            None,
        )

    async def remove_relationship(
        self, cmd: c.RemoveRelationship, meta: CommandMeta
    ) -> Receipt:
        ctx, current = await self._current(
            cmd.db, cmd.branch, cmd.class_id, cmd.expected_seq
        )
        merged = class_to_dict(current)
        merged["relationships"] = _replace_member(
            merged.get("relationships", []), "predicate", cmd.predicate, None
        )
        return await self._replace(
            meta,
            cmd,
            ctx,
            current,
            merged,
            ev.RELATIONSHIP_REMOVED,
            cmd.expected_seq,
            cmd.migration_plan,
        )

    async def _current(
        self, db: str, branch: str, class_id: str, expected_seq: int
    ) -> tuple[BranchContext, ClassDef]:
        ctx = await self._model.branch_context(db, branch)
        current = ctx.ontology.get(class_id)
        if current is None:
            raise NotFoundError("class", class_id)
        actual = ctx.class_seqs.get(class_id, 0)
        if actual != expected_seq:
            raise ConcurrencyConflict(class_id, expected=expected_seq, actual=actual)
        return ctx, current

    async def _replace(
        self,
        meta: CommandMeta,
        cmd: c.Command,
        ctx: BranchContext,
        current: ClassDef,
        merged: Mapping[str, Any],
        event_type: str,
        expected_seq: int,
        migration_plan: Mapping[str, Any] | None,
    ) -> Receipt:
        """Validates the class as it would be after the change, then records it whole."""
        classdef, errors = validate_class_definition(
            ctx.ontology, merged, is_update=True
        )
        if errors or classdef is None:
            raise ValidationFailed(errors=errors, summary="invalid class definition")
        steps = await self._reject_breaking(ctx, current, classdef, migration_plan)
        data: dict[str, Any] = {"definition": class_to_dict(classdef)}
        if migration_plan is not None:
            data["migration_plan"] = dict(migration_plan)
        event = NewEvent(event_type=event_type, data=data)
        claims, quiet = await claims_for_change(self._appender.store, ctx, classdef)
        migrated: list[StreamAppend] = []
        if steps:
            migration = await migrate_instances(
                self._appender.store, ctx, classdef, steps
            )
            migrated = migration.appends
            # The earlier read is the stricter guard: an instance written after
            # it would escape the claims or the migration.
            read_at = min(quiet.get(ev.INSTANCE, migration.read_at), migration.read_at)
            quiet = {ev.INSTANCE: read_at}
        try:
            return await self._append(
                meta,
                cmd,
                ctx,
                classdef.id,
                expected=expected_seq,
                event=event,
                claims=claims,
                quiet_since=quiet,
                migrated=migrated,
            )
        except ClaimTaken as taken:
            raise shared_keys(taken) from None

    async def _reject_breaking(
        self,
        ctx: BranchContext,
        current: ClassDef,
        new: ClassDef,
        migration_plan: Mapping[str, Any] | None,
    ) -> list[Step]:
        """The plan's steps, once the change is allowed: a breaking change needs a
        plan, and the plan must fit the change (see migration.uncovered)."""
        root = (
            ctx.ontology.ancestors(current.id)[-1]
            if ctx.ontology.ancestors(current.id)
            else current.id
        )
        has_data = await self._appender.store.has_instances(
            ctx.db, ctx.branch, f"{root}/"
        )
        problems = breaking_changes(current, new, has_data=has_data)
        if migration_plan is None:
            if problems:
                raise ValidationFailed(
                    errors=problems,
                    summary="breaking change: pass a migration plan to apply it",
                )
            return []
        steps = parse_plan(migration_plan)
        errors = check_steps(current, new, steps)
        errors += uncovered(problems, steps, current, new)
        if errors:
            raise ValidationFailed(
                errors=errors, summary="the migration plan does not fit the change"
            )
        return steps

    async def _append(
        self,
        meta: CommandMeta,
        cmd: c.Command,
        ctx: BranchContext,
        class_id: str,
        *,
        expected: int,
        event: NewEvent,
        claims: list[Claim] | None = None,
        quiet_since: dict[str, int] | None = None,
        migrated: list[StreamAppend] | None = None,
    ) -> Receipt:
        stream = StreamId(ctx.db, ctx.branch, ev.CLASS, class_id)
        appends = [
            StreamAppend(stream=stream, expected_seq=expected, events=[event]),
            *(migrated or ()),
        ]
        return await self._appender.append(
            meta,
            cmd,
            db=ctx.db,
            branch=ctx.branch,
            appends=appends,
            ontology_version=ctx.ontology_version,
            registry_version=ctx.registry_version,
            claims=claims or (),
            quiet_since=quiet_since,
        )


def _snake_keys(patch: Mapping[str, Any]) -> dict[str, Any]:
    aliases = {
        "primaryKey": "primary_key",
        "titleKey": "title_key",
        "labelI18n": "label_i18n",
    }
    return {aliases.get(k, k): v for k, v in patch.items()}


def _replace_member(
    members: list[dict[str, Any]], key: str, name: str, new: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Replaces (or, with None, removes) the member whose `key` equals `name`."""
    if not any(m.get(key) == name for m in members):
        raise ValidationFailed(
            errors=[FieldError((key,), "unknown_member", f"no member named {name!r}")],
            summary=f"{name!r} is not defined on this class",
        )
    kept = [m for m in members if m.get(key) != name]
    return kept if new is None else [*kept, dict(new)]
