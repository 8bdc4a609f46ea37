"""The audit hash chain: how an entry is hashed and how a chain is verified,
and the chain records of the commands in a batch of events.

Pure logic, shared by every AuditTrail adapter so that they hash alike and an
exported chain can be re-verified by anyone with this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.events import EventEnvelope
from projections.views import AUDIT_KINDS, AuditChainReport, AuditRecord

# The prev_hash of a chain's first entry.
GENESIS_HASH = "0" * 64

# Every field an entry's hash covers, prev_hash included: db and seq too, so an
# entry cannot be moved to another place or database without breaking its hash.
HASHED_FIELDS = (
    "db",
    "seq",
    "at",
    "kind",
    "action",
    "principal",
    "request_id",
    "detail",
    "ref",
    "prev_hash",
)


def canonical(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: the same text in every process."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(fields: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of the hashed fields."""
    hashed = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical(hashed).encode()).hexdigest()


def utc_text(at: datetime) -> str:
    """The stored (and hashed) form of a time: ISO-8601 in UTC."""
    if at.tzinfo is None:
        raise ValueError("audit times must carry a time zone")
    return at.astimezone(UTC).isoformat()


def chain_fields(record: AuditRecord, *, seq: int, prev_hash: str) -> dict[str, Any]:
    """The stored row of a record appended after `prev_hash`, hash included."""
    if record.kind not in AUDIT_KINDS:
        raise ValueError(f"unknown audit kind {record.kind!r}")
    fields: dict[str, Any] = {
        "db": record.db,
        "seq": seq,
        "at": utc_text(record.at),
        "kind": record.kind,
        "action": record.action,
        "principal": record.principal,
        "request_id": record.request_id,
        # Through JSON once, so the hash is of what a read gives back (tuples
        # become lists, keys strings).
        "detail": json.loads(canonical(dict(record.detail))),
        "ref": record.ref,
        "prev_hash": prev_hash,
    }
    fields["hash"] = entry_hash(fields)
    return fields


# Where an entry with this hash is in the chain (its seq), or None.
HashLookup = Callable[[str], Awaitable[int | None]]


async def verify_chain(
    db: str, rows: AsyncIterable[dict[str, Any]], *, find: HashLookup
) -> AuditChainReport:
    """Walks stored rows in seq order and reports the first break: a gap in seq
    or a prev_hash that is not the previous entry's hash (removed or reordered
    entry: `find` tells which), or a hash that does not match the content
    (changed). Every row is counted, also after a break."""
    expected_seq, expected_prev, count = 1, GENESIS_HASH, 0
    broken: tuple[int, str] | None = None
    async for row in rows:
        count += 1
        if broken is None:
            broken = await _first_problem(row, expected_seq, expected_prev, find)
        expected_seq, expected_prev = row["seq"] + 1, row["hash"]
    if broken is None:
        return AuditChainReport(db=db, ok=True, entries=count)
    seq, problem = broken
    return AuditChainReport(
        db=db, ok=False, entries=count, first_broken_seq=seq, problem=problem
    )


async def _first_problem(
    row: dict[str, Any], expected_seq: int, expected_prev: str, find: HashLookup
) -> tuple[int, str] | None:
    seq = row["seq"]
    if seq != expected_seq:
        return expected_seq, f"removed: entry {expected_seq} is missing (next is {seq})"
    if row["prev_hash"] != expected_prev:
        # The entry this one was chained after: elsewhere (moved) or gone.
        found = await find(row["prev_hash"])
        if found is not None:
            return seq, f"reordered: entry {seq} was chained after entry {found}"
        before = f"entry {seq - 1} was changed" if seq > 1 else "the chain was cut"
        return seq, f"removed or changed: {before}, or one before {seq} removed"
    if entry_hash(row) != row["hash"]:
        return seq, f"changed: entry {seq} does not match its hash"
    return None


def command_records(events: Sequence[EventEnvelope]) -> list[AuditRecord]:
    """One `command` record per command in the batch, in order of first event.

    A command whose events arrive in two batches is recorded with the events
    of the first (its ref, the command id, makes the second a no-op).
    """
    by_command: dict[tuple[str, str], list[EventEnvelope]] = {}
    for event in events:
        by_command.setdefault((event.db, event.command_id), []).append(event)
    return [_command_record(group) for group in by_command.values()]


def _command_record(events: list[EventEnvelope]) -> AuditRecord:
    first = events[0]
    types = list(dict.fromkeys(e.event_type for e in events))
    return AuditRecord(
        db=first.db,
        kind="command",
        action=",".join(types),
        principal=first.actor,
        request_id=first.metadata.get("request_id", ""),
        at=first.occurred_at,
        detail=_detail(first, events),
        ref=first.command_id,
    )


def _detail(first: EventEnvelope, events: list[EventEnvelope]) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "branch": first.branch,
        "events": len(events),
        "positions": [events[0].position, events[-1].position],
    }
    # The change reason the request gave (X-Change-Reason), where it gave one:
    # absent otherwise, so entries of commands without one hash as before.
    reason = first.metadata.get("reason")
    if reason:
        detail["reason"] = reason
    return detail
