"""Nested lists with `where:` or `orderBy:` (`customer { owns(where: …, first: 5) }`)
filtered, sorted and paged by the graph store for every parent of a hop at
once: the parents' fields load through one DataLoader per field and arguments,
so a hop costs one store call (`GraphStore.find_related`), not one per parent,
and no related node outside the pages is read.

The meaning is the in-memory evaluation's (reads.to_many's fallback): a
forward list holds the ids the parent's link lists, a dangling one as a
MISSING stub whose only value is its key; an inverse list holds the live nodes
linking to the parent; a dangling parent has no related nodes. The row
filters of the related class are part of the condition (access.store_condition),
a dangling id judged by its stub as in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from domain.ports import NodeVersion, RelatedPage
from domain.queries import NodeFilter, Relation, SortKey
from resolvers.context import Context, Info
from resolvers.instances import access, pagination
from resolvers.instances.rows import ConnectionPage, NodeRow, dangling, row
from schema.ontology.plan import LinkField

Parent = tuple[str, str]  # (class id, instance id)


async def page(
    link: LinkField,
    root: NodeRow,
    info: Info,
    *,
    where: Any,
    order_by: Any,
    size: int,
    after: str | None,
) -> ConnectionPage | None:
    """The root's page of the list, or None when the store (or a part of the
    filter) needs the in-memory evaluation."""
    ctx = info.context
    condition = await access.store_condition(ctx, where, link.target)
    keys = access.store_order(ctx, order_by, link.target)
    if condition is None or keys is None:
        return None
    start = pagination.offset_after(after)
    if root.node is None:
        found: RelatedPage | None = RelatedPage(0, ())
    else:
        loader = _loader(ctx, link, root.as_of, condition, keys, (start, size + 1))
        found = await loader.load((root.class_id, root.instance_id))
    if found is None:
        return None
    rows = [_row(link, item, root.as_of) for item in found.items]
    total = found.total

    async def count() -> int:
        return total

    return pagination.window_page(
        rows[:size], start=start, has_next=len(rows) > size, count=count
    )


def _row(link: LinkField, item: NodeVersion | str, as_of: int | None) -> NodeRow:
    if isinstance(item, str):
        return dangling(link.target.class_id, item, as_of, link.target.key)
    return row(item, as_of)


def _loader(
    ctx: Context,
    link: LinkField,
    as_of: int | None,
    condition: NodeFilter,
    keys: Sequence[SortKey],
    window: tuple[int, int],
) -> DataLoader[Parent, RelatedPage | None]:
    """One loader per field and arguments: the parents asking in one tick
    are read together."""
    target = link.target

    async def load(parents: list[Parent]) -> list[RelatedPage | None]:
        relation = Relation(
            link.predicate,
            target.class_ids,
            tuple(sorted({cls for cls, _ in parents})),
            link.inverse,
            target.key,
        )
        pages = await ctx.ports.graph.find_related(
            ctx.scope(as_of),
            relation,
            [i for _, i in parents],
            where=condition,
            order=keys,
            offset=window[0],
            limit=window[1],
        )
        if pages is None:
            return [None] * len(parents)
        return [pages.get(i, RelatedPage(0, ())) for _, i in parents]

    key = ("related", link, as_of, repr(condition), repr(keys), window)
    return ctx.loader(key, lambda: DataLoader(load_fn=load))
