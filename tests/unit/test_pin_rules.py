"""The PIN rules (services/identity/credentials.py): pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import InvalidArgument
from services.identity.credentials import PIN_LOCKOUT, check_pin_policy, pin_problem


@pytest.mark.parametrize("pin", ["2580", "1357", "90210", "12345670", "1243", "0852"])
def test_usable_pins(pin: str) -> None:
    assert pin_problem(pin) == ""
    check_pin_policy(pin)


@pytest.mark.parametrize(
    "pin",
    [
        "",
        "123",  # too short
        "123456789",  # too long
        "12a4",
        " 2580",
        "２５８０",  # full-width digits are not ASCII digits
        "٢٥٨٠",  # Arabic-Indic digits
    ],
)
def test_only_four_to_eight_ascii_digits(pin: str) -> None:
    assert "4 to 8 digits" in pin_problem(pin)


@pytest.mark.parametrize("pin", ["0000", "1111", "99999999"])
def test_one_digit_repeated_is_refused(pin: str) -> None:
    assert "repeated" in pin_problem(pin)


@pytest.mark.parametrize("pin", ["1234", "0123", "56789", "654321", "9876", "43210", "12345678"])
def test_runs_are_refused(pin: str) -> None:
    assert "run" in pin_problem(pin)


def test_a_weak_pin_is_weak_pin() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_pin_policy("1234")
    assert caught.value.code == "weak_pin"


def test_pin_lockout_is_five_failures_for_fifteen_minutes() -> None:
    assert PIN_LOCKOUT.max_failures == 5
    assert PIN_LOCKOUT.lock_for == timedelta(minutes=15)
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert PIN_LOCKOUT.retry_after(now + PIN_LOCKOUT.lock_for, now) == 15 * 60
    assert PIN_LOCKOUT.retry_after(now, now) is None
