"""GraphQL types of pipelines (SPEC §6.1 "Pipelines")."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from schema.results import ValidationError
from schema.scalars import JSON, DateTime


@strawberry.enum
class Engine(Enum):
    EMBEDDED = "EMBEDDED"
    SPARK = "SPARK"


@strawberry.input
class PipelineNodeInput:
    id: strawberry.ID
    op: str
    inputs: list[str] | None = None
    args: JSON | None = None


@strawberry.input
class ColumnContract:
    column: str
    type: str
    required: bool | None = False


@strawberry.input
class ExpectationInput:
    rule: str
    columns: list[str] | None = None
    value: JSON | None = None


@strawberry.input
class PipelineOutputInput:
    node: strawberry.ID
    dataset: str
    contract: list[ColumnContract] | None = None
    expectations: list[ExpectationInput] | None = None


@strawberry.input
class PipelineInput:
    id: strawberry.ID
    nodes: list[PipelineNodeInput]
    outputs: list[PipelineOutputInput]


@strawberry.input
class ScheduleInput:
    cron: str | None = None  # five fields (six with seconds), e.g. "0 3 * * *"
    interval_seconds: int | None = None


@strawberry.type
class Schedule:
    cron: str | None
    interval_seconds: int | None


@strawberry.type
class PipelineDeployment:
    version: int  # goes up with every deployPipeline that changes it
    schedule: Schedule | None
    depends_on: list[strawberry.ID]
    deployed_at: DateTime


@strawberry.type
class Pipeline:
    id: strawberry.ID
    version: int
    nodes: JSON  # the nodes as defined: [{id op inputs args}]
    outputs: JSON  # [{node dataset contract expectations}]
    deployment: PipelineDeployment | None = None  # None: not deployed


PipelineResult = Annotated[
    Pipeline | ValidationError, strawberry.union("PipelineResult")
]


@strawberry.type
class PipelineColumn:
    name: str
    type: str


@strawberry.type
class PreviewError:
    node: str
    message: str


@strawberry.type
class PipelinePreview:
    columns: list[PipelineColumn]
    rows: list[JSON]
    row_count: int  # rows of the node over the sample
    errors: list[PreviewError]


@strawberry.type
class PipelineRunOutput:
    dataset: str
    version: strawberry.ID
    row_count: int


@strawberry.type
class PipelineRunError:
    node: str
    rule: str
    message: str
    count: int
    examples: list[JSON]


@strawberry.type
class PipelineRun:
    id: strawberry.ID
    status: str  # QUEUED RUNNING SUCCEEDED FAILED
    engine: Engine
    pipeline: strawberry.ID
    version: int
    outputs: list[PipelineRunOutput]
    errors: list[PipelineRunError]
    started_at: DateTime
    finished_at: DateTime | None


PipelineRunResult = Annotated[
    PipelineRun | ValidationError, strawberry.union("PipelineRunResult")
]
