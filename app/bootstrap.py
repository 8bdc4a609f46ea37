"""Composition root: builds every adapter from Settings and wires the workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters import registry
from adapters.dataplane.files import BlobDatasetFiles
from adapters.errors import StoreError
from adapters.event_store.payloads import EventPayloads
from adapters.event_store.sql import SqlEventStore
from adapters.graph_store.sql import SqlGraphStore
from adapters.migrations import upgrade
from adapters.security_sql import SqlSecurityStore
from adapters.sql_engine import SqlDatabase, open_database
from adapters.tracking.relay_sql import SqlRelayCheckpoints
from adapters.tracking.sql import SqlConsumerState
from adapters.views.audit_chain_sql import SqlAuditTrail
from adapters.views.catalog_sql import SqlAuditView, SqlCatalogView
from adapters.views.status_sql import SqlCommandStatusView, stage_reached
from app.change_feed import ChangeFeed
from app.settings import Settings
from domain.events import EventEnvelope
from domain.handlers import CommandHandlers
from domain.ports import BlobStore, MessageBus, SearchIndex
from projections.base import Projection
from projections.catalog import AuditProjection, CatalogProjection
from projections.graph import GraphProjection
from projections.search import SearchProjection
from projections.status import STAGE_BY_CONSUMER, StageWaiter
from workers.consumer import ProjectionConsumer, RetryPolicy
from workers.faults import CrashPlan
from workers.loop import run_consumer
from workers.relay import OutboxRelay

if TYPE_CHECKING:
    from adapters.graph_store.terminus.store import TerminusGraphStore

log = logging.getLogger(__name__)

WORKER_NAMES = ("relay", "graph", "search", "catalog", "audit")


@dataclass(slots=True)
class Container:
    settings: Settings
    database: SqlDatabase
    # The SQLite FTS database; None when the search index is a cluster.
    search_database: SqlDatabase | None
    event_store: SqlEventStore
    bus: MessageBus
    graph: SqlGraphStore | TerminusGraphStore
    search: SearchIndex
    blobs: BlobStore
    catalog: SqlCatalogView
    audit: SqlAuditView
    # The hash-chained audit trail (commands here; denials, grants, tokens by the API).
    audit_trail: SqlAuditTrail
    status: SqlCommandStatusView
    # API tokens, role grants and access policies (SPEC §7).
    security_store: SqlSecurityStore
    consumer_state: SqlConsumerState
    relay_checkpoints: SqlRelayCheckpoints
    handlers: CommandHandlers
    waiter: StageWaiter
    # Live events for GraphQL subscriptions (a tail of the bus while any is open).
    changes: ChangeFeed
    # Parquet files of dataset versions, in `blobs` (SPEC §6).
    datasets: BlobDatasetFiles
    crash: CrashPlan | None = None
    relay: OutboxRelay | None = field(default=None)
    # The optional event-payload store (SPICE_EVENT_PAYLOADS_URL), fed by the relay.
    payloads: EventPayloads | None = None

    def projections(self) -> dict[str, Projection]:
        return {
            "graph": GraphProjection(self.graph),
            "search": SearchProjection(self.search),
            "catalog": CatalogProjection(self.catalog),
            "audit": AuditProjection(self.audit, trail=self.audit_trail),
        }

    def consumer(self, projection: Projection) -> ProjectionConsumer:
        return ProjectionConsumer(
            projection,
            self.consumer_state,
            self.event_store,
            retry=self.retry_policy(),
            on_checkpoint=self._checkpoint_moved,
            on_dead_letter=self._copy_dead_letter_to_bus,
            crash=self.crash,
        )

    async def _copy_dead_letter_to_bus(
        self, consumer: str, event: EventEnvelope, error: BaseException, attempts: int
    ) -> None:
        """The SQL dead letter is the record that redrive works from; a bus with a
        dead-letter topic (Kafka) gets a copy for operators. Its outage only logs."""
        publish = getattr(self.bus, "publish_dead_letter", None)
        if publish is None:
            return
        try:
            await publish(event, error, consumer=consumer, attempts=attempts)
        except StoreError as failure:
            log.warning(
                "could not copy dead letter %s to the bus: %r", event.event_id, failure
            )

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.settings.retry_attempts,
            base_delay=self.settings.retry_base_delay,
        )

    async def _checkpoint_moved(
        self, consumer: str, db: str, _old: int, new: int
    ) -> None:
        # The stage rows were written with the checkpoint (SqlConsumerState's
        # on_advance hook); what is left is waking the waiters.
        stage = STAGE_BY_CONSUMER.get(consumer)
        if stage is not None:
            await self.waiter.advanced(stage, db, new)

    def wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake.set()


@asynccontextmanager
async def open_container(settings: Settings) -> AsyncIterator[Container]:
    registry.check_graph_url(settings.graph_url)
    bus = registry.open_bus(settings.bus_url)
    async with AsyncExitStack() as stack:
        database = open_database(settings.database_url)
        stack.push_async_callback(database.dispose)
        stack.push_async_callback(bus.close)
        search = await stack.enter_async_context(
            registry.open_search(settings.search_url)
        )
        blobs = await stack.enter_async_context(
            registry.open_blob_store(settings.blob_url)
        )
        graph = await stack.enter_async_context(
            registry.open_graph(settings.graph_url, database=database)
        )
        payload_blobs = None
        if settings.event_payloads_url is not None:
            payload_blobs = await stack.enter_async_context(
                registry.open_blob_store(
                    settings.event_payloads_url, setting=registry.EVENT_PAYLOADS
                )
            )
        if settings.auto_migrate:
            await upgrade(database)
        container = _build(settings, database, search, bus, blobs, graph)
        stack.push_async_callback(container.changes.close)
        stack.callback(container.datasets.close)  # its local copies of versions
        if payload_blobs is not None:
            container.payloads = EventPayloads(
                database, container.event_store, payload_blobs
            )
        yield container


def _build(
    settings: Settings,
    database: SqlDatabase,
    search: registry.OpenedSearch,
    bus: MessageBus,
    blobs: BlobStore,
    graph: SqlGraphStore | TerminusGraphStore,
) -> Container:
    store = SqlEventStore(database)
    status = SqlCommandStatusView(database)
    container = Container(
        settings=settings,
        database=database,
        search_database=search.database,
        event_store=store,
        bus=bus,
        graph=graph,
        search=search.index,
        blobs=blobs,
        catalog=SqlCatalogView(database),
        audit=SqlAuditView(database),
        audit_trail=SqlAuditTrail(database),
        status=status,
        security_store=SqlSecurityStore(database),
        consumer_state=SqlConsumerState(database, on_advance=stage_reached),
        relay_checkpoints=SqlRelayCheckpoints(database),
        handlers=CommandHandlers(store, rejections=status),
        waiter=StageWaiter(status.reached, poll_interval=settings.stage_poll_interval),
        changes=ChangeFeed(bus),
        datasets=BlobDatasetFiles(blobs),
        crash=CrashPlan.parse(settings.crash_at),
    )
    store.on_commit(container.wake_relay)
    return container


async def run_workers(
    container: Container, names: tuple[str, ...], stop: asyncio.Event
) -> None:
    """Runs the relay and the named projection consumers until `stop` is set."""
    unknown = set(names) - set(WORKER_NAMES)
    if unknown:
        raise ValueError(
            f"unknown workers {sorted(unknown)}; choose from {WORKER_NAMES}"
        )
    projections = {n: p for n, p in container.projections().items() if n in names}
    consumers = [container.consumer(p) for p in projections.values()]
    tasks = [
        asyncio.create_task(_supervised(container, c, stop), name=c.name)
        for c in consumers
    ]
    if "relay" in names or not container.bus.durable:
        container.relay = _relay(container, [c.name for c in consumers])
        tasks.append(
            asyncio.create_task(
                container.relay.run(
                    stop, poll_interval=container.settings.relay_poll_interval
                )
            )
        )
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _relay(container: Container, consumer_names: list[str]) -> OutboxRelay:
    async def lowest_checkpoints() -> dict[str, int]:
        per_consumer = [
            await container.consumer_state.checkpoints(n) for n in consumer_names
        ]
        dbs = {db for cps in per_consumer for db in cps}
        return {db: min(cps.get(db, 0) for cps in per_consumer) for db in dbs}

    return OutboxRelay(
        container.event_store,
        container.bus,
        container.relay_checkpoints,
        start_from=lowest_checkpoints,
        crash=container.crash,
        payloads=container.payloads,
    )


def batch_interval(settings: Settings, consumer: str) -> float:
    """How far apart the consumer's batches must start (0: no spacing)."""
    if consumer in STAGE_BY_CONSUMER:
        return 0.0
    return settings.background_consumer_interval


async def _supervised(
    container: Container, consumer: ProjectionConsumer, stop: asyncio.Event
) -> None:
    """Restarts a consumer loop that died (from its last committed offset)."""
    settings = container.settings
    while not stop.is_set():
        try:
            await run_consumer(
                container.bus,
                consumer,
                stop,
                batch_size=settings.consumer_batch_size,
                max_wait=settings.consumer_max_wait,
                min_interval=batch_interval(settings, consumer.name),
                retry=container.retry_policy(),
                crash=container.crash,
            )
        except Exception:
            log.exception("consumer %s crashed; restarting", consumer.name)
            await asyncio.sleep(1.0)
