"""Excel: a small sheet is read by calamine, a large one streamed (xlsx_stream.py);
the same workbook reads the same both ways."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from adapters.dataplane.excel import read_xlsx
from adapters.dataplane.xlsx_stream import excel_moment, format_kind
from domain.dataplane.datasets import IngestOptions, IngestRejected

CALAMINE = 1 << 40
STREAMED = 0


def naive(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
    microsecond: int = 0,
) -> datetime:  # fmt: skip
    """Excel keeps date-times without a time zone."""
    return datetime.combine(
        date(year, month, day), time(hour, minute, second, microsecond)
    )


def every_kind_of_cell() -> bytes:
    """Data from B3 (empty rows and a column before it), formats of every kind."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Cells"
    sheet.append([])
    sheet.append([])
    header = ["kind", "value", "", "note"]
    sheet.append([None, *header])
    rows: list[tuple[str, Any, str | None]] = [
        ("int", 42, None),
        ("float", 10.5, "0.00"),
        ("big", 12345678901234567, None),
        ("negative", -0.125, None),
        ("percent", 0.25, "0%"),
        ("money", 1234.5, '"$"#,##0.00'),
        ("bool", True, None),
        ("false", False, None),
        ("text", "  padded  ", None),
        ("blank text", "   ", None),
        ("date", date(2024, 2, 29), None),
        ("midnight", naive(2024, 1, 1), "yyyy-mm-dd hh:mm"),
        ("datetime", naive(2024, 1, 1, 12, 30, 15), None),
        (
            "millis",
            naive(2024, 1, 1, 12, 30, 15, 250_000),
            "yyyy-mm-dd hh:mm:ss.000",
        ),
        ("time", time(13, 45), None),
        ("duration", timedelta(hours=30, minutes=5), "[h]:mm:ss"),
        ("german date", date(2023, 12, 24), "dd.mm.yyyy"),
        ("korean date", date(2023, 12, 24), 'yyyy"년" mm"월" dd"일"'),
        ("quoted letters", 7, '0 "days"'),
        ("colour", 3, "[Red]0.0"),
        ("old date", date(1900, 2, 1), None),
        ("rich", CellRichText("bold ", TextBlock(InlineFont(b=True), "text")), None),
        ("korean", "서울", None),
        ("empty", None, None),
    ]
    for kind, value, number_format in rows:
        sheet.append([None, kind, value, None, f"{kind}!"])
        if number_format:
            sheet.cell(row=sheet.max_row, column=3).number_format = number_format
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def read(
    tmp_path: Path, content: bytes, limit: int, **options: Any
) -> list[dict[str, Any]]:
    source = tmp_path / "book.xlsx"
    source.write_bytes(content)
    target = tmp_path / f"out{limit}.parquet"
    read_xlsx(source, target, IngestOptions(**options), 1000, calamine_max_bytes=limit)
    rows: list[dict[str, Any]] = pq.read_table(target).to_pylist()
    return rows


def test_a_workbook_reads_the_same_streamed_and_through_calamine(
    tmp_path: Path,
) -> None:
    calamine = read(tmp_path, every_kind_of_cell(), CALAMINE)
    streamed = read(tmp_path, every_kind_of_cell(), STREAMED)
    assert streamed == calamine
    values = {r["kind"]: r["value"] for r in streamed}
    assert values["int"] == "42"
    assert values["float"] == "10.5"
    assert values["bool"] == "true"
    assert values["blank text"] is None
    assert values["date"] == "2024-02-29"
    assert values["midnight"] == "2024-01-01"
    assert values["datetime"] == "2024-01-01T12:30:15"
    assert values["time"] == "13:45:00"
    assert values["german date"] == "2023-12-24"
    assert values["money"] == "1234.5"
    assert values["rich"] == "bold text"
    assert list(streamed[0]) == ["kind", "value", "column_3", "note"]


@pytest.mark.parametrize("limit", [CALAMINE, STREAMED], ids=["calamine", "streamed"])
def test_a_sheet_is_chosen_by_name(tmp_path: Path, limit: int) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.append(["total"])
    first.append([3])
    orders = book.create_sheet("Orders")
    orders.append(["id", "paid"])
    orders.append([1, True])
    buffer = io.BytesIO()
    book.save(buffer)
    rows = read(tmp_path, buffer.getvalue(), limit, sheet="Orders")
    assert rows == [{"id": "1", "paid": "true"}]
    with pytest.raises(IngestRejected) as caught:
        read(tmp_path, buffer.getvalue(), limit, sheet="Nope")
    assert caught.value.errors[0].code == "unknown_sheet"


def write_only_book(rows: list[list[Any]]) -> bytes:
    """As streaming writers do: no `dimension` range, so the width is unknown."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Data")
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_streamed_sheet_without_a_range_takes_the_first_rows_width(
    tmp_path: Path,
) -> None:
    content = write_only_book([["a", "b"], [1, 2], [3]])
    assert read(tmp_path, content, STREAMED) == [
        {"a": "1", "b": "2"},
        {"a": "3", "b": None},
    ]
    with pytest.raises(IngestRejected) as caught:
        read(tmp_path, write_only_book([["a"], [1], [2, "lost"]]), STREAMED)
    assert caught.value.errors[0].code == "wide_row"
    assert caught.value.errors[0].path == ("file", "row 2")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("General", ""),
        ("0.00", ""),
        ('#,##0 "items"', ""),
        ("[Red]0.0", ""),
        ("0.00E+00", ""),
        ("yyyy-mm-dd", "date"),
        ("[$-409]mmmm d, yyyy", "date"),
        ("h:mm AM/PM", "date"),
        ('yyyy"년" mm"월" dd"일"', "date"),
        ("[h]:mm:ss", "duration"),
        ("[mm]:ss", "duration"),
        ('0 "d"', ""),
        ("\\d0", ""),
    ],
)
def test_number_formats_that_show_dates(code: str, kind: str) -> None:
    assert format_kind(code) == kind


@pytest.mark.parametrize(
    ("serial", "moment"),
    [
        (0.5, time(12, 0)),
        (1, date(1900, 1, 1)),
        (59, date(1900, 2, 28)),
        (61, date(1900, 3, 1)),
        (45292.5, naive(2024, 1, 1, 12)),
    ],
)
def test_serial_dates_as_excel_counts_them(serial: float, moment: object) -> None:
    assert excel_moment(serial, date1904=False) == moment


def with_prefixed_sheet(content: bytes) -> bytes:
    """The workbook with its sheet's elements under an `x:` prefix, as some
    writers do."""
    source, out = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = re.sub(r"<(/?)(\w+)([ >/])", r"<\1x:\2\3", data.decode())
                data = text.replace('xmlns="', 'xmlns:x="', 1).encode()
            target.writestr(item, data)
    return out.getvalue()


def test_a_prefixed_sheet_streams_as_an_unprefixed_one(tmp_path: Path) -> None:
    content = every_kind_of_cell()
    prefixed = with_prefixed_sheet(content)
    assert b"<x:row" in zipfile.ZipFile(io.BytesIO(prefixed)).read(
        "xl/worksheets/sheet1.xml"
    )
    assert read(tmp_path, prefixed, STREAMED) == read(tmp_path, content, CALAMINE)


def with_sheet_xml(content: bytes, xml: bytes) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, xml if item.filename.endswith("sheet1.xml") else data)
    return out.getvalue()


@pytest.mark.parametrize("limit", [CALAMINE, STREAMED], ids=["calamine", "streamed"])
@pytest.mark.parametrize(
    "xml",
    [
        b"<worksheet><sheetData><row><c r='A1'><v>1",
        b'<worksheet><sheetData><row><c t="s"><v>99</v></c></row></sheetData></worksheet>',
    ],
    ids=["truncated XML", "a shared string that is not there"],
)
def test_a_damaged_sheet_is_refused_as_unreadable(
    tmp_path: Path, limit: int, xml: bytes
) -> None:
    with pytest.raises(IngestRejected) as caught:
        read(tmp_path, with_sheet_xml(every_kind_of_cell(), xml), limit)
    assert caught.value.errors[0].code == "not_xlsx"
