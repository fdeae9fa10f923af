"""Who an escalation tells, and with what (pure: no I/O, used by ``kr-escalation/<kr>``).

Rung 1 of the ladder: when a key result reaches the *warning* level (goals says
it is at risk: the customer's rule, behind plan by the threshold two check-in weeks running),
its owner and the owner's direct manager each get one inbox item and one e-mail (template
``kr.warning``); when it is back on track they get one more (``kr.recovered``). The numbers
(plan value, actual value, shortfall, weeks behind) travel as template parameters; names and
e-mail addresses do not (the notify activity looks them up at send time).

Delivery keys: ``kr-escalation/<kr>/<rung>/<week>/<recipient>`` (see
:func:`workflows.notifications.step_key` and ``delivery_key``). The week is the one whose
check-in raised the rung, so a later escalation of the same key result (a new run with the
same workflow id after a recovery) is told again, while retries and replays of one step are
not.
"""

from __future__ import annotations

from dataclasses import dataclass

# The activity that finds the owner's direct manager (activities/escalation.py).
RECIPIENTS_ACTIVITY = "kr_escalation_recipients"

# The activity that finds a department's head (activities/escalation.py).
DEPARTMENT_HEAD_ACTIVITY = "department_head"

RUNG_WARNING = "warning"
RUNG_RECOVERED = "recovered"
ROLE_OWNER = "owner"
ROLE_MANAGER = "manager"
RUNG_BLOCKER = "blocker"
RUNG_INVITATION = "invitation"
RUNG_REMINDER = "reminder"
# The head of the department a blocker names.
ROLE_BLOCKING_HEAD = "blocking_head"


@dataclass
class RecipientsInput:
    owner_id: str


@dataclass
class Recipients:
    owner_id: str
    # The owner's direct (active) manager; "" when the owner has none.
    manager_id: str = ""


@dataclass
class DepartmentHeadInput:
    department_id: str


@dataclass
class DepartmentHead:
    department_id: str
    # "" when the department has no head (or is unknown).
    head_id: str = ""


@dataclass
class Told:
    """One notification the escalation sent (shown by the ``state`` query)."""

    # "warning" | "recovered" | "blocker" | "invitation" | "reminder" | "skip_level" | "hr"
    rung: str
    recipient_id: str
    # "owner" | "manager" | "blocking_head" | "skip_level" | "hr"
    role: str
    # When the workflow handed it to the notify activity (RFC 3339 UTC).
    at: str
    # The delivery key: the inbox item's key and the e-mail's Message-ID.
    key: str


def number(value: float) -> str:
    """A value as people write it: ``80``, ``12.5``, ``0.33`` (at most two decimals)."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percent(share: float) -> str:
    """A share 0..1 as a whole percentage: ``0.3`` → ``30``."""
    return str(round(share * 100))


def notice_params(
    *,
    key_result_id: str,
    cycle_id: str,
    week: str,
    role: str,
    expected_value: float,
    value: float,
    unit: str,
    shortfall: float,
    weeks_behind: int,
) -> dict[str, str]:
    """The template parameters of one warning or recovery notice."""
    return {
        "key_result_id": key_result_id,
        "cycle_id": cycle_id,
        "week": week,
        "role": role,
        "expected": number(expected_value),
        "actual": number(value),
        "unit": unit,
        "shortfall_pct": percent(shortfall),
        "weeks": str(weeks_behind),
    }
