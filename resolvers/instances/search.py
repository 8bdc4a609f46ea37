"""`search(query, classes, first)`: full text across classes through the SearchIndex
port, over the branch lineage; hits come back as graph nodes with `_meta`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from domain.ports import NodeVersion
from resolvers.context import Context, Info
from resolvers.errors import RequestError
from resolvers.instances import access, loaders, pagination
from resolvers.instances.rows import ConnectionPage, Edge, NodeRow, PageInfo, dangling
from resolvers.plain import given
from schema.ontology.plan import ClassPlan


def class_ids_of(names: Sequence[str] | None, plans: Mapping[str, ClassPlan]) -> Any:
    """The class ids (subclasses included) of class ids or type names; None: all."""
    if names is None:
        return None
    found: list[str] = []
    for name in names:
        plan = plans.get(name)
        if plan is None:
            raise RequestError(f"unknown class {name!r}")
        found += [c for c in plan.class_ids if c not in found]
    return found


async def search(
    info: Info,
    *,
    query: str,
    classes: Any = None,
    first: Any = None,
    plans: Mapping[str, ClassPlan],
) -> ConnectionPage:
    ctx = info.context
    size = pagination.page_size(ctx, given(first))
    class_ids = class_ids_of(given(classes), plans)
    guard = access.guard(ctx, next(iter(plans.values()))) if plans else None
    if guard is not None:
        return await _guarded(ctx, guard, query, given(classes), size, plans)
    documents = await ctx.ports.search.search(
        ctx.db,
        [span.branch for span in ctx.lineage],
        text=query,
        class_ids=class_ids,
        limit=size + 1,
    )
    keys = [(d.class_id, d.instance_id) for d in documents[:size]]
    found = await _nodes(ctx, keys)
    hits = [_hit(key, found.get(key), plans) for key in keys]
    edges = [
        Edge(pagination.position(pagination.OFFSET, i), hit)
        for i, hit in enumerate(hits)
        if hit.class_id in plans
    ]
    return _page(edges, has_next=len(documents) > size)


def _page(edges: list[Edge], *, has_next: bool) -> ConnectionPage:
    async def count() -> int:
        return len(edges)

    info_ = PageInfo(
        has_next_page=has_next,
        has_previous_page=False,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return ConnectionPage(edges, info_, count)


async def _guarded(
    ctx: Context,
    guard: access.Guard,
    query: str,
    classes: Sequence[str] | None,
    size: int,
    plans: Mapping[str, ClassPlan],
) -> ConnectionPage:
    """Search under access rules: classes with masked properties are refused
    when named, left out when not (their documents hold the masked values);
    hits a row filter hides are skipped, reading further until the page is
    full (or Limits.search_max_ids documents were read)."""
    if classes is not None:
        access.check_search(ctx, [plans[name] for name in classes])
        class_ids = class_ids_of(classes, plans)
    else:
        class_ids = [c for c in _classes(plans) if not guard.rules.of(c).masked]
    if not class_ids:
        return _page([], has_next=False)
    cap, limit = ctx.ports.limits.search_max_ids, size + 1
    while True:
        documents = await ctx.ports.search.search(
            ctx.db,
            [span.branch for span in ctx.lineage],
            text=query,
            class_ids=class_ids,
            limit=limit,
        )
        keys = [(d.class_id, d.instance_id) for d in documents]
        found = await _nodes(ctx, keys)
        hits = (_hit(key, found.get(key), plans) for key in keys)
        shown = [h for h in hits if h.class_id in plans and not guard.hides(h)]
        if len(shown) > size or len(documents) < limit or limit >= cap:
            break
        limit = min(cap, limit * 4)
    edges = [
        Edge(pagination.position(pagination.OFFSET, i), guard.shown(hit))
        for i, hit in enumerate(shown[:size])
    ]
    return _page(edges, has_next=len(shown) > size)


def _classes(plans: Mapping[str, ClassPlan]) -> list[str]:
    return sorted({p.class_id for p in plans.values()})


async def _nodes(
    ctx: Context, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], NodeVersion]:
    """Graph nodes of the hits: one batched store call per class."""
    by_class: dict[str, list[str]] = {}
    for class_id, instance_id in keys:
        by_class.setdefault(class_id, []).append(instance_id)

    async def load(class_id: str, ids: list[str]) -> list[NodeVersion | None]:
        return await loaders.nodes(ctx, (class_id,), None).load_many(ids)

    loaded = await asyncio.gather(*(load(c, ids) for c, ids in by_class.items()))
    return {
        (class_id, node.instance_id): node
        for class_id, nodes in zip(by_class, loaded, strict=True)
        for node in nodes
        if node is not None
    }


def _hit(
    key: tuple[str, str], node: NodeVersion | None, plans: Mapping[str, ClassPlan]
) -> NodeRow:
    """The graph's node; a document whose node is gone is MISSING in `_meta`."""
    class_id, instance_id = key
    if node is not None:
        return NodeRow(class_id, instance_id, None, node)
    plan = plans.get(class_id)
    return dangling(class_id, instance_id, None, plan.key if plan else None)
