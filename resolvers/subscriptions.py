"""Subscription resolvers: command status pushed by the StageWaiter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from domain.security import Role
from projections.views import CommandStatus
from resolvers import converters
from resolvers.context import Context
from schema.results import TERMINAL_STATES, CommandState
from schema.scalars import DateTime
from schema.types import CommandStatusEvent

Info = strawberry.Info[Context, None]


async def command_status(
    info: Info, command_id: strawberry.ID
) -> AsyncGenerator[CommandStatusEvent, None]:
    """Every lifecycle transition up to a terminal state, then completes.

    Stages are awaited on the StageWaiter (woken by the consumers in this process,
    polling the durable checkpoints otherwise); a command not yet known is polled,
    and so is one of another database than the endpoint's.
    """
    ctx = info.context
    limits = ctx.ports.limits
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.subscription_timeout_seconds
    emitted: set[str] = set()
    while loop.time() < deadline:
        status = await _status_in_scope(ctx, str(command_id))
        if status is None:
            if "PENDING" not in emitted:
                emitted.add("PENDING")
                yield _pending(command_id)
            await asyncio.sleep(limits.poll_interval_seconds)
            continue
        fresh = [(s, at) for s, at in status.history if s not in emitted]
        for state, at in fresh:
            emitted.add(state)
            yield _event(status, state, at)
        if CommandState(status.state) in TERMINAL_STATES:
            return
        await _next_stage(ctx, status, deadline - loop.time(), changed=bool(fresh))


async def _status_in_scope(ctx: Context, command_id: str) -> CommandStatus | None:
    """The command's status if the endpoint may see it: a database's endpoint
    sees only that database's commands (another's look unknown, so an id
    reveals nothing), the system endpoint (no db) sees all."""
    status = await ctx.ports.status.status(command_id)
    if status is None or (ctx.db and status.db != ctx.db):
        return None
    if not ctx.principal.may(Role.VIEWER, status.db):
        return None  # the caller's roles do not reach that database
    return status


async def _next_stage(
    ctx: Context, status: CommandStatus, remaining: float, *, changed: bool
) -> None:
    reached = {state for state, _ in status.history}
    stage = "APPLIED" if "APPLIED" not in reached else "INDEXED"
    if status.last_position is None or remaining <= 0:
        return
    done = await ctx.ports.waiter.wait(
        stage, status.db, status.last_position, max_wait=min(remaining, 5.0)
    )
    if done and not changed:
        # The stage is reached but not yet recorded in the status view: poll.
        await asyncio.sleep(ctx.ports.limits.poll_interval_seconds / 4)


def _pending(command_id: strawberry.ID) -> CommandStatusEvent:
    return CommandStatusEvent(
        command_id=command_id,
        status=CommandState.PENDING,
        seq=None,
        error=None,
        at=None,
    )


def _event(status: CommandStatus, state: str, at: str) -> CommandStatusEvent:
    return CommandStatusEvent(
        command_id=strawberry.ID(status.command_id),
        status=CommandState(state),
        seq=status.seq,
        error=converters.command_error(status.error),
        at=DateTime(at),
    )
