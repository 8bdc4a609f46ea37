"""The graph store keeps PostgreSQL's planner statistics fresh after bulk writes:
without them the "no newer version" anti-joins are planned as nested loops over
whole tables (seconds for a count over ten thousand nodes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from adapters.graph_store.sql import SqlGraphStore, StatisticsSchedule
from adapters.sql_engine import SqlDatabase, open_database
from tests.factories import node_version

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database(postgres_database: str) -> AsyncIterator[SqlDatabase]:
    opened = open_database(postgres_database)
    try:
        async with opened.write() as conn:
            # Autovacuum must not be what analyzes the tables here.
            for table in ("graph_nodes", "graph_edges"):
                await conn.execute(
                    text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
                )
        yield opened
    finally:
        await opened.dispose()


async def _analyzed_rows(database: SqlDatabase) -> int:
    async with database.read() as conn:
        found = await conn.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'graph_nodes'")
        )
        return int(found.scalar_one())


async def test_bulk_writes_analyze_the_graph_tables(database: SqlDatabase) -> None:
    store = SqlGraphStore(database)
    assert await _analyzed_rows(database) == -1  # never analyzed
    batch = StatisticsSchedule.MIN_ROWS // 2
    await store.put([node_version(instance_id=f"a{i}") for i in range(batch)])
    assert await _analyzed_rows(database) == -1  # not stale enough yet
    await store.put([node_version(instance_id=f"b{i}") for i in range(batch)])
    assert await _analyzed_rows(database) == 2 * batch


def test_statistics_are_stale_after_a_fifth_more_rows_or_two_thousand() -> None:
    schedule = StatisticsSchedule()
    schedule.start(analyzed_rows=100_000)
    assert not schedule.due(19_999)
    assert schedule.due(1)  # 20,000 more than the 100,000 analyzed
    assert not schedule.due(StatisticsSchedule.MIN_ROWS)
    fresh = StatisticsSchedule()
    fresh.start(analyzed_rows=-1)
    assert not fresh.due(1_999)
    assert fresh.due(1)


async def test_a_new_process_counts_from_the_rows_last_analyzed(
    database: SqlDatabase,
) -> None:
    await SqlGraphStore(database).put(
        [node_version(instance_id=f"a{i}") for i in range(15_000)]
    )
    assert await _analyzed_rows(database) == 15_000
    # A restarted process: 2,500 more is less than a fifth of 15,000, so the
    # statistics are still fresh enough (counting from zero would analyze).
    restarted = SqlGraphStore(database)
    await restarted.put([node_version(instance_id=f"b{i}") for i in range(2_500)])
    assert await _analyzed_rows(database) == 15_000
