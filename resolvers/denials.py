"""Refusals inside resolvers: recorded in the audit chain, then raised as a
GraphQL error with the code FORBIDDEN (the seam in app/security records the
refusals it makes itself the same way)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from projections.views import SYSTEM_DB, AuditRecord
from resolvers.context import Context
from resolvers.errors import RequestError


async def audit(
    ctx: Context, db: str, kind: str, action: str, detail: Mapping[str, Any]
) -> None:
    """One entry of `db`'s audit chain (the system chain for "" or "*")."""
    record = AuditRecord(
        db=db if db and db != "*" else SYSTEM_DB,
        kind=kind,
        action=action,
        principal=ctx.principal.name,
        request_id=ctx.request_id,
        at=datetime.now(UTC),
        detail=dict(detail),
    )
    await ctx.ports.audit_trail.append([record])


async def forbidden(
    ctx: Context, db: str | None, action: str, message: str
) -> RequestError:
    """Records the denial and returns the error to raise."""
    await audit(ctx, db or "", "denied", action, {"reason": message})
    return RequestError(message, code="FORBIDDEN")
