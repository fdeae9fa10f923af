"""Pure rules of red escalations and coordination meetings: when a blocker makes a key
result red, who is invited, which outcomes are refused, the ``.ics`` invitation and the
texts people read."""

from __future__ import annotations

from datetime import UTC, date, datetime

from icalendar import Calendar

from activities.ics import Attendee, invitation_ics
from activities.messages import render
from workflows.coordination import (
    ERROR_CLOSED,
    ERROR_INVALID_FOLLOW_UP,
    ERROR_INVALID_OUTCOME,
    CoordinationState,
    OutcomeInput,
    outcome_error,
    participants_of,
)
from workflows.kr_escalation import (
    BlockerRef,
    EscalationState,
    RiskSignal,
    apply_risk_signal,
    red_blockers,
)
from workflows.notifications import BLOCKER_RAISED, COORDINATION_INVITED, Invitation


def signal(status: str, week: str, *blockers: BlockerRef) -> RiskSignal:
    return RiskSignal(
        event_id=f"e-{week}-{status}",
        check_in_id="c",
        week=week,
        status=status,
        department_id="dept-eng",
        blockers=list(blockers),
    )


PURCHASING = BlockerRef("b1", "dept-purchasing")
OWN = BlockerRef("b2", "dept-eng")


def test_only_a_blocker_naming_another_department_is_red() -> None:
    assert red_blockers(signal("behind", "2026-W47", PURCHASING, OWN)) == [PURCHASING]
    assert red_blockers(signal("behind", "2026-W47", OWN, BlockerRef("b3", ""))) == []


def test_a_blocker_of_another_department_turns_red_at_once_whatever_the_risk() -> None:
    start = EscalationState(key_result_id="kr")
    for status in ("behind", "no_data", "on_track"):
        after = apply_risk_signal(start, signal(status, "2026-W47", PURCHASING))
        assert (after.level, after.level_name, after.status) == (2, "red", "active")
        assert after.at_risk_weeks == []
    # At risk and blocked: the week counts, and red at least.
    after = apply_risk_signal(start, signal("at_risk", "2026-W47", PURCHASING))
    assert (after.level, after.at_risk_weeks) == (2, ["2026-W47"])
    # Already past red: the blocker does not lower it.
    high = EscalationState(key_result_id="kr", level=4, level_name="skip_level")
    assert apply_risk_signal(high, signal("behind", "2026-W48", PURCHASING)) is high


def test_without_such_a_blocker_the_ladder_is_as_before() -> None:
    start = EscalationState(key_result_id="kr")
    warned = apply_risk_signal(start, signal("at_risk", "2026-W46", OWN))
    assert (warned.level, warned.level_name) == (1, "warning")
    red = apply_risk_signal(
        apply_risk_signal(warned, signal("at_risk", "2026-W47")), signal("behind", "2026-W48", OWN)
    )
    assert (red.level, red.level_name) == (2, "red")
    assert apply_risk_signal(red, signal("on_track", "2026-W49", OWN)).status == "resolved"


def test_participants_are_owner_manager_and_blocking_head_each_once() -> None:
    assert [(p.employee_id, p.role) for p in participants_of("o", "m", "h")] == [
        ("o", "owner"),
        ("m", "manager"),
        ("h", "blocking_head"),
    ]
    assert [p.role for p in participants_of("o", "m", "")] == ["owner", "manager"]
    # The manager heads the blocking department too: invited once, as the manager.
    assert [(p.employee_id, p.role) for p in participants_of("o", "m", "m")] == [
        ("o", "owner"),
        ("m", "manager"),
    ]


def test_outcome_rules() -> None:
    today = date(2026, 12, 2)
    open_ = CoordinationState(key_result_id="kr", number=1, reason="blocker")
    ok = OutcomeInput("Airfreight", "2026-12-02")
    assert outcome_error(open_, ok, today) is None
    assert outcome_error(open_, OutcomeInput("  ", "2026-12-05"), today) == ERROR_INVALID_OUTCOME
    assert (
        outcome_error(open_, OutcomeInput("x" * 2001, "2026-12-05"), today) == ERROR_INVALID_OUTCOME
    )
    for bad in ("2026-12-01", "2026-02-30", "next week", ""):
        assert (
            outcome_error(open_, OutcomeInput("Airfreight", bad), today) == ERROR_INVALID_FOLLOW_UP
        )
    closed = CoordinationState(key_result_id="kr", number=1, reason="blocker", status="resolved")
    assert outcome_error(closed, ok, today) == ERROR_CLOSED


def test_the_invitation_is_a_request_with_the_attendees_and_a_stable_uid() -> None:
    invitation = Invitation(
        uid="coordination/kr-1/1/run-1@stride",
        start_utc="2026-12-03T02:00:00Z",
        minutes=30,
        summary="Stride coordination: key result kr-1",
        attendee_ids=["o", "m", "h"],
        description="/key-results/kr-1",
    )
    people = [
        Attendee("o@example.com", "刘工"),
        Attendee("m@example.com"),
        Attendee("h@example.com"),
    ]
    first = invitation_ics(
        invitation,
        organizer="Stride <stride@example.com>",
        attendees=people,
        stamp=datetime(2026, 12, 2, 9, tzinfo=UTC),
        url="https://okr.example.com",
    )
    again = invitation_ics(
        invitation,
        organizer="Stride <stride@example.com>",
        attendees=people,
        stamp=datetime(2026, 12, 2, 9, 5, tzinfo=UTC),
    )
    cal = Calendar.from_ical(first)
    assert str(cal["method"]) == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert [str(a) for a in event.get("attendee")] == [f"mailto:{p.email}" for p in people]
    assert event.get("attendee")[0].params["CN"] == "刘工"
    assert str(event["organizer"]) == "mailto:stride@example.com"
    assert event.decoded("dtstart") == datetime(2026, 12, 3, 2, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2026, 12, 3, 2, 30, tzinfo=UTC)
    assert str(event["description"]) == "https://okr.example.com/key-results/kr-1"
    (resent,) = Calendar.from_ical(again).walk("VEVENT")
    assert str(resent["uid"]) == str(event["uid"]) == invitation.uid


def test_texts_in_both_languages() -> None:
    invited = render(
        COORDINATION_INVITED,
        {
            "key_result_id": "kr-1",
            "cycle_id": "c",
            "week": "2026-W48",
            "reason": "blocker",
            "meeting": "2026-12-03 10:00",
            "time_zone": "Asia/Shanghai",
            "minutes": "30",
        },
    )
    assert "2026-12-03 10:00 (Asia/Shanghai), 30 minutes" in invited.body_en
    assert "needs another department" in invited.body_en
    assert "协调会" in invited.title_zh and "需要其他部门协助" in invited.body_zh
    raised = render(BLOCKER_RAISED, {"key_result_id": "kr-1", "department_id": "d-9"})
    assert raised.link == "/departments/d-9/blockers"
