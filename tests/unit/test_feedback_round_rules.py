"""The 360 round's pure rules: who may approve a rater list, and when its reminders fall on
the organisation's calendar (holidays and adjusted working days)."""

from __future__ import annotations

from datetime import date, time

import pytest

from workflows.calendar import WorkCalendar, local_instant, parse_instant
from workflows.round_rules import (
    MAX_RATER_REMINDERS,
    ApproveNominationsInput,
    approval_error,
    rater_reminders,
    round_times,
)
from workflows.vocabulary import MAX_ROUND_RATERS

TZ = "Asia/Shanghai"
SUBJECT, MANAGER = "emp-subject", "emp-manager"


@pytest.mark.parametrize(
    ("phase", "approving", "update", "error"),
    [
        ("nominating", False, ApproveNominationsInput(MANAGER, [SUBJECT, "p1"]), None),
        ("nominating", False, ApproveNominationsInput("emp-hr", ["p1"], True), None),
        ("nominating", False, ApproveNominationsInput(SUBJECT, ["p1"], True), "own_round"),
        ("nominating", False, ApproveNominationsInput("emp-peer", ["p1"]), "not_the_manager"),
        ("collecting", False, ApproveNominationsInput(MANAGER, ["p1"]), "round_not_nominating"),
        ("nominating", True, ApproveNominationsInput(MANAGER, ["p1"]), "round_not_nominating"),
        ("nominating", False, ApproveNominationsInput(MANAGER, []), "no_raters"),
        ("nominating", False, ApproveNominationsInput(MANAGER, ["p1", " "]), "no_raters"),
        ("nominating", False, ApproveNominationsInput(MANAGER, ["p1", "p1"]), "duplicate_rater"),
        (
            "nominating",
            False,
            ApproveNominationsInput(MANAGER, [f"p{i}" for i in range(MAX_ROUND_RATERS + 1)]),
            "too_many_raters",
        ),
    ],
)
def test_who_may_approve_which_list(
    phase: str, approving: bool, update: ApproveNominationsInput, error: str | None
) -> None:
    assert approval_error(phase, approving, SUBJECT, MANAGER, update) == error


def test_a_subject_without_a_manager_is_approved_by_hr_only() -> None:
    assert approval_error("nominating", False, SUBJECT, "", ApproveNominationsInput("", ["p"]))
    hr = ApproveNominationsInput("emp-hr", ["p"], actor_is_hr=True)
    assert approval_error("nominating", False, SUBJECT, "", hr) is None


def test_round_times_skip_the_national_day_week_and_count_the_adjusted_saturday() -> None:
    # 2026: 1–7 October off, Saturday 10 October worked (调休).
    holidays = [date(2026, 10, d) for d in range(1, 8)]
    calendar = WorkCalendar(frozenset(holidays), frozenset({date(2026, 10, 10)}))
    times = round_times(date(2026, 10, 3), date(2026, 10, 20), TZ, calendar)
    # The subject is reminded on the last working day before the holidays.
    assert times.nomination_reminder == local_instant(date(2026, 9, 30), time(9), TZ)
    # The manager is asked on the first day back, reminded on the adjusted Saturday.
    assert times.ask_manager == local_instant(date(2026, 10, 8), time(9), TZ)
    assert times.remind_manager == local_instant(date(2026, 10, 10), time(9), TZ)
    assert times.close == local_instant(date(2026, 10, 21), time(0), TZ)


def test_rater_reminders_every_two_working_days_before_the_close_and_at_most_five() -> None:
    calendar = WorkCalendar(frozenset({date(2026, 12, 7)}))  # a Monday off
    invited = local_instant(date(2026, 12, 2), time(15, 30), TZ)  # Wednesday afternoon
    close = local_instant(date(2026, 12, 10), time(0), TZ)
    got = [parse_instant(t) for t in rater_reminders(invited, close, TZ, calendar)]
    assert got == [
        local_instant(date(2026, 12, 4), time(9), TZ),  # Friday
        local_instant(date(2026, 12, 9), time(9), TZ),  # Wednesday (Monday off)
    ]
    far = local_instant(date(2027, 3, 1), time(0), TZ)
    assert len(rater_reminders(invited, far, TZ, WorkCalendar())) == MAX_RATER_REMINDERS
