"""GraphQL types of the data plane: uploads, datasets, their versions and rows (SPEC §6.1)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from domain.dataplane.datasets import Upload as UploadedFile
from schema.results import ValidationError
from schema.scalars import JSON, DateTime


def _upload_in(value: Any) -> UploadedFile:
    if not isinstance(value, UploadedFile):
        raise ValueError(
            "Upload values come from file parts of a multipart request "
            "(GraphQL multipart request spec)."
        )
    return value


def _upload_out(value: Any) -> None:
    del value  # an input-only scalar


Upload = NewType("Upload", object)
DATAPLANE_SCALARS: dict[object, ScalarDefinition] = {
    Upload: strawberry.scalar(
        name="Upload",
        description="A file part of a multipart request "
        "(GraphQL multipart request spec).",
        serialize=_upload_out,
        parse_value=_upload_in,
    )
}


@strawberry.enum(description="How to read an uploaded file.")
class IngestFormat(Enum):
    CSV = "CSV"
    XLSX = "XLSX"
    JSONL = "JSONL"


@strawberry.input(description="Reading options; each one detected when absent.")
class IngestOptions:
    format: IngestFormat | None = strawberry.field(
        default=None, description="Default: by the file name (.xlsx, .jsonl, else CSV)."
    )
    delimiter: str | None = None
    encoding: str | None = None
    header: bool | None = None
    sheet: str | None = None


@strawberry.type
class TopValue:
    value: str | None
    count: int


@strawberry.type
class HistogramBucket:
    bucket: str
    count: int


@strawberry.type(
    description="A column of a version; profile fields null when not profiled."
)
class DatasetColumn:
    name: str
    type: str | None = None
    confidence: float | None = None
    reason: str | None = None
    null_count: int | None = None
    distinct_count: int | None = None
    min: str | None = None
    max: str | None = None
    samples: list[str] | None = None
    top_values: list[TopValue] | None = None
    histogram: list[HistogramBucket] | None = None


@strawberry.type(description="An immutable, content-addressed version of a dataset.")
class DatasetVersion:
    id: strawberry.ID
    dataset: str
    row_count: int
    content_hash: str
    created_at: DateTime
    format: str
    filename: str
    columns: list[DatasetColumn]
    duplicate: bool = strawberry.field(
        default=False,
        description="True when this upload found the version already registered.",
    )


@strawberry.type
class Dataset:
    name: str
    versions: list[DatasetVersion]


@strawberry.type
class DatasetPageInfo:
    end_cursor: str | None
    has_next_page: bool


@strawberry.type(description="A page of a version's rows, each a JSON object.")
class DatasetRowConnection:
    rows: list[JSON]
    total_count: int
    page_info: DatasetPageInfo


DatasetVersionResult = Annotated[
    DatasetVersion | ValidationError,
    strawberry.union("DatasetVersionResult"),
]


@strawberry.type(description="A column that probably holds another class's key.")
class RelationshipSuggestion:
    column: str
    target: strawberry.ID
    confidence: float


@strawberry.type(
    description="A class for a dataset version: `input` is a valid ClassInput."
)
class ClassSuggestion:
    input: JSON
    relationships: list[RelationshipSuggestion]
    warnings: list[str]


# --- objectify (SPEC §6.1) ---------------------------------------------------------


@strawberry.input
class ColumnToProperty:
    column: str
    property: str


@strawberry.input(description="The column holds the target's primary key.")
class ColumnToRelationship:
    column: str
    predicate: str


@strawberry.input(
    description='A property computed from columns, e.g. "{order_id}-{line_no}".'
)
class TemplateToProperty:
    template: str
    property: str


@strawberry.input
class MappingInput:
    id: strawberry.ID
    dataset: str
    class_id: strawberry.ID
    properties: list[ColumnToProperty]
    relationships: list[ColumnToRelationship] | None = None
    computed: list[TemplateToProperty] | None = None
    timezone: str = "UTC"


@strawberry.type(
    name="Mapping", description="A version of a mapping from a dataset to a class."
)
class MappingType:
    id: strawberry.ID
    version: int
    class_id: strawberry.ID
    dataset: str


MappingResult = Annotated[
    MappingType | ValidationError, strawberry.union("MappingResult")
]


@strawberry.type
class ObjectifyError:
    row: int  # 1-based data row (the header is not counted); 0: the run itself
    column: str | None
    code: str
    message: str


@strawberry.type
class ObjectifyRun:
    id: strawberry.ID
    status: str  # QUEUED RUNNING SUCCEEDED PARTIAL FAILED
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[ObjectifyError]
    command_ids: list[strawberry.ID]
    mapping: str  # id:version
    dataset_version: strawberry.ID
    # Instances deleted because the version no longer has their row
    # (`objectify(deleteMissing: true)` only).
    deleted: int = 0


ObjectifyResult = Annotated[
    ObjectifyRun | ValidationError, strawberry.union("ObjectifyResult")
]


# --- lineage -----------------------------------------------------------------------


@strawberry.enum
class LineageDirection(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.type
class LineageNode:
    id: strawberry.ID
    kind: str
    label: str


@strawberry.type
class LineageEdge:
    from_: strawberry.ID = strawberry.field(name="from")
    to: strawberry.ID
    kind: str


@strawberry.type
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge]


@strawberry.type(
    description="How far a run is: `stage` RUNNING, then its final status."
)
class Progress:
    run_id: strawberry.ID
    stage: str
    done: int
    total: int
    message: str
