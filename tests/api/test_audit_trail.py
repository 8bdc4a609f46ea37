"""The audit trail end to end: commands sent over GraphQL land in the database's hash
chain with their principal and request id; verifyAuditChain, auditTrail and
`spice audit export|verify` read it; redelivery and rebuilds leave it alone."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app import cli
from app.rebuild import rebuild
from app.settings import Settings
from projections.audit import entry_hash
from projections.catalog import AuditProjection
from tests.graphql.client import GraphQL, eventually

TRAIL = """query($db: String!, $after: Int) {
  auditTrail(db: $db, first: 100, afterSeq: $after) {
    seq at kind action principal requestId detail ref prevHash hash
  }
}"""
VERIFY = """query($db: String!) {
  verifyAuditChain(db: $db) { db ok entries firstBrokenSeq problem }
}"""


async def trail_of(gql: GraphQL, db: str, count: int) -> list[dict[str, Any]]:
    """The chain once the audit worker has recorded `count` entries."""

    async def entries() -> list[dict[str, Any]]:
        data = await gql.data(TRAIL, db=db)
        result: list[dict[str, Any]] = data["auditTrail"]
        return result

    return await eventually(entries, lambda e: len(e) >= count)


async def test_commands_land_in_the_chain_with_principal_and_request_id(
    shop: GraphQL,
) -> None:
    entries = await trail_of(shop, "shop", 3)

    events = await shop.container.event_store.read_positions(
        "shop", after_position=0, limit=100
    )
    by_command = {e.command_id: e for e in events}
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert {e["ref"] for e in entries} == set(by_command)
    for entry in entries:
        event = by_command[entry["ref"]]
        assert entry["kind"] == "command"
        assert entry["action"] == event.event_type
        assert entry["principal"] == event.actor
        assert entry["requestId"] == event.metadata.get("request_id", "")
        assert entry["requestId"]  # the API gives every request an id
        assert entry["detail"]["events"] == 1
    assert [e["action"] for e in entries] == [
        "database.created.v1",
        "class.defined.v1",
        "class.defined.v1",
    ]
    assert entries[1]["prevHash"] == entries[0]["hash"]
    page = await shop.data(TRAIL, db="shop", after=2)
    assert [e["seq"] for e in page["auditTrail"]] == [3]


async def test_verify_audit_chain_reports_ok_then_the_tampered_entry(
    shop: GraphQL,
) -> None:
    await trail_of(shop, "shop", 3)
    data = await shop.data(VERIFY, db="shop")
    assert data["verifyAuditChain"] == {
        "db": "shop",
        "ok": True,
        "entries": 3,
        "firstBrokenSeq": None,
        "problem": None,
    }

    async with shop.container.database.write() as conn:
        await conn.execute(
            text("UPDATE audit_chain SET principal = 'someone' WHERE seq = 2")
        )

    report = (await shop.data(VERIFY, db="shop"))["verifyAuditChain"]
    assert (report["ok"], report["firstBrokenSeq"]) == (False, 2)
    assert report["problem"].startswith("changed")


async def test_redelivery_and_rebuild_append_nothing(shop: GraphQL) -> None:
    container = shop.container
    before = await trail_of(shop, "shop", 3)
    events = await container.event_store.read_positions(
        "shop", after_position=0, limit=100
    )

    # Delivered again, as after a crash before the consumer recorded progress.
    await AuditProjection(container.audit, trail=container.audit_trail).apply(events)
    await rebuild(container, "audit")

    assert await shop.data(TRAIL, db="shop") == {"auditTrail": before}
    assert (await container.audit_trail.verify("shop")).ok


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads its settings from SPICE_* like in production."""
    for key in ("environment", "database_url", "search_url", "blob_url"):
        monkeypatch.setenv(f"SPICE_{key.upper()}", str(getattr(settings, key)))


@pytest.mark.usefixtures("cli_env")
async def test_cli_exports_json_lines_and_verifies(
    shop: GraphQL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await trail_of(shop, "shop", 3)
    out = tmp_path / "shop.jsonl"

    assert (
        await asyncio.to_thread(
            cli.main, ["audit", "export", "--db", "shop", "--out", str(out)]
        )
        == 0
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3]
    # Re-verifiable from the export alone.
    assert all(entry_hash(e) == e["hash"] for e in lines)
    assert lines[1]["prev_hash"] == lines[0]["hash"]

    assert await asyncio.to_thread(cli.main, ["audit", "verify", "--db", "shop"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    async with shop.container.database.write() as conn:
        await conn.execute(text("DELETE FROM audit_chain WHERE seq = 2"))
    assert await asyncio.to_thread(cli.main, ["audit", "verify", "--db", "shop"]) == 1
    broken = json.loads(capsys.readouterr().out)
    assert (broken["ok"], broken["first_broken_seq"]) == (False, 2)
