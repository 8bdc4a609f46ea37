"""Mutation resolvers of the system schema: each builds a command and dispatches it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, cast

import strawberry

from domain import commands as c
from domain.events import MAIN_BRANCH
from resolvers.commands import run_command
from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.plain import to_plain
from schema.inputs import MIGRATION_PLAN_DOC, ClassInput, ClassPatch
from schema.results import CommandResult, CommandStage
from schema.scalars import JSON

Info = strawberry.Info[Context, None]


async def create_database(
    info: Info,
    name: str,
    description: str | None = None,
    command_id: strawberry.ID | None = None,
    wait: CommandStage | None = None,
) -> CommandResult:
    command = c.CreateDatabase(name=name, description=description)
    return await run_command(
        info.context, command, command_id=command_id, wait=wait, subject=("name",)
    )


async def delete_database(
    info: Info,
    name: str,
    expected_seq: int,
    command_id: strawberry.ID | None = None,
    wait: CommandStage | None = None,
) -> CommandResult:
    command = c.DeleteDatabase(name=name, expected_seq=expected_seq)
    return await run_command(info.context, command, command_id=command_id, wait=wait)


async def define_class(
    info: Info,
    db: str,
    input: ClassInput,
    branch: str | None = MAIN_BRANCH,
    command_id: strawberry.ID | None = None,
    validate_only: bool | None = False,
    wait: CommandStage | None = None,
) -> CommandResult:
    command = c.DefineClass(
        db=db, branch=branch or MAIN_BRANCH, definition=_definition(input)
    )
    return await run_command(
        info.context,
        command,
        command_id=command_id,
        validate_only=bool(validate_only),
        wait=wait,
        subject=("input", "id"),
    )


async def update_class(
    info: Info,
    db: str,
    id: strawberry.ID,
    patch: ClassPatch,
    expected_seq: int,
    branch: str | None = MAIN_BRANCH,
    command_id: strawberry.ID | None = None,
    validate_only: bool | None = False,
    wait: CommandStage | None = None,
    migration_plan: Annotated[
        JSON | None, strawberry.argument(description=MIGRATION_PLAN_DOC)
    ] = None,
) -> CommandResult:
    command = c.UpdateClass(
        db=db,
        branch=branch or MAIN_BRANCH,
        class_id=str(id),
        patch=_definition(patch),
        expected_seq=expected_seq,
        # Any JSON value passes through: the handler refuses a non-object plan
        # with a ValidationError (domain.ontology.migration.parse_plan).
        migration_plan=cast("Mapping[str, Any] | None", migration_plan),
    )
    return await run_command(
        info.context,
        command,
        command_id=command_id,
        validate_only=bool(validate_only),
        wait=wait,
    )


async def deprecate_class(
    info: Info,
    db: str,
    id: strawberry.ID,
    expected_seq: int,
    branch: str | None = MAIN_BRANCH,
    command_id: strawberry.ID | None = None,
    wait: CommandStage | None = None,
) -> CommandResult:
    command = c.DeprecateClass(
        db=db, branch=branch or MAIN_BRANCH, class_id=str(id), expected_seq=expected_seq
    )
    return await run_command(info.context, command, command_id=command_id, wait=wait)


async def create_branch(
    info: Info,
    db: str,
    name: str,
    from_branch: Annotated[str | None, strawberry.argument(name="from")] = MAIN_BRANCH,
    at_position: int | None = None,
    command_id: strawberry.ID | None = None,
    wait: CommandStage | None = None,
) -> CommandResult:
    command = c.CreateBranch(
        db=db,
        name=name,
        from_branch=from_branch or MAIN_BRANCH,
        at_position=at_position,
    )
    return await run_command(
        info.context, command, command_id=command_id, wait=wait, subject=("name",)
    )


async def delete_branch(
    info: Info,
    db: str,
    name: str,
    expected_seq: int,
    command_id: strawberry.ID | None = None,
) -> CommandResult:
    command = c.DeleteBranch(db=db, name=name, expected_seq=expected_seq)
    return await run_command(info.context, command, command_id=command_id)


async def redrive_dead_letter(info: Info, id: int) -> bool:
    """Asks the owning consumer to re-apply the event; false if it is not dead."""
    if id < 1:
        raise RequestError("id must be positive")
    return await info.context.ports.consumers.request_redrive(id)


def _definition(value: ClassInput | ClassPatch) -> dict[str, Any]:
    plain = to_plain(value)
    assert isinstance(plain, dict)  # noqa: S101 - an input object is always a dict
    return plain
