"""`spice rebuild <projection>`: replay the event store into a shadow, then swap.

Live reads keep hitting the live tables while the shadow is built; the swap is
one transaction. Events committed after the rebuild's horizon are left to the
live consumer (see adapters.rebuild_sql).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters import tables as t
from adapters.graph_store.sql import SqlGraphStore
from adapters.rebuild_sql import (
    create_shadow,
    drop_shadow,
    merge_tracking,
    shadow_tables,
    swap_tables,
)
from adapters.search_index.alias_swap import swap_in_shadow
from adapters.search_index.document_index import DocumentSearchIndex
from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex, swap_from_shadow
from adapters.views.catalog_sql import SqlAuditView, SqlCatalogView
from app.bootstrap import Container
from projections.base import Projection
from projections.catalog import AuditProjection, CatalogProjection
from projections.graph import GraphProjection
from projections.search import SearchProjection
from workers.consumer import ProjectionConsumer

REBUILDABLE = ("graph", "search", "catalog", "audit")
REPLAY_BATCH = 2000


@dataclass(frozen=True, slots=True)
class RebuildReport:
    projection: str
    events: int
    horizon: dict[str, int]
    shadow_hash: str
    live_hash: str


@dataclass(slots=True)
class _Plan:
    shadow: Projection
    prepare: Callable[[], Awaitable[None]]
    swap: Callable[[dict[str, int]], Awaitable[None]]
    cleanup: Callable[[], Awaitable[None]]
    shadow_hash: Callable[[], Awaitable[str]]
    live_hash: Callable[[], Awaitable[str]]


class RebuildUnsupported(Exception):
    """The projection cannot be rebuilt on the configured store."""


async def rebuild(container: Container, name: str) -> RebuildReport:
    if name not in REBUILDABLE:
        raise ValueError(
            f"unknown projection {name!r}; choose from {', '.join(REBUILDABLE)}"
        )
    if name == "graph" and not isinstance(container.graph, SqlGraphStore):
        # The shadow-and-swap below is SQL tables; replaying into them while
        # reads go to another server would report success and change nothing.
        raise RebuildUnsupported(
            "spice rebuild graph needs the SQL graph store (SPICE_GRAPH_URL=sql://); "
            "rebuilding a TerminusDB graph store is not supported yet"
        )
    plan = _plan(container, name)
    await plan.prepare()
    await merge_tracking(
        container.database, live=f"{name}.discard", shadow=plan.shadow.name
    )
    horizon = await container.event_store.last_positions()
    count = await _replay(container, container.consumer(plan.shadow), horizon)
    shadow_hash = await plan.shadow_hash()
    await plan.swap(horizon)
    await merge_tracking(container.database, live=name, shadow=plan.shadow.name)
    await plan.cleanup()
    return RebuildReport(name, count, horizon, shadow_hash, await plan.live_hash())


async def _replay(
    container: Container, consumer: ProjectionConsumer, horizon: dict[str, int]
) -> int:
    count = 0
    for db, last in sorted(horizon.items()):
        after = 0
        while after < last:
            events = await container.event_store.read_positions(
                db, after_position=after, limit=REPLAY_BATCH
            )
            events = [e for e in events if e.position <= last]
            if not events:
                break
            await consumer.handle(events)
            after = events[-1].position
            count += len(events)
    return count


def _plan(container: Container, name: str) -> _Plan:
    db = container.database
    if name == "graph":
        nodes, edges = shadow_tables([t.graph_nodes, t.graph_edges])
        graph = SqlGraphStore(db, nodes=nodes, edges=edges)
        return _Plan(
            GraphProjection(graph, name="graph.shadow"),
            lambda: create_shadow(db, [nodes, edges]),
            lambda h: swap_tables(
                db, [(t.graph_nodes, nodes), (t.graph_edges, edges)], h
            ),
            lambda: drop_shadow(db, [nodes, edges]),
            graph.content_hash,
            container.graph.content_hash,
        )
    if name == "search":
        return _search_plan(container)
    if name == "catalog":
        dbs, branches, classes = shadow_tables(
            [t.catalog_databases, t.catalog_branches, t.catalog_classes]
        )
        view = SqlCatalogView(db, databases=dbs, branches=branches, classes=classes)
        pairs = [
            (t.catalog_databases, dbs),
            (t.catalog_branches, branches),
            (t.catalog_classes, classes),
        ]
        return _Plan(
            CatalogProjection(view, name="catalog.shadow"),
            lambda: create_shadow(db, [dbs, branches, classes]),
            lambda h: swap_tables(db, pairs, h),
            lambda: drop_shadow(db, [dbs, branches, classes]),
            view.content_hash,
            container.catalog.content_hash,
        )
    (log,) = shadow_tables([t.audit_log])
    audit = SqlAuditView(db, log=log)
    return _Plan(
        # No trail: the audit chain is the tamper-evident record, never replayed.
        AuditProjection(audit, name="audit.shadow"),
        lambda: create_shadow(db, [log]),
        lambda h: swap_tables(db, [(t.audit_log, log)], h),
        lambda: drop_shadow(db, [log]),
        audit.content_hash,
        container.audit.content_hash,
    )


def _search_plan(container: Container) -> _Plan:
    live = container.search
    if isinstance(live, DocumentSearchIndex):
        # OpenSearch/Elasticsearch: replay into a new generation of indexes, then
        # swap the aliases atomically (adapters.search_index.alias_swap).
        shadow = live.shadow()

        async def swap_aliases(horizon: dict[str, int]) -> None:
            await swap_in_shadow(live, shadow, horizon)

        return _Plan(
            SearchProjection(shadow, name="search.shadow"),
            _nothing,
            swap_aliases,
            _nothing,
            shadow.content_hash,
            live.content_hash,
        )
    if not isinstance(live, SqliteFtsSearchIndex) or container.search_database is None:
        raise ValueError(f"rebuild does not support the {type(live).__name__} index")
    sqlite_live = live
    index = SqliteFtsSearchIndex(container.search_database, prefix="search_shadow")

    async def prepare_search() -> None:
        await index.drop()
        await index.open()

    return _Plan(
        SearchProjection(index, name="search.shadow"),
        prepare_search,
        lambda h: swap_from_shadow(sqlite_live, index, h),
        index.drop,
        index.content_hash,
        sqlite_live.content_hash,
    )


async def _nothing() -> None:
    return None
