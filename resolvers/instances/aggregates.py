"""`<plural>Aggregate(where)`: count, sum/avg/min/max and groupBy.

Computed by the graph store where it can (`GraphStore.aggregate`: one SQL
GROUP BY over the matching nodes, none of them loaded here); where it declines
(a relationship condition in `where`, a store without aggregates) the class's
live nodes are read in store pages, filtered and aggregated here
(grouping.py, the reference meaning), so that cost grows with the class.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from domain.queries import Group, GroupField, NodeFilter
from resolvers.context import Context, Info
from resolvers.instances import access, grouping
from resolvers.instances.as_of import read_position
from resolvers.instances.reads import scan
from resolvers.instances.rows import NodeRow
from resolvers.instances.where import Where
from resolvers.plain import given
from schema.ontology.plan import ClassPlan


class Aggregation:
    """The figures of the nodes a `where` selects: asked of the graph store
    (one GROUP BY statement for count/sum/avg/min/max, one per `groupBy`)
    when a field first needs them; where the store declines, computed here
    over the nodes, read and filtered once."""

    def __init__(
        self,
        ctx: Context,
        plan: ClassPlan,
        as_of: int | None,
        where: Any,
        condition: NodeFilter | None,
    ) -> None:
        """`condition`: `where` for the store (pushdown.store_condition)."""
        self._ctx = ctx
        self._plan = plan
        self._as_of = as_of
        self._where = where
        self._condition = condition
        self._measures = grouping.measures(plan)
        self._whole: asyncio.Future[grouping.Figures] | None = None
        self._rows: asyncio.Future[list[NodeRow]] | None = None

    @property
    def count(self) -> Awaitable[int]:
        return self._part("count")

    @property
    def sum(self) -> Awaitable[Mapping[str, Any]]:
        return self._part("sum")

    @property
    def avg(self) -> Awaitable[Mapping[str, Any]]:
        return self._part("avg")

    @property
    def min_(self) -> Awaitable[Mapping[str, Any]]:
        return self._part("min_")

    @property
    def max_(self) -> Awaitable[Mapping[str, Any]]:
        return self._part("max_")

    async def _part(self, name: str) -> Any:
        if self._whole is None:
            self._whole = asyncio.ensure_future(self._overall())
        return getattr(await self._whole, name)

    async def _overall(self) -> grouping.Figures:
        return (await self.groups([]))[0]

    async def groups(self, python_names: Sequence[str]) -> list[grouping.Figures]:
        """Grouped by the fields (properties' and relationships' Python names)."""
        ctx, plan = self._ctx, self._plan
        guard = access.guard(ctx, plan)
        if guard is not None:
            guard.check_group(python_names, plan)
        fields = grouping.group_fields(plan, python_names)
        found = await self._in_store(fields, guard)
        if found is None:
            rows = await self._selected()
            if guard is not None and any(f.link for f in fields):
                rows = await access.pruned_links(ctx, guard, plan, rows)
            found = grouping.in_memory(rows, fields, self._measures)
        return access.masked_figures(ctx, plan, grouping.figures(found, fields, plan))

    async def _in_store(
        self, fields: Sequence[GroupField], guard: access.Guard | None
    ) -> list[Group] | None:
        """None also for a group by a relationship to objects a row filter may
        hide: the store would group by their ids (in memory they are none)."""
        if self._condition is None:
            return None
        if guard is not None and any(
            f.link and guard.filters(self._link_targets(f.name)) for f in fields
        ):
            return None
        ctx = self._ctx
        return await ctx.ports.graph.aggregate(
            ctx.scope(self._as_of),
            self._plan.class_ids,
            where=self._condition,
            measures=self._measures,
            group_by=fields,
        )

    def _link_targets(self, predicate: str) -> tuple[str, ...]:
        links = (k for k in self._plan.links if not k.inverse)
        link = next(k for k in links if k.predicate == predicate)
        return link.target.class_ids

    async def _selected(self) -> list[NodeRow]:
        if self._rows is None:
            self._rows = asyncio.ensure_future(self._filtered())
        return await self._rows

    async def _filtered(self) -> list[NodeRow]:
        ctx, position = self._ctx, self._as_of
        rows = await scan(ctx, self._plan, position)
        return await Where(ctx, position).select(rows, self._where, self._plan)


async def aggregate(
    plan: ClassPlan,
    info: Info,
    *,
    where: Any = None,
    as_of: Any = None,
    as_of_time: Any = None,
) -> Aggregation:
    ctx = info.context
    position = await read_position(ctx, as_of, as_of_time)
    where = given(where)
    access.check_reads(ctx, plan, where=where)
    # Translated here, so that an invalid `where` fails the field itself.
    condition = await access.store_condition(ctx, where, plan)
    return Aggregation(ctx, plan, position, where, condition)


async def group_by(
    root: Aggregation, _info: Info, *, fields: Sequence[str]
) -> list[grouping.Figures]:
    # The GroupField enum's values are the fields' Python names.
    return await root.groups(list(fields))
