"""Spreadsheets people upload: CSV or XLSX → rows of text cells, and the header that names
their columns (used by the org import and by goals' check-in import).

- CSV: UTF-8 (with or without BOM) or GB18030 (what Excel on Chinese Windows saves); the
  delimiter (comma, semicolon, tab) is detected.
- XLSX: the first sheet, cell values (not formulas). A workbook is a zip: one whose contents
  would unpack to more than :data:`MAX_XLSX_UNPACKED` bytes is refused before it is opened, so
  a small upload cannot expand into gigabytes.
- Headers: the first non-empty row; titles match case-insensitively, spaces as ``_``, through
  an alias table (English and Chinese names of each column).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

# The media type of an XLSX workbook (uploads, exports, invitation slips).
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What an uploaded XLSX may unpack to (its XML is read as it streams, the shared strings whole).
MAX_XLSX_UNPACKED = 64 * 1024 * 1024
# Every XLSX (a zip archive) starts with a local file header.
ZIP_MAGIC = b"PK\x03\x04"


class TableInvalid(ValueError):
    """The data is not a readable table; the message says why, for the person who sent it."""


def is_xlsx(data: bytes) -> bool:
    """Whether ``data`` looks like an XLSX workbook (a zip) rather than CSV text."""
    return data.startswith(ZIP_MAGIC)


def csv_rows(data: bytes) -> Iterator[list[str]]:
    """The rows of CSV ``data`` (UTF-8 or GB18030; comma, semicolon or tab separated)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise TableInvalid("the file is neither UTF-8 nor GB18030 text")
    if "\x00" in text:
        raise TableInvalid("the file is not CSV text (it holds NUL characters)")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    try:
        yield from csv.reader(io.StringIO(text, newline=""), dialect)
    except csv.Error as exc:
        raise TableInvalid(f"the file is not readable CSV: {exc}") from exc


def xlsx_rows(source: bytes | Path, name: str = "the file") -> Iterator[list[object]]:
    """The rows of the first sheet of an XLSX workbook (``source``: its bytes or its path)."""
    from openpyxl import load_workbook

    opened = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with zipfile.ZipFile(opened) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise TableInvalid(f"{name} is not a readable XLSX file: {exc}") from exc
    if unpacked > MAX_XLSX_UNPACKED:
        raise TableInvalid(
            f"{name} unpacks to {unpacked} bytes, more than {MAX_XLSX_UNPACKED}; split it"
        )
    if isinstance(opened, io.BytesIO):
        opened.seek(0)
    try:
        book = load_workbook(opened, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise TableInvalid(f"{name} is not a readable XLSX file: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        book.close()


def cell(value: object) -> str:
    """A spreadsheet cell as text (numbers without a trailing .0, dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class Table:
    """A table's column positions (column key → index) and its data rows."""

    columns: dict[str, int]
    # (row number in the file, cells as text) of each non-empty row below the header.
    rows: Iterator[tuple[int, list[str]]]

    def get(self, cells: Sequence[str], column: str) -> str:
        """The cell of ``column`` in a row ("" when the column or the cell is absent)."""
        index = self.columns.get(column)
        return cells[index] if index is not None and index < len(cells) else ""


def table(rows: Iterable[Sequence[object]], aliases: Mapping[str, str]) -> Table:
    """Find the header (the first non-empty row) and name its columns with ``aliases``
    (title, lower case with ``_`` for spaces → column key; the first of a key counts)."""
    iterator: Iterator[Sequence[object]] = iter(rows)
    header: list[str] = []
    line = 0
    while not any(header):
        raw = next(iterator, None)
        if raw is None:
            raise TableInvalid("the file is empty")
        line += 1
        header = [cell(c) for c in raw]
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = aliases.get(title.strip().lower().replace(" ", "_"))
        if key is not None and key not in columns:
            columns[key] = index
    return Table(columns, _data_rows(iterator, line))


def _data_rows(
    rows: Iterator[Sequence[object]], header_line: int
) -> Iterator[tuple[int, list[str]]]:
    for line, raw in enumerate(rows, start=header_line + 1):
        cells = [cell(c) for c in raw]
        if any(cells):
            yield line, cells
