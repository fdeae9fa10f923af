"""HR's goals exports (``GET /cycles/{cycle_id}/exports/{kind}``): the pages the goals service
answers, written as CSV (UTF-8 with BOM, texts guarded against formula injection) or as a
write-only XLSX workbook (services/common/spreadsheets.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.common import spreadsheets
from stride.goals.v1 import goals_pb2 as pb

EXPORTS = ("objectives", "key_results", "scores", "check_ins")
PAGE_SIZE = 200


def values(row: pb.ExportRow) -> list[Any]:
    return [c.number if c.WhichOneof("value") == "number" else c.text for c in row.cells]


def csv_lines(rows: Iterable[pb.ExportRow]) -> str:
    return "".join(spreadsheets.csv_line(values(r), guard_formulas=True) for r in rows)
