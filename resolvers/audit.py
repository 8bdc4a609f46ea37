"""Audit trail resolvers: verify a database's hash chain, page through it."""

from __future__ import annotations

import strawberry

from projections.views import AuditChainEntry
from resolvers.context import Context
from resolvers.errors import RequestError
from schema import types
from schema.scalars import JSON, DateTime

Info = strawberry.Info[Context, None]
MAX_PAGE = 1000


async def verify_audit_chain(info: Info, db: str) -> types.AuditChainReport:
    """Recomputes every hash of the chain; `db: "_system"` checks the actions
    bound to no database."""
    report = await info.context.ports.audit_trail.verify(db)
    return types.AuditChainReport(
        db=report.db,
        ok=report.ok,
        entries=report.entries,
        first_broken_seq=report.first_broken_seq,
        problem=report.problem,
    )


async def audit_trail(
    info: Info, db: str, first: int = 100, after_seq: int | None = None
) -> list[types.AuditRecord]:
    """Entries in chain order, after `afterSeq` (the last seq of the previous page)."""
    if not 0 <= first <= MAX_PAGE:
        raise RequestError(f"first must be between 0 and {MAX_PAGE}")
    entries = await info.context.ports.audit_trail.page(
        db, after_seq=after_seq, limit=first
    )
    return [_record(e) for e in entries]


def _record(entry: AuditChainEntry) -> types.AuditRecord:
    return types.AuditRecord(
        seq=entry.seq,
        at=DateTime(entry.at),
        kind=entry.kind,
        action=entry.action,
        principal=entry.principal,
        request_id=entry.request_id,
        detail=JSON(dict(entry.detail)),
        ref=entry.ref,
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )
