"""The production stack with TerminusDB as its graph store, for suites that run
on it as one more parameter: PostgreSQL (events), Kafka (bus), OpenSearch
(search) and TerminusDB (graph, `SPICE_GRAPH_URL=terminusdb://...`).

Each use gets its own Kafka topic prefix, OpenSearch index prefix and
TerminusDB database prefix, all removed afterwards, so tests never see each
other's data on the shared servers. A missing server skips locally and fails
under CI=true (`require_service`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.graph_store.terminus.config import TerminusConfig
from adapters.graph_store.terminus.names import owned_by
from tests.conftest import STACK_SETTINGS, copied_database, require_service

TERMINUS = ("SPICE_TEST_TERMINUSDB_URL", "terminusdb")
KAFKA = ("SPICE_TEST_KAFKA_BOOTSTRAP", "kafka")
SEARCH = ("SPICE_TEST_SEARCH_URL", "opensearch")

# Marks of a test that runs on this stack (PostgreSQL comes with database_url).
TERMINUS_STACK_MARKS = (
    pytest.mark.postgres,
    pytest.mark.kafka,
    pytest.mark.opensearch,
    pytest.mark.terminus,
)


def unique_prefix() -> str:
    # a-z first, no '_': valid as a topic, index and TerminusDB prefix alike.
    return f"t{uuid.uuid4().hex[:12]}"


def terminus_graph_url(prefix: str) -> str:
    """The test server's URL with its own database prefix."""
    url = require_service(*TERMINUS)
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}prefix={prefix}"


def drop_terminus_databases(config: TerminusConfig) -> None:
    """Deletes every TerminusDB database of the config's prefix (blocking).
    The server answers "Transaction retry count exceeded" when a delete meets
    other writes to its system graph: tried again a few times."""
    from terminusdb import Client

    client = Client(config.server_url)
    client.connect(team=config.team, user=config.user, key=config.key)
    for name in client.list_databases():
        if owned_by(config.prefix, name):
            _delete_with_retries(client, name, config.team)


def _delete_with_retries(client: Any, name: str, team: str, attempts: int = 5) -> None:
    from terminusdb_client.errors import DatabaseError

    for attempt in range(attempts):
        try:
            client.delete_database(name, team=team)
            return
        except DatabaseError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@asynccontextmanager
async def terminus_stack(database_url: str) -> AsyncIterator[dict[str, Any]]:
    """Settings of the whole production stack with the TerminusDB graph store
    for `database_url` (PostgreSQL), on fresh prefixes removed on exit. While
    open, `make_settings(database_url, ...)` applies them (STACK_SETTINGS), so
    a test's own settings overrides run on this stack too."""
    from adapters.registry import terminus_config
    from tests.production.conftest import delete_indexes
    from tests.production.support import delete_topics

    bootstrap, search = require_service(*KAFKA), require_service(*SEARCH)
    prefix = unique_prefix()
    graph_url = terminus_graph_url(prefix)
    values: dict[str, Any] = {
        "bus_url": f"kafka://{bootstrap}?topic_prefix={prefix}&partitions=3",
        "search_url": f"{search}?prefix={prefix}&replicas=0",
        "graph_url": graph_url,
        # Real servers answer in milliseconds, not microseconds.
        "consumer_max_wait": 0.05,
        "retry_base_delay": 0.01,
    }
    STACK_SETTINGS[database_url] = values
    try:
        yield values
    finally:
        del STACK_SETTINGS[database_url]
        with contextlib.suppress(Exception):  # no topic was made if no app ran
            await delete_topics(
                bootstrap, [f"{prefix}.events.v1", f"{prefix}.events.v1.dlq"]
            )
        await delete_indexes(search, prefix)
        await asyncio.to_thread(drop_terminus_databases, terminus_config(graph_url))


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("terminus-stack", marks=TERMINUS_STACK_MARKS),
    ]
)
async def database_url_or_stack(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """`database_url` with one more parameter: PostgreSQL inside the production
    stack with TerminusDB. A suite opts in with
    `database_url = database_url_or_stack` in its conftest."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}"
        return
    async with copied_database(request.getfixturevalue("postgres_template")) as url:
        if request.param == "postgres":
            yield url
            return
        async with terminus_stack(url):
            yield url
