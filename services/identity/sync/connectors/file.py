"""CSV / XLSX file import (`stride org import FILE`, and the scheduled "file" source).

One row per person; the first row holds the column names (English or Chinese, any case):

====================  ==========  ===================================================
column                alias       meaning
====================  ==========  ===================================================
employee_number       工号        required, unique
name                  姓名        required
department            部门        path of names from the top, e.g. ``Acme/Plant/Quality``
                                  (every level becomes a department keyed by its path)
department_code       部门编码    or: the key (external id) of a department that exists
                                  in Stride or in the file; wins over ``department``
manager               上级工号    employee number of the manager (empty at the top);
                                  also ``manager_employee_number``
email                 邮箱        optional
mobile                手机        optional
title                 职位        optional
grade                 职级        optional
hire_date             入职日期    optional; 2015-03-01, 2015/3/1 or 2015.3.1
active                在职        optional; yes/no, true/false, 1/0, active/left, 在职/离职
external_id           外部ID      optional; the person's id in another system
====================  ==========  ===================================================

Optional columns that are absent are left as they are in Stride; present but empty cells
clear the value. CSV files are UTF-8 (with or without BOM) or GB18030 (Excel on Chinese
Windows); the delimiter (comma, semicolon, tab) is detected. For XLSX the first sheet is read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

from services.common.tables import TableInvalid, csv_rows, table, xlsx_rows
from services.identity.sync.connectors.base import Progress, SourceInvalid
from services.identity.sync.data import (
    OPTIONAL_FIELDS,
    Snapshot,
    SourceDepartment,
    SourcePerson,
)

COLUMNS: dict[str, str] = {
    "employee_number": "employee_number",
    "employee_no": "employee_number",
    "job_number": "employee_number",
    "工号": "employee_number",
    "name": "name",
    "姓名": "name",
    "department": "department",
    "部门": "department",
    "department_code": "department_code",
    "部门编码": "department_code",
    "manager": "manager",
    "manager_employee_number": "manager",
    "上级工号": "manager",
    "email": "email",
    "邮箱": "email",
    "mobile": "mobile",
    "手机": "mobile",
    "title": "title",
    "职位": "title",
    "grade": "grade",
    "职级": "grade",
    "hire_date": "hire_date",
    "入职日期": "hire_date",
    "active": "active",
    "status": "active",
    "在职": "active",
    "external_id": "external_id",
    "外部id": "external_id",
}
REQUIRED = ("employee_number", "name")
PATH_SEPARATOR = "/"
_TRUE = {"", "1", "y", "yes", "true", "active", "在职", "是"}
_FALSE = {"0", "n", "no", "false", "left", "inactive", "离职", "否"}
_LOOSE_DATE = re.compile(r"^(\d{4})[./\-年](\d{1,2})[./\-月](\d{1,2})日?$")


class FileConnector:
    def __init__(self, path: Path | str, *, name: str = "file") -> None:
        self.path = Path(path)
        self.name = name

    async def fetch(self, progress: Progress | None = None) -> Snapshot:
        return await asyncio.to_thread(read_file, self.path)


# File names that can be read, by how they end.
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


# File names that can be read, by how they end.
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


def read_file(path: Path) -> Snapshot:
    if path.suffix.lower() not in (*XLSX_SUFFIXES, *CSV_SUFFIXES):
        raise SourceInvalid(f"{path.name}: use a .csv or .xlsx file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceInvalid(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    return read_bytes(path.name, data)


def read_bytes(filename: str, data: bytes) -> Snapshot:
    """A file's content as a snapshot; ``filename``'s ending says CSV or XLSX."""
    suffix = Path(filename).suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return parse_rows(xlsx_rows(data, filename))
    if suffix in CSV_SUFFIXES:
        return parse_csv(data)
    raise SourceInvalid(f"{filename}: use a .csv or .xlsx file")


def parse_csv(data: bytes) -> Snapshot:
    return parse_rows(csv_rows(data))


def _hire_date(value: str) -> str:
    match = _LOOSE_DATE.match(value)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return value  # left for the validation to reject
    if len(value) >= 19 and value[10] in "T ":
        return value[:10]  # "2015-03-01 00:00:00" from a spreadsheet export
    return value


def _active(value: str) -> bool | str:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return f"active must be yes or no, not {value!r}"


def department_path(value: str) -> list[str]:
    """``"Acme / Plant//Quality"`` → ``["Acme", "Plant", "Quality"]``."""
    return [" ".join(part.split()) for part in value.split(PATH_SEPARATOR) if part.strip()]


def parse_rows(rows: Iterable[Sequence[object]]) -> Snapshot:
    try:
        return _snapshot(rows)
    except TableInvalid as exc:
        raise SourceInvalid(str(exc)) from exc


def _snapshot(rows: Iterable[Sequence[object]]) -> Snapshot:
    found = table(rows, COLUMNS)
    columns = found.columns
    missing = [c for c in REQUIRED if c not in columns]
    if "department" not in columns and "department_code" not in columns:
        missing.append("department")
    if missing:
        raise SourceInvalid(
            "missing column(s): " + ", ".join(missing) + " (see docs/org-sync.md for the columns)"
        )
    departments: dict[str, SourceDepartment] = {}
    people: list[SourcePerson] = []
    for line, cells in found.rows:

        def get(column: str, cells: list[str] = cells) -> str:
            return found.get(cells, column)

        department_key = get("department_code")
        if not department_key:
            path = department_path(get("department"))
            for depth in range(1, len(path) + 1):
                key = PATH_SEPARATOR.join(path[:depth])
                if key not in departments:
                    departments[key] = SourceDepartment(
                        key=key,
                        name=path[depth - 1],
                        parent_key=PATH_SEPARATOR.join(path[: depth - 1]),
                        row=line,
                    )
            department_key = PATH_SEPARATOR.join(path)
        active = _active(get("active")) if "active" in columns else True
        people.append(
            SourcePerson(
                row=line,
                employee_number=get("employee_number"),
                name=get("name"),
                department_key=department_key,
                manager_employee_number=get("manager"),
                email=get("email"),
                mobile=get("mobile"),
                title=get("title"),
                grade=get("grade"),
                hire_date=_hire_date(get("hire_date")),
                # An unreadable flag rejects the row: it never counts as "left".
                active=active if isinstance(active, bool) else True,
                external_id=get("external_id"),
                problem="" if isinstance(active, bool) else active,
            )
        )
    provided = frozenset(f for f in OPTIONAL_FIELDS if f in columns)
    return Snapshot(
        departments=tuple(departments.values()), people=tuple(people), provided_fields=provided
    )
