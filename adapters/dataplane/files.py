"""DatasetFiles over the blob store: ingest to Parquet, store, and read rows back.

Memory stays bounded whatever the file's size: the upload is read as a stream into
Parquet row groups, profiled by DuckDB under a memory limit (it spills beyond it),
put into the blob store from the file (`BlobStore.put_file`), and read back from a
local copy (`VersionCache`) a row group or a batch at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from adapters.dataplane.parquet import CHUNK_ROWS, read_page
from adapters.dataplane.profiling import profile_file
from adapters.dataplane.readers import read_to_parquet
from adapters.dataplane.version_cache import DEFAULT_MAX_BYTES, VersionCache
from domain.dataplane.datasets import IngestedFile, IngestOptions, Upload
from domain.ports import BlobStore

log = logging.getLogger(__name__)

_HASH_CHUNK: Final = 1024 * 1024
# DuckDB's memory while profiling; beyond it DuckDB spills to the work dir. Not a
# hard cap: profiling 10.7M rows (1.2 GB of CSV) peaked at 216 MB for the whole
# process with 128MB, at 493 MB with 256MB; 1M rows profile as fast with either.
PROFILE_MEMORY: Final = "128MB"

Stage = Callable[[str], None]


class BlobDatasetFiles:
    """Parquet files of dataset versions in a BlobStore (filesystem or S3)."""

    def __init__(
        self,
        blobs: BlobStore,
        *,
        work_dir: Path | None = None,
        cache_dir: Path | None = None,
        cache_bytes: int = DEFAULT_MAX_BYTES,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self._blobs = blobs
        self._work_dir = work_dir
        self._chunk_rows = chunk_rows
        self._cache = VersionCache(blobs, cache_dir, max_bytes=cache_bytes)

    async def ingest(
        self, upload: Upload, options: IngestOptions, *, on_stage: Stage | None = None
    ) -> IngestedFile:
        loop = asyncio.get_running_loop()

        def stage(name: str) -> None:  # from the worker thread, onto the loop
            if on_stage is not None:
                loop.call_soon_threadsafe(on_stage, name)

        return await asyncio.to_thread(self._ingest, upload, options, stage)

    def _ingest(
        self, upload: Upload, options: IngestOptions, stage: Stage
    ) -> IngestedFile:
        stage("reading")
        content_hash = sha256_of(upload.path)
        if self._work_dir is not None:
            self._work_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(suffix=".parquet", dir=self._work_dir)
        os.close(handle)
        target = Path(name)
        try:
            fmt, columns, rows, encoding = read_to_parquet(
                upload.path, target, filename=upload.filename, options=options,
                chunk_rows=self._chunk_rows,
            )  # fmt: skip
        except BaseException:  # a refused file leaves no temporary behind
            target.unlink(missing_ok=True)
            raise
        stage("profiling")
        return IngestedFile(
            content_hash=content_hash,
            parquet=target,
            row_count=rows,
            columns=_profiled(target, columns, temp_dir=target.parent),
            format=fmt,
            encoding=encoding,
        )

    async def store(self, key: str, parquet: Path) -> None:
        await self._blobs.put_file(key, parquet, if_absent=True)
        # The version is read soon after (suggestClass, objectify): keep it local.
        await asyncio.to_thread(self._cache.adopt, key, parquet)

    async def rows(
        self, key: str, *, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        file = await self._opened(key)
        try:
            return await asyncio.to_thread(read_page, file, offset=offset, limit=limit)
        finally:
            file.close()

    async def batches(
        self, key: str, *, batch_rows: int = CHUNK_ROWS
    ) -> AsyncIterator[list[dict[str, Any]]]:
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        file = await self._opened(key)
        try:
            chunks = _exact_batches(file, batch_rows)
            done: list[dict[str, Any]] = []
            while rows := await asyncio.to_thread(next, chunks, done):
                yield rows
        finally:
            file.close()

    async def local_path(self, key: str) -> Path:
        """A local copy of a stored version, for engines that read files (pipelines)."""
        return await self._cache.local(key)

    @property
    def cache_directory(self) -> Path | None:
        return self._cache.directory

    def close(self) -> None:
        """Removes the private cache directory (a given `cache_dir` stays)."""
        self._cache.close()

    async def _opened(self, key: str) -> pq.ParquetFile:
        """The cached copy, opened (an open file outlives its eviction)."""
        try:
            return await asyncio.to_thread(_open, await self._cache.local(key))
        except FileNotFoundError:  # evicted between the two steps: fetch it again
            return await asyncio.to_thread(_open, await self._cache.local(key))


def _exact_batches(
    file: pq.ParquetFile, batch_rows: int
) -> Iterator[list[dict[str, Any]]]:
    """Lists of exactly `batch_rows` rows (the last shorter). Parquet's batches stop
    at row-group ends, so they are regrouped as Arrow data (compact), and only the
    rows handed out become Python objects."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in file.iter_batches(batch_size=batch_rows):
        pending.append(batch)
        count += batch.num_rows
        while count >= batch_rows:
            table = pa.Table.from_batches(pending)
            yield _handed_out(table.slice(0, batch_rows))
            rest = table.slice(batch_rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield _handed_out(pa.Table.from_batches(pending))


def _handed_out(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    # Arrow's allocator (mimalloc) keeps what a batch freed; reading a 1M-row
    # version peaked 130 MB higher without this, 60 MB with it.
    pa.default_memory_pool().release_unused()
    return rows


def _open(path: Path) -> pq.ParquetFile:
    # Without pre-buffering, reads hold one column chunk at a time, not a row
    # group's: less memory, and no slower here.
    return pq.ParquetFile(path, pre_buffer=False)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _profiled(
    parquet: Path, columns: list[str], *, temp_dir: Path
) -> list[dict[str, Any]]:
    """Column names with their profile (adapters/dataplane/profiling.py, DuckDB
    over the whole file); names only if profiling fails."""
    plain: list[dict[str, Any]] = [{"name": c} for c in columns]
    try:
        profile = profile_file(
            parquet, file_format="parquet", memory_limit=PROFILE_MEMORY,
            temp_directory=temp_dir,
        )  # fmt: skip
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
