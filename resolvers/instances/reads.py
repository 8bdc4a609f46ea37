"""Query resolvers of generated types: by id, lists, relationships, inverses."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from resolvers.context import Context, Info
from resolvers.instances import loaders, ordering, pagination, pushdown, related
from resolvers.instances.as_of import read_position
from resolvers.instances.rows import ConnectionPage, NodeRow, dangling, row
from resolvers.instances.where import Where
from resolvers.plain import given
from schema.ontology.plan import ClassPlan, LinkField

# Reading every node for an in-memory filter goes in store pages of this size.
_SCAN_PAGE = 1000


async def one(
    plan: ClassPlan,
    info: Info,
    *,
    id: str,
    as_of: Any = None,
    as_of_time: Any = None,
) -> NodeRow | None:
    position = await read_position(info.context, as_of, as_of_time)
    loader = loaders.nodes(info.context, plan.class_ids, position)
    node = await loader.load(str(id))
    return row(node, position) if node is not None else None


async def many(
    plan: ClassPlan,
    info: Info,
    *,
    where: Any = None,
    order_by: Any = None,
    first: Any = None,
    after: Any = None,
    as_of: Any = None,
    as_of_time: Any = None,
) -> ConnectionPage:
    ctx = info.context
    position = await read_position(ctx, as_of, as_of_time)
    size = pagination.page_size(ctx, given(first))
    where, order_by, after = given(where), given(order_by), given(after)
    scope = ctx.scope(position)
    if where is None and not order_by:
        after_id = pagination.decode(after, pagination.KEYSET)
        nodes = await ctx.ports.graph.list_nodes(
            scope, plan.class_ids, after_id=after_id, limit=size + 1
        )

        async def count() -> int:
            return await ctx.ports.graph.count(scope, plan.class_ids)

        rows = [row(n, position) for n in nodes]
        return pagination.keyset_page(rows, size, after=after, count=count)
    found = await _in_store(ctx, plan, position, where, order_by, size, after)
    if found is not None:
        return found
    rows = await scan(ctx, plan, position)
    return await _refine(ctx, position, rows, plan, where, order_by, size, after)


async def _in_store(
    ctx: Context,
    plan: ClassPlan,
    as_of: int | None,
    where: Any,
    order_by: Any,
    size: int,
    after: str | None,
) -> ConnectionPage | None:
    """The page filtered and sorted by the graph store, or None when the store
    (or a part of the filter) needs the in-memory evaluation."""
    condition = await pushdown.store_condition(ctx, where, plan)
    if condition is None:
        return None
    start = pagination.offset_after(after)
    scope, graph = ctx.scope(as_of), ctx.ports.graph
    keys = pushdown.sort_keys(order_by or (), plan)
    nodes = await graph.find(
        scope, plan.class_ids, where=condition, order=keys, offset=start, limit=size + 1
    )
    if nodes is None:
        return None

    async def count() -> int:
        counted = await graph.count_where(scope, plan.class_ids, condition)
        return counted if counted is not None else len(nodes)

    rows = [row(n, as_of) for n in nodes]
    return pagination.window_page(
        rows[:size], start=start, has_next=len(rows) > size, count=count
    )


async def scan(ctx: Context, plan: ClassPlan, as_of: int | None) -> list[NodeRow]:
    rows: list[NodeRow] = []
    after_id: str | None = None
    while True:
        nodes = await ctx.ports.graph.list_nodes(
            ctx.scope(as_of), plan.class_ids, after_id=after_id, limit=_SCAN_PAGE
        )
        rows.extend(row(n, as_of) for n in nodes)
        if len(nodes) < _SCAN_PAGE:
            return rows
        after_id = nodes[-1].instance_id


async def _refine(
    ctx: Context,
    as_of: int | None,
    rows: list[NodeRow],
    plan: ClassPlan,
    where: Any,
    order_by: Any,
    size: int,
    after: str | None,
) -> ConnectionPage:
    kept = await Where(ctx, as_of).select(rows, where, plan)
    return pagination.offset_page(
        await ordering.ordered(ctx, as_of, kept, order_by or (), plan),
        size,
        after=after,
    )


async def to_one(link: LinkField, root: NodeRow, info: Info) -> NodeRow | None:
    if link.inverse:
        sources = await _inverse(link, root, info, limit=1)
        return sources[0] if sources else None
    targets = root.linked(link.predicate)
    if not targets:
        return None
    return (await _targets(link, root, info, targets[:1]))[0]


async def to_one_batch(
    link: LinkField, roots: Sequence[NodeRow], info: Info
) -> list[NodeRow | None]:
    """`to_one` for every object of a wave: one store read for all their
    targets (per as-of position), no coroutine or future per object."""
    if link.inverse:
        return list(await asyncio.gather(*(to_one(link, r, info) for r in roots)))
    firsts = [_first_target(root, link.predicate) for root in roots]
    wanted: dict[int | None, set[str]] = {}
    for root, target in zip(roots, firsts, strict=True):
        if target is not None:
            wanted.setdefault(root.as_of, set()).add(target)
    found = {
        as_of: await _rows_by_id(link, info, as_of, ids)
        for as_of, ids in wanted.items()
    }
    return [
        found[root.as_of][target] if target is not None else None
        for root, target in zip(roots, firsts, strict=True)
    ]


def _first_target(root: NodeRow, predicate: str) -> str | None:
    targets = root.links.get(predicate)
    if not targets:
        return None
    return targets if isinstance(targets, str) else str(targets[0])


async def _rows_by_id(
    link: LinkField, info: Info, as_of: int | None, ids: set[str]
) -> dict[str, NodeRow]:
    """A row per id: the live node, or a MISSING stub for a dangling id."""
    ctx, target = info.context, link.target
    nodes = await ctx.ports.graph.get_many(
        ctx.scope(as_of), target.class_ids, list(ids)
    )
    return {
        i: row(nodes[i], as_of)
        if i in nodes
        else dangling(target.class_id, i, as_of, target.key)
        for i in ids
    }


async def to_many(
    link: LinkField,
    root: NodeRow,
    info: Info,
    *,
    where: Any = None,
    order_by: Any = None,
    first: Any = None,
    after: Any = None,
) -> ConnectionPage:
    size = pagination.page_size(info.context, given(first))
    where, order_by, after = given(where), given(order_by), given(after)
    if where is None and not order_by:
        return await _window(link, root, info, size, pagination.offset_after(after))
    found = await related.page(
        link, root, info, where=where, order_by=order_by, size=size, after=after
    )
    if found is not None:
        return found
    if link.inverse:
        rows = await _inverse(link, root, info)
    else:
        rows = await _targets(link, root, info, root.linked(link.predicate))
    return await _refine(
        info.context, root.as_of, rows, link.target, where, order_by, size, after
    )


async def _window(
    link: LinkField, root: NodeRow, info: Info, size: int, start: int
) -> ConnectionPage:
    """An unfiltered page reads only its own rows (plus one, to tell whether a
    next page exists), whatever the number of related objects."""
    if not link.inverse:
        ids = root.linked(link.predicate)
        shown = await _targets(link, root, info, ids[start : start + size])
        total = len(ids)

        async def known() -> int:
            return total

        return pagination.window_page(
            shown, start=start, has_next=start + size < total, count=known
        )
    rows = await _inverse(link, root, info, limit=start + size + 1)

    async def count() -> int:
        if root.node is None:
            return 0
        counts = loaders.linking_counts(
            info.context, link.target.class_ids, link.predicate, root.as_of
        )
        return await counts.load(root.instance_id)

    return pagination.window_page(
        rows[start : start + size],
        start=start,
        has_next=len(rows) > start + size,
        count=count,
    )


async def _targets(
    link: LinkField, root: NodeRow, info: Info, ids: list[str]
) -> list[NodeRow]:
    """Linked nodes in link order; a dangling id becomes a MISSING stub."""
    if not ids:
        return []
    loader = loaders.nodes(info.context, link.target.class_ids, root.as_of)
    found = await loader.load_many(ids)
    return [
        row(node, root.as_of)
        if node is not None
        else dangling(link.target.class_id, target, root.as_of, link.target.key)
        for target, node in zip(ids, found, strict=True)
    ]


async def _inverse(
    link: LinkField, root: NodeRow, info: Info, *, limit: int | None = None
) -> list[NodeRow]:
    """Sources linking to `root` in id order (with `limit`: at least its first
    `limit` sources, and only sources among the first `limit` ones)."""
    if root.node is None:
        return []
    loader = loaders.linking(
        info.context, link.target.class_ids, link.predicate, root.as_of, limit=limit
    )
    found = [row(n, root.as_of) for n in await loader.load(root.instance_id)]
    return found if limit is None else found[:limit]
