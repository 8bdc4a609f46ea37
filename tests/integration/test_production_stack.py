"""End to end on the production stack: PostgreSQL event store, Kafka bus and an
OpenSearch or Elasticsearch index, with every worker running; commands reach
COMPLETED and the index holds exactly what a replay of the event store produces."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex
from adapters.sql_engine import open_database
from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.rebuild import rebuild
from domain import commands as c
from domain.commands import CommandMeta
from domain.ids import new_command_id
from projections.search import SearchProjection
from tests.conftest import make_settings, require_service
from tests.integration.conftest import (
    CLUSTER_PARAMS,
    CLUSTER_SERVICES,
    KAFKA,
    cluster_index_class,
    unique,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.kafka,
    pytest.mark.timeout(180),
]

PRODUCT: dict[str, Any] = {
    "id": "Product",
    "label": "Product",
    "primary_key": "product_id",
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "name", "type": "string", "required": True},
        {"name": "price", "type": "decimal"},
        {"name": "stock", "type": "integer"},
    ],
}


# The search URL scheme that selects each cluster's adapter.
SCHEMES = {"opensearch": "http", "elasticsearch": "elasticsearch"}


@pytest.fixture(params=CLUSTER_PARAMS)
def cluster(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def production(
    tmp_path: Path, postgres_database: str, cluster: str
) -> AsyncIterator[Container]:
    bootstrap = require_service(*KAFKA)
    address = require_service(*CLUSTER_SERVICES[cluster]).split("://", 1)[1]
    search = f"{SCHEMES[cluster]}://{address}"
    prefix = unique()
    database_url = postgres_database
    settings = make_settings(
        database_url,
        tmp_path,
        bus_url=f"kafka://{bootstrap}?topic_prefix={prefix}&partitions=3",
        search_url=f"{search}?prefix={prefix}&replicas=0",
        consumer_max_wait=0.1,
    )
    try:
        async with open_container(settings) as container:
            stop = asyncio.Event()
            workers = asyncio.create_task(run_workers(container, WORKER_NAMES, stop))
            try:
                yield container
            finally:
                stop.set()
                await asyncio.wait_for(workers, timeout=30)
                await container.search.backend.delete_indexes([f"{prefix}_*"])  # type: ignore[attr-defined]
    finally:
        await _delete_topics(bootstrap, prefix)


async def test_commands_complete_and_the_cluster_holds_the_replayed_documents(
    production: Container, cluster: str, tmp_path: Path
) -> None:
    container = production
    assert type(container.bus).__name__ == "KafkaMessageBus"
    assert type(container.search) is cluster_index_class(cluster)
    done = [
        await _run(container, c.CreateDatabase(name="shop")),
        await _run(container, c.DefineClass(db="shop", definition=PRODUCT)),
    ]
    for i, price in enumerate(["9.99", "19.50", "4.25"], start=1):
        data = {"product_id": f"P{i}", "name": f"Blue Widget {i}", "price": price}
        done.append(
            await _run(
                container, c.CreateInstance(db="shop", class_id="Product", data=data)
            )
        )
    done += [
        await _run(container, _update("P1", {"name": "Red Widget", "stock": 3})),
        await _run(
            container,
            c.DeleteInstance(
                db="shop", class_id="Product", instance_id="P2", expected_seq=1
            ),
        ),
        await _run(container, c.CreateBranch(db="shop", name="feature")),
        await _run(
            container, _update("P3", {"name": "Green Widget"}, branch="feature")
        ),
    ]

    await _wait_until_completed(container, done)

    search = container.search
    on_main = await search.search("shop", ["main"], class_ids=["Product"])
    assert [(d.instance_id, d.seq, d.data["name"]) for d in on_main] == [
        ("P1", 2, "Red Widget"),
        ("P3", 1, "Blue Widget 3"),
    ]
    tombstone = await search.get_many("shop", ["main"], [("Product", "P2")])
    assert tombstone[("main", "Product", "P2")].deleted
    lineage = [
        span.branch for span in await container.event_store.lineage("shop", "feature")
    ]
    on_branch = await search.search("shop", lineage, text="widget")
    assert sorted((d.instance_id, d.branch) for d in on_branch) == [
        ("P1", "main"),
        ("P3", "feature"),
    ]
    live_hash = await search.content_hash("shop")
    assert live_hash == await _replayed_hash(container, tmp_path)

    report = await rebuild(container, "search")
    assert report.shadow_hash == report.live_hash == live_hash
    assert len(await search.search("shop", ["main"], class_ids=["Product"])) == 2


def _update(
    instance_id: str, patch: dict[str, Any], *, branch: str = "main"
) -> c.UpdateInstance:
    return c.UpdateInstance(
        db="shop",
        branch=branch,
        class_id="Product",
        instance_id=instance_id,
        patch=patch,
        expected_seq=1,
    )


async def _run(container: Container, command: Any) -> str:
    receipt = await container.handlers.dispatch(
        command, CommandMeta(command_id=new_command_id(), actor="tester")
    )
    return receipt.command_id


async def _wait_until_completed(container: Container, command_ids: list[str]) -> None:
    deadline = asyncio.get_running_loop().time() + 90
    states: dict[str, str] = {}
    while asyncio.get_running_loop().time() < deadline:
        for command_id in command_ids:
            status = await container.status.status(command_id)
            states[command_id] = status.state if status else "UNKNOWN"
        if all(state == "COMPLETED" for state in states.values()):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"commands did not complete: {states}")


async def _replayed_hash(container: Container, tmp_path: Path) -> str:
    """What the SQLite index holds after a replay of the whole event store."""
    database = open_database(f"sqlite:///{tmp_path / 'replay.db'}")
    try:
        index = SqliteFtsSearchIndex(database)
        last = (await container.event_store.last_positions())["shop"]
        events = await container.event_store.read_positions(
            "shop", after_position=0, limit=last
        )
        await SearchProjection(index).apply(events)
        return await index.content_hash("shop")
    finally:
        await database.dispose()


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    """The database is dropped by its fixture; the test's topics go here."""
    from aiokafka.admin import AIOKafkaAdminClient

    kafka = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await kafka.start()
        await kafka.delete_topics([f"{prefix}.events.v1", f"{prefix}.events.v1.dlq"])
    finally:
        await kafka.close()
