"""Check-in import rules (pure): a CSV/XLSX file's rows → check-ins of key results of a cycle.

One row per key result and week; the first non-empty row names the columns (English or
Chinese, any case):

==================  ============  =========================================================
column              alias         meaning
==================  ============  =========================================================
key_result_id       关键结果ID    the key result; or, instead:
employee_number     工号          the owner's employee number, with
key_result          关键结果      the key result's title (case and spacing ignored)
week                周            ISO week ``2026-W14``, or a date in it (``2026-04-01``)
value               数值          the value that week (ASCII digits, ``.`` for decimals)
confidence          信心          optional, 0..10; empty: the key result's current one
note                备注          optional
==================  ============  =========================================================

Everything the file itself can get wrong is a :class:`RowError` naming its row; what the
check-in rules refuse (a week in the future or outside the cycle, a value the kind does not
allow, ...) is found when each row is recorded, with the same codes as a single check-in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from services.common.errors import InvalidArgument
from services.common.tables import TableInvalid, csv_rows, table, xlsx_rows
from workflows.vocabulary import (
    MAX_CONFIDENCE,
    MAX_IMPORT_ROWS,
    WEEK,
    week_bounds,
    week_of,
)

COLUMNS: dict[str, str] = {
    "key_result_id": "key_result_id",
    "kr_id": "key_result_id",
    "关键结果id": "key_result_id",
    "employee_number": "employee_number",
    "employee_no": "employee_number",
    "工号": "employee_number",
    "key_result": "key_result",
    "key_result_title": "key_result",
    "关键结果": "key_result",
    "week": "week",
    "周": "week",
    "周次": "week",
    "value": "value",
    "数值": "value",
    "值": "value",
    "confidence": "confidence",
    "信心": "confidence",
    "note": "note",
    "备注": "note",
}
# ASCII only: other scripts' digits (٣, ３) are not numbers here.
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_INTEGER = re.compile(r"^[0-9]{1,3}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class RowError:
    row: int
    code: str
    message: str


@dataclass(frozen=True)
class ImportRow:
    row: int
    week: str
    value: float
    # None: keep the key result's current confidence.
    confidence: int | None
    note: str
    key_result_id: str = ""
    employee_number: str = ""
    key_result: str = ""


@dataclass(frozen=True)
class KeyResultRef:
    """What identifies a key result of the cycle in a file."""

    id: str
    owner_id: str
    title: str


def read_rows(content: bytes, xlsx: bool) -> tuple[list[ImportRow], list[RowError]]:
    """The rows of an import file, and the errors of those that cannot be read.

    Raises InvalidArgument for the file as a whole (unreadable, no usable header, too many
    rows)."""
    try:
        found = table(xlsx_rows(content) if xlsx else csv_rows(content), COLUMNS)
        missing = [c for c in ("week", "value") if c not in found.columns]
        if "key_result_id" not in found.columns and not (
            "employee_number" in found.columns and "key_result" in found.columns
        ):
            missing.append("key_result_id (or employee_number and key_result)")
        if missing:
            raise InvalidArgument(
                "import_missing_columns",
                "missing column(s): " + ", ".join(missing) + " (see docs/goals.md)",
            )
        rows: list[ImportRow] = []
        errors: list[RowError] = []
        for count, (line, cells) in enumerate(found.rows, start=1):
            if count > MAX_IMPORT_ROWS:
                raise InvalidArgument(
                    "import_too_many_rows",
                    f"at most {MAX_IMPORT_ROWS} rows per file; split it (e.g. by week)",
                )
            row = _row(line, {c: found.get(cells, c) for c in found.columns})
            if isinstance(row, RowError):
                errors.append(row)
            else:
                rows.append(row)
    except TableInvalid as exc:
        raise InvalidArgument("import_unreadable", str(exc)) from exc
    if not rows and not errors:
        raise InvalidArgument("import_empty", "the file has no rows below its header")
    return rows, errors


def _row(line: int, cell: Mapping[str, str]) -> ImportRow | RowError:
    kr_id, number, title = (
        cell.get(c, "") for c in ("key_result_id", "employee_number", "key_result")
    )
    if not kr_id and not (number and title):
        return RowError(
            line, "key_result_required", "give key_result_id, or employee_number and key_result"
        )
    week = _week(cell.get("week", ""))
    if week is None:
        return RowError(
            line, "invalid_week", "week must be an ISO week (2026-W14) or a date (2026-04-01)"
        )
    raw = cell.get("value", "")
    if not _NUMBER.match(raw) or not math.isfinite(float(raw)):
        return RowError(line, "invalid_value", f"value must be a number, not {raw!r}")
    confidence = cell.get("confidence", "")
    if confidence and (not _INTEGER.match(confidence) or int(confidence) > MAX_CONFIDENCE):
        return RowError(
            line, "invalid_confidence", f"confidence must be 0..{MAX_CONFIDENCE} or empty"
        )
    return ImportRow(
        line,
        week,
        float(raw),
        int(confidence) if confidence else None,
        cell.get("note", ""),
        kr_id,
        number,
        title,
    )


def _week(value: str) -> str | None:
    if WEEK.match(value):
        return value if week_bounds(value) is not None else None
    if _DATE.match(value):
        try:
            return week_of(date.fromisoformat(value))
        except ValueError:
            return None
    return None


def _title(value: str) -> str:
    return " ".join(value.split()).casefold()


def resolve_rows(
    rows: Iterable[ImportRow],
    key_results: Sequence[KeyResultRef],
    employees: Mapping[str, str],
) -> tuple[list[tuple[ImportRow, str]], list[RowError]]:
    """Each row's key result among the cycle's (``employees``: employee number → id), and
    the errors of rows naming none, several, or a key result and week another row has."""
    by_id = {k.id: k for k in key_results}
    by_owner_title: dict[tuple[str, str], list[str]] = {}
    for k in key_results:
        by_owner_title.setdefault((k.owner_id, _title(k.title)), []).append(k.id)
    found: list[tuple[ImportRow, str]] = []
    errors: list[RowError] = []
    first: dict[tuple[str, str], int] = {}
    for row in rows:
        kr_id, error = _key_result(row, by_id, by_owner_title, employees)
        if error is None and (kr_id, row.week) in first:
            error = RowError(
                row.row,
                "duplicate_row",
                f"row {first[(kr_id, row.week)]} has this key result and week already",
            )
        if error is not None:
            errors.append(error)
            continue
        first[(kr_id, row.week)] = row.row
        found.append((row, kr_id))
    return found, errors


def _key_result(
    row: ImportRow,
    by_id: Mapping[str, KeyResultRef],
    by_owner_title: Mapping[tuple[str, str], list[str]],
    employees: Mapping[str, str],
) -> tuple[str, RowError | None]:
    owner = employees.get(row.employee_number, "") if row.employee_number else ""
    if row.employee_number and not owner:
        return "", RowError(
            row.row, "unknown_employee", f"no employee has the number {row.employee_number!r}"
        )
    if row.key_result_id:
        kr = by_id.get(row.key_result_id)
        if kr is None:
            return "", RowError(
                row.row,
                "unknown_key_result",
                f"key result {row.key_result_id!r} is not part of this cycle",
            )
        if owner and kr.owner_id != owner:
            return "", RowError(
                row.row,
                "key_result_of_someone_else",
                f"key result {kr.id} is not owned by employee {row.employee_number}",
            )
        return kr.id, None
    matches = by_owner_title.get((owner, _title(row.key_result)), [])
    if len(matches) != 1:
        code, problem = (
            ("unknown_key_result", "has no key result titled")
            if not matches
            else ("ambiguous_key_result", "has several key results titled")
        )
        return "", RowError(
            row.row,
            code,
            f"employee {row.employee_number} {problem} {row.key_result!r} in this cycle"
            + ("; use key_result_id" if matches else ""),
        )
    return matches[0], None
