"""Readers: CSV, Excel (.xlsx) and JSON lines, streamed into Parquet (all strings).

Every reader raises `IngestRejected` naming the row (1-based data row, the
header not counted) or column where it applies, and leaves no output behind.
CSV is sniffed here (encoding, delimiter, header) on the first 64 KiB, then read by
pyarrow where it reads exactly as Python's csv module would (csv_arrow.py, about 4x
faster), else by the csv module, row by row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from adapters.dataplane import csv_arrow
from adapters.dataplane.encodings import PREFIX_BYTES, check_encoding, detect_encoding
from adapters.dataplane.excel import read_xlsx
from adapters.dataplane.parquet import CHUNK_ROWS
from adapters.dataplane.tabular import checked, column_names, numbered, write_checked
from domain.dataplane.datasets import IngestOptions, IngestRejected, ingest_error
from domain.errors import FieldError

_SAMPLE_CHARS: Final = 64 * 1024
_DELIMITERS: Final = ",;\t|"
_MAX_REPORTED: Final = 5
# The encodings pyarrow reads (it checks UTF-8 and skips a UTF-8 BOM).
_ARROW_ENCODINGS: Final = frozenset({"utf-8", "utf-8-sig"})
_LINE_END = re.compile(r"\r\n|\r|\n")
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
            columns, rows = read_xlsx(source, target, options, chunk_rows)
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
        columns = column_names(first) if header else numbered(len(first))
        if _arrow_reads(sample, first, dialect, encoding):
            layout = csv_arrow.CsvLayout(
                delimiter=dialect.delimiter, quotechar=dialect.quotechar or '"',
                header=header,
            )  # fmt: skip
            written = csv_arrow.convert(
                source, target, columns, layout, chunk_rows=chunk_rows
            )
            if written is not None:
                return columns, checked(written, header=header)
        rows = _data_rows(reader, first, header=header, width=len(columns))
        return columns, write_checked(target, columns, rows, chunk_rows, header=header)


def _arrow_reads(
    sample: str,
    first: list[str],
    dialect: type[csv.Dialect] | csv.Dialect,
    encoding: str,
) -> bool:
    """Whether pyarrow can read the file as the csv module does: UTF-8, and the
    first row on the first line (pyarrow skips lines, the csv module rows)."""
    if encoding not in _ARROW_ENCODINGS:
        return False
    line = _LINE_END.split(sample, maxsplit=1)[0]
    if encoding == "utf-8" and line.startswith("\ufeff"):
        return False  # a BOM read as text: pyarrow would drop it
    return next(csv.reader([line], dialect), None) == first


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
    return columns, write_checked(target, columns, rows, chunk_rows, header=False)


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
