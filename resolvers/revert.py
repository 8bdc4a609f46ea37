"""`revertCommand` (SPEC §5.1): compensating events for a command's instance changes."""

from __future__ import annotations

import strawberry

from domain import commands as c
from domain.commands import CommandMeta
from domain.errors import DomainError
from domain.ids import new_command_id
from domain.merge.revert import RevertConflict
from resolvers.commands import error_result, receipt_result
from resolvers.context import Context
from schema.results import CommandResult, CommandStage, ConflictError

Info = strawberry.Info[Context, None]


async def revert_command(
    info: Info,
    db: str,
    command_id: strawberry.ID,
    wait: CommandStage | None = None,
) -> CommandResult:
    """A revert blocked by later changes to the same fields is a ConflictError
    naming the first such object: the seq the command left it at (expected)
    and the seq it is at now (actual)."""
    ctx = info.context
    meta = CommandMeta(command_id=new_command_id(), actor=ctx.actor)
    command = c.RevertCommand(db=db, command_id=str(command_id))
    try:
        receipt = await ctx.ports.dispatcher.dispatch(command, meta)
    except RevertConflict as conflict:
        return ConflictError(
            message=conflict.message,
            aggregate_id=conflict.aggregate_id,
            expected_seq=conflict.expected,
            actual_seq=conflict.actual,
        )
    except DomainError as error:
        return error_result(error, subject=("commandId",))
    return await receipt_result(ctx, receipt, wait)
