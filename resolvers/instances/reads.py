"""Query resolvers of generated types: by id, lists, relationships, inverses,
each under the request's access policies (access.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from resolvers.context import Context, Info
from resolvers.instances import access, loaders, ordering, pagination, related
from resolvers.instances.as_of import read_position
from resolvers.instances.rows import ConnectionPage, Edge, NodeRow, row
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
    ctx = info.context
    position = await read_position(ctx, as_of, as_of_time)
    loader = loaders.nodes(ctx, plan.class_ids, position)
    node = await loader.load(str(id))
    if node is None:
        return None
    found = access.visible(access.guard(ctx, plan), [row(node, position)])
    return found[0] if found else None


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
    access.check_reads(ctx, plan, where=where, order_by=order_by)
    scope = ctx.scope(position)
    guard = access.guard(ctx, plan)
    if where is None and not order_by and not _filtered(guard, plan):
        after_id = pagination.decode(after, pagination.KEYSET)
        nodes = await ctx.ports.graph.list_nodes(
            scope, plan.class_ids, after_id=after_id, limit=size + 1
        )

        async def count() -> int:
            return await ctx.ports.graph.count(scope, plan.class_ids)

        rows = [row(n, position) for n in nodes]
        page = pagination.keyset_page(rows, size, after=after, count=count)
        return _shown(guard, page)
    found = await _in_store(ctx, plan, position, where, order_by, size, after)
    if found is not None:
        return _shown(guard, found)
    rows = await scan(ctx, plan, position)
    page = await _refine(ctx, position, rows, plan, where, order_by, size, after)
    return _shown(guard, page)


def _filtered(guard: access.Guard | None, plan: ClassPlan) -> bool:
    """Whether a row filter may hide some of the plan's objects (the
    unfiltered fast paths, which read and count every object, then do not do)."""
    return guard is not None and guard.filters(plan.class_ids)


def _shown(guard: access.Guard | None, page: ConnectionPage) -> ConnectionPage:
    """The page's objects as the schema may read them (masked values)."""
    if guard is None:
        return page
    edges = [Edge(e.position, guard.shown(e.node)) for e in page.edges]
    return ConnectionPage(edges, page.page_info, page.count)


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
    condition = await access.store_condition(ctx, where, plan)
    keys = access.store_order(ctx, order_by, plan)
    if condition is None or keys is None:
        return None
    start = pagination.offset_after(after)
    scope, graph = ctx.scope(as_of), ctx.ports.graph
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
    """Every live object of the plan's classes the row filters show, as stored
    (the caller shows them to the schema through Guard.shown)."""
    guard = access.guard(ctx, plan)
    rows: list[NodeRow] = []
    after_id: str | None = None
    while True:
        nodes = await ctx.ports.graph.list_nodes(
            ctx.scope(as_of), plan.class_ids, after_id=after_id, limit=_SCAN_PAGE
        )
        found = [row(n, as_of) for n in nodes]
        rows.extend(found if guard is None else access.unhidden(guard, found))
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
        found = await _inverse(link, root, info, limit=1)
    else:
        found = await _targets(link, root, info, root.linked(link.predicate)[:1])
    if not found:
        return None
    guard = access.guard(info.context, link.target)
    return guard.shown(found[0]) if guard is not None else found[0]


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
) -> dict[str, NodeRow | None]:
    """A row per id: the live node, or a MISSING stub for a dangling id; None
    for what a row filter hides."""
    ctx, target = info.context, link.target
    nodes = await ctx.ports.graph.get_many(
        ctx.scope(as_of), target.class_ids, list(ids)
    )
    rows = {i: access.linked_row(target, i, nodes.get(i), as_of) for i in ids}
    guard = access.guard(ctx, target)
    if guard is None:
        return dict(rows)
    return {i: None if guard.hides(r) else guard.shown(r) for i, r in rows.items()}


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
    ctx, target = info.context, link.target
    size = pagination.page_size(ctx, given(first))
    where, order_by, after = given(where), given(order_by), given(after)
    access.check_reads(ctx, target, where=where, order_by=order_by)
    guard = access.guard(ctx, target)
    if where is None and not order_by and not _filtered(guard, target):
        start = pagination.offset_after(after)
        return _shown(guard, await _window(link, root, info, size, start))
    found = await related.page(
        link, root, info, where=where, order_by=order_by, size=size, after=after
    )
    if found is not None:
        return _shown(guard, found)
    if link.inverse:
        rows = await _inverse(link, root, info)
    else:
        rows = await _targets(link, root, info, root.linked(link.predicate))
    page = await _refine(ctx, root.as_of, rows, target, where, order_by, size, after)
    return _shown(guard, page)


async def _window(
    link: LinkField, root: NodeRow, info: Info, size: int, start: int
) -> ConnectionPage:
    """An unfiltered page reads only its own rows (plus one, to tell whether a
    next page exists), whatever the number of related objects. Not for a
    class a row filter may hide objects of: its counts would count them."""
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
    """Linked nodes in link order, a dangling id as a MISSING stub, those a row
    filter hides left out (as stored: see access.visible)."""
    if not ids:
        return []
    ctx, target = info.context, link.target
    loader = loaders.nodes(ctx, target.class_ids, root.as_of)
    found = await loader.load_many(ids)
    rows = (
        access.linked_row(target, i, node, root.as_of)
        for i, node in zip(ids, found, strict=True)
    )
    guard = access.guard(ctx, target)
    return list(rows) if guard is None else access.unhidden(guard, rows)


async def _inverse(
    link: LinkField, root: NodeRow, info: Info, *, limit: int | None = None
) -> list[NodeRow]:
    """Sources linking to `root` in id order (with `limit`: at least its first
    `limit` sources, and only sources among the first `limit` ones), those a
    row filter hides left out (as stored: see access.visible)."""
    if root.node is None:
        return []
    ctx = info.context
    guard = access.guard(ctx, link.target)
    if _filtered(guard, link.target):
        limit = None  # the first sources may be hidden ones
    loader = loaders.linking(
        ctx, link.target.class_ids, link.predicate, root.as_of, limit=limit
    )
    rows = [row(n, root.as_of) for n in await loader.load(root.instance_id)]
    if guard is not None:
        rows = access.unhidden(guard, rows)
    return rows if limit is None else rows[:limit]
