"""The whole escalation ladder of one key result on the time-skipping server.

warning (owner + manager) → red (a third lagging week: coordination) → skip_level after three
working days on the organisation's calendar without a new check-in (a holiday in between
pushes it one day) → a new check-in restarts the count → hr after five further working days,
with the training course for an owner who was behind before → back on track tells everyone
told, once. Every notice's worker is lost once after delivering (Temporal retries it with the
same delivery keys). Activities are fakes (tests/workflows/fake_activities.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.messages import render
from services.worker.worker import build_worker
from tests.fakes.audit import DecisionLog
from tests.waiting import eventually
from tests.workflows.fake_activities import COURSE, HR_PEOPLE, MANAGER, SKIP_LEVEL, FakeActivities
from tests.workflows.test_kr_escalation import Escalations, other, state_becomes
from tests.workflows.test_kr_escalation_notify import OWNER, lagging
from workflows.escalation_notices import Told
from workflows.kr_escalation import KrEscalationWorkflow
from workflows.ladder import HR_NOTICE_ACTIVITY, SKIP_LEVEL_ACTIVITY, LadderPolicy
from workflows.notifications import (
    CHANNEL_INBOX,
    IM_ACTIVITY,
    IM_TARGETS_ACTIVITY,
    KR_HR,
    KR_RECOVERED,
    KR_SKIP_LEVEL,
    KR_WARNING,
    NOTIFY_ACTIVITY,
)
from workflows.search_attributes import STRIDE_RISK_LEVEL

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def ladder(
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


def working_days_after(start: date, count: int, holidays: set[date]) -> date:
    """The ``count``-th Monday-to-Friday day after ``start`` that is not a holiday."""
    day = start
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            count -= 1
    return day


def local(at: str) -> datetime:
    return datetime.fromisoformat(at).astimezone(SHANGHAI)


def _assert(condition: bool) -> None:
    assert condition


async def test_one_key_result_walks_every_rung_and_back(
    ladder: tuple[Escalations, FakeActivities],
) -> None:
    esc, fakes = ladder
    fakes.ladder = LadderPolicy(skip_level_days=3, hr_days=5)
    # Each upper rung's notice is delivered, then its worker is lost once.
    fakes.crash_once_for = {KR_SKIP_LEVEL, KR_HR, KR_RECOVERED}
    # The owner's and the HR people's departments have robots: only the owner's hears.
    fakes.robots = {OWNER: ("dept-7", "dingtalk"), HR_PEOPLE[0]: ("dept-hr", "wecom")}
    handle = await esc.start(
        lagging("2026-W46", value=60, expected=80), cycle_end=timedelta(days=90)
    )
    await state_becomes(handle, level=1)
    await eventually(lambda: _assert(len(fakes.notifications(KR_WARNING)) == 1))

    # The first working day after today is a holiday on the organisation's calendar.
    red_at = (await esc.env.get_current_time()).astimezone(SHANGHAI)
    holiday = working_days_after(red_at.date(), 1, set())
    fakes.holidays = [holiday.isoformat()]
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, lagging("2026-W47", value=62, expected=90, streak=3)
    )
    await state_becomes(handle, level=2, level_name="red")

    # Three working days on the org calendar: the holiday does not count.
    due = working_days_after(red_at.date(), 3, {holiday})
    assert due > working_days_after(red_at.date(), 3, set())
    due_at = datetime.combine(due, red_at.time(), SHANGHAI)
    await esc.env.sleep(due_at - red_at - timedelta(hours=1))
    state = await handle.query(KrEscalationWorkflow.state)
    assert state.level == 2 and not fakes.notifications(KR_SKIP_LEVEL)
    await esc.env.sleep(timedelta(hours=2))
    state = await state_becomes(handle, level=4, level_name="skip_level")
    skip = [t for t in state.told if t.rung == "skip_level"]
    assert [(t.recipient_id, t.role) for t in skip] == [(SKIP_LEVEL, "skip_level")]
    told_at = local(skip[0].at)
    assert told_at.date() == due
    assert abs(told_at - due_at) < timedelta(minutes=1)
    # One person, one delivery key, over two attempts of the notify activity.
    attempts = fakes.notifications(KR_SKIP_LEVEL)
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    step = f"{handle.id}/skip_level/2026-W47"
    assert skip[0].key == f"{step}/{SKIP_LEVEL}"
    params = attempts[0].messages[0].params
    assert params["days"] == "3" and params["since"] == red_at.date().isoformat()
    assert (params["expected"], params["actual"], params["owner_id"]) == ("90", "62", OWNER)
    texts = render(KR_SKIP_LEVEL, params)
    assert "red for 3 working days since" in texts.body_en
    assert "已标红 3 个工作日" in texts.body_zh
    assert texts.link == f"/key-results/{state.key_result_id}"
    assert [c.input.owner_id for c in fakes.of(SKIP_LEVEL_ACTIVITY)] == [OWNER]
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(STRIDE_RISK_LEVEL) == "skip_level"

    # Two working days on, a new check-in (behind, a new week): the HR count starts again.
    await esc.env.sleep(
        datetime.combine(working_days_after(due, 2, set()), red_at.time(), SHANGHAI) - due_at
    )
    checked_in_at = (await esc.env.get_current_time()).astimezone(SHANGHAI)
    behind = lagging("2026-W48", value=70, expected=100, streak=1)
    behind.status = "behind"
    await handle.signal(KrEscalationWorkflow.risk_assessed, behind)
    hr_due = datetime.combine(
        working_days_after(checked_in_at.date(), 5, set()), checked_in_at.time(), SHANGHAI
    )
    # Five working days after the skip-level notice have passed: nothing yet.
    await esc.env.sleep(
        datetime.combine(working_days_after(due, 5, set()), red_at.time(), SHANGHAI)
        - checked_in_at
        + timedelta(hours=1)
    )
    assert not fakes.notifications(KR_HR)
    assert (await handle.query(KrEscalationWorkflow.state)).level == 4
    now = (await esc.env.get_current_time()).astimezone(SHANGHAI)
    await esc.env.sleep(hr_due - now + timedelta(hours=1))
    state = await state_becomes(handle, level=5, level_name="hr")
    hr = [t for t in state.told if t.rung == "hr"]
    assert [(t.recipient_id, t.role) for t in hr] == [(p, "hr") for p in HR_PEOPLE]
    assert abs(local(hr[0].at) - hr_due) < timedelta(minutes=1)
    attempts = fakes.notifications(KR_HR)
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    params = attempts[0].messages[0].params
    assert params["course_ids"] == COURSE.id and params["behind_before"] == "1"
    assert params["week"] == "2026-W48" and params["days"] == "5"
    texts = render(KR_HR, params)
    assert "Recommended training: Sales forecasting and pipeline management" in texts.body_en
    assert COURSE.url in texts.body_en
    assert "推荐培训:销售预测与管道管理" in texts.body_zh
    (hr_call,) = fakes.of(HR_NOTICE_ACTIVITY)
    assert (hr_call.input.owner_id, hr_call.input.unit) == (OWNER, "pcs")

    # Back on track: everyone told hears it once (owner, manager, skip-level, HR).
    recovered = other("on_track", "2026-W49")
    recovered.owner_id, recovered.value, recovered.expected_value = OWNER, 101, 100
    await handle.signal(KrEscalationWorkflow.risk_assessed, recovered)
    result = await handle.result()
    assert result.status == "resolved" and result.level_name == "hr"
    back = f"{handle.id}/recovered/2026-W49"
    everyone = [
        (OWNER, "owner"),
        (MANAGER, "manager"),
        (SKIP_LEVEL, "skip_level"),
        *((p, "hr") for p in HR_PEOPLE),
    ]
    assert [(t.recipient_id, t.role, t.key) for t in result.told if t.rung == "recovered"] == [
        (p, role, f"{back}/{p}") for p, role in everyone
    ]
    attempts = fakes.notifications(KR_RECOVERED)
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    assert render(KR_RECOVERED, attempts[0].messages[2].params).body_en.startswith(
        "Your organisation's key result"
    )
    # Robots: the warning and the recovery reach the owner's department only.
    posts = [c.input for c in fakes.of(IM_ACTIVITY)]
    assert [(p.template, p.department_id) for p in posts] == [
        (KR_WARNING, "dept-7"),
        (KR_RECOVERED, "dept-7"),
    ]
    assert all(OWNER in c.input.recipient_ids for c in fakes.of(IM_TARGETS_ACTIVITY))
    assert not any(HR_PEOPLE[0] in c.input.recipient_ids for c in fakes.of(IM_TARGETS_ACTIVITY))
    # Nobody got any notice twice: one delivery key per step and person.
    keys = [t.key for t in result.told]
    assert len(keys) == len(set(keys))
    assert fakes.delivered() >= set(keys)
    assert [t.rung for t in result.told] == [
        "warning",
        "warning",
        "skip_level",
        "hr",
        "hr",
        *["recovered"] * 5,
    ]
    assert all(isinstance(t, Told) for t in result.told)

    # Each rung is in the audit trail once.
    async def recorded() -> None:
        steps = [d.step for d in esc.decisions.of(handle.id)]
        assert steps == ["level-1", "level-2", "level-4", "level-5", "closed"]

    await eventually(recorded)
    details = [d.detail for d in esc.decisions.of(handle.id)]
    assert details[2].startswith("level red -> skip_level (red for 3 working days")
    assert details[3].startswith("level skip_level -> hr (red for 5 working days")


async def test_no_skip_level_manager_and_no_hr_is_logged_not_sent(
    ladder: tuple[Escalations, FakeActivities],
) -> None:
    esc, fakes = ladder
    fakes.skip_level, fakes.hr_people = "", []
    handle = await esc.start(lagging("2026-W46", value=60, expected=80))
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, lagging("2026-W47", value=62, expected=90, streak=3)
    )
    await state_becomes(handle, level=2)
    await esc.env.sleep(timedelta(days=30))
    state = await state_becomes(handle, level=5)
    assert [t.rung for t in state.told] == ["warning", "warning"]
    assert not fakes.notifications(KR_SKIP_LEVEL) and not fakes.notifications(KR_HR)
    assert len(fakes.of(SKIP_LEVEL_ACTIVITY)) == 1 and len(fakes.of(HR_NOTICE_ACTIVITY)) == 1
    # The cycle ends: closed silently (no recovery notice).
    result = await handle.result()
    assert result.status == "cycle_ended"
    assert not fakes.notifications(KR_RECOVERED)


async def test_the_skip_level_timer_survives_a_worker_restart(
    temporal_env: WorkflowEnvironment, client: Client
) -> None:
    """Red on one worker, which then goes away; a new worker (a fresh process: nothing in
    memory) takes the same task queue and the skip-level notice still goes out on time."""
    task_queue = f"tq-{uuid.uuid4()}"
    before, after = FakeActivities(), FakeActivities()
    decisions = DecisionLog()
    # No workflow cache on the first worker: nothing sticks to it (the time-skipping server
    # cannot skip time while a task waits on a gone worker's sticky queue).
    async with build_worker(
        client,
        task_queue,
        activities=[*before.all(), *decisions.activities()],
        max_cached_workflows=0,
    ) as worker:
        esc = Escalations(temporal_env, client, worker)
        handle = await esc.start(lagging("2026-W46", value=60, expected=80))
        await handle.signal(
            KrEscalationWorkflow.risk_assessed, lagging("2026-W47", value=62, expected=90, streak=3)
        )
        await state_becomes(handle, level=2)
        red_at = (await temporal_env.get_current_time()).astimezone(SHANGHAI)
    async with build_worker(
        client, task_queue, activities=[*after.all(), *decisions.activities()]
    ) as worker:
        esc = Escalations(temporal_env, client, worker)
        esc.started.append(handle)
        try:
            due_at = datetime.combine(
                working_days_after(red_at.date(), 3, set()), red_at.time(), SHANGHAI
            )
            await temporal_env.sleep(due_at - red_at + timedelta(hours=1))
            state = await state_becomes(handle, level=4)
            (skip,) = [t for t in state.told if t.rung == "skip_level"]
            assert abs(local(skip.at) - due_at) < timedelta(minutes=1)
            assert len(after.notifications(KR_SKIP_LEVEL)) == 1
            assert not before.notifications(KR_SKIP_LEVEL)
        finally:
            await esc.terminate_running()


async def test_a_skip_level_notice_due_at_night_is_mailed_at_eight(
    ladder: tuple[Escalations, FakeActivities],
) -> None:
    """Red at 23:00 Shanghai: three working days later at 23:00 the inbox item is created, the
    e-mail waits for the end of the quiet hours (08:00 the next morning)."""
    esc, fakes = ladder
    fakes.quiet_start, fakes.quiet_end = "22:00", "08:00"
    now = (await esc.env.get_current_time()).astimezone(SHANGHAI)
    night = datetime.combine(now.date() + timedelta(days=1), time(23, 0), SHANGHAI)
    await esc.env.sleep(night - now)
    handle = await esc.start(lagging("2026-W46", value=60, expected=80))
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, lagging("2026-W47", value=62, expected=90, streak=3)
    )
    await state_becomes(handle, level=2)
    red_at = (await esc.env.get_current_time()).astimezone(SHANGHAI)
    due = working_days_after(red_at.date(), 3, set())
    await esc.env.sleep(datetime.combine(due + timedelta(days=1), time(9, 0), SHANGHAI) - red_at)
    await eventually(lambda: _assert(len(fakes.notifications(KR_SKIP_LEVEL)) == 2))
    inbox, full = (c for c in fakes.of(NOTIFY_ACTIVITY) if c.input.template == KR_SKIP_LEVEL)
    assert inbox.input.channels == [CHANNEL_INBOX] and full.input.channels == []
    assert inbox.at.astimezone(SHANGHAI).date() == due
    assert inbox.at.astimezone(SHANGHAI).hour == 23
    eight = datetime.combine(due + timedelta(days=1), time(8, 0), SHANGHAI)
    assert timedelta(0) <= full.at - eight < timedelta(seconds=5)
