"""Mutation results: the CommandResult union (SPEC §4.1) and the command enums."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry


@strawberry.enum(description="How long a mutation waits before it answers.")
class CommandStage(Enum):
    ACCEPTED = "ACCEPTED"
    APPLIED = "APPLIED"
    INDEXED = "INDEXED"


@strawberry.enum(description="Where a command is in its lifecycle.")
class CommandState(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    APPLIED = "APPLIED"
    INDEXED = "INDEXED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    RETRYING = "RETRYING"


TERMINAL_STATES = frozenset(
    {CommandState.COMPLETED, CommandState.REJECTED, CommandState.FAILED}
)


@strawberry.type(description="One validation problem: where, a stable code, and why.")
class FieldError:
    path: list[str]
    code: str
    message: str


@strawberry.type(
    description="The command was accepted (or, with validateOnly, would be)."
)
class CommandReceipt:
    command_id: strawberry.ID
    aggregate_id: str
    seq: int
    status: CommandState
    position: int | None = None
    duplicate: bool = False
    validated_only: bool = False


@strawberry.type(
    description="Optimistic concurrency: the stream is not at expectedSeq."
)
class ConflictError:
    message: str
    aggregate_id: str
    expected_seq: int
    actual_seq: int


@strawberry.type(description="The input broke a rule; `errors` say where and why.")
class ValidationError:
    message: str
    errors: list[FieldError]


@strawberry.type(description="Something the command refers to does not exist.")
class NotFoundError:
    message: str
    kind: str
    key: str


@strawberry.type(name="PermissionError", description="The caller may not do this.")
class PermissionProblem:
    message: str


CommandResult = Annotated[
    CommandReceipt
    | ConflictError
    | ValidationError
    | NotFoundError
    | PermissionProblem,
    strawberry.union("CommandResult"),
]
