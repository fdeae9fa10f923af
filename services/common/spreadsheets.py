"""Exports people open in a spreadsheet: CSV that Excel reads as UTF-8, and write-only XLSX.

Shared by the audit trail's export (services/identity/audit_export.py) and HR's archive export
(gateway/archive_export.py).

Formula injection: a text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to a spreadsheet. In XLSX every text cell is stored as a string (never a
formula) and keeps its value. In CSV there is no such type, so :func:`csv_line` prefixes those
texts with an apostrophe when ``guard_formulas`` is set (texts people typed); an export whose
values must stay byte-exact (the audit trail's, checked against its hash chain) leaves it off.
"""

from __future__ import annotations

import builtins
import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# Excel opens UTF-8 CSV correctly only with a byte order mark.
BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# An XLSX is spooled in memory up to this size, then to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 64 * 1024


def _guarded(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return f"'{value}"
    return value


def csv_line(values: Iterable[Any], *, guard_formulas: bool = True) -> str:
    """One CSV record (CRLF), ``None`` as an empty field."""
    cells = ["" if v is None else (_guarded(v) if guard_formulas else v) for v in values]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def csv_header(columns: Sequence[str]) -> str:
    """The BOM and the header record."""
    return BOM + csv_line(columns)


class XlsxSheet:
    """A write-only (streaming) workbook of one sheet with a header row."""

    def __init__(self, title: str, columns: Sequence[str]) -> None:
        from openpyxl import Workbook  # only for an XLSX export

        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title)
        self.sheet.append(list(columns))
        self.rows = 0

    def append(self, values: Iterable[Any]) -> None:
        """One row; texts stored as strings, never as formulas."""
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for value in values:
            cell = WriteOnlyCell(self.sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        self.sheet.append(cells)
        self.rows += 1

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.workbook.save(out)
        return out.getvalue()

    def chunks(self) -> Iterator[builtins.bytes]:
        """The saved workbook in pieces (spooled to disk past :data:`SPOOL_BYTES`)."""
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        try:
            self.workbook.save(out)
            out.seek(0)
            while chunk := out.read(CHUNK):
                yield chunk
        finally:
            out.close()
