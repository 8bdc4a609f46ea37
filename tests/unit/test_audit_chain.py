"""The audit hash chain as plain values: hashing, verification, command records."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain import events as ev
from projections.audit import (
    GENESIS_HASH,
    chain_fields,
    command_records,
    entry_hash,
    verify_chain,
)
from projections.views import AuditRecord
from tests.factories import envelope, stream_id

AT = datetime(2026, 12, 10, 8, 30, tzinfo=UTC)


def record(action: str = "grantRole", **overrides: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "db": "shop",
        "kind": "grant",
        "action": action,
        "principal": "admin",
        "request_id": "req-1",
        "at": AT,
        "detail": {"role": "EDITOR"},
    }
    values.update(overrides)
    return AuditRecord(**values)


def chain(*actions: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for seq, action in enumerate(actions, start=1):
        prev = rows[-1]["hash"] if rows else GENESIS_HASH
        rows.append(chain_fields(record(action), seq=seq, prev_hash=prev))
    return rows


async def verify(rows: list[dict[str, Any]]) -> Any:
    async def stream() -> AsyncIterator[dict[str, Any]]:
        for row in rows:
            yield row

    async def find(digest: str) -> int | None:
        return next((r["seq"] for r in rows if r["hash"] == digest), None)

    return await verify_chain("shop", stream(), find=find)


class TestHashing:
    def test_first_entry_follows_the_genesis_hash(self) -> None:
        first = chain("a")[0]
        assert first["prev_hash"] == "0" * 64
        assert len(first["hash"]) == 64

    def test_each_entry_carries_the_hash_of_the_one_before(self) -> None:
        rows = chain("a", "b", "c")
        assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]

    def test_hash_covers_every_field_and_the_position(self) -> None:
        row = chain("a")[0]
        for name, other in [("action", "b"), ("seq", 2), ("db", "x"), ("ref", "r")]:
            assert entry_hash({**row, name: other}) != row["hash"], name

    def test_times_are_stored_in_utc(self) -> None:
        seoul = AT.astimezone(timezone(timedelta(hours=9)))
        row = chain_fields(record(at=seoul), seq=1, prev_hash=GENESIS_HASH)
        assert row["at"] == "2026-12-10T08:30:00+00:00"

    def test_rejects_unknown_kinds_and_naive_times(self) -> None:
        with pytest.raises(ValueError, match="kind"):
            chain_fields(record(kind="other"), seq=1, prev_hash=GENESIS_HASH)
        with pytest.raises(ValueError, match="zone"):
            chain_fields(
                record(at=datetime(2026, 1, 1)),  # noqa: DTZ001
                seq=1,
                prev_hash=GENESIS_HASH,
            )


class TestVerify:
    async def test_an_intact_chain_is_ok(self) -> None:
        report = await verify(chain("a", "b", "c"))
        assert (report.ok, report.entries, report.first_broken_seq) == (True, 3, None)

    async def test_an_empty_chain_is_ok(self) -> None:
        report = await verify([])
        assert (report.ok, report.entries) == (True, 0)

    async def test_detects_a_changed_entry(self) -> None:
        rows = chain("a", "b", "c")
        rows[1] = {**rows[1], "principal": "mallory"}
        report = await verify(rows)
        assert (report.ok, report.first_broken_seq, report.entries) == (False, 2, 3)
        assert report.problem.startswith("changed")

    async def test_detects_a_removed_entry(self) -> None:
        rows = chain("a", "b", "c")
        del rows[1]
        report = await verify(rows)
        assert (report.ok, report.first_broken_seq) == (False, 2)
        assert report.problem.startswith("removed")

    async def test_detects_a_removed_entry_when_the_rest_is_renumbered(self) -> None:
        rows = chain("a", "b", "c")
        rows = [rows[0], {**rows[2], "seq": 2}]
        report = await verify(rows)
        assert (report.ok, report.first_broken_seq) == (False, 2)
        assert report.problem.startswith("removed")

    async def test_detects_reordered_entries(self) -> None:
        rows = chain("a", "b", "c", "d")
        rows[1], rows[2] = {**rows[2], "seq": 2}, {**rows[1], "seq": 3}
        report = await verify(rows)
        assert (report.ok, report.first_broken_seq) == (False, 2)
        assert report.problem.startswith("reordered")

    async def test_a_rehashed_change_breaks_the_next_link(self) -> None:
        rows = chain("a", "b", "c")
        changed = {**rows[1], "action": "forged"}
        rows[1] = {**changed, "hash": entry_hash(changed)}
        report = await verify(rows)
        assert (report.ok, report.first_broken_seq) == (False, 3)


class TestCommandRecords:
    def test_one_record_per_command_with_its_event_types(self) -> None:
        db = stream_id(db="shop", aggregate_type=ev.INSTANCE)
        first = envelope(
            stream=db, command_id="c1", event_type=ev.INSTANCE_CREATED, position=1
        )
        events = [
            dataclasses.replace(first, metadata={"request_id": "req-9"}),
            envelope(
                stream=db, command_id="c1", event_type=ev.INSTANCE_UPDATED, position=2
            ),
            envelope(stream=db, command_id="c2", position=3),
        ]

        records = command_records(events)

        assert [r.ref for r in records] == ["c1", "c2"]
        one = records[0]
        assert one.kind == "command"
        assert one.action == f"{ev.INSTANCE_CREATED},{ev.INSTANCE_UPDATED}"
        assert (one.principal, one.request_id) == ("tester", "req-9")
        assert one.detail["events"] == 2
        assert one.detail["positions"] == [1, 2]
        assert records[1].request_id == ""
