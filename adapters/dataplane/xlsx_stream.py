"""A streamed read of one .xlsx sheet: the sheet's XML parsed as it is decompressed,
one row in memory at a time (plus the workbook's shared strings, which the format
keeps in one separate part).

It yields the cell values python-calamine yields (numbers as floats, date-formatted
numbers as date/datetime/time, `[h]`-style durations as timedelta, errors as None),
so that excel.py turns both into the same text; a test reads one workbook both ways.

The standard library's XML parsers are safe enough here (ruff's S314 is silenced
with this reason): expat (>= 2.4.1, bundled) caps entity amplification, and neither
expat as used here nor ElementTree fetches external entities or DTDs.
"""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from xml.etree.ElementTree import Element, iterparse, parse
from xml.parsers import expat

from domain.dataplane.datasets import ingest_error

_MAIN: Final = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL: Final = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL: Final = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TEXT, _RUN = f"{_MAIN}t", f"{_MAIN}r"
_SHEET_TAGS: Final = ("row", "c", "v", "t", "rPh", "dimension")
_FEED_BYTES: Final = 64 * 1024
# Excel's built-in date and time formats (ECMA-376 18.8.30); 46 is `[h]:mm:ss`.
_BUILTIN_DATES: Final = frozenset(
    {*range(14, 23), 45, 47, *range(27, 37), *range(50, 59)}
)
_BUILTIN_DURATIONS: Final = frozenset({46})
_LITERALS = re.compile(r'"[^"]*"|\\.|_.|\*.')
_BRACKETS = re.compile(r"\[([^\]]*)\]")
_DATE_LETTERS = re.compile(r"[dmyhsDMYHS]")

Value = float | str | bool | date | datetime | time | timedelta | None


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    part: str  # path of its XML inside the archive


@dataclass(frozen=True, slots=True)
class Book:
    sheets: list[Sheet]
    date1904: bool


def book_of(archive: zipfile.ZipFile) -> Book:
    """The sheets in workbook order, from workbook.xml and its relationships."""
    try:
        workbook = _parsed(archive, "xl/workbook.xml")
        rels = _parsed(archive, "xl/_rels/workbook.xml.rels")
    except (KeyError, SyntaxError) as error:
        raise ingest_error("not_xlsx", f"unreadable workbook: {error}") from None
    targets = {
        r.get("Id"): r.get("Target", "")
        for r in rels.iter(f"{_PACKAGE_REL}Relationship")
    }
    sheets = [
        Sheet(str(s.get("name")), _part(targets.get(s.get(f"{_REL}id")) or ""))
        for s in workbook.iter(f"{_MAIN}sheet")
    ]
    properties = workbook.find(f"{_MAIN}workbookPr")
    date1904 = properties is not None and properties.get("date1904") in ("1", "true")
    return Book(sheets, date1904)


def _parsed(archive: zipfile.ZipFile, name: str) -> Element:
    """A small part (workbook, relationships, styles), parsed whole."""
    with archive.open(name) as file:
        return parse(file).getroot()  # noqa: S314 (see the module docstring)


def _part(target: str) -> str:
    """A relationship target, relative to xl/ unless absolute."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


def open_sheet(archive: zipfile.ZipFile, sheet: Sheet, book: Book) -> SheetStream:
    return SheetStream(archive, sheet, _shared_strings(archive), _style_kinds(archive),
                       date1904=book.date1904)  # fmt: skip


class SheetStream:
    """The sheet's rows, each a list of values from column A, empty cells None; rows
    end at their last cell. `width` is the last column of the sheet's `dimension`
    once the rows have started (None if the sheet names no range, as streaming
    writers do). Leading empty columns are the caller's to drop (calamine drops
    them by the cells, which a stream sees only at its end).

    expat's callbacks build no tree: 7x faster here than iterparse, which makes an
    Element (and two events) per cell and value.
    """

    def __init__(
        self,
        archive: zipfile.ZipFile,
        sheet: Sheet,
        shared: list[str],
        kinds: list[str],
        *,
        date1904: bool,
    ) -> None:
        self._archive, self._sheet = archive, sheet
        self._cells = _CellReader(shared, kinds, date1904=date1904)
        self.width: int | None = None

    def rows(self) -> Generator[list[Value], None, None]:
        # Without namespace processing (it costs expat 70% more here): the tags are
        # matched with the prefix the root binds to the main namespace.
        parser = expat.ParserCreate()
        parser.buffer_text = True
        self._tags: dict[str, str] | None = None
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        self._ready: list[list[Value]] = []
        self._row: list[Value] = []
        self._parts: list[str] | None = None  # text of the open `v` or `t`
        self._phonetic = 0
        with self._archive.open(self._sheet.part) as file:
            while chunk := file.read(_FEED_BYTES):
                parser.Parse(chunk, False)
                yield from self._ready
                self._ready.clear()
            parser.Parse(b"", True)
        yield from self._ready

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        if self._tags is None:
            self._tags = _tags_of(attributes)
        tag = self._tags.get(name)
        if tag == "c":
            self._cells.open(attributes)
        elif tag in ("v", "t") and not self._phonetic:
            self._parts = []
        elif tag == "row":
            self._row = []
        elif tag == "rPh":
            self._phonetic += 1
        elif tag == "dimension":
            self._dimension(attributes.get("ref", ""))

    def _end(self, name: str) -> None:
        tag = self._tags.get(name) if self._tags is not None else None
        if tag in ("v", "t") and self._parts is not None:
            self._cells.text("".join(self._parts), inline=tag == "t")
            self._parts = None
        elif tag == "c":
            self._cells.close_into(self._row)
        elif tag == "row":
            self._ready.append(self._row)
        elif tag == "rPh":
            self._phonetic -= 1

    def _text(self, data: str) -> None:
        if self._parts is not None:
            self._parts.append(data)

    def _dimension(self, reference: str) -> None:
        found = re.fullmatch(r"[A-Z]+\d+:([A-Z]+)\d+", reference)
        if found is not None:
            self.width = _column(found.group(1))


def _tags_of(root: dict[str, str]) -> dict[str, str]:
    """The sheet's tag names read, as written under the root's namespace bindings
    (`c`, or `x:c` where `xmlns:x` names the main namespace)."""
    uri = _MAIN[1:-1]
    prefix = next(
        (
            k.partition(":")[2]
            for k, v in root.items()
            if k.startswith("xmlns") and v == uri
        ),
        "",
    )
    return {f"{prefix}:{local}" if prefix else local: local for local in _SHEET_TAGS}


class _CellReader:
    """One cell at a time: its attributes, its text, then its value in the row."""

    def __init__(self, shared: list[str], kinds: list[str], *, date1904: bool) -> None:
        self._shared, self._kinds, self._date1904 = shared, kinds, date1904
        self._attributes: dict[str, str] = {}
        self._raw: str | None = None

    def open(self, attributes: dict[str, str]) -> None:
        self._attributes, self._raw = attributes, None

    def text(self, text: str, *, inline: bool) -> None:
        # Rich inline text comes in runs, each with its own `t`.
        self._raw = (self._raw or "") + text if inline else text

    def close_into(self, row: list[Value]) -> None:
        reference = self._attributes.get("r")
        # Without a reference, a cell follows the one before it.
        index = _index_of(reference) if reference else len(row)
        if index > len(row):
            row.extend([None] * (index - len(row)))
        row.append(self._value())

    def _value(self) -> Value:
        raw, kind = self._raw, self._attributes.get("t", "n")
        if raw is None or kind == "e":
            return None
        if kind == "n":
            style = self._attributes.get("s")
            return float(raw) if style is None else self._number(float(raw), style)
        if kind == "s":
            return self._shared[int(raw)]
        if kind == "b":
            return raw.strip() in ("1", "true")
        return raw  # str (a formula's text), d (ISO 8601 text), inlineStr

    def _number(self, number: float, style_text: str) -> Value:
        style = int(style_text)
        kind = self._kinds[style] if style < len(self._kinds) else ""
        if kind == "date":
            return excel_moment(number, date1904=self._date1904)
        if kind == "duration":
            return timedelta(milliseconds=round(number * 86_400_000))
        return number


def excel_moment(number: float, *, date1904: bool) -> date | datetime | time:
    """A serial date as calamine gives it: a time below 1, a date at midnight, else
    a datetime (naive, as Excel keeps them), to the millisecond. The 1900 system
    counts a 29 February 1900 that never was."""
    days, milliseconds = divmod(round(number * 86_400_000), 86_400_000)
    clock = time(milliseconds // 3_600_000, milliseconds // 60_000 % 60,
                 milliseconds // 1000 % 60, milliseconds % 1000 * 1000)  # fmt: skip
    if 0 <= number < 1:
        return clock
    if date1904:
        epoch = date(1904, 1, 1)
    else:
        epoch = date(1899, 12, 31) if number < 60 else date(1899, 12, 30)
    day = epoch + timedelta(days=days)
    return day if clock == time(0) else datetime.combine(day, clock)


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings: list[str] = []
    with archive.open("xl/sharedStrings.xml") as file:
        for _, element in iterparse(file):  # noqa: S314 (module docstring)
            if element.tag == f"{_MAIN}si":
                strings.append(_text_of(element))
                element.clear()
    return strings


def _text_of(item: Element) -> str:
    """The text of a string item: its `t`, or its runs' `t`s (phonetic runs left out)."""
    direct = item.find(_TEXT)
    if direct is not None:
        return direct.text or ""
    return "".join(run.findtext(_TEXT) or "" for run in item.iter(_RUN))


def _style_kinds(archive: zipfile.ZipFile) -> list[str]:
    """Per cell style (cellXfs index): "date", "duration" or ""."""
    if "xl/styles.xml" not in archive.namelist():
        return []
    styles = _parsed(archive, "xl/styles.xml")
    custom = {
        int(f.get("numFmtId", "0")): f.get("formatCode", "")
        for f in styles.iter(f"{_MAIN}numFmt")
    }
    cell_formats = styles.find(f"{_MAIN}cellXfs")
    if cell_formats is None:
        return []
    return [
        _format_kind(int(xf.get("numFmtId", "0")), custom)
        for xf in cell_formats.iter(f"{_MAIN}xf")
    ]


def _format_kind(number_format: int, custom: dict[int, str]) -> str:
    if number_format in custom:
        return format_kind(custom[number_format])
    if number_format in _BUILTIN_DURATIONS:
        return "duration"
    return "date" if number_format in _BUILTIN_DATES else ""


def format_kind(code: str) -> str:
    """ "date" if a number format shows a date or time, "duration" for elapsed time
    (`[h]:mm`), else "": on the first section, outside quotes, escapes and colours."""
    section = _LITERALS.sub("", code).split(";", 1)[0]
    brackets = _BRACKETS.findall(section)
    if any(b.lower().strip("hms") == "" and b for b in brackets):
        return "duration"
    letters = _BRACKETS.sub("", section)
    return "date" if _DATE_LETTERS.search(letters) else ""


def _index_of(reference: str) -> int:
    """0-based column of a cell reference such as `AB12`."""
    return _column(reference.rstrip("0123456789")) - 1


@functools.lru_cache(maxsize=16_384)  # Excel's column count
def _column(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number
