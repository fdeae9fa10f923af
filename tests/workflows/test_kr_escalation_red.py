"""Red and coordination on the time-skipping server: ``kr-escalation/<kr>`` turns red on a
blocker naming another department (at once) or on a third lagging week, tells the blocking
department's head, and starts ``coordination/<kr>/<n>``, which invites the owner, the
manager and the head with a calendar invitation, takes the outcome through an Update,
reminds once per passed follow-up date and resolves with the blocker (or with the key result
back on track). Activities are fakes (tests/workflows/fake_activities.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import build_worker
from tests.fakes.audit import DecisionLog
from tests.waiting import eventually
from tests.workflows.fake_activities import HEADS, MANAGER, FakeActivities
from tests.workflows.test_kr_escalation import Escalations, other, state_becomes
from tests.workflows.test_kr_escalation_notify import OWNER, lagging
from workflows.coordination import (
    ERROR_INVALID_FOLLOW_UP,
    ERROR_INVALID_OUTCOME,
    CoordinationState,
    CoordinationWorkflow,
    OutcomeInput,
)
from workflows.escalation_notices import DEPARTMENT_HEAD_ACTIVITY
from workflows.kr_escalation import (
    BlockerRef,
    BlockerResolvedSignal,
    EscalationState,
    KrEscalationWorkflow,
    RiskSignal,
)
from workflows.ladder import LadderPolicy
from workflows.notifications import (
    BLOCKER_RAISED,
    CHANNEL_INBOX,
    COORDINATION_INVITED,
    COORDINATION_REMINDER,
    KR_WARNING,
    NOTIFY_ACTIVITY,
)

HEAD = HEADS["dept-purchasing"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
Coordination = WorkflowHandle[CoordinationWorkflow, CoordinationState]


def blocked(week: str, *blockers: BlockerRef, status: str = "behind") -> RiskSignal:
    """A check-in of the owner (key result in dept-7) naming blockers, as the bridge sends it."""
    signal = lagging(week, value=70, expected=80, streak=1)
    signal.status = status
    signal.department_id = "dept-7"
    signal.blockers = list(blockers)
    signal.time_zone = "Asia/Shanghai"
    return signal


@pytest.fixture
async def red(
    temporal_env: WorkflowEnvironment, client: Client
) -> AsyncIterator[tuple[Escalations, FakeActivities]]:
    fakes = FakeActivities()
    decisions = DecisionLog()
    async with build_worker(
        client, f"tq-{uuid.uuid4()}", activities=[*fakes.all(), *decisions.activities()]
    ) as worker:
        escalations = Escalations(temporal_env, client, worker)
        escalations.decisions = decisions
        try:
            yield escalations, fakes
        finally:
            await escalations.terminate_running()


async def coordination_of(client: Client, handle: WorkflowHandle, n: int = 1) -> Coordination:
    state: EscalationState = await state_becomes(
        handle, coordinations=[f"coordination/{kr(handle)}/{n}"]
    )
    return client.get_workflow_handle_for(CoordinationWorkflow.run, state.coordinations[-1])


def kr(handle: WorkflowHandle) -> str:
    return handle.id.removeprefix("kr-escalation/")


async def test_blocker_of_another_department_turns_red_and_coordinates_until_resolved(
    red: tuple[Escalations, FakeActivities],
) -> None:
    esc, fakes = red
    # The ladder's skip-level rung stays out of the way of this coordination's nine days.
    fakes.ladder = LadderPolicy(skip_level_days=30, hr_days=30)
    handle = await esc.start(lagging("2026-W46", value=60, expected=80))
    await state_becomes(handle, level=1)
    await eventually(lambda: _assert(len(fakes.notifications(KR_WARNING)) == 1))

    # The blocker notice and the invitation each deliver, then their worker is lost:
    # Temporal retries both, with the same keys (nobody gets a second message).
    fakes.crash_once_for = {BLOCKER_RAISED, COORDINATION_INVITED}
    bearing = BlockerRef(id="blk-bearings", department_id="dept-purchasing")
    own = BlockerRef(id="blk-own", department_id="dept-7")
    await handle.signal(KrEscalationWorkflow.risk_assessed, blocked("2026-W47", bearing, own))
    state = await state_becomes(handle, level=2)
    # Red at once (a behind week, not a third at-risk one); only W46 counted as at risk.
    assert (state.level_name, state.at_risk_weeks) == ("red", ["2026-W46"])
    coordination = await coordination_of(esc.client, handle)
    assert coordination.id == f"coordination/{kr(handle)}/1"

    # The purchasing head hears of the blocker once; the own department's one is not red.
    notices = fakes.notifications(BLOCKER_RAISED)
    assert len(notices) == 2 and notices[0] == notices[1]
    (notice,) = {n.key for n in notices}
    assert notice == f"{handle.id}/blocker/blk-bearings"
    assert [m.recipient_id for m in notices[0].messages] == [HEAD]
    assert notices[0].messages[0].params["department_id"] == "dept-purchasing"

    # Invited: owner, manager, the blocking department's head; one invitation each.
    cstate = await told(coordination, 3)
    assert sorted((t.rung, t.recipient_id) for t in cstate.told) == sorted(
        ("invitation", p) for p in (OWNER, MANAGER, HEAD)
    )
    assert [(p.employee_id, p.role) for p in cstate.participants] == [
        (OWNER, "owner"),
        (MANAGER, "manager"),
        (HEAD, "blocking_head"),
    ]
    assert (cstate.reason, cstate.status, cstate.open_blockers) == (
        "blocker",
        "open",
        ["blk-bearings"],
    )
    invitations = fakes.notifications(COORDINATION_INVITED)
    assert len(invitations) == 2 and invitations[0] == invitations[1]
    invitation = invitations[0].invitation
    assert invitation is not None
    assert invitation.attendee_ids == [OWNER, MANAGER, HEAD]
    assert invitation.uid == cstate.uid and invitation.minutes == 30
    assert invitation.start_utc == cstate.meeting_start
    start = datetime.fromisoformat(cstate.meeting_start).astimezone(SHANGHAI)
    assert (start.hour, start.minute) == (10, 0) and start.weekday() < 5
    now = (await esc.env.get_current_time()).astimezone(SHANGHAI)
    assert now < start <= now + timedelta(days=4)
    params = invitations[0].messages[0].params
    assert params["meeting"] == start.strftime("%Y-%m-%d %H:%M")
    assert fakes.delivered() >= {
        f"{coordination.id}/invitation/2026-W47/{p}" for p in (OWNER, MANAGER, HEAD)
    }
    assert [c.input.department_id for c in fakes.of(DEPARTMENT_HEAD_ACTIVITY)] == [
        "dept-purchasing",
        "dept-purchasing",
    ]

    # Bad outcomes are refused by the Update's validator (nothing recorded).
    today = now.date()
    for bad, error in (
        (OutcomeInput("  ", (today + timedelta(days=3)).isoformat(), OWNER), ERROR_INVALID_OUTCOME),
        (OutcomeInput("Expedite", "2026-13-45", OWNER), ERROR_INVALID_FOLLOW_UP),
        (
            OutcomeInput("Expedite", (today - timedelta(days=1)).isoformat(), OWNER),
            ERROR_INVALID_FOLLOW_UP,
        ),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await coordination.execute_update(CoordinationWorkflow.record_outcome, bad)
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == error
    assert (await coordination.query(CoordinationWorkflow.state)).outcomes == []

    follow_up = today + timedelta(days=2)
    recorded = await coordination.execute_update(
        CoordinationWorkflow.record_outcome,
        OutcomeInput("Purchasing expedites from the backup supplier", follow_up.isoformat(), HEAD),
    )
    assert recorded.follow_up == follow_up.isoformat()
    assert [(o.outcome, o.by) for o in recorded.outcomes] == [
        ("Purchasing expedites from the backup supplier", HEAD)
    ]

    # The follow-up date passes unresolved: one reminder to the three, then no more.
    await esc.env.sleep(timedelta(days=4))
    await eventually(lambda: _assert(len(fakes.notifications(COORDINATION_REMINDER)) == 1))
    (reminder,) = fakes.notifications(COORDINATION_REMINDER)
    assert reminder.key == f"{coordination.id}/reminder/{follow_up.isoformat()}"
    assert [m.recipient_id for m in reminder.messages] == [OWNER, MANAGER, HEAD]
    assert reminder.messages[0].params["follow_up"] == follow_up.isoformat()
    assert reminder.invitation is None
    await esc.env.sleep(timedelta(days=5))
    assert len(fakes.notifications(COORDINATION_REMINDER)) == 1

    # Purchasing resolves the blocker (goals' blocker.resolved through the bridge).
    await handle.signal(
        KrEscalationWorkflow.blocker_resolved,
        BlockerResolvedSignal(event_id=str(uuid.uuid4()), blocker_id="blk-bearings"),
    )
    done = await coordination.result()
    assert (done.status, done.resolution, done.resolved_blockers) == (
        "resolved",
        "blockers_resolved",
        ["blk-bearings"],
    )
    # The escalation stays red until the key result is back on track.
    state = await handle.query(KrEscalationWorkflow.state)
    assert (state.status, state.level_name) == ("active", "red")
    await handle.signal(KrEscalationWorkflow.risk_assessed, other("on_track", "2026-W49"))
    assert (await handle.result()).status == "resolved"


async def told(handle: Coordination, count: int) -> CoordinationState:
    """The coordination's state once it has told ``count`` deliveries."""

    async def check() -> CoordinationState:
        state = await handle.query(CoordinationWorkflow.state)
        assert len(state.told) == count, state.told
        return state

    result: CoordinationState = await eventually(check)
    return result


def _assert(condition: bool) -> None:
    assert condition


async def test_third_lagging_week_turns_red_and_invites_owner_and_manager_only(
    red: tuple[Escalations, FakeActivities],
) -> None:
    esc, fakes = red
    handle = await esc.start(lagging("2026-W45", value=60, expected=80))
    await state_becomes(handle, level=1)
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, lagging("2026-W46", value=62, expected=90, streak=3)
    )
    state = await state_becomes(handle, level=2)
    assert state.level_name == "red"
    coordination = await coordination_of(esc.client, handle)
    cstate = await told(coordination, 2)
    assert cstate.reason == "lagging"
    assert [(p.employee_id, p.role) for p in cstate.participants] == [
        (OWNER, "owner"),
        (MANAGER, "manager"),
    ]
    (invitation,) = fakes.notifications(COORDINATION_INVITED)
    assert invitation.invitation is not None
    assert invitation.invitation.attendee_ids == [OWNER, MANAGER]
    assert invitation.key == f"{coordination.id}/invitation/2026-W46"
    assert fakes.of(DEPARTMENT_HEAD_ACTIVITY) == [] and fakes.notifications(BLOCKER_RAISED) == []
    # A fourth lagging week climbs the ladder but starts no second coordination.
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, lagging("2026-W47", value=63, expected=100, streak=4)
    )
    await state_becomes(handle, level=3)
    assert (await handle.query(KrEscalationWorkflow.state)).coordinations == [coordination.id]

    # Back on track: the escalation closes its coordination and resolves.
    await handle.signal(KrEscalationWorkflow.risk_assessed, other("on_track", "2026-W48"))
    result = await handle.result()
    assert result.status == "resolved"
    done = await coordination.result()
    assert (done.status, done.resolution) == ("resolved", "back_on_track")
    assert len(fakes.notifications(COORDINATION_INVITED)) == 1


async def test_a_blocker_on_an_on_track_check_in_still_turns_red(
    red: tuple[Escalations, FakeActivities],
) -> None:
    """Signal-with-start by a check-in that is on track but needs purchasing: red at once,
    no warning (nothing lags), the head told, a coordination started."""
    esc, fakes = red
    bearing = BlockerRef(id="blk-1", department_id="dept-purchasing")
    handle = await esc.start(blocked("2026-W47", bearing, status="on_track"))
    state = await state_becomes(handle, level=2)
    assert (state.status, state.at_risk_weeks) == ("active", [])
    await coordination_of(esc.client, handle)
    await eventually(lambda: _assert(len(fakes.notifications(COORDINATION_INVITED)) == 1))
    assert fakes.notifications(KR_WARNING) == []
    assert len(fakes.notifications(BLOCKER_RAISED)) == 1
    assert (await handle.query(KrEscalationWorkflow.state)).coordinations == [
        f"coordination/{kr(handle)}/1"
    ]


def test_meeting_start_is_the_next_working_day_at_ten() -> None:
    from workflows.coordination import meeting_start, reminder_due

    tz = "Asia/Shanghai"
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=SHANGHAI)
    assert meeting_start(friday, tz) == datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
    wednesday_early = datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
    assert meeting_start(wednesday_early, tz) == datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
    assert reminder_due(date(2026, 12, 9), tz) == datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI)


async def test_a_blocker_raised_at_night_is_mailed_at_eight_and_the_meeting_skips_a_holiday(
    red: tuple[Escalations, FakeActivities],
) -> None:
    """A blocker at 23:00 Shanghai: the head's notice is in the inbox at once, its e-mail goes
    at 08:00, and the invitations after it; the meeting skips the holidays that follow."""
    esc, fakes = red
    fakes.quiet_start, fakes.quiet_end = "22:00", "08:00"
    now = (await esc.env.get_current_time()).astimezone(SHANGHAI)
    night = datetime.combine(now.date() + timedelta(days=1), time(23, 0), SHANGHAI)
    # The next three days are holidays (whatever weekdays they are).
    holidays = [night.date() + timedelta(days=d) for d in (1, 2, 3)]
    fakes.holidays = [d.isoformat() for d in holidays]
    await esc.env.sleep(night - now)
    bearing = BlockerRef(id="blk-night", department_id="dept-purchasing")
    handle = await esc.start(blocked("2026-W47", bearing))
    await state_becomes(handle, level=2)
    eight = datetime.combine(night.date() + timedelta(days=1), time(8, 0), SHANGHAI)
    await esc.env.sleep(eight + timedelta(minutes=5) - night)
    coordination = await coordination_of(esc.client, handle)
    await eventually(lambda: _assert(len(fakes.notifications(COORDINATION_INVITED)) == 1))
    inbox, full = (c for c in fakes.of(NOTIFY_ACTIVITY) if c.input.template == BLOCKER_RAISED)
    assert inbox.input.channels == [CHANNEL_INBOX] and full.input.channels == []
    assert inbox.at.astimezone(SHANGHAI).hour == 23
    assert timedelta(0) <= full.at - eight < timedelta(seconds=30)
    (invited,) = (c for c in fakes.of(NOTIFY_ACTIVITY) if c.input.template == COORDINATION_INVITED)
    assert invited.at >= eight
    state = await coordination.query(CoordinationWorkflow.state)
    start = datetime.fromisoformat(state.meeting_start).astimezone(SHANGHAI)
    assert start.time() == time(10, 0)
    assert start.date() > holidays[-1] and start.weekday() < 5
