"""Pipeline versions and pipeline runs as event streams (as domain/dataplane/records.py
does for mappings and objectify runs): `definePipeline` appends a pipeline's next
version, a run's stream holds its start and its outcome."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from domain.errors import ValidationFailed
from domain.events import EventEnvelope, NewEvent
from domain.pipelines.spec import PipelineSpec

PIPELINE: Final = "pipeline"  # aggregate type of a pipeline's versions
PIPELINE_RUN: Final = "pipeline-run"
PIPELINE_DEFINED: Final = "pipeline.defined.v1"
PIPELINE_RUN_STARTED: Final = "pipeline.run_started.v1"
PIPELINE_RUN_FINISHED: Final = "pipeline.run_finished.v1"
FINAL: Final = frozenset({"SUCCEEDED", "FAILED"})


@dataclass(frozen=True, slots=True)
class PipelineVersion:
    spec: PipelineSpec
    version: int
    defined_at: datetime


def pipeline_versions(events: Iterable[EventEnvelope]) -> list[PipelineVersion]:
    """A pipeline stream's versions, oldest first."""
    return [
        PipelineVersion(
            PipelineSpec.from_input(e.data["spec"]),
            int(e.data["version"]),
            e.occurred_at,
        )
        for e in events
        if e.event_type == PIPELINE_DEFINED
    ]


def decide_define_pipeline(
    stored: Sequence[EventEnvelope], spec: PipelineSpec
) -> list[NewEvent]:
    """The next version, or nothing when the spec equals the latest one."""
    versions = pipeline_versions(stored)
    if versions and versions[-1].spec == spec:
        return []
    data = {"spec": spec.as_input(), "version": len(versions) + 1}
    return [NewEvent(event_type=PIPELINE_DEFINED, data=data)]


@dataclass(frozen=True, slots=True)
class PipelineRunRecord:
    run_id: str
    record: Mapping[
        str, Any
    ]  # status engine pipeline version inputs outputs errors counts
    started_at: datetime
    finished_at: datetime | None


def pipeline_run(events: Iterable[EventEnvelope]) -> PipelineRunRecord | None:
    """The run's latest state: its start, overlaid by its outcome once finished."""
    found: PipelineRunRecord | None = None
    for e in events:
        if e.event_type == PIPELINE_RUN_STARTED:
            found = PipelineRunRecord(
                str(e.aggregate_id), dict(e.data), e.occurred_at, None
            )
        elif e.event_type == PIPELINE_RUN_FINISHED and found is not None:
            merged = {**found.record, **e.data}
            found = PipelineRunRecord(
                found.run_id, merged, found.started_at, e.occurred_at
            )
    return found


def decide_record_pipeline_run(
    stored: Sequence[EventEnvelope], record: Mapping[str, Any]
) -> list[NewEvent]:
    """First the start (status RUNNING), then once the outcome (a final status);
    anything else is a broken caller."""
    final = record.get("status") in FINAL
    types = [e.event_type for e in stored]
    if not types and not final:
        return [NewEvent(event_type=PIPELINE_RUN_STARTED, data=dict(record))]
    if types == [PIPELINE_RUN_STARTED] and final:
        return [NewEvent(event_type=PIPELINE_RUN_FINISHED, data=dict(record))]
    if final and PIPELINE_RUN_FINISHED in types:
        return []  # recorded already
    raise ValidationFailed(
        summary=f"run cannot go from {types} to {record.get('status')}"
    )
