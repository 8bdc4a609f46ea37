"""`orderBy` evaluated over node rows in Python, the reference meaning of the
graph store's sorting (domain.queries): each key in turn, nulls and values of
another type last in either direction, ties by instance id.

A key on a to-one relationship (`{ownedBy: {name: ASC}}`) sorts by the value
on the related node: the latest live version, as of the read, of the first id
the link names. A missing or dangling related node, or one a row filter
hides (access.py), sorts like a null. Related
nodes are read in one batched store call per hop for all rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from domain.queries import Hop, SortKey
from resolvers.context import Context
from resolvers.instances import access, loaders, pushdown
from resolvers.instances.filtering import comparable, fits
from resolvers.instances.rows import NodeRow, row
from schema.ontology.plan import ClassPlan

Related = dict[str, NodeRow | None]  # row id -> the node a key's hops reach


async def ordered(
    ctx: Context,
    as_of: int | None,
    rows: Sequence[NodeRow],
    order_by: Sequence[Mapping[str, Any]],
    plan: ClassPlan,
) -> list[NodeRow]:
    """The rows sorted as the `orderBy` input says."""
    keys = pushdown.sort_keys(order_by, plan)
    reached: dict[tuple[Hop, ...], Related] = {}
    guard = access.guard(ctx, plan)
    for key in keys:
        await _reach(ctx, as_of, rows, key.via, reached, guard)
    result = sorted(rows, key=lambda r: r.instance_id)
    for key in reversed(keys):
        result = _sorted_by(result, key, reached.get(key.via))
    return result


async def _reach(
    ctx: Context,
    as_of: int | None,
    rows: Sequence[NodeRow],
    via: tuple[Hop, ...],
    reached: dict[tuple[Hop, ...], Related],
    guard: access.Guard | None,
) -> Related | None:
    """The node at the end of `via` for every row (remembered per path, so
    keys sharing hops read them once); one a row filter hides is None, as a
    missing one."""
    if not via or via in reached:
        return reached.get(via)
    start = await _reach(ctx, as_of, rows, via[:-1], reached, guard)
    if start is None:
        start = {r.instance_id: r for r in rows}
    hop = via[-1]
    firsts = {i: _first(n, hop.predicate) for i, n in start.items()}
    wanted = sorted({f for f in firsts.values() if f is not None})
    loader = loaders.nodes(ctx, hop.class_ids, as_of)
    found = dict(zip(wanted, await loader.load_many(wanted), strict=True))
    result: Related = {}
    for row_id, first in firsts.items():
        node = found.get(first) if first is not None else None
        if node is None or (guard is not None and guard.hides_node(node)):
            result[row_id] = None
        else:
            result[row_id] = row(node, as_of)
    reached[via] = result
    return result


def _first(node: NodeRow | None, predicate: str) -> str | None:
    linked = node.linked(predicate) if node is not None else []
    return linked[0] if linked else None


def _sorted_by(
    rows: list[NodeRow], key: SortKey, related: Related | None
) -> list[NodeRow]:
    """Values of the kind's type sorted, then nulls and values of other types
    in their previous order (a stable sort keeps ties in id order)."""
    values = {r.instance_id: _value(r, key, related) for r in rows}
    present = [r for r in rows if values[r.instance_id] is not None]
    absent = [r for r in rows if values[r.instance_id] is None]
    # Mixed types after a schema change cannot sort: keep the previous order.
    with contextlib.suppress(TypeError):
        present.sort(key=lambda r: values[r.instance_id], reverse=key.descending)
    return present + absent


def _value(r: NodeRow, key: SortKey, related: Related | None) -> Any:
    """The key's value for the row: its own, or the related node's; None for
    a null, a value of another type, or no related node."""
    node = r if related is None else related.get(r.instance_id)
    if node is None:
        return None
    if key.field is None:
        return node.instance_id
    raw = node.values.get(key.field)
    if raw is None or not fits(raw, key.kind):
        return None
    return comparable(raw, key.kind)
