"""Per-request DataLoaders: one batched store call per hop, never one per parent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from domain.ports import NodeVersion, SearchDocument
from resolvers.context import Context


def nodes(
    ctx: Context, class_ids: Sequence[str], as_of: int | None
) -> DataLoader[str, NodeVersion | None]:
    """Live nodes by instance id among `class_ids` (a class and its subclasses)."""
    classes = tuple(class_ids)

    async def load(ids: list[str]) -> list[NodeVersion | None]:
        found = await ctx.ports.graph.get_many(ctx.scope(as_of), classes, ids)
        return [found.get(i) for i in ids]

    return ctx.loader(("nodes", classes, as_of), lambda: DataLoader(load_fn=load))


def linking(
    ctx: Context,
    source_class_ids: Sequence[str],
    predicate: str,
    as_of: int | None,
    *,
    limit: int | None = None,
) -> DataLoader[str, list[NodeVersion]]:
    """Sources whose `predicate` links to each target id (inverse relationships),
    by instance id; with `limit`, at least each target's first `limit` sources."""
    classes = tuple(source_class_ids)

    async def load(targets: list[str]) -> list[list[NodeVersion]]:
        sources = await ctx.ports.graph.linking_to(
            ctx.scope(as_of), classes, predicate, targets, limit_per_target=limit
        )
        by_target: dict[str, list[NodeVersion]] = {t: [] for t in targets}
        for node in sorted(sources, key=lambda n: n.instance_id):
            for target in _as_list(node.links.get(predicate)):
                if target in by_target:
                    by_target[target].append(node)
        return [by_target[t] for t in targets]

    key = ("linking", classes, predicate, as_of, limit)
    return ctx.loader(key, lambda: DataLoader(load_fn=load))


def linking_counts(
    ctx: Context, source_class_ids: Sequence[str], predicate: str, as_of: int | None
) -> DataLoader[str, int]:
    """How many sources link to each target id."""
    classes = tuple(source_class_ids)

    async def load(targets: list[str]) -> list[int]:
        counts = await ctx.ports.graph.count_linking_to(
            ctx.scope(as_of), classes, predicate, targets
        )
        return [counts.get(t, 0) for t in targets]

    key = ("linking_counts", classes, predicate, as_of)
    return ctx.loader(key, lambda: DataLoader(load_fn=load))


def documents(ctx: Context) -> DataLoader[tuple[str, str], SearchDocument | None]:
    """Search documents by (class id, instance id), the first branch of the lineage
    that holds one winning (the index's branch overlay)."""
    branches = [span.branch for span in ctx.lineage]

    async def load(keys: list[tuple[str, str]]) -> list[SearchDocument | None]:
        try:
            found = await ctx.ports.search.get_many(ctx.db, branches, keys)
        except Exception as error:
            if not getattr(error, "outage", False):
                raise
            # The index is down: no document is known, so graph reads report
            # PARTIAL honestly (R14) rather than failing.
            return [None] * len(keys)
        return [_first_branch(found, branches, key) for key in keys]

    return ctx.loader(("documents",), lambda: DataLoader(load_fn=load))


def _first_branch(
    found: dict[tuple[str, str, str], SearchDocument],
    branches: Sequence[str],
    key: tuple[str, str],
) -> SearchDocument | None:
    for branch in branches:
        doc = found.get((branch, *key))
        if doc is not None:
            return doc
    return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]
