"""HR's archive export (CSV, XLSX) for ``GET /archive/export``: the columns, a row per
archive record, and the write-only workbook the rows are appended to page by page.

Texts people typed (comments) are kept as typed. In the XLSX every text cell is stored as
a string, so a comment starting with "=" is never a formula; in the CSV such a cell is
prefixed with an apostrophe (services/common/spreadsheets.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from services.common import spreadsheets
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
    """A record of the CSV, texts guarded against formula injection."""
    return spreadsheets.csv_line(values, guard_formulas=True)


def csv_header() -> str:
    return spreadsheets.csv_header(COLUMNS)


class XlsxExport(spreadsheets.XlsxSheet):
    """A write-only (streaming) workbook; the file is spooled to disk past a few MB."""

    def __init__(self) -> None:
        super().__init__("archive", COLUMNS)

    def add(self, records: Iterable[pb.ArchiveRecord]) -> None:
        for r in records:
            self.append(row(r))
