"""What every reader shares: column names from a header row, and the no-rows check."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from adapters.dataplane.parquet import write_rows
from domain.dataplane.datasets import ingest_error


def column_names(first: Sequence[str]) -> list[str]:
    """Trimmed header cells; an empty one is `column_<n>`, a repeated one gets `_2`..."""
    names: list[str] = []
    for index, cell in enumerate(first, start=1):
        name = cell.strip().lstrip("\ufeff") or f"column_{index}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def numbered(width: int) -> list[str]:
    return [f"column_{i}" for i in range(1, width + 1)]


def checked(written: int, *, header: bool) -> int:
    """The row count, or IngestRejected when the file has no data rows."""
    if written == 0:
        raise ingest_error(
            "header_only" if header else "empty_file",
            "the file has a header but no data rows" if header else "no data rows",
        )
    return written


def write_checked(
    target: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[str | None]],
    chunk_rows: int,
    *,
    header: bool,
) -> int:
    return checked(
        write_rows(target, columns, rows, chunk_rows=chunk_rows), header=header
    )
