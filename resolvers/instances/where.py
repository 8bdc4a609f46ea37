"""`where` over a set of rows: and/or/not, scalar conditions, relationship
conditions (`some/every/none` on to-many, a nested filter on to-one), and the
class-level full-text `search` (the index's matching ids, text_search.py).

Evaluated in Python over the graph store, like scalar filtering: a relationship
condition loads the related nodes of all remaining rows in one batched call per
hop (the request's DataLoaders), evaluates the nested filter once over that pool,
and then decides per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from resolvers.context import Context
from resolvers.instances import access, loaders, patterns, text_search
from resolvers.instances.filtering import holds, set_fields
from resolvers.instances.rows import NodeRow, row
from schema.ontology.plan import ClassPlan, LinkField

Ids = set[str]


class Where:
    """Evaluates filters for one request at one as-of position."""

    def __init__(self, ctx: Context, as_of: int | None) -> None:
        self._ctx = ctx
        self._as_of = as_of

    async def select(
        self, rows: Sequence[NodeRow], where: Any, plan: ClassPlan
    ) -> list[NodeRow]:
        if where is None:
            return list(rows)
        patterns.check_where(where, plan)
        keep = await self._matching(rows, where, plan)
        return [r for r in rows if r.instance_id in keep]

    async def _matching(
        self, rows: Sequence[NodeRow], where: Any, plan: ClassPlan
    ) -> Ids:
        """Ids of the rows every given condition holds for; each condition only
        looks at the rows the earlier ones kept."""
        kept = list(rows)
        for name, condition in set_fields(where):
            if not kept:
                break
            ids = await self._condition(kept, name, condition, plan)
            kept = [r for r in kept if r.instance_id in ids]
        return {r.instance_id for r in kept}

    async def _condition(
        self, rows: list[NodeRow], name: str, condition: Any, plan: ClassPlan
    ) -> Ids:
        every = {r.instance_id for r in rows}
        if condition is None:
            return every
        if name == "and_":
            for part in condition:
                every &= await self._matching(rows, part, plan)
            return every
        if name == "or_":
            found: Ids = set()
            for part in condition:
                found |= await self._matching(rows, part, plan)
            return found
        if name == "not_":
            return every - await self._matching(rows, condition, plan)
        if name == text_search.FIELD:
            return every & await text_search.matching_ids(self._ctx, plan, condition)
        link = plan.link_for(name)
        if link is not None:
            return await self._related(rows, link, condition)
        return {r.instance_id for r in rows if holds(r, name, condition, plan)}

    async def _related(
        self, rows: list[NodeRow], link: LinkField, condition: Any
    ) -> Ids:
        targets = await self._targets(rows, link)
        pool = list({t.instance_id: t for ts in targets.values() for t in ts}.values())
        if not link.many:
            good = await self._matching(pool, condition, link.target)
            return {i for i, ts in targets.items() if ts and ts[0].instance_id in good}
        result = set(targets)
        for quantifier, nested in set_fields(condition):
            if nested is None:
                continue
            good = await self._matching(pool, nested, link.target)
            result &= {
                i for i, ts in targets.items() if _quantified(quantifier, ts, good)
            }
        return result

    async def _targets(
        self, rows: list[NodeRow], link: LinkField
    ) -> dict[str, list[NodeRow]]:
        """The live related nodes of each row (dangling references, and the
        objects a row filter hides, left out)."""
        classes = link.target.class_ids
        guard = access.guard(self._ctx, link.target)
        if link.inverse:
            loader = loaders.linking(self._ctx, classes, link.predicate, self._as_of)
            sources = await loader.load_many([r.instance_id for r in rows])
            return {
                r.instance_id: _unhidden(guard, (row(n, self._as_of) for n in found))
                for r, found in zip(rows, sources, strict=True)
            }
        nodes = loaders.nodes(self._ctx, classes, self._as_of)
        wanted = sorted({t for r in rows for t in r.linked(link.predicate)})
        found = dict(zip(wanted, await nodes.load_many(wanted), strict=True))
        return {
            r.instance_id: _unhidden(
                guard,
                (
                    row(n, self._as_of)
                    for n in (found[t] for t in r.linked(link.predicate))
                    if n is not None
                ),
            )
            for r in rows
        }


def _unhidden(guard: access.Guard | None, rows: Iterable[NodeRow]) -> list[NodeRow]:
    return list(rows) if guard is None else access.unhidden(guard, rows)


def _quantified(quantifier: str, targets: list[NodeRow], good: Ids) -> bool:
    hits = [t.instance_id in good for t in targets]
    if quantifier == "some":
        return any(hits)
    if quantifier == "every":
        return all(hits)
    return not any(hits)  # none
