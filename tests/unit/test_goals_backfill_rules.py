"""Backfilling a past cycle (pure rules): which cycles are backfilled, what closing scores,
and how an import file's rows are read and matched to key results."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from services.common.errors import DomainError
from services.common.tables import MAX_XLSX_UNPACKED
from services.goals import domain
from services.goals.domain import ImportRow, KeyResultRef, RowError


def test_a_cycle_created_after_its_last_day_is_backfilled() -> None:
    assert domain.is_backfill(date(2026, 3, 31), today=date(2026, 4, 1))
    assert not domain.is_backfill(date(2026, 3, 31), today=date(2026, 3, 31))  # its last day
    assert not domain.is_backfill(date(2026, 6, 30), today=date(2026, 4, 1))


def test_closing_scores_approved_objectives_only() -> None:
    assert domain.closes_with_cycle("approved")
    for status in ("draft", "pending_approval", "closed"):
        assert not domain.closes_with_cycle(status)
    # Live scores count everything; final scores what was closed with the cycle.
    assert all(domain.in_scores("open", s) for s in ("draft", "pending_approval", "approved"))
    assert domain.in_scores("closed", "closed")
    assert not domain.in_scores("closed", "draft")
    assert not domain.in_scores("closed", "pending_approval")


def csv(text: str) -> tuple[list[ImportRow], list[RowError]]:
    return domain.read_rows(text.encode(), xlsx=False)


def code(text: str) -> str:
    with pytest.raises(DomainError) as err:
        csv(text)
    return err.value.code


def test_rows_by_id_or_by_employee_number_and_title() -> None:
    rows, errors = csv(
        "key_result_id,week,value,confidence,note\n"
        "kr-1,2026-W10,12.5,7,fine\n"
        "\n"
        "kr-1,2026-03-09,-1e2,,\n"  # a date: its ISO week (2026-W11); empty confidence
    )
    assert errors == []
    assert rows == [
        ImportRow(2, "2026-W10", 12.5, 7, "fine", key_result_id="kr-1"),
        ImportRow(4, "2026-W11", -100.0, None, "", key_result_id="kr-1"),
    ]
    rows, errors = csv("工号;关键结果;周;数值;信心\nE1;Pass rate;2026-W10;3;5\n")
    assert errors == []
    assert rows == [
        ImportRow(2, "2026-W10", 3.0, 5, "", employee_number="E1", key_result="Pass rate")
    ]


def test_rows_that_cannot_be_read_name_their_row() -> None:
    _rows, errors = csv(
        "key_result_id,week,value,confidence\n"
        "kr-1,2026-W4９,1,5\n"  # a full-width digit: not a week
        "kr-1,2025-W53,1,5\n"  # 2025 has 52 weeks
        "kr-1,2026-W10,١٢,5\n"  # Arabic-Indic digits: not a number
        "kr-1,2026-W10,nan,5\n"
        "kr-1,2026-W10,1,11\n"
        ",2026-W10,1,5\n"
    )
    assert [(e.row, e.code) for e in errors] == [
        (2, "invalid_week"),
        (3, "invalid_week"),
        (4, "invalid_value"),
        (5, "invalid_value"),
        (6, "invalid_confidence"),
        (7, "key_result_required"),
    ]


def test_files_that_cannot_be_imported() -> None:
    assert code("week,value\n2026-W10,1\n") == "import_missing_columns"
    assert code("key_result_id,week,value\n") == "import_empty"
    assert code("") == "import_unreadable"
    assert code("key_result_id,week,value\n" + "kr,2026-W10,1\n" * 5001) == ("import_too_many_rows")
    with pytest.raises(DomainError) as err:
        domain.read_rows(b"PK\x03\x04 not really a zip", xlsx=True)
    assert err.value.code == "import_unreadable"


def test_an_xlsx_sheet_with_numbers_and_dates() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Key result ID", "Week", "Value", "Confidence"])
    sheet.append(["kr-1", date(2026, 3, 4), 94.0, 8])
    sheet.append(["kr-2", "2026-W10", 0.5, None])
    out = io.BytesIO()
    book.save(out)
    rows, errors = domain.read_rows(out.getvalue(), xlsx=True)
    assert errors == []
    assert [(r.key_result_id, r.week, r.value, r.confidence) for r in rows] == [
        ("kr-1", "2026-W10", 94.0, 8),
        ("kr-2", "2026-W10", 0.5, None),
    ]


def test_a_zip_that_unpacks_too_far_is_refused_unopened() -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (MAX_XLSX_UNPACKED + 1))
    assert len(out.getvalue()) < 200_000
    with pytest.raises(DomainError, match="unpacks to") as err:
        domain.read_rows(out.getvalue(), xlsx=True)
    assert err.value.code == "import_unreadable"


KRS = [
    KeyResultRef("kr-1", "emp-1", "Pass  rate"),
    KeyResultRef("kr-2", "emp-1", "Scrap"),
    KeyResultRef("kr-3", "emp-2", "Scrap"),
    KeyResultRef("kr-4", "emp-2", "Scrap"),
]
PEOPLE = {"E1": "emp-1", "E2": "emp-2"}


def row(n: int, week: str = "2026-W10", **ref: str) -> ImportRow:
    return ImportRow(n, week, 1.0, None, "", **ref)


def test_rows_are_matched_to_the_cycles_key_results() -> None:
    found, errors = domain.resolve_rows(
        [
            row(2, key_result_id="kr-2"),
            row(3, employee_number="E1", key_result="pass rate"),  # case and spacing ignored
            row(4, key_result_id="kr-1", employee_number="E1"),
            row(5, key_result_id="kr-9"),
            row(6, employee_number="E9", key_result="Scrap"),
            row(7, employee_number="E2", key_result="Scrap"),  # two of them
            row(8, employee_number="E2", key_result="Yield"),
            row(9, key_result_id="kr-1", employee_number="E2"),
            row(10, employee_number="E1", key_result="Scrap"),  # = row 2
            row(11, "2026-W11", key_result_id="kr-1"),
        ],
        KRS,
        PEOPLE,
    )
    assert [(r.row, kr) for r, kr in found] == [(2, "kr-2"), (3, "kr-1"), (11, "kr-1")]
    assert [(e.row, e.code) for e in errors] == [
        (4, "duplicate_row"),
        (5, "unknown_key_result"),
        (6, "unknown_employee"),
        (7, "ambiguous_key_result"),
        (8, "unknown_key_result"),
        (9, "key_result_of_someone_else"),
        (10, "duplicate_row"),
    ]
    assert "row 3" in errors[0].message and "row 2" in errors[-1].message
