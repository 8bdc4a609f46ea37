"""`progress(runId)`: the stages and counts of a run as it goes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import strawberry

from domain.security import Role
from resolvers.context import Context
from resolvers.errors import RequestError
from schema import dataplane_types as t

Info = strawberry.Info[Context, None]


async def progress(info: Info, run_id: strawberry.ID) -> AsyncIterator[t.Progress]:
    """A run of a database the caller cannot read looks like an unknown one."""
    ctx = info.context
    db = ctx.ports.progress.db_of(str(run_id))
    if (
        db is None
        or not ctx.principal.may(Role.VIEWER, db)
        or (ctx.db and ctx.db != db)
    ):
        raise RequestError(f"no run {run_id!r} on this server", code="NOT_FOUND")
    async for state in ctx.ports.progress.follow(str(run_id)):
        yield t.Progress(
            run_id=strawberry.ID(state.run_id),
            stage=state.stage,
            done=state.done,
            total=state.total,
            message=state.message,
        )
