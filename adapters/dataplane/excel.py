"""Excel (.xlsx) -> Parquet with the sheet chosen by name (default: the first).

python-calamine (Rust) reads a sheet about 3.4x faster than a streamed parse of its
XML but holds the whole sheet in memory: 200,000 rows x 10 columns (91 MB of sheet
XML) took 2.3 s and 192 MB with calamine, 7.8 s and 30 MB streamed (xlsx_stream.py)
and 28 s with openpyxl's read-only mode, on this machine. So a sheet whose XML is
at most CALAMINE_MAX_BYTES is read by calamine, a larger one streamed; both give
the same values, turned into text here, so a workbook reads the same either way.
"""

from __future__ import annotations

import contextlib
import math
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final
from xml.parsers import expat

import pyarrow.parquet as pq

from adapters.dataplane import xlsx_stream
from adapters.dataplane.parquet import schema_of
from adapters.dataplane.tabular import column_names, numbered, write_checked
from domain.dataplane.datasets import IngestOptions, ingest_error

# About 1.4 million cells; calamine then holds roughly twice this in memory.
CALAMINE_MAX_BYTES: Final = 64 * 1024 * 1024
# What a damaged workbook raises from zipfile, zlib, expat and ElementTree (whose
# ParseError is a SyntaxError), or from a cell that points nowhere.
_UNREADABLE: Final = (
    zipfile.BadZipFile, zlib.error, expat.ExpatError, SyntaxError, KeyError,
    IndexError, ValueError, EOFError,
)  # fmt: skip


def read_xlsx(
    source: Path,
    target: Path,
    options: IngestOptions,
    chunk_rows: int,
    *,
    calamine_max_bytes: int = CALAMINE_MAX_BYTES,
) -> tuple[list[str], int]:
    if not zipfile.is_zipfile(source):
        raise ingest_error("not_xlsx", "the file is not an .xlsx workbook (not a zip)")
    try:
        return _read(source, target, options, chunk_rows, calamine_max_bytes)
    except _UNREADABLE as error:  # a damaged zip, a missing part, broken XML
        raise ingest_error("not_xlsx", f"unreadable workbook: {error!r}") from None


def _read(
    source: Path,
    target: Path,
    options: IngestOptions,
    chunk_rows: int,
    calamine_max_bytes: int,
) -> tuple[list[str], int]:
    with zipfile.ZipFile(source) as archive:
        book = xlsx_stream.book_of(archive)
        sheet = _sheet(book, options.sheet)
        rows: Generator[list[Any], None, None]
        if archive.getinfo(sheet.part).file_size <= calamine_max_bytes:
            stream, rows = None, _calamine_rows(source, sheet.name)
        else:
            stream = xlsx_stream.open_sheet(archive, sheet, book)
            rows = stream.rows()
        # Closed even when a bad row stops the read: the generator holds the file.
        with contextlib.closing(rows):
            return _write(rows, stream, target, options, chunk_rows)


def _sheet(book: xlsx_stream.Book, name: str | None) -> xlsx_stream.Sheet:
    if not book.sheets:
        raise ingest_error("empty_file", "the workbook has no sheet")
    if name is None:
        return book.sheets[0]
    found = next((s for s in book.sheets if s.name == name), None)
    if found is None:
        names = ", ".join(s.name for s in book.sheets)
        raise ingest_error(
            "unknown_sheet", f"no sheet {name!r}; sheets: {names}", "sheet"
        )
    return found


def _calamine_rows(source: Path, sheet: str) -> Generator[list[Any], None, None]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(source))
    except Exception as error:  # calamine raises its own error types
        raise ingest_error("not_xlsx", f"unreadable workbook: {error}") from None
    with book:
        try:
            rows = book.get_sheet_by_name(sheet).iter_rows()
        except Exception as error:
            raise ingest_error("not_xlsx", f"unreadable sheet: {error}") from None
        yield from rows


def _write(
    rows: Iterable[list[Any]],
    stream: xlsx_stream.SheetStream | None,
    target: Path,
    options: IngestOptions,
    chunk_rows: int,
) -> tuple[list[str], int]:
    texts = (list(map(excel_cell, r)) for r in rows)
    first = next((r for r in texts if any(c is not None for c in r)), None)
    if first is None:
        raise ingest_error("empty_file", "the sheet holds no rows")
    # Calamine pads every row to the sheet's width; a stream knows it from the
    # sheet's dimension, if the sheet names one.
    width = max(len(first), (stream.width if stream else None) or 0)
    first = _padded(first, width)
    header = options.header if options.header is not None else True
    used = _Extent()
    used.see(first)
    data = _data(texts, first, header=header, width=width, used=used)
    columns = _names(first, header=header)
    written = write_checked(target, columns, data, chunk_rows, header=header)
    if (used.low, used.high) != (0, width):
        columns = _trimmed(target, first, used, header=header)
    return columns, written


def _names(first: list[str | None], *, header: bool) -> list[str]:
    return column_names([c or "" for c in first]) if header else numbered(len(first))


class _Extent:
    """The columns holding a value in some row: calamine's range, which a stream
    knows only at its end."""

    def __init__(self) -> None:
        self.low, self.high = math.inf, 0

    def see(self, row: list[str | None]) -> None:
        cells = [i for i in (_first_value(row), _last_value(row)) if i is not None]
        if cells:
            self.low, self.high = min(self.low, cells[0]), max(self.high, cells[1] + 1)


def _first_value(row: list[str | None]) -> int | None:
    return next((i for i, c in enumerate(row) if c is not None), None)


def _last_value(row: list[str | None]) -> int | None:
    found = _first_value(row[::-1])
    return None if found is None else len(row) - 1 - found


def _trimmed(
    target: Path, first: list[str | None], used: _Extent, *, header: bool
) -> list[str]:
    """Rewrites `target` without the columns left and right of every value, a row
    group at a time; the columns named again as calamine's range would be."""
    low, high = int(used.low), used.high
    kept = _names(first, header=header)[low:high]
    columns = _names(first[low:high], header=header)
    source = pq.ParquetFile(target)
    trimmed = target.with_name(f"{target.name}.trim")
    with pq.ParquetWriter(str(trimmed), schema_of(columns), compression="zstd") as out:
        for group in range(source.num_row_groups):
            table = source.read_row_group(group, columns=kept)
            out.write_table(table.rename_columns(columns))
    source.close()
    trimmed.replace(target)
    return columns


def _data(
    rows: Iterator[list[str | None]],
    first: list[str | None],
    *,
    header: bool,
    width: int,
    used: _Extent,
) -> Iterator[list[str | None]]:
    if not header:
        yield first
    number = 0 if header else 1
    for row in rows:
        if all(c is None for c in row):
            continue
        number += 1
        if len(row) > width and any(c is not None for c in row[width:]):
            raise ingest_error(
                "wide_row",
                f"row {number} has a value in column {len(row)}, right of the "
                f"{width} columns of the first row: give that column a header",
                f"row {number}",
            )
        used.see(row)
        yield _padded(row, width)


def _padded(row: list[str | None], width: int) -> list[str | None]:
    # Trailing empty cells are not ragged: rows end at their last value.
    return (row + [None] * width)[:width]


def excel_cell(value: Any) -> str | None:
    """A cell's text: numbers without a needless `.0`, dates ISO 8601 (a date at
    midnight is a date), blank text None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)  # calamine reads every number as a float: so do we
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)
