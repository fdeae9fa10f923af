"""HR's archive export (CSV, XLSX) for ``GET /archive/export``: the columns, a row per
archive record, and the write-only workbook the rows are appended to page by page.

Texts people typed (comments) are kept as typed. In the XLSX every text cell is stored as
a string, so a comment starting with "=" is never a formula; in the CSV such a cell is
prefixed with an apostrophe (the usual guard against spreadsheet formula injection).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from stride.feedback.v1 import archive_pb2 as pb
from workflows.vocabulary import CALIBRATION_FIELDS

COLUMNS = (
    "employee_id",
    "cycle_id",
    "cycle_start",
    "cycle_end",
    "department_id",
    "manager_id",
    "okr_score",
    "self_rating",
    "self_comment",
    "manager_rating",
    "manager_comment",
    *CALIBRATION_FIELDS,  # final_rating, potential
    "feedback_360",
    "external_metrics",
    "updated_at",
)
PAGE_SIZE = 200
BOM = "\ufeff"
CHUNK = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def row(r: pb.ArchiveRecord) -> list[Any]:
    values: dict[str, Any] = {c: getattr(r, c) for c in COLUMNS if hasattr(r, c)}
    values["okr_score"] = r.okr_score if r.HasField("okr_score") else None
    values["feedback_360"] = _compact(r.feedback_360_json)
    values["external_metrics"] = _compact(r.external_metrics_json)
    return [values[c] for c in COLUMNS]


def _compact(raw: str) -> str:
    data = json.loads(raw or "{}")
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else ""


def csv_line(values: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(
        [
            ""
            if v is None
            else (f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
            for v in values
        ]
    )
    return out.getvalue()


def csv_header() -> str:
    return BOM + csv_line(COLUMNS)


class XlsxExport:
    """A write-only (streaming) workbook; the file is spooled to disk past a few MB."""

    def __init__(self) -> None:
        from openpyxl import Workbook  # only for an XLSX export

        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet("archive")
        self.sheet.append(list(COLUMNS))
        self.rows = 0

    def add(self, records: Iterable[pb.ArchiveRecord]) -> None:
        from openpyxl.cell import WriteOnlyCell

        for r in records:
            cells = []
            for value in row(r):
                cell = WriteOnlyCell(self.sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula
                cells.append(cell)
            self.sheet.append(cells)
            self.rows += 1

    def chunks(self) -> Iterator[bytes]:
        out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        try:
            self.workbook.save(out)
            out.seek(0)
            while chunk := out.read(CHUNK):
                yield chunk
        finally:
            out.close()
