"""Datasets: immutable, content-addressed versions of ingested files.

A dataset is one stream per (db, name) on `main`; each version is one
`dataset.version_registered.v1` event carrying where its Parquet file lives.
The version id is derived from the dataset name and the sha256 of the raw file
bytes, so the same file uploaded twice is the same version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

from domain.commands import RegisterDatasetVersion
from domain.errors import FieldError, ValidationFailed
from domain.events import DATASET_VERSION_REGISTERED, EventEnvelope, NewEvent

DATASET: Final = "dataset"  # aggregate type
DATASET_NAME: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}\Z")
FORMATS: Final = ("CSV", "XLSX", "JSONL")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request, spooled to a temporary file."""

    filename: str
    content_type: str
    path: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestOptions:
    """How to read a file; None means "detect" (format: by the file name)."""

    format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    header: bool | None = None
    sheet: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestedFile:
    """A file read into a Parquet file (every column a string)."""

    content_hash: str  # sha256 of the raw bytes, hex
    parquet: Path
    row_count: int
    columns: Sequence[Mapping[str, Any]]  # {"name": ...} plus profile fields
    format: str
    encoding: str | None = None


class IngestRejected(ValidationFailed):
    """The file cannot become a dataset version; `errors` name the row/column."""


def ingest_error(code: str, message: str, *path: str) -> IngestRejected:
    return IngestRejected(
        errors=[FieldError(("file", *path), code, message)], summary=message
    )


INGEST_STAGES: Final = ("reading", "profiling")  # what `ingest` reports, in order


class DatasetFiles(Protocol):
    """Reads uploaded files into Parquet and serves the rows of stored versions.

    Every method works in bounded memory whatever the file's size: files are
    streamed, rows are read a row group or a batch at a time.
    """

    async def ingest(
        self,
        upload: Upload,
        options: IngestOptions,
        *,
        on_stage: Callable[[str], None] | None = None,
    ) -> IngestedFile:
        """Reads the file (streamed) into a temporary Parquet file and profiles it;
        raises IngestRejected for unusable input. `on_stage` is called on the event
        loop with each of INGEST_STAGES as it starts."""
        ...

    async def store(self, key: str, parquet: Path) -> None:
        """Puts the Parquet file in the blob store under `key` (idempotent, streamed)."""
        ...

    async def rows(
        self, key: str, *, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows [offset, offset + limit) of a stored version and its row count."""
        ...

    def batches(
        self, key: str, *, batch_rows: int = 50_000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every row of a stored version in file order, as dicts of column -> text
        or None, in lists of exactly `batch_rows` (the last one shorter, none
        empty). Raises NotFoundError if the version's blob is absent."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetVersion:
    id: str
    dataset: str
    content_hash: str
    blob_key: str
    row_count: int
    format: str
    filename: str
    created_at: datetime
    columns: Sequence[Mapping[str, Any]]


@dataclass(slots=True)
class Dataset:
    name: str
    versions: list[DatasetVersion] = field(default_factory=list)


def version_id_of(name: str, content_hash: str) -> str:
    """Deterministic: the same file under the same name is the same version."""
    return hashlib.sha256(f"{name}\n{content_hash}".encode()).hexdigest()[:32]


def ingest_run_id(db: str, idempotency_key: str) -> str:
    """The `progress(runId)` run of an upload: the client knows it before sending
    (keys are scoped to a database, so the id names both)."""
    return f"ingest:{db}:{idempotency_key}"


def blob_key_of(db: str, name: str, version_id: str) -> str:
    return f"datasets/{db}/{name}/{version_id}.parquet"


def check_name(name: str) -> None:
    if not DATASET_NAME.match(name):
        raise ValidationFailed(
            errors=[
                FieldError(
                    ("name",), "invalid_name", "use 1 to 200 of A-Z a-z 0-9 _ . -"
                )
            ],
            summary=f"invalid dataset name {name!r}",
        )


def decide_register_version(
    versions: Sequence[DatasetVersion], cmd: RegisterDatasetVersion
) -> list[NewEvent]:
    """No event when the version exists already (content-hash idempotency)."""
    check_name(cmd.name)
    if any(v.id == cmd.version_id for v in versions):
        return []
    data = {
        "name": cmd.name,
        "version_id": cmd.version_id,
        "content_hash": cmd.content_hash,
        "blob_key": cmd.blob_key,
        "row_count": cmd.row_count,
        "format": cmd.format,
        "filename": cmd.filename,
        "columns": [dict(c) for c in cmd.columns],
    }
    return [NewEvent(event_type=DATASET_VERSION_REGISTERED, data=data)]


def version_of(event: EventEnvelope) -> DatasetVersion:
    data = event.data
    return DatasetVersion(
        id=str(data["version_id"]),
        dataset=str(data["name"]),
        content_hash=str(data["content_hash"]),
        blob_key=str(data["blob_key"]),
        row_count=int(data["row_count"]),
        format=str(data["format"]),
        filename=str(data.get("filename", "")),
        created_at=event.occurred_at,
        columns=list(data.get("columns", ())),
    )


def datasets_of(events: Iterable[EventEnvelope]) -> dict[str, Dataset]:
    """Every dataset of a database, by name, versions oldest first."""
    found: dict[str, Dataset] = {}
    for event in events:
        if event.event_type != DATASET_VERSION_REGISTERED:
            continue
        version = version_of(event)
        found.setdefault(version.dataset, Dataset(version.dataset)).versions.append(
            version
        )
    return found
