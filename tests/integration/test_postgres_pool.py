"""The PostgreSQL connection pool: reads without a transaction around them, and
a pooled connection that broke while idle replaced before anyone sees it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from adapters.sql_engine import PING_AFTER_IDLE_SECONDS, SqlDatabase, open_database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database(postgres_database: str) -> AsyncIterator[SqlDatabase]:
    opened = open_database(postgres_database)
    try:
        yield opened
    finally:
        await opened.dispose()


async def _backend_pid(database: SqlDatabase) -> int:
    async with database.read() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_each_read_statement_is_its_own_transaction(
    database: SqlDatabase,
) -> None:
    # now() is the start of the current transaction: inside BEGIN ... ROLLBACK
    # both statements would report the same instant.
    async with database.read() as conn:
        first = (await conn.execute(text("SELECT now()"))).scalar_one()
        await asyncio.sleep(0.05)
        second = (await conn.execute(text("SELECT now()"))).scalar_one()
    assert second > first


async def test_writes_still_commit_or_roll_back_as_one(database: SqlDatabase) -> None:
    async with database.write() as conn:
        await conn.execute(text("CREATE TABLE pool_probe (n int)"))
    with pytest.raises(RuntimeError):
        await _insert_then_fail(database)
    async with database.read() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM pool_probe"))).scalar()
    assert count == 0


async def _insert_then_fail(database: SqlDatabase) -> None:
    async with database.write() as conn:
        await conn.execute(text("INSERT INTO pool_probe VALUES (1)"))
        raise RuntimeError("abandon the transaction")


async def test_a_connection_killed_while_idle_is_replaced_unseen(
    database: SqlDatabase, postgres_database: str
) -> None:
    pid = await _backend_pid(database)
    # Another client ends the pooled session, as a database restart would.
    other = open_database(postgres_database)
    try:
        async with other.write() as conn:
            ended = await conn.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
            )
            assert ended.scalar_one() is True
    finally:
        await other.dispose()
    await asyncio.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
    replaced = await _backend_pid(database)  # no error: the ping caught it
    assert replaced != pid


async def test_a_hot_read_on_a_connection_killed_a_moment_ago_fails_retriably_once(
    database: SqlDatabase, postgres_database: str
) -> None:
    # Hot reads run on the driver's own connection (SqlDatabase.fetch): its
    # errors must still read as an outage, and the broken connection must
    # leave the pool, so the next read works.
    select = "SELECT pg_backend_pid()"
    pid = int((await database.fetch(select, []))[0][0])
    other = open_database(postgres_database)
    try:
        async with other.write() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()
    with pytest.raises(OperationalError):
        await database.fetch(select, [])  # too soon for the idle ping
    replaced = int((await database.fetch(select, []))[0][0])
    assert replaced != pid
