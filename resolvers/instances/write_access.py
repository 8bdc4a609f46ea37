"""Access policies on writes: what a role may not read, it may not write.

For a role with a policy on the class written:
- an object outside its row filter reads as not found, so updating or
  deleting it answers NotFoundError, exactly as an unknown id would (no
  existence leak through NotFound versus Conflict);
- what it writes must stay inside its row filter (a create, an upsert, or
  the patched state of an update), or the command is refused with
  PermissionError — a role cannot put an object where it could not see it;
- a masked property cannot be written (PermissionError).

The current state is the graph store's (what the caller's reads see).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from resolvers.context import Context
from resolvers.instances import access, loaders
from resolvers.instances.rows import NodeRow, row
from schema.ontology.plan import ClassPlan
from schema.results import CommandResult, NotFoundError, PermissionProblem


async def refusal(
    ctx: Context,
    plan: ClassPlan,
    *,
    existing: Sequence[str] = (),
    writes: Sequence[tuple[str | None, Mapping[str, Any]]] = (),
) -> CommandResult | None:
    """Why the caller may not write (None: it may). `existing`: ids whose
    current object must be visible; `writes`: (id or None, the values written:
    a whole input, or a patch applied to the current object)."""
    guard = access.guard(ctx, plan)
    if guard is None:
        return None
    rules = guard.rules.of(plan.class_id)
    if rules.unrestricted:
        return None
    masked = _masked_input(writes, rules.masked)
    if masked is not None:
        return PermissionProblem(
            message=f"{plan.class_id}.{masked} is masked for your role: it cannot be written"
        )
    ids = list(dict.fromkeys([*existing, *(i for i, _ in writes if i is not None)]))
    current = await _current(ctx, plan, ids)
    for instance_id in existing:
        found = current.get(instance_id)
        if found is not None and guard.hides(found):
            return NotFoundError(
                message=f"{plan.class_id} {instance_id!r} does not exist",
                kind=plan.class_id,
                key=instance_id,
            )
    row_filter = guard.row_filter(plan.class_id)
    if row_filter is None:
        return None
    for written_id, values in writes:
        before = current.get(written_id) if written_id is not None else None
        if before is not None and guard.hides(before):
            return NotFoundError(
                message=f"{plan.class_id} {written_id!r} does not exist",
                kind=plan.class_id,
                key=written_id or "",
            )
        if before is None and written_id in existing:
            continue  # an update of nothing: the command answers NotFoundError
        after = _applied(plan, written_id or "", before, values)
        if not row_filter.admits(after):
            return PermissionProblem(
                message=f"the written {plan.class_id} would be outside the rows your "
                "role may see (its access policy's row filter)"
            )
    return None


def _masked_input(
    writes: Sequence[tuple[str | None, Mapping[str, Any]]], masked: frozenset[str]
) -> str | None:
    for _, values in writes:
        for name in values:
            if name in masked:
                return name
    return None


async def _current(
    ctx: Context, plan: ClassPlan, ids: Sequence[str]
) -> dict[str, NodeRow]:
    if not ids:
        return {}
    loader = loaders.nodes(ctx, plan.class_ids, None)
    nodes = await loader.load_many(list(ids))
    return {i: row(n, None) for i, n in zip(ids, nodes, strict=True) if n is not None}


def _applied(
    plan: ClassPlan, instance_id: str, before: NodeRow | None, values: Mapping[str, Any]
) -> NodeRow:
    """The object as it would be after the write (a patch over `before`)."""
    merged = {**(dict(access.raw_values(before.values)) if before else {}), **values}
    return NodeRow(plan.class_id, instance_id, None, None, merged)
