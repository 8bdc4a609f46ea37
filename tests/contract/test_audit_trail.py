"""AuditTrail contract: hash-chained appends per database, idempotent refs, export,
and verification that finds entries changed, removed or reordered in the table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from adapters.sql_engine import SqlDatabase, open_database
from adapters.views.audit_chain_sql import SqlAuditTrail
from projections.audit import GENESIS_HASH, entry_hash
from projections.views import SYSTEM_DB, AuditRecord, AuditTrail

AT = datetime(2026, 12, 10, 8, 30, tzinfo=UTC)


def record(db: str = "shop", **overrides: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "db": db,
        "kind": "command",
        "action": "class.defined.v1",
        "principal": "admin",
        "request_id": "req-1",
        "at": AT,
    }
    values.update(overrides)
    return AuditRecord(**values)


@pytest.fixture
def trail(sql_database: SqlDatabase) -> AuditTrail:
    return SqlAuditTrail(sql_database)


@pytest.fixture
async def other_trail(sql_database: SqlDatabase) -> AsyncIterator[AuditTrail]:
    """A trail on the same database through engines of its own, as another
    process (the API beside the audit worker) would have."""
    database = open_database(sql_database.url)
    try:
        yield SqlAuditTrail(database)
    finally:
        await database.dispose()


async def exported(trail: AuditTrail, db: str = "shop") -> list[dict[str, Any]]:
    return [entry async for entry in trail.export(db)]


async def tamper(database: SqlDatabase, *statements: str) -> None:
    async with database.write() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_appends_a_hash_chain_per_database(trail: AuditTrail) -> None:
    await trail.append([record(action="a"), record(db=SYSTEM_DB, kind="token")])
    await trail.append([record(action="b", detail={"n": [1, 2]})])

    shop = await exported(trail)
    assert [(e["seq"], e["action"]) for e in shop] == [(1, "a"), (2, "b")]
    assert shop[0]["prev_hash"] == GENESIS_HASH
    assert shop[1]["prev_hash"] == shop[0]["hash"]
    assert all(entry_hash(e) == e["hash"] for e in shop)
    assert shop[1]["detail"] == {"n": [1, 2]}
    assert shop[0]["at"] == "2026-12-10T08:30:00+00:00"
    system = await exported(trail, SYSTEM_DB)
    assert [(e["seq"], e["kind"], e["prev_hash"]) for e in system] == [
        (1, "token", GENESIS_HASH)
    ]


async def test_pages_in_chain_order(trail: AuditTrail) -> None:
    await trail.append([record(action=str(n)) for n in range(5)])

    first = await trail.page("shop", limit=2)
    rest = await trail.page("shop", after_seq=first[-1].seq, limit=10)

    assert [e.action for e in first + rest] == ["0", "1", "2", "3", "4"]
    assert await trail.page("elsewhere") == []


async def test_a_ref_already_recorded_is_not_appended_again(trail: AuditTrail) -> None:
    await trail.append([record(ref="cmd-1"), record(ref="cmd-1"), record()])
    await trail.append([record(ref="cmd-1"), record(ref="cmd-2")])
    # Refs are unique per kind: another kind may use the same one.
    await trail.append([record(ref="cmd-1", kind="denied")])

    entries = await exported(trail)
    assert [(e["seq"], e["kind"], e["ref"]) for e in entries] == [
        (1, "command", "cmd-1"),
        (2, "command", None),
        (3, "command", "cmd-2"),
        (4, "denied", "cmd-1"),
    ]


async def test_an_intact_chain_verifies(trail: AuditTrail) -> None:
    assert (await trail.verify("shop")).ok  # empty
    await trail.append([record(action=str(n)) for n in range(3)])

    report = await trail.verify("shop")

    assert (report.db, report.ok, report.entries) == ("shop", True, 3)
    assert (report.first_broken_seq, report.problem) == (None, None)


class TestTampering:
    @pytest.fixture
    async def three(self, trail: AuditTrail) -> AuditTrail:
        await trail.append([record(action=a) for a in ("a", "b", "c")])
        await trail.append([record(db="other", action="x")])
        return trail

    async def test_detects_a_changed_entry(
        self, three: AuditTrail, sql_database: SqlDatabase
    ) -> None:
        await tamper(
            sql_database,
            "UPDATE audit_chain SET principal = 'mallory' WHERE db = 'shop' AND seq = 2",
        )

        report = await three.verify("shop")

        assert (report.ok, report.first_broken_seq, report.entries) == (False, 2, 3)
        assert str(report.problem).startswith("changed")
        assert (await three.verify("other")).ok

    async def test_detects_a_removed_entry(
        self, three: AuditTrail, sql_database: SqlDatabase
    ) -> None:
        await tamper(
            sql_database, "DELETE FROM audit_chain WHERE db = 'shop' AND seq = 2"
        )

        report = await three.verify("shop")

        assert (report.ok, report.first_broken_seq, report.entries) == (False, 2, 2)
        assert str(report.problem).startswith("removed")

    async def test_detects_a_removed_entry_with_the_rest_renumbered(
        self, three: AuditTrail, sql_database: SqlDatabase
    ) -> None:
        await tamper(
            sql_database,
            "DELETE FROM audit_chain WHERE db = 'shop' AND seq = 2",
            "UPDATE audit_chain SET seq = 2 WHERE db = 'shop' AND seq = 3",
        )

        report = await three.verify("shop")

        assert (report.ok, report.first_broken_seq) == (False, 2)
        assert str(report.problem).startswith("removed")

    async def test_detects_reordered_entries(
        self, three: AuditTrail, sql_database: SqlDatabase
    ) -> None:
        # Three steps: the primary key is checked per row on PostgreSQL.
        await tamper(
            sql_database,
            "UPDATE audit_chain SET seq = -2 WHERE db = 'shop' AND seq = 2",
            "UPDATE audit_chain SET seq = 2 WHERE db = 'shop' AND seq = 3",
            "UPDATE audit_chain SET seq = 3 WHERE db = 'shop' AND seq = -2",
        )

        report = await three.verify("shop")

        assert (report.ok, report.first_broken_seq) == (False, 2)
        assert str(report.problem).startswith("reordered")


async def test_concurrent_appends_from_two_processes_keep_one_valid_chain(
    trail: AuditTrail, other_trail: AuditTrail
) -> None:
    tasks, per_task = 16, 5

    async def appender(n: int) -> None:
        writer = trail if n % 2 else other_trail
        for i in range(per_task):
            await writer.append(
                [record(action=f"{n}.{i}"), record(db="other", ref=f"{n}.{i}")]
            )

    await asyncio.gather(*(appender(n) for n in range(tasks)))

    for db in ("shop", "other"):
        report = await trail.verify(db)
        assert (report.ok, report.entries) == (True, tasks * per_task), report
    entries = await exported(trail)
    assert [e["seq"] for e in entries] == list(range(1, tasks * per_task + 1))
    assert len({e["action"] for e in entries}) == tasks * per_task


async def test_concurrent_redelivery_appends_a_ref_once(
    trail: AuditTrail, other_trail: AuditTrail
) -> None:
    same = [record(ref=f"cmd-{i}") for i in range(10)]

    await asyncio.gather(*(t.append(same) for t in [trail, other_trail] * 4))

    report = await trail.verify("shop")
    assert (report.ok, report.entries) == (True, 10)
