"""TerminusGraphStore: the GraphStore port on a TerminusDB server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from adapters.graph_store.terminus.config import TerminusConfig
from adapters.graph_store.terminus.connection import TerminusConnection
from adapters.graph_store.terminus.graph import TerminusGraph
from adapters.graph_store.terminus.overlay import counts
from domain.ports import NodeVersion, ReadScope, RelatedPage
from domain.queries import Group, GroupField, Measure, NodeFilter, Relation, SortKey


class TerminusGraphStore:
    """Same contract as the SQL graph store; the mapping is described in the
    package docstring. The official client is synchronous, so every call runs in
    a worker thread; nothing connects before the first call."""

    def __init__(self, config: TerminusConfig) -> None:
        self.config = config
        self._graph = TerminusGraph(TerminusConnection(config))
        self.calls = 0  # port calls (each a batch), as SqlGraphStore counts them
        self.pushed_down = 0  # find/count_where calls answered, not declined

    async def close(self) -> None:
        await asyncio.to_thread(self._graph.close)

    async def put(self, versions: Sequence[NodeVersion]) -> None:
        if versions:
            await asyncio.to_thread(self._graph.put, list(versions))

    async def get_many(
        self, scope: ReadScope, class_ids: Sequence[str], instance_ids: Sequence[str]
    ) -> dict[str, NodeVersion]:
        self.calls += 1
        return await asyncio.to_thread(
            self._graph.get_many, scope, list(class_ids), list(instance_ids)
        )

    async def list_nodes(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[NodeVersion]:
        self.calls += 1
        return await asyncio.to_thread(
            lambda: self._graph.list_nodes(
                scope, list(class_ids), after_id=after_id, limit=limit
            )
        )

    async def linking_to(
        self,
        scope: ReadScope,
        source_class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
        *,
        limit_per_target: int | None = None,
    ) -> list[NodeVersion]:
        self.calls += 1
        return await asyncio.to_thread(
            lambda: self._graph.linking_to(
                scope,
                list(source_class_ids),
                predicate,
                list(target_ids),
                limit_per_target=limit_per_target,
            )
        )

    async def count_linking_to(
        self,
        scope: ReadScope,
        source_class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
    ) -> dict[str, int]:
        self.calls += 1
        by_target, _ = await asyncio.to_thread(
            self._graph.links,
            scope,
            list(source_class_ids),
            predicate,
            list(target_ids),
        )
        return counts(by_target, target_ids)

    async def count(self, scope: ReadScope, class_ids: Sequence[str]) -> int:
        self.calls += 1
        return await asyncio.to_thread(self._graph.count, scope, list(class_ids))

    async def find(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        order: Sequence[SortKey] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> list[NodeVersion] | None:
        """One WOQL query (find.py); None for what filters.py declines."""
        self.calls += 1
        found = await asyncio.to_thread(
            lambda: self._graph.find(
                scope,
                list(class_ids),
                where=where,
                order=order,
                offset=offset,
                limit=limit,
            )
        )
        self.pushed_down += found is not None
        return found

    async def count_where(
        self, scope: ReadScope, class_ids: Sequence[str], where: NodeFilter | None
    ) -> int | None:
        self.calls += 1
        found = await asyncio.to_thread(
            self._graph.count_where, scope, list(class_ids), where
        )
        self.pushed_down += found is not None
        return found

    async def aggregate(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        measures: Sequence[Measure],
        group_by: Sequence[GroupField] = (),
    ) -> list[Group] | None:
        """Declined, as `find`: aggregates are computed over `list_nodes`."""
        del scope, class_ids, where, measures, group_by
        return None

    async def find_related(
        self,
        scope: ReadScope,
        relation: Relation,
        parent_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        order: Sequence[SortKey] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> dict[str, RelatedPage] | None:
        """Declined, as `find`: nested lists are filtered over `linking_to`
        and `get_many` reads, one batch per hop."""
        del scope, relation, parent_ids, where, order, offset, limit
        return None

    async def content_hash(self, db: str | None = None) -> str:
        return await asyncio.to_thread(self._graph.content_hash, db)
