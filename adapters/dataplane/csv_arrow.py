"""CSV -> Parquet with pyarrow's streaming, multithreaded CSV reader: the fast path.

Python's csv module reads about 16 MB/s on this machine; pyarrow reads the same file
on two cores at about 65 MB/s (`python -m bench.ingest_profile`). Its parser agrees
with the csv module's excel dialect where files are well formed and where they are
not (quotes doubled, text after a closing quote kept, spaces around quotes kept,
blank lines skipped; tests/dataplane/test_readers.py compares the two case by case),
so readers.py uses it for UTF-8 files whose first row is their first line and has
two columns or more. Whatever it cannot read exactly as the csv module would (a
ragged row, invalid UTF-8, a row longer than a block) makes `convert` return None,
and the Python reader reads the file instead, naming the bad rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from adapters.dataplane.parquet import schema_of

log = logging.getLogger(__name__)

# A row must fit in one block (a longer one sends the file to the Python reader).
# Peak memory of the 1M-row benchmark's read: +150 MB with 1 MiB blocks, +220 MB
# with 4 MiB, at the same speed.
BLOCK_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvLayout:
    """What the Python reader found on the file's first lines."""

    delimiter: str
    quotechar: str
    header: bool  # skip the first line


def convert(
    source: Path,
    target: Path,
    columns: Sequence[str],
    layout: CsvLayout,
    *,
    chunk_rows: int,
) -> int | None:
    """Writes `target` (every column a string, blank cells null) and returns its
    row count, or None (and no `target`) if the fast path cannot read the file."""
    try:
        return _convert(source, target, columns, layout, chunk_rows)
    except pa.ArrowException as error:
        log.info("CSV fast path declined %s: %s", source.name, error)
        target.unlink(missing_ok=True)
        return None
    finally:
        # Arrow's allocator keeps freed memory for reuse; profiling (DuckDB, its
        # own allocator) comes next, so give it back: 70 MB on the benchmark.
        pa.default_memory_pool().release_unused()


def _convert(
    source: Path,
    target: Path,
    columns: Sequence[str],
    layout: CsvLayout,
    chunk_rows: int,
) -> int:
    names = [f"c{i}" for i in range(len(columns))]  # header cells may repeat
    reader = pcsv.open_csv(
        source,
        read_options=pcsv.ReadOptions(
            column_names=names, skip_rows=1 if layout.header else 0,
            block_size=BLOCK_BYTES, use_threads=True,
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=layout.delimiter, quote_char=layout.quotechar, double_quote=True,
            escape_char=False, newlines_in_values=True, ignore_empty_lines=True,
        ),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), check_utf8=True,
            strings_can_be_null=False, quoted_strings_can_be_null=False,
        ),
    )  # fmt: skip
    schema = schema_of(columns)
    with pq.ParquetWriter(str(target), schema, compression="zstd") as writer:
        groups = _RowGroups(writer, schema, chunk_rows)
        for batch in reader:
            groups.add(batch)
        groups.flush()
    return groups.rows


class _RowGroups:
    """Regroups the reader's batches (one per block) into row groups of exactly
    `chunk_rows` rows, the last one shorter."""

    def __init__(
        self, writer: pq.ParquetWriter, schema: pa.Schema, chunk_rows: int
    ) -> None:
        self._writer, self._schema, self._chunk_rows = writer, schema, chunk_rows
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        while self._pending_rows >= self._chunk_rows:
            table = pa.Table.from_batches(self._pending)
            self._write(table.slice(0, self._chunk_rows))
            rest = table.slice(self._chunk_rows)
            self._pending = rest.to_batches()
            self._pending_rows = rest.num_rows

    def flush(self) -> None:
        if self._pending_rows:
            self._write(pa.Table.from_batches(self._pending))
        self._pending, self._pending_rows = [], 0

    def _write(self, table: pa.Table) -> None:
        columns = [_blank_to_null(column) for column in table.columns]
        self._writer.write_table(
            pa.Table.from_arrays(columns, schema=self._schema),
            row_group_size=self._chunk_rows,
        )


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Empty and whitespace-only cells become null, as in the Python reader.
    Arrow's `utf8_is_space` is Python's `str.isspace` (checked on every code point)."""
    blank = pc.or_(pc.equal(pc.binary_length(column), 0), pc.utf8_is_space(column))
    if not pc.any(blank).as_py():
        return column
    return pc.if_else(blank, pa.scalar(None, pa.string()), column)
