"""Writing rows of strings to Parquet in chunks, and reading pages back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

CHUNK_ROWS: Final = 50_000  # rows per Parquet row group: bounds memory


def schema_of(columns: Sequence[str]) -> pa.Schema:
    return pa.schema([pa.field(name, pa.string()) for name in columns])


class ChunkedWriter:
    """Buffers at most `chunk_rows` rows, then writes them as one row group."""

    def __init__(
        self, path: Path, columns: Sequence[str], *, chunk_rows: int = CHUNK_ROWS
    ) -> None:
        self._schema = schema_of(columns)
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")
        self._width = len(columns)
        self._chunk_rows = chunk_rows
        self._buffer: list[Sequence[str | None]] = []
        self.rows = 0

    def add(self, row: Sequence[str | None]) -> None:
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= self._chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        arrays = [
            pa.array([r[i] for r in self._buffer], pa.string())
            for i in range(self._width)
        ]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self._buffer = []

    def close(self) -> None:
        self.flush()
        self._writer.close()


def write_rows(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[str | None]],
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    writer = ChunkedWriter(path, columns, chunk_rows=chunk_rows)
    try:
        for row in rows:
            writer.add(row)
    finally:
        writer.close()
    return writer.rows


def read_page(
    file: pq.ParquetFile, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Rows [offset, offset + limit) and the total, reading only the row groups
    that hold them."""
    total = file.metadata.num_rows
    rows: list[dict[str, Any]] = []
    start = 0
    for group in range(file.num_row_groups):
        size = file.metadata.row_group(group).num_rows
        end = start + size
        if end > offset and len(rows) < limit:
            table = file.read_row_group(group)
            skip = max(0, offset - start)
            rows.extend(table.slice(skip, limit - len(rows)).to_pylist())
        start = end
        if len(rows) >= limit:
            break
    return rows, total
