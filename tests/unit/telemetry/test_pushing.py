"""Coalescing pushes to goals and deciding staleness (pure rules), and goals' rules for
machine values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition
from services.goals.domain.machine_values import (
    ensure_machine_fed,
    ensure_person_fed,
    is_newer,
    keeps_version,
)
from services.telemetry.domain.pushing import is_silent, next_push_at, push_due

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_at_most_one_push_per_interval() -> None:
    assert push_due(None, NOW, 1.0)
    assert not push_due(ago(0.4), NOW, 1.0)
    assert push_due(ago(1.0), NOW, 1.0)
    assert next_push_at(ago(0.4), NOW, 1.0) == ago(0.4) + timedelta(seconds=1)
    assert next_push_at(ago(5), NOW, 1.0) == NOW
    assert next_push_at(None, NOW, 1.0) == NOW


def test_silence_is_measured_from_the_last_arrival_or_the_binding() -> None:
    assert not is_silent(ago(59), ago(3600), 60, NOW)
    assert is_silent(ago(61), ago(3600), 60, NOW)
    # Never fed: silent once the interval passed since the binding was made.
    assert not is_silent(None, ago(30), 60, NOW)
    assert is_silent(None, ago(90), 60, NOW)
    # An interval of 0: never stale.
    assert not is_silent(ago(10**6), ago(10**6), 0, NOW)


def test_goals_applies_only_newer_values_of_a_binding() -> None:
    assert is_newer("", 0, "b1", 1)
    assert is_newer("b1", 4, "b1", 5)
    assert not is_newer("b1", 5, "b1", 5)
    assert not is_newer("b1", 5, "b1", 4)
    assert is_newer("b1", 50, "b2", 1)  # a new binding starts its own sequence


def test_history_versions_are_bounded() -> None:
    assert keeps_version(False, ago(1), NOW, first_of_week=True)
    assert not keeps_version(False, ago(3600), NOW, first_of_week=False)  # unchanged
    assert not keeps_version(True, ago(30), NOW, first_of_week=False)  # within the minute
    assert keeps_version(True, ago(60), NOW, first_of_week=False)
    assert keeps_version(True, None, NOW, first_of_week=False)


def test_who_may_write_a_key_results_value() -> None:
    ensure_machine_fed("telemetry")
    ensure_person_fed("manual")
    with pytest.raises(FailedPrecondition) as machine:
        ensure_machine_fed("manual")
    assert machine.value.code == "not_machine_fed"
    with pytest.raises(FailedPrecondition) as person:
        ensure_person_fed("telemetry")
    assert person.value.code == "machine_fed"


def test_a_new_shift_or_day_pushes_again_but_cycle_to_date_never_rolls_over() -> None:
    from datetime import date

    from services.telemetry.domain.pushing import rolled_over
    from services.telemetry.domain.windows import DEFAULT_SHIFTS, Window

    zone, start = "Asia/Shanghai", date(2026, 10, 1)
    # Pushed during the 08:00-16:00 shift (00:00-08:00 UTC) of 3 December.
    pushed = datetime(2026, 12, 3, 0, tzinfo=UTC)
    same = datetime(2026, 12, 3, 7, 59, tzinfo=UTC)
    later = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert not rolled_over(Window.SHIFT, pushed, same, zone, DEFAULT_SHIFTS, start)
    assert rolled_over(Window.SHIFT, pushed, later, zone, DEFAULT_SHIFTS, start)
    assert not rolled_over(
        Window.DAY, datetime(2026, 12, 2, 16, tzinfo=UTC), later, zone, DEFAULT_SHIFTS, start
    )
    assert not rolled_over(Window.CYCLE_TO_DATE, pushed, later, zone, DEFAULT_SHIFTS, start)
    assert not rolled_over(Window.SHIFT, None, later, zone, DEFAULT_SHIFTS, start)
