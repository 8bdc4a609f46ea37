"""Readers: encodings, dialects, Excel, JSON lines, bad input and streaming."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from adapters.dataplane.csv_arrow import CsvLayout, convert
from adapters.dataplane.readers import read_to_parquet
from domain.dataplane.datasets import IngestOptions, IngestRejected

KOREAN = "이름,도시\n김민수,서울\n이영희,부산\n"


def read(
    tmp_path: Path, name: str, content: bytes, chunk_rows: int = 1000, **options: object
) -> tuple[list[dict[str, object]], str | None, str]:
    source = tmp_path / name
    source.write_bytes(content)
    target = tmp_path / "out.parquet"
    fmt, _, count, encoding = read_to_parquet(
        source, target, filename=name, options=IngestOptions(**options),  # type: ignore[arg-type]
        chunk_rows=chunk_rows,
    )  # fmt: skip
    rows = pq.read_table(target).to_pylist()
    assert len(rows) == count
    return rows, encoding, fmt


def rejected(
    tmp_path: Path, name: str, content: bytes, **options: object
) -> IngestRejected:
    with pytest.raises(IngestRejected) as caught:
        read(tmp_path, name, content, **options)
    assert not (tmp_path / "out.parquet").exists(), "nothing half-written"
    return caught.value


class TestEncodings:
    @pytest.mark.parametrize(
        ("encoded", "expected"),
        [
            (KOREAN.encode("utf-8"), "utf-8"),
            (codecs.BOM_UTF8 + KOREAN.encode("utf-8"), "utf-8-sig"),
            (KOREAN.encode("utf-16"), "utf-16"),  # with its BOM
            (KOREAN.encode("cp949") * 20, "cp949"),
            (KOREAN.encode("euc-kr") * 20, "cp949"),
        ],
    )
    def test_korean_text_is_read_in_its_encoding(
        self, tmp_path: Path, encoded: bytes, expected: str
    ) -> None:
        rows, encoding, _ = read(tmp_path, "people.csv", encoded)
        assert encoding == expected
        assert rows[0] == {"이름": "김민수", "도시": "서울"}

    def test_latin_1_is_detected(self, tmp_path: Path) -> None:
        text = "name,city\nJosé,Málaga\nFrançois,Besançon\nJürgen,Köln\n" * 5
        rows, encoding, _ = read(tmp_path, "people.csv", text.encode("latin-1"))
        assert rows[0] == {"name": "José", "city": "Málaga"}
        assert encoding is not None

    def test_an_explicit_encoding_wins(self, tmp_path: Path) -> None:
        rows, encoding, _ = read(
            tmp_path, "p.csv", KOREAN.encode("cp949"), encoding="cp949"
        )
        assert encoding == "cp949"
        assert rows[1]["도시"] == "부산"


class TestCsvDialects:
    @pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
    def test_the_delimiter_is_detected(self, tmp_path: Path, delimiter: str) -> None:
        text = delimiter.join(["id", "name", "note"]) + "\n"
        text += delimiter.join(["1", "Kim", "a"]) + "\n"
        text += delimiter.join(["2", "Lee", "b"]) + "\n"
        rows, _, _ = read(tmp_path, "d.csv", text.encode())
        assert rows == [
            {"id": "1", "name": "Kim", "note": "a"},
            {"id": "2", "name": "Lee", "note": "b"},
        ]

    def test_quoted_fields_keep_delimiters_and_newlines(self, tmp_path: Path) -> None:
        text = 'id,text\n1,"a, b"\n2,"line\nbreak"\n3,"say ""hi"""\n'
        rows, _, _ = read(tmp_path, "q.csv", text.encode())
        assert [r["text"] for r in rows] == ["a, b", "line\nbreak", 'say "hi"']

    def test_a_numeric_first_row_is_data(self, tmp_path: Path) -> None:
        rows, _, _ = read(tmp_path, "n.csv", b"1,2\n3,4\n5,6\n")
        assert rows[0] == {"column_1": "1", "column_2": "2"}

    def test_the_header_option_wins(self, tmp_path: Path) -> None:
        rows, _, _ = read(tmp_path, "n.csv", b"a,b\nc,d\n", header=False)
        assert rows == [
            {"column_1": "a", "column_2": "b"},
            {"column_1": "c", "column_2": "d"},
        ]

    def test_blank_and_whitespace_cells_are_null(self, tmp_path: Path) -> None:
        rows, _, _ = read(tmp_path, "n.csv", b"a,b\n , x\n")
        assert rows == [{"a": None, "b": " x"}]

    def test_duplicate_and_empty_header_names_are_made_unique(
        self, tmp_path: Path
    ) -> None:
        rows, _, _ = read(tmp_path, "h.csv", b"a,a,\n1,2,3\n", header=True)
        assert list(rows[0]) == ["a", "a_2", "column_3"]


class TestBadInput:
    def test_an_empty_file(self, tmp_path: Path) -> None:
        assert rejected(tmp_path, "e.csv", b"").errors[0].code == "empty_file"

    def test_a_header_without_rows(self, tmp_path: Path) -> None:
        assert rejected(tmp_path, "h.csv", b"a,b,c\n").errors[0].code == "header_only"

    def test_ragged_rows_are_reported_by_row_number(self, tmp_path: Path) -> None:
        error = rejected(tmp_path, "r.csv", b"a,b\n1,2\n3\n4,5\n6,7,8\n")
        assert [e.code for e in error.errors] == ["ragged_row", "ragged_row"]
        assert error.errors[0].message == "row 2 has 1 columns, expected 2"
        assert error.errors[1].path == ("file", "row 4")

    def test_a_binary_file_named_csv(self, tmp_path: Path) -> None:
        content = bytes(range(256)) * 40
        assert rejected(tmp_path, "b.csv", content).errors[0].code == "binary_file"

    def test_an_xlsx_that_is_not_a_zip(self, tmp_path: Path) -> None:
        error = rejected(tmp_path, "x.xlsx", b"a,b\n1,2\n")
        assert error.errors[0].code == "not_xlsx"

    def test_a_jsonl_line_that_is_not_an_object(self, tmp_path: Path) -> None:
        error = rejected(tmp_path, "j.jsonl", b'{"a": 1}\n[1, 2]\n')
        assert error.errors[0].path == ("file", "row 2")

    def test_invalid_json(self, tmp_path: Path) -> None:
        error = rejected(tmp_path, "j.jsonl", b'{"a": 1}\n{"a": \n')
        assert error.errors[0].code == "invalid_json"

    def test_an_unknown_sheet(self, tmp_path: Path) -> None:
        error = rejected(tmp_path, "w.xlsx", workbook(), sheet="Nope")
        assert error.errors[0].code == "unknown_sheet"
        assert "Orders" in error.errors[0].message


def workbook() -> bytes:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Summary"
    first.append(["total"])
    first.append([3])
    orders = book.create_sheet("Orders")
    orders.append(["id", "amount", "paid"])
    orders.append([1, 10.5, True])
    orders.append([2, 7, False])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class TestExcelAndJsonLines:
    def test_the_first_sheet_by_default(self, tmp_path: Path) -> None:
        rows, _, fmt = read(tmp_path, "w.xlsx", workbook())
        assert fmt == "XLSX"
        assert rows == [{"total": "3"}]

    def test_a_chosen_sheet(self, tmp_path: Path) -> None:
        rows, _, _ = read(tmp_path, "w.xlsx", workbook(), sheet="Orders")
        assert rows == [
            {"id": "1", "amount": "10.5", "paid": "true"},
            {"id": "2", "amount": "7", "paid": "false"},
        ]
        assert zipfile.is_zipfile(io.BytesIO(workbook()))

    def test_json_lines_columns_are_every_key_in_first_seen_order(
        self, tmp_path: Path
    ) -> None:
        content = b'{"a": 1, "b": "x"}\n\n{"b": null, "c": {"d": [1]}, "a": true}\n'
        rows, _, fmt = read(tmp_path, "j.jsonl", content)
        assert fmt == "JSONL"
        assert rows == [
            {"a": "1", "b": "x", "c": None},
            {"a": "true", "b": None, "c": '{"d":[1]}'},
        ]


def test_a_file_larger_than_a_chunk_is_written_in_row_groups(tmp_path: Path) -> None:
    content = b"n,square\n" + b"".join(f"{i},{i * i}\n".encode() for i in range(2500))
    rows, _, _ = read(tmp_path, "big.csv", content, chunk_rows=1000)
    assert len(rows) == 2500
    assert rows[-1] == {"n": "2499", "square": str(2499 * 2499)}
    assert pq.ParquetFile(tmp_path / "out.parquet").num_row_groups == 3


# pyarrow reads UTF-8 CSV (csv_arrow.py) where it reads exactly as the csv module
# does; the Python reader takes every other file. These cases pin the agreement.
PARITY = {
    "plain": "a,b\n1,2\n3,4\n",
    "crlf": "a,b\r\n1,2\r\n",
    "cr only": "a,b\r1,2\r3,4\r",
    "no final newline": "a,b\n1,2",
    "quoted delimiter and newline": 'a,b\n"x, y","line\nbreak"\n',
    "quoted crlf": 'a,b\r\n1,"x\r\ny"\r\n',
    "doubled quotes": 'a,b\n1,"say ""hi"""\n',
    "quote inside a bare field": 'a,b\n1,b"c\n',
    "text after a closing quote": 'a,b\n1,"z"q\n',
    "space after a closing quote": 'a,b\n"x" ,y\n',
    "space before an opening quote": 'a,b\n x, "y"\n',
    "backslashes are text": 'a,b\n1,"x\\"y"\n',
    "quoted empty": 'a,b\n"",""\n',
    "blank and whitespace cells": "a,b\n , x\n\t,\u3000\n",
    "blank lines": "a,b\n1,2\n\n\n3,4\n\n",
    "a row of blanks": "a,b\n,\n1,2\n",
    "nul inside a cell": "a,b\n1,\x002\n",
    "non-breaking spaces": "a,b\n\u00a0,\u00a0x\n",
    "one column with blank lines": "a\n1\n\n2\n \n",
    "unterminated quote to the end": 'a,b\n1,"x\n2,3\n',
}


def csv_module_rows(text: str) -> list[dict[str, str | None]]:
    names, *rows = (r for r in csv.reader(io.StringIO(text, newline="")) if r)
    return [dict(zip(names, (None if not c.strip() else c for c in r), strict=True))
            for r in rows]  # fmt: skip


@pytest.mark.parametrize("text", PARITY.values(), ids=PARITY.keys())
def test_pyarrow_reads_csv_as_the_csv_module_does(tmp_path: Path, text: str) -> None:
    source = tmp_path / "p.csv"
    source.write_bytes(text.encode())
    names = next(csv.reader(io.StringIO(text, newline="")))
    layout = CsvLayout(delimiter=",", quotechar='"', header=True)
    written = convert(source, tmp_path / "p.parquet", names, layout, chunk_rows=10)
    assert written is not None
    assert pq.read_table(tmp_path / "p.parquet").to_pylist() == csv_module_rows(text)


@pytest.mark.parametrize(
    "content",
    [b"a,b\n1,2\n3\n", b"a,b\n1,2,\n", b"a,b\n1,\xff\xfe\n"],
    ids=["short row", "trailing delimiter", "invalid utf-8"],
)
def test_pyarrow_declines_what_the_python_reader_must_report(
    tmp_path: Path, content: bytes
) -> None:
    source = tmp_path / "p.csv"
    source.write_bytes(content)
    layout = CsvLayout(delimiter=",", quotechar='"', header=True)
    target = tmp_path / "p.parquet"
    assert convert(source, target, ["a", "b"], layout, chunk_rows=10) is None
    assert not target.exists()


def test_a_ragged_row_deep_in_a_large_file_is_reported_by_number(
    tmp_path: Path,
) -> None:
    lines = [f"{i},{i * 2}" for i in range(200_000)]
    lines[150_000] = "x"
    content = ("n,double\n" + "\n".join(lines) + "\n").encode()
    error = rejected(tmp_path, "big.csv", content)
    assert error.errors[0].message == "row 150001 has 1 columns, expected 2"
