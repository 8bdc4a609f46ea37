"""The database aggregate and the branch aggregate: a registry of namespaces."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from domain import events as ev
from domain.commands import CreateBranch, CreateDatabase, DeleteBranch, DeleteDatabase
from domain.errors import (
    AlreadyExistsError,
    ConcurrencyConflict,
    FieldError,
    NotFoundError,
    ValidationFailed,
)
from domain.events import EventEnvelope, NewEvent
from domain.governance.rules import (
    BRANCH_PROTECTED,
    NO_PROTECTION,
    BranchProtection,
    protection_of,
)
from domain.ids import DATABASE_NAME, branch_name_problem


@dataclass(frozen=True, slots=True)
class DatabaseState:
    name: str
    seq: int = 0
    exists: bool = False
    deleted: bool = False
    description: str | None = None

    @property
    def live(self) -> bool:
        return self.exists and not self.deleted


@dataclass(frozen=True, slots=True)
class BranchState:
    name: str
    seq: int = 0
    exists: bool = False
    deleted: bool = False
    parent: str | None = None
    fork_position: int | None = None
    protection: BranchProtection = NO_PROTECTION

    @property
    def live(self) -> bool:
        return self.exists and not self.deleted


def evolve_database(state: DatabaseState, event: EventEnvelope) -> DatabaseState:
    if event.event_type == ev.DATABASE_CREATED:
        return replace(
            state, seq=event.seq, exists=True, description=event.data.get("description")
        )
    if event.event_type == ev.DATABASE_DELETED:
        return replace(state, seq=event.seq, deleted=True)
    return replace(state, seq=event.seq)


def evolve_branch(state: BranchState, event: EventEnvelope) -> BranchState:
    if event.event_type == ev.BRANCH_CREATED:
        return replace(
            state,
            seq=event.seq,
            exists=True,
            parent=event.data["parent"],
            fork_position=int(event.data["fork_position"]),
        )
    if event.event_type == ev.BRANCH_DELETED:
        return replace(state, seq=event.seq, deleted=True)
    if event.event_type == BRANCH_PROTECTED:
        return replace(state, seq=event.seq, protection=protection_of(event.data))
    return replace(state, seq=event.seq)


def replay_database(name: str, events: Iterable[EventEnvelope]) -> DatabaseState:
    state = DatabaseState(name=name)
    for event in events:
        state = evolve_database(state, event)
    return state


def decide_create_database(state: DatabaseState, cmd: CreateDatabase) -> list[NewEvent]:
    if not DATABASE_NAME.match(cmd.name):
        raise ValidationFailed(
            errors=[
                FieldError(
                    ("name",), "invalid_name", "must match ^[a-z][a-z0-9_-]{2,49}$"
                )
            ],
            summary=f"invalid database name {cmd.name!r}",
        )
    if state.exists:
        raise AlreadyExistsError("database", cmd.name)
    data = {"name": cmd.name, "description": cmd.description}
    return [NewEvent(event_type=ev.DATABASE_CREATED, data=data)]


def decide_delete_database(state: DatabaseState, cmd: DeleteDatabase) -> list[NewEvent]:
    require_live_database(state)
    if cmd.expected_seq != state.seq:
        raise ConcurrencyConflict(cmd.name, expected=cmd.expected_seq, actual=state.seq)
    return [NewEvent(event_type=ev.DATABASE_DELETED, data={"name": cmd.name})]


def decide_create_branch(
    branches: dict[str, BranchState], cmd: CreateBranch, *, head_position: int
) -> list[NewEvent]:
    """A branch forks from a live branch at its head or at an earlier position."""
    problem = branch_name_problem(cmd.name)
    if problem is not None:
        raise ValidationFailed(
            errors=[FieldError(("name",), "invalid_name", problem)],
            summary=f"invalid branch name {cmd.name!r}",
        )
    if cmd.name == ev.MAIN_BRANCH or cmd.name in branches:
        # A deleted branch's name is never reused: its history stays unambiguous.
        raise AlreadyExistsError("branch", cmd.name)
    require_live_branch(branches, cmd.from_branch)
    fork = head_position if cmd.at_position is None else cmd.at_position
    if not 0 <= fork <= head_position:
        raise ValidationFailed(
            errors=[
                FieldError(
                    ("atPosition",),
                    "invalid_position",
                    f"must be within 0..{head_position}",
                )
            ],
            summary="fork position is outside the database's history",
        )
    data = {"name": cmd.name, "parent": cmd.from_branch, "fork_position": fork}
    return [NewEvent(event_type=ev.BRANCH_CREATED, data=data)]


def decide_delete_branch(
    branches: dict[str, BranchState], cmd: DeleteBranch
) -> list[NewEvent]:
    if cmd.name == ev.MAIN_BRANCH:
        raise ValidationFailed(
            errors=[
                FieldError(("name",), "protected_branch", "main cannot be deleted")
            ],
            summary="main cannot be deleted",
        )
    state = require_live_branch(branches, cmd.name)
    if cmd.expected_seq != state.seq:
        raise ConcurrencyConflict(cmd.name, expected=cmd.expected_seq, actual=state.seq)
    return [NewEvent(event_type=ev.BRANCH_DELETED, data={"name": cmd.name})]


def require_live_database(state: DatabaseState) -> DatabaseState:
    if not state.live:
        raise NotFoundError("database", state.name)
    return state


def require_live_branch(branches: dict[str, BranchState], name: str) -> BranchState:
    if name == ev.MAIN_BRANCH:
        return branches.get(name) or BranchState(name=name, exists=True)
    state = branches.get(name)
    if state is None or not state.live:
        raise NotFoundError("branch", name)
    return state
