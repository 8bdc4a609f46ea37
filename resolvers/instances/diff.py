"""`_diff(branch, asOf)` of an object: its values and links here against the same
object on another branch, or as of an earlier position (field level)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from strawberry.dataloader import DataLoader

from domain.errors import NotFoundError
from domain.ports import NodeVersion, ReadScope
from resolvers.context import Context, Info
from resolvers.errors import RequestError
from resolvers.instances import access
from resolvers.instances.as_of import read_position
from resolvers.instances.rows import NodeRow
from resolvers.plain import given
from schema.ontology.plan import ClassPlan

SAME, CHANGED, ADDED, REMOVED = "SAME", "CHANGED", "ADDED", "REMOVED"


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ObjectDiff:
    """`status` reads from the other side to this one: ADDED means the object
    exists here but not there."""

    status: str
    other_branch: str
    other_seq: int | None
    changes: list[FieldChange]


async def diff(
    plan: ClassPlan,
    root: NodeRow,
    info: Info,
    *,
    branch: Any = None,
    as_of: Any = None,
    as_of_time: Any = None,
) -> ObjectDiff:
    ctx = info.context
    other_branch = given(branch) or ctx.branch
    position = await read_position(ctx, as_of, as_of_time)
    if other_branch == ctx.branch and position is None:
        raise RequestError("_diff needs another branch or an asOf position")
    loader = await _loader(ctx, plan, other_branch, position)
    other = await loader.load(root.instance_id)
    guard = access.guard(ctx, plan)
    if guard is None:
        return compare(plan, root.node, other, other_branch)
    return await _guarded(ctx, guard, plan, root, other, other_branch)


async def _guarded(
    ctx: Context,
    guard: access.Guard,
    plan: ClassPlan,
    root: NodeRow,
    other: NodeVersion | None,
    branch: str,
) -> ObjectDiff:
    """The diff as the request may see it: the other side hidden by a row
    filter is absent there, masked properties are not compared, and ids of
    objects hidden here are left out of both sides' links."""
    here = root.node
    if here is not None:  # compared on what is stored, masked fields left out
        here = replace(here, values=access.raw_values(here.values))
    if other is not None and guard.hides_node(other):
        other = None
    here = await _pruned(ctx, guard, plan, root, here)
    other = await _pruned(ctx, guard, plan, root, other)
    masked = guard.rules.of(root.class_id).masked
    return compare(plan, _unmasked(here, masked), _unmasked(other, masked), branch)


async def _pruned(
    ctx: Context,
    guard: access.Guard,
    plan: ClassPlan,
    root: NodeRow,
    node: NodeVersion | None,
) -> NodeVersion | None:
    if node is None:
        return None
    side = NodeRow(root.class_id, root.instance_id, root.as_of, node)
    return (await access.pruned_links(ctx, guard, plan, [side]))[0].node


def _unmasked(node: NodeVersion | None, masked: frozenset[str]) -> NodeVersion | None:
    if node is None:
        return None
    return replace(
        node, values={k: v for k, v in node.values.items() if k not in masked}
    )


async def _loader(
    ctx: Context, plan: ClassPlan, branch: str, as_of: int | None
) -> DataLoader[str, NodeVersion | None]:
    """The other side's nodes, one batched store call per (branch, position)."""
    key = ("diff", plan.class_ids, branch, as_of)
    found = ctx.loaders.get(key)
    if found is not None:
        return found
    try:
        await ctx.ports.ontologies.branch_context(ctx.db, branch)
    except NotFoundError as error:  # the other branch must exist in the database
        raise RequestError(f"unknown branch {branch!r}", code="NOT_FOUND") from error
    scope = ReadScope(
        db=ctx.db, lineage=await ctx.ports.store.lineage(ctx.db, branch), as_of=as_of
    )

    async def load(ids: list[str]) -> list[NodeVersion | None]:
        nodes = await ctx.ports.graph.get_many(scope, plan.class_ids, ids)
        return [nodes.get(i) for i in ids]

    return ctx.loader(key, lambda: DataLoader(load_fn=load))


def compare(
    plan: ClassPlan, here: NodeVersion | None, there: NodeVersion | None, branch: str
) -> ObjectDiff:
    if here is None and there is None:
        return ObjectDiff(SAME, branch, None, [])
    if there is None:
        return ObjectDiff(ADDED, branch, None, _changes(plan, {}, _fields(here)))
    if here is None:
        return ObjectDiff(
            REMOVED, branch, there.seq, _changes(plan, _fields(there), {})
        )
    changes = _changes(plan, _fields(there), _fields(here))
    return ObjectDiff(CHANGED if changes else SAME, branch, there.seq, changes)


def _fields(node: NodeVersion | None) -> dict[str, Any]:
    if node is None:
        return {}
    return {**dict(node.values), **{k: list(v) for k, v in node.links.items()}}


def _changes(
    plan: ClassPlan, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[FieldChange]:
    """Changed fields by their GraphQL names, in the class's field order."""
    names = {p.name: p.graphql_name for p in plan.properties}
    names.update({k.name: k.graphql_name for k in plan.links if not k.inverse})
    return [
        FieldChange(graphql, before.get(name), after.get(name))
        for name, graphql in names.items()
        if before.get(name) != after.get(name)
    ]
