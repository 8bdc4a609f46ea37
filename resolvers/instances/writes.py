"""Mutation resolvers of generated types: typed inputs -> instance commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain import commands as c
from resolvers.commands import run_command
from resolvers.context import Info
from resolvers.instances import write_access
from resolvers.plain import given, to_plain
from schema.ontology.plan import ClassPlan
from schema.results import CommandResult, FieldError, ValidationError


def instance_data(plan: ClassPlan, value: Any) -> dict[str, Any]:
    """Input fields by ontology name; absent fields are left out, explicit nulls
    stay (a patch clears them)."""
    plain = to_plain(value)
    names = {p.python_name: p.name for p in plan.properties}
    names.update({link.python_name: link.name for link in plan.links})
    return {names[k]: v for k, v in plain.items() if k in names}


async def _run(
    info: Info,
    plan: ClassPlan,
    command: c.Command,
    kwargs: dict[str, Any],
    prefix: Sequence[str],
) -> CommandResult:
    result = await run_command(
        info.context,
        command,
        command_id=given(kwargs.get("command_id")),
        validate_only=bool(given(kwargs.get("validate_only"))),
        wait=given(kwargs.get("wait")),
    )
    if isinstance(result, ValidationError):
        result.errors = [_renamed(e, plan, prefix) for e in result.errors]
    return result


async def create(
    plan: ClassPlan, info: Info, *, input: Any, **kwargs: Any
) -> CommandResult:
    ctx = info.context
    data = instance_data(plan, input)
    refused = await write_access.refusal(ctx, plan, writes=[(None, data)])
    if refused is not None:
        return refused
    command = c.CreateInstance(
        db=ctx.db, branch=ctx.branch, class_id=plan.class_id, data=data
    )
    return await _run(info, plan, command, kwargs, ("input",))


async def update(
    plan: ClassPlan,
    info: Info,
    *,
    id: str,
    patch: Any,
    expected_seq: int,
    **kwargs: Any,
) -> CommandResult:
    ctx = info.context
    changes = instance_data(plan, patch)
    refused = await write_access.refusal(
        ctx, plan, existing=[str(id)], writes=[(str(id), changes)]
    )
    if refused is not None:
        return refused
    command = c.UpdateInstance(
        db=ctx.db,
        branch=ctx.branch,
        class_id=plan.class_id,
        instance_id=str(id),
        patch=changes,
        expected_seq=expected_seq,
    )
    return await _run(info, plan, command, kwargs, ("patch",))


async def delete(
    plan: ClassPlan, info: Info, *, id: str, expected_seq: int, **kwargs: Any
) -> CommandResult:
    ctx = info.context
    refused = await write_access.refusal(ctx, plan, existing=[str(id)])
    if refused is not None:
        return refused
    command = c.DeleteInstance(
        db=ctx.db,
        branch=ctx.branch,
        class_id=plan.class_id,
        instance_id=str(id),
        expected_seq=expected_seq,
    )
    return await _run(info, plan, command, kwargs, ())


async def create_many(
    plan: ClassPlan, info: Info, *, inputs: list[Any], **kwargs: Any
) -> CommandResult:
    ctx = info.context
    items = [instance_data(plan, i) for i in inputs]
    refused = await write_access.refusal(ctx, plan, writes=[(None, i) for i in items])
    if refused is not None:
        return refused
    command = c.CreateInstances(
        db=ctx.db, branch=ctx.branch, class_id=plan.class_id, items=items
    )
    return await _run(info, plan, command, kwargs, ("inputs",))


async def upsert_many(
    plan: ClassPlan, info: Info, *, inputs: list[Any], **kwargs: Any
) -> CommandResult:
    ctx = info.context
    items = [instance_data(plan, i) for i in inputs]
    keyed = [(_key_of(plan, i), i) for i in items]
    refused = await write_access.refusal(ctx, plan, writes=keyed)
    if refused is not None:
        return refused
    command = c.UpsertInstances(
        db=ctx.db, branch=ctx.branch, class_id=plan.class_id, items=items
    )
    return await _run(info, plan, command, kwargs, ("inputs",))


def _key_of(plan: ClassPlan, item: dict[str, Any]) -> str | None:
    """The instance id an upsert item names: its primary key's value."""
    value = item.get(plan.key) if plan.key else None
    return None if value is None else str(value)


def _renamed(error: FieldError, plan: ClassPlan, prefix: Sequence[str]) -> FieldError:
    """Domain paths name ontology members; clients know the GraphQL input names.
    Paths rooted at a mutation argument (commandId) are already GraphQL paths."""
    path = list(error.path)
    if path[:1] == ["commandId"]:
        return error
    if prefix == ("inputs",):
        if path[:1] == ["inputs"]:
            path = path[2:] if len(path) > 1 else []
            head = list(error.path[:2])
        else:
            head = ["inputs", "0"]
    else:
        head = list(prefix)
    names = {p.name: p.graphql_name for p in plan.properties}
    names.update({link.name: link.graphql_name for link in plan.links})
    if path:
        path[0] = names.get(path[0], path[0])
    return FieldError(path=[*head, *path], code=error.code, message=error.message)
