"""Reverting a command: compensating states decided by a three-way merge.

Undoing a command is merging "the object before the command" into "the object
now", with "the object after the command" as the base: a field the command
changed and nobody changed since goes back, fields others changed later stay,
and a field both the command and a later command changed is a conflict (the
revert is refused: it would silently drop the later change). Creates revert to
deletes and deletes to re-creates the same way (an absent object is None).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from domain import events as ev
from domain.errors import DomainError, FieldError, NotFoundError, ValidationFailed
from domain.events import EventEnvelope, NewEvent
from domain.ids import split_instance_aggregate_id
from domain.merge.instances import instance_state
from domain.merge.three_way import Conflict, State, merge_object
from domain.ports import EventStore

REVERT: Final = "revert"  # aggregate type: one stream per reverted command
COMMAND_REVERTED: Final = "command.reverted.v1"


@dataclass(frozen=True, slots=True)
class CommandChanges:
    """The instance streams one command wrote on one branch, each with the
    command's last event on it."""

    command_id: str
    db: str
    branch: str
    first_position: int
    after: dict[str, EventEnvelope]


class RevertConflict(DomainError):
    """Later commands changed fields the reverted command changed: nothing written."""

    code = "revert_conflict"

    def __init__(
        self,
        command_id: str,
        conflicts: tuple[Conflict, ...],
        seqs: Mapping[str, tuple[int, int]],
    ) -> None:
        shown = ", ".join(_described(c) for c in conflicts[:5])
        super().__init__(
            f"later commands changed what command {command_id!r} changed: {shown}"
        )
        self.conflicts = conflicts
        first = conflicts[0].key
        self.aggregate_id = first
        # The command left the object at `expected`; it is at `actual` now.
        self.expected, self.actual = seqs[first]


async def load_changes(store: EventStore, db: str, command_id: str) -> CommandChanges:
    """What `command_id` wrote; NotFoundError if it never wrote to `db`, and
    ValidationFailed if it wrote anything but instances (and revert records)."""
    stored = await store.find_command(command_id)
    if stored is None or stored.result.db != db or stored.result.first_position < 1:
        raise NotFoundError("command", command_id)
    result = stored.result
    events = await store.read_positions(
        db,
        after_position=result.first_position - 1,
        limit=result.last_position - result.first_position + 1,
    )
    mine = [e for e in events if e.command_id == command_id]
    other = sorted({e.event_type for e in mine if e.aggregate_type not in _KINDS})
    if other or not mine:
        raise _not_revertible(command_id, other)
    after = {e.aggregate_id: e for e in mine if e.aggregate_type == ev.INSTANCE}
    return CommandChanges(command_id, db, mine[0].branch, result.first_position, after)


def decide_revert(
    changes: CommandChanges,
    before: Mapping[str, EventEnvelope],
    current: Mapping[str, EventEnvelope],
) -> dict[str, State]:
    """The state every object the command wrote goes back to; RevertConflict if a
    later command changed one of the same fields."""
    final: dict[str, State] = {}
    conflicts: list[Conflict] = []
    for key, after in sorted(changes.after.items()):
        merged = merge_object(
            key,
            instance_state(after),
            instance_state(before.get(key)),
            instance_state(current.get(key)),
        )
        if merged.conflict is not None:
            conflicts.append(merged.conflict)
        else:
            final[key] = merged.merged
    if conflicts:
        seqs = {
            c.key: (changes.after[c.key].seq, _seq(current.get(c.key)))
            for c in conflicts
        }
        raise RevertConflict(changes.command_id, tuple(conflicts), seqs)
    return final


def reverted_event(
    changes: CommandChanges, *, reverted_by: str, objects: int
) -> NewEvent:
    data = {
        "command_id": changes.command_id,
        "reverted_by": reverted_by,
        "branch": changes.branch,
        "objects": objects,
    }
    return NewEvent(event_type=COMMAND_REVERTED, data=data)


def already_reverted(command_id: str, record: EventEnvelope) -> ValidationFailed:
    by = record.data.get("reverted_by", "?")
    message = f"command {command_id!r} was already reverted by {by!r}"
    return ValidationFailed(
        errors=[FieldError(("commandId",), "already_reverted", message)],
        summary=message,
    )


def nothing_to_revert(command_id: str) -> ValidationFailed:
    message = f"the objects command {command_id!r} changed are as they were before it"
    return ValidationFailed(
        errors=[FieldError(("commandId",), "nothing_to_revert", message)],
        summary=message,
    )


_KINDS = frozenset({ev.INSTANCE, REVERT})  # a revert may itself be reverted


def _not_revertible(command_id: str, types: list[str]) -> ValidationFailed:
    wrote = ", ".join(types) if types else "no events"
    message = (
        f"command {command_id!r} wrote {wrote}: only instance changes can be "
        "reverted (ontology, branch and merge commands cannot yet)"
    )
    return ValidationFailed(
        errors=[FieldError(("commandId",), "not_revertible", message)],
        summary=message,
    )


def _described(conflict: Conflict) -> str:
    class_id, instance_id = split_instance_aggregate_id(conflict.key)
    names = ", ".join(f.name for f in conflict.fields)
    return f"{class_id} {instance_id!r} ({names})"


def _seq(event: EventEnvelope | None) -> int:
    return event.seq if event is not None else 0
