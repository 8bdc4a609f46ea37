"""Mapping versions and objectify runs as events: each mapping id is a stream
(`defineMapping` again appends its next version), each run a stream of one
event recording its outcome, so audit, lineage and rebuilds see them as they
see everything else."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from domain.dataplane.mapping import MappingSpec
from domain.events import EventEnvelope, NewEvent

MAPPING: Final = "mapping"  # aggregate type of a mapping's versions
OBJECTIFY_RUN: Final = "objectify-run"
MAPPING_DEFINED: Final = "mapping.defined.v1"
OBJECTIFY_RUN_RECORDED: Final = "objectify.run_recorded.v1"


@dataclass(frozen=True, slots=True)
class MappingVersion:
    spec: MappingSpec
    version: int
    defined_at: datetime


def mapping_versions(events: Iterable[EventEnvelope]) -> list[MappingVersion]:
    """A mapping stream's versions, oldest first."""
    return [
        MappingVersion(
            MappingSpec.from_input(e.data["spec"]),
            int(e.data["version"]),
            e.occurred_at,
        )
        for e in events
        if e.event_type == MAPPING_DEFINED
    ]


def decide_define_mapping(
    stored: Sequence[EventEnvelope], spec: MappingSpec
) -> list[NewEvent]:
    """The next version, or nothing when the spec equals the latest one."""
    versions = mapping_versions(stored)
    if versions and versions[-1].spec == spec:
        return []
    data = {"spec": spec.as_input(), "version": len(versions) + 1}
    return [NewEvent(event_type=MAPPING_DEFINED, data=data)]


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    outcome: Mapping[
        str, Any
    ]  # status rows created … errors commandIds mapping datasetVersion
    recorded_at: datetime


def run_record(events: Iterable[EventEnvelope]) -> RunRecord | None:
    for event in events:
        if event.event_type == OBJECTIFY_RUN_RECORDED:
            return RunRecord(str(event.aggregate_id), event.data, event.occurred_at)
    return None


def decide_record_run(
    stored: Sequence[EventEnvelope], outcome: Mapping[str, Any]
) -> list[NewEvent]:
    """A run is recorded once; recording it again changes nothing."""
    if stored:
        return []
    return [NewEvent(event_type=OBJECTIFY_RUN_RECORDED, data=dict(outcome))]
