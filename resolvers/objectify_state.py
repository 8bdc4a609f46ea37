"""What an objectify run reads of the event store: the current state of the
instances its rows name, which relationship targets exist, and which instances
`deleteMissing` deletes.

Deletes touch only instances that earlier runs of the same mapping wrote on the
same branch, never others of the class (created by hand or by another
mapping): a dataset is the source of truth for what it brought and nothing
more. Those are read from the runs' records (their command ids) and the
commands' stream heads, so no projection is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain import events as ev
from domain.dataplane.records import OBJECTIFY_RUN, OBJECTIFY_RUN_RECORDED
from domain.events import EventEnvelope, StreamId
from domain.ids import instance_aggregate_id
from domain.ontology import Ontology
from domain.ports import EventStore


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a run reads and writes, and how many streams one lookup names."""

    store: EventStore
    db: str
    branch: str
    ontology: Ontology
    chunk_size: int


async def current_states(
    scope: Scope, class_id: str, ids: Sequence[str]
) -> tuple[dict[str, Mapping[str, Any]], set[str]]:
    """The state of each live instance named, and the ids of deleted ones."""
    tips = await _tips(scope, class_id, ids)
    live = {
        i: tip.data for i, tip in tips.items() if tip.event_type != ev.INSTANCE_DELETED
    }
    return live, set(tips) - set(live)


async def has_instances(scope: Scope, class_id: str) -> bool:
    """Whether any instance stream of the class's hierarchy exists on the branch
    (live or deleted). A first load into an empty class needs no lookups."""
    ancestors = scope.ontology.ancestors(class_id)
    root = ancestors[-1] if ancestors else class_id
    return await scope.store.has_instances(
        scope.db, scope.branch, instance_aggregate_id(root, "")
    )


async def existing_targets(
    scope: Scope, wanted: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """Of the wanted target ids per class, those live as the class or a subclass."""
    found: dict[str, set[str]] = {}
    for target_class, ids in wanted.items():
        allowed = set(scope.ontology.subclasses(target_class))
        tips = await _tips(scope, target_class, sorted(ids))
        found[target_class] = {
            i
            for i, tip in tips.items()
            if tip.event_type != ev.INSTANCE_DELETED
            and str(tip.data.get("class_id")) in allowed
        }
    return found


async def missing_instances(
    scope: Scope, mapping_id: str, class_id: str, keys: set[str]
) -> dict[str, int]:
    """Live instances of `class_id` that earlier runs of the mapping wrote and no
    row of this version names (`keys`): id → the seq they were read at."""
    gone = await _written_by_mapping(scope, mapping_id) - keys
    tips = await _tips(scope, class_id, sorted(gone))
    return {
        i: tip.seq
        for i, tip in tips.items()
        if tip.event_type != ev.INSTANCE_DELETED
        and tip.data.get("class_id") == class_id
    }


async def _written_by_mapping(scope: Scope, mapping_id: str) -> set[str]:
    """Instance ids written by the recorded runs of `mapping_id` on the branch."""
    store = scope.store
    written: set[str] = set()
    for event in await store.read_aggregate_type(
        scope.db, ev.MAIN_BRANCH, OBJECTIFY_RUN
    ):
        if event.event_type != OBJECTIFY_RUN_RECORDED:
            continue
        if not _same_mapping(event.data, scope.branch, mapping_id):
            continue
        for command_id in event.data.get("commandIds", []):
            stored = await store.find_command(str(command_id))
            if stored is None:
                continue
            written.update(
                stream.aggregate_id.partition("/")[2]
                for stream in stored.result.heads
                if stream.aggregate_type == ev.INSTANCE
                and stream.branch == scope.branch
            )
    return written


def _same_mapping(record: Mapping[str, Any], branch: str, mapping_id: str) -> bool:
    """`mapping` is recorded as `<id>:<version>`; runs recorded before the branch
    was part of the record ran on main."""
    recorded_id = str(record.get("mapping", "")).rpartition(":")[0]
    return recorded_id == mapping_id and record.get("branch", ev.MAIN_BRANCH) == branch


async def _tips(
    scope: Scope, class_id: str, ids: Sequence[str]
) -> dict[str, EventEnvelope]:
    """The last event of each instance stream named, keyed by instance id."""
    ancestors = scope.ontology.ancestors(class_id)
    root = ancestors[-1] if ancestors else class_id
    tips: dict[str, EventEnvelope] = {}
    for start in range(0, len(ids), scope.chunk_size):
        streams = {
            StreamId(
                scope.db, scope.branch, ev.INSTANCE, instance_aggregate_id(root, i)
            ): i
            for i in ids[start : start + scope.chunk_size]
        }
        for stream, tip in (await scope.store.last_events(list(streams))).items():
            tips[streams[stream]] = tip
    return tips
