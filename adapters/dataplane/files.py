"""DatasetFiles over the blob store: ingest to Parquet, store, and page rows."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from adapters.dataplane.parquet import CHUNK_ROWS, read_page
from adapters.dataplane.readers import read_to_parquet
from domain.dataplane.datasets import IngestedFile, IngestOptions, Upload
from domain.ports import BlobStore

log = logging.getLogger(__name__)

_HASH_CHUNK = 1024 * 1024


class BlobDatasetFiles:
    """Parquet files of dataset versions in a BlobStore (filesystem or S3)."""

    def __init__(
        self,
        blobs: BlobStore,
        *,
        work_dir: Path | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self._blobs = blobs
        self._work_dir = work_dir
        self._chunk_rows = chunk_rows

    async def ingest(self, upload: Upload, options: IngestOptions) -> IngestedFile:
        return await asyncio.to_thread(self._ingest, upload, options)

    def _ingest(self, upload: Upload, options: IngestOptions) -> IngestedFile:
        content_hash = sha256_of(upload.path)
        handle, name = tempfile.mkstemp(suffix=".parquet", dir=self._work_dir)
        os.close(handle)
        target = Path(name)
        fmt, columns, rows, encoding = read_to_parquet(
            upload.path, target, filename=upload.filename, options=options,
            chunk_rows=self._chunk_rows,
        )  # fmt: skip
        return IngestedFile(
            content_hash=content_hash,
            parquet=target,
            row_count=rows,
            columns=_profiled(target, columns),
            format=fmt,
            encoding=encoding,
        )

    async def store(self, key: str, parquet: Path) -> None:
        # The BlobStore port takes bytes: the Parquet file (compressed) is read whole.
        data = await asyncio.to_thread(parquet.read_bytes)
        await self._blobs.put(key, data, if_absent=True)

    async def rows(
        self, key: str, *, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        data = await self._blobs.get(key)
        return await asyncio.to_thread(
            read_page, pa.BufferReader(data), offset=offset, limit=limit
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _profiled(parquet: Path, columns: list[str]) -> list[dict[str, Any]]:
    """Column names with their profile (adapters/dataplane/profiling.py, DuckDB
    over the whole file); names only if profiling is unavailable or fails."""
    plain: list[dict[str, Any]] = [{"name": c} for c in columns]
    try:
        from adapters.dataplane.profiling import profile_file
    except ImportError:  # built by the inference work; optional here
        log.warning("adapters.dataplane.profiling unavailable: columns unprofiled")
        return plain
    try:
        profile = profile_file(parquet, file_format="parquet")
    except Exception:  # a profiling bug must not lose the upload
        log.exception("profiling failed; the version's columns carry names only")
        return plain
    by_name = {c.name: _column_payload(c) for c in profile.columns}
    return [by_name.get(c, {"name": c}) for c in columns]


def _column_payload(column: Any) -> dict[str, Any]:
    """A ColumnProfile as JSON for the event (its value sample stays out)."""
    payload = {
        f.name: getattr(column, f.name)
        for f in dataclasses.fields(column)
        if f.name != "value_sample"
    }
    payload["samples"] = list(column.samples)
    payload["top_values"] = [dataclasses.asdict(v) for v in column.top_values]
    payload["histogram"] = [dataclasses.asdict(b) for b in column.histogram]
    return payload
