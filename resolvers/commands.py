"""Running a command from a mutation: meta, dispatch, `wait:` and the result union."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from domain.commands import Command, CommandMeta, Receipt
from domain.errors import (
    AlreadyExistsError,
    ConcurrencyConflict,
    DomainError,
    IdempotencyConflict,
    PermissionDenied,
    ValidationFailed,
)
from domain.errors import FieldError as DomainFieldError
from domain.errors import NotFoundError as DomainNotFound
from domain.ids import COMMAND_ID, new_command_id
from resolvers.context import Context
from schema.results import (
    CommandReceipt,
    CommandResult,
    CommandStage,
    CommandState,
    ConflictError,
    FieldError,
    NotFoundError,
    PermissionProblem,
    ValidationError,
)

Path = tuple[str, ...]


async def run_command(
    ctx: Context,
    command: Command,
    *,
    command_id: str | None = None,
    validate_only: bool = False,
    wait: CommandStage | None = None,
    subject: Path = (),
) -> CommandResult:
    """Dispatches `command` and maps the outcome onto the CommandResult union.

    `subject` is the input path an AlreadyExists outcome points at (e.g. ("name",)).
    """
    if command_id is not None and not COMMAND_ID.match(command_id):
        return validation_error(
            "invalid command id",
            [
                DomainFieldError(
                    ("commandId",),
                    "invalid_command_id",
                    "use 1 to 200 of A-Z a-z 0-9 _ : . -",
                )
            ],
        )
    meta = CommandMeta(
        command_id=command_id or new_command_id(),
        actor=ctx.actor,
        validate_only=validate_only,
        client_command_id=command_id is not None,
    )
    try:
        receipt = await ctx.ports.dispatcher.dispatch(command, meta)
    except DomainError as error:
        return error_result(error, subject=subject)
    return await receipt_result(ctx, receipt, wait)


async def receipt_result(
    ctx: Context, receipt: Receipt, wait: CommandStage | None
) -> CommandReceipt:
    return CommandReceipt(
        command_id=strawberry.ID(receipt.command_id),
        aggregate_id=receipt.aggregate_id,
        seq=receipt.seq,
        status=await _settle(ctx, receipt, wait),
        position=None if receipt.validated_only else receipt.last_position,
        duplicate=receipt.duplicate,
        validated_only=receipt.validated_only,
    )


async def _settle(
    ctx: Context, receipt: Receipt, wait: CommandStage | None
) -> CommandState:
    """Waits (bounded) for the stage asked for, then reports the command's state."""
    if receipt.validated_only:
        return CommandState.PENDING
    stages = {
        CommandStage.APPLIED: ("APPLIED",),
        CommandStage.INDEXED: ("APPLIED", "INDEXED"),
    }.get(wait or CommandStage.ACCEPTED, ())
    if not stages and not receipt.duplicate:
        return CommandState.ACCEPTED
    budget = ctx.ports.limits.max_wait_seconds
    for stage in stages:
        await ctx.ports.waiter.wait(
            stage, receipt.db, receipt.last_position, max_wait=budget
        )
    status = await ctx.ports.status.status(receipt.command_id)
    return CommandState(status.state) if status else CommandState.ACCEPTED


def error_result(error: DomainError, *, subject: Path = ()) -> CommandResult:
    """An expected rejection as a union member; clients switch on __typename."""
    if isinstance(error, ValidationFailed):
        return validation_error(error.message, error.errors)
    if isinstance(error, ConcurrencyConflict):
        return ConflictError(
            message=error.message,
            aggregate_id=error.aggregate_id,
            expected_seq=error.expected,
            actual_seq=error.actual,
        )
    if isinstance(error, DomainNotFound):
        return NotFoundError(message=error.message, kind=error.kind, key=error.key)
    if isinstance(error, PermissionDenied):
        return PermissionProblem(message=error.message)
    path = ("commandId",) if isinstance(error, IdempotencyConflict) else subject
    if not isinstance(error, AlreadyExistsError | IdempotencyConflict):
        path = ()
    return validation_error(
        error.message, [DomainFieldError(path, error.code, error.message)]
    )


def validation_error(
    message: str, errors: Sequence[DomainFieldError]
) -> ValidationError:
    return ValidationError(message=message, errors=field_errors(errors))


def field_errors(errors: Sequence[DomainFieldError]) -> list[FieldError]:
    return [
        FieldError(path=list(e.path), code=e.code, message=e.message) for e in errors
    ]
