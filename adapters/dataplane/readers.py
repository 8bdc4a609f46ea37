"""Readers: CSV, Excel (.xlsx) and JSON lines, streamed into Parquet (all strings).

Every reader raises `IngestRejected` naming the row (1-based data row, the
header not counted) or column where it applies, and leaves no output behind.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

from adapters.dataplane.encodings import PREFIX_BYTES, check_encoding, detect_encoding
from adapters.dataplane.parquet import CHUNK_ROWS, write_rows
from domain.dataplane.datasets import IngestOptions, IngestRejected, ingest_error
from domain.errors import FieldError

_SAMPLE_CHARS: Final = 64 * 1024
_DELIMITERS: Final = ",;\t|"
_MAX_REPORTED: Final = 5
csv.field_size_limit(16 * 1024 * 1024)


def format_of(filename: str, options: IngestOptions) -> str:
    if options.format:
        return options.format.upper()
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "XLSX"
    if suffix in (".jsonl", ".ndjson"):
        return "JSONL"
    return "CSV"


def read_to_parquet(
    source: Path,
    target: Path,
    *,
    filename: str,
    options: IngestOptions,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[str, list[str], int, str | None]:
    """Writes `target`; returns (format, column names, row count, encoding)."""
    fmt = format_of(filename, options)
    if source.stat().st_size == 0:
        raise ingest_error("empty_file", "the file is empty")
    try:
        if fmt == "XLSX":
            columns, rows = _read_xlsx(source, target, options, chunk_rows)
            return fmt, columns, rows, None
        encoding = _encoding(source, options)
        if fmt == "JSONL":
            columns, rows = _read_jsonl(source, target, encoding, chunk_rows)
        else:
            columns, rows = _read_csv(source, target, encoding, options, chunk_rows)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return fmt, columns, rows, encoding


def _encoding(source: Path, options: IngestOptions) -> str:
    if options.encoding:
        return check_encoding(options.encoding)
    with source.open("rb") as file:
        return detect_encoding(file.read(PREFIX_BYTES))


def _open_text(source: Path, encoding: str) -> io.TextIOWrapper:
    return source.open("r", encoding=encoding, errors="strict", newline="")


# --- CSV ---


def _read_csv(
    source: Path, target: Path, encoding: str, options: IngestOptions, chunk_rows: int
) -> tuple[list[str], int]:
    with _open_text(source, encoding) as text:
        sample = _sample(text)
        dialect = _dialect(sample, options)
        text.seek(0)
        reader = csv.reader(text, dialect)
        first = _first_row(reader)
        header = (
            options.header if options.header is not None else _has_header(first, sample)
        )
        columns = _column_names(first) if header else _numbered(len(first))
        rows = _data_rows(reader, first, header=header, width=len(columns))
        return columns, _write(target, columns, rows, chunk_rows, header=header)


def _sample(text: io.TextIOWrapper) -> str:
    try:
        sample = text.read(_SAMPLE_CHARS)
    except UnicodeDecodeError as error:
        raise _undecodable(error) from None
    if not sample.strip():
        raise ingest_error("empty_file", "the file holds no rows")
    if "\x00" in sample:
        raise ingest_error("binary_file", "the file is binary, not text")
    return sample


def _dialect(sample: str, options: IngestOptions) -> type[csv.Dialect] | csv.Dialect:
    if options.delimiter:
        if len(options.delimiter) != 1:
            raise ingest_error(
                "invalid_delimiter", "the delimiter must be one character", "delimiter"
            )
        return _with_delimiter(options.delimiter)
    # Whole lines only: a sample cut mid-line confuses the sniffer.
    lines = sample.splitlines()
    cut = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    try:
        sniffed = csv.Sniffer().sniff(cut, delimiters=_DELIMITERS)
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        return _with_delimiter(max(counts, key=lambda d: counts[d]))
    # Only the delimiter and quote are taken: the sniffer's `doublequote` guess
    # is unreliable, and RFC 4180 quoting (`""` inside quotes) is what files use.
    return _with_delimiter(sniffed.delimiter, sniffed.quotechar or '"')


def _with_delimiter(delimiter: str, quotechar: str = '"') -> type[csv.Dialect]:
    class Chosen(csv.excel):
        pass

    Chosen.delimiter = delimiter
    Chosen.quotechar = quotechar
    return Chosen


def _first_row(reader: Iterator[list[str]]) -> list[str]:
    for row in _decoded(reader):
        if any(cell.strip() for cell in row):
            return row
    raise ingest_error("empty_file", "the file holds no rows")


def _has_header(first: Sequence[str], sample: str) -> bool:
    """A first row of distinct, non-empty, non-numeric names is a header; otherwise
    the standard library's sniffer decides."""
    cells = [c.strip() for c in first]
    if all(cells) and len(set(cells)) == len(cells) and not any(map(_numeric, cells)):
        return True
    try:
        return csv.Sniffer().has_header(sample)
    except csv.Error:
        return True


def _numeric(cell: str) -> bool:
    try:
        float(cell.replace(",", ""))
    except ValueError:
        return False
    return True


def _column_names(first: Sequence[str]) -> list[str]:
    names: list[str] = []
    for index, cell in enumerate(first, start=1):
        name = cell.strip().lstrip("\ufeff") or f"column_{index}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _numbered(width: int) -> list[str]:
    return [f"column_{i}" for i in range(1, width + 1)]


def _data_rows(
    reader: Iterator[list[str]], first: list[str], *, header: bool, width: int
) -> Iterator[list[str | None]]:
    if not header:
        yield _cells(first)
    ragged: list[str] = []
    for number, row in enumerate(_decoded(reader), start=1 if header else 2):
        if not row:
            continue  # a blank line
        if len(row) != width:
            ragged.append(f"row {number} has {len(row)} columns, expected {width}")
            if len(ragged) >= _MAX_REPORTED:
                break
            continue
        yield _cells(row)
    if ragged:
        raise _ragged(ragged)


def _ragged(messages: list[str]) -> Exception:
    errors = [
        FieldError(("file", m.split(" has ")[0]), "ragged_row", m) for m in messages
    ]
    return IngestRejected(errors=errors, summary="rows with the wrong column count: "
                          + "; ".join(messages))  # fmt: skip


def _cells(row: Sequence[str]) -> list[str | None]:
    return [None if not c.strip() else c for c in row]


def _decoded(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    try:
        yield from reader
    except UnicodeDecodeError as error:
        raise _undecodable(error) from None
    except csv.Error as error:
        raise ingest_error("malformed_csv", f"malformed CSV: {error}") from None


def _undecodable(error: UnicodeDecodeError) -> Exception:
    return ingest_error(
        "undecodable",
        f"the file is not valid {error.encoding} (byte offset {error.start} in a "
        "chunk): pass `encoding`",
        "encoding",
    )


def _write(
    target: Path,
    columns: Sequence[str],
    rows: Iterator[Sequence[str | None]],
    chunk_rows: int,
    *,
    header: bool,
) -> int:
    written = write_rows(target, columns, rows, chunk_rows=chunk_rows)
    if written == 0:
        raise ingest_error(
            "header_only" if header else "empty_file",
            "the file has a header but no data rows" if header else "no data rows",
        )
    return written


# --- JSON lines ---


def _read_jsonl(
    source: Path, target: Path, encoding: str, chunk_rows: int
) -> tuple[list[str], int]:
    """Two streamed passes: the columns (keys in order of first appearance), then rows."""
    keys: dict[str, None] = {}
    for _, record in _records(source, encoding):
        keys.update(dict.fromkeys(record))
    if not keys:
        raise ingest_error("empty_file", "the file holds no records")
    columns = list(keys)
    rows = (
        [_json_cell(r.get(k)) for k in columns] for _, r in _records(source, encoding)
    )
    return columns, _write(target, columns, rows, chunk_rows, header=False)


def _records(source: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open_text(source, encoding) as text:
        number = 0
        try:
            for line in text:
                if not line.strip():
                    continue
                number += 1
                yield number, _record(line, number)
        except UnicodeDecodeError as error:
            raise _undecodable(error) from None


def _record(line: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise ingest_error(
            "invalid_json", f"row {number}: invalid JSON ({error.msg})", f"row {number}"
        ) from None
    if not isinstance(value, dict):
        raise ingest_error(
            "not_an_object",
            f"row {number}: a line must be a JSON object",
            f"row {number}",
        )
    return value


def _json_cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- Excel ---


def _read_xlsx(
    source: Path, target: Path, options: IngestOptions, chunk_rows: int
) -> tuple[list[str], int]:
    if not zipfile.is_zipfile(source):
        raise ingest_error("not_xlsx", "the file is not an .xlsx workbook (not a zip)")
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(source))
    except Exception as error:  # calamine raises its own error types
        raise ingest_error("not_xlsx", f"unreadable workbook: {error}") from None
    sheet = _sheet(book, options.sheet)
    rows = (list(map(_excel_cell, r)) for r in sheet.iter_rows())
    first = next((r for r in rows if any(c is not None for c in r)), None)
    if first is None:
        raise ingest_error("empty_file", "the sheet holds no rows")
    header = options.header if options.header is not None else True
    if header:
        columns = _column_names([c or "" for c in first])
    else:
        columns = _numbered(len(first))
    data = _excel_rows(rows, first, header=header, width=len(columns))
    return columns, _write(target, columns, data, chunk_rows, header=header)


def _sheet(book: Any, name: str | None) -> Any:
    names: list[str] = list(book.sheet_names)
    if name is None:
        if not names:
            raise ingest_error("empty_file", "the workbook has no sheet")
        return book.get_sheet_by_index(0)
    if name not in names:
        raise ingest_error(
            "unknown_sheet", f"no sheet {name!r}; sheets: {', '.join(names)}", "sheet"
        )
    return book.get_sheet_by_name(name)


def _excel_rows(
    rows: Iterator[list[str | None]],
    first: list[str | None],
    *,
    header: bool,
    width: int,
) -> Iterator[list[str | None]]:
    if not header:
        yield first
    for row in rows:
        if all(c is None for c in row):
            continue
        # Excel rows are padded to the sheet's width: trailing empties are not ragged.
        yield (row + [None] * width)[:width]


def _excel_cell(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)
