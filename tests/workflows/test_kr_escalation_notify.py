"""KrEscalationWorkflow tells people (rung 1 of issue 11), on the time-skipping server.

The customer's rule: a key result behind plan by 20 % two weeks running is at risk (goals
decides; the bridge then starts ``kr-escalation/<kr>``) → the owner and the owner's manager
get one warning each; back on track → the same two hear it once. Activities are fakes
(tests/workflows/fake_activities.py) that answer the owner's manager and record deliveries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.messages import render
from services.worker.worker import build_worker
from tests.fakes.audit import DecisionLog
from tests.waiting import eventually
from tests.workflows.fake_activities import MANAGER, FakeActivities
from tests.workflows.test_kr_escalation import Escalations, other, settled, state_becomes
from workflows.escalation_notices import RECIPIENTS_ACTIVITY, Told
from workflows.kr_escalation import KrEscalationWorkflow, RiskSignal
from workflows.notifications import (
    COORDINATION_INVITED,
    IM_ACTIVITY,
    KR_RECOVERED,
    KR_WARNING,
    NOTIFY_ACTIVITY,
)

OWNER = "emp-owner"


def lagging(week: str, *, value: float, expected: float, streak: int = 2) -> RiskSignal:
    """An at-risk assessment as the bridge sends it (with the numbers and the owner)."""
    return RiskSignal(
        event_id=str(uuid.uuid4()),
        check_in_id=str(uuid.uuid4()),
        week=week,
        status="at_risk",
        shortfall=(expected - value) / expected,
        behind_streak=streak,
        owner_id=OWNER,
        value=value,
        expected_value=expected,
        unit="pcs",
    )


@pytest.fixture
async def notifying(
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


async def test_warning_tells_owner_and_manager_once_and_recovery_tells_them_again(
    notifying: tuple[Escalations, FakeActivities],
) -> None:
    esc, fakes = notifying
    # The notify activity delivers, then its worker is lost: Temporal retries it.
    fakes.crash_after_notify = 1
    handle = await esc.start(lagging("2026-W46", value=60, expected=80))
    await state_becomes(handle, level=1)

    async def told_twice() -> None:
        assert len((await handle.query(KrEscalationWorkflow.state)).told) == 2

    await eventually(told_twice)
    state = await handle.query(KrEscalationWorkflow.state)
    step = f"{handle.id}/warning/2026-W46"
    assert [(t.rung, t.recipient_id, t.role, t.key) for t in state.told] == [
        ("warning", OWNER, "owner", f"{step}/{OWNER}"),
        ("warning", MANAGER, "manager", f"{step}/{MANAGER}"),
    ]
    assert state.told[0].at == state.told[1].at and state.told[0].at.endswith("Z")
    # Two attempts of one step, the same keys: each person got one message.
    attempts = fakes.notifications(KR_WARNING)
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    assert attempts[0].key == step
    assert fakes.delivered() == {f"{step}/{OWNER}", f"{step}/{MANAGER}"}
    assert [c.input.owner_id for c in fakes.of(RECIPIENTS_ACTIVITY)] == [OWNER]
    owner_params, manager_params = (m.params for m in attempts[0].messages)
    assert owner_params == {
        "key_result_id": state.key_result_id,
        "cycle_id": "cycle-2026q4",
        "week": "2026-W46",
        "role": "owner",
        "expected": "80",
        "actual": "60",
        "unit": "pcs",
        "shortfall_pct": "25",
        "weeks": "2",
    }
    assert manager_params == {**owner_params, "role": "manager"}
    texts = render(KR_WARNING, manager_params)
    assert "plan 80 pcs, actual 60 pcs, 25 % short" in texts.body_en
    assert "计划 80 pcs,实际 60 pcs,差距 25%" in texts.body_zh
    assert texts.body_en.startswith("Your report's key result")
    assert texts.link == f"/key-results/{state.key_result_id}"

    # A third lagging week (red) and a redelivered warning: nobody is warned again.
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, lagging("2026-W47", value=62, expected=90, streak=3)
    )
    state = await settled(handle, signals_sent=2)
    assert state.level_name == "red"
    assert len(fakes.notifications(KR_WARNING)) == 2 and len(state.told) == 2

    # Back on track: the same two hear it once; the escalation resolves.
    recovered = other("on_track", "2026-W48")
    recovered.owner_id, recovered.value, recovered.expected_value = OWNER, 101, 100
    await handle.signal(KrEscalationWorkflow.risk_assessed, recovered)
    result = await handle.result()
    assert result.status == "resolved"
    back = f"{handle.id}/recovered/2026-W48"
    assert [(t.rung, t.recipient_id, t.key) for t in result.told[2:]] == [
        ("recovered", OWNER, f"{back}/{OWNER}"),
        ("recovered", MANAGER, f"{back}/{MANAGER}"),
    ]
    (notice,) = fakes.notifications(KR_RECOVERED)
    assert [m.params["actual"] for m in notice.messages] == ["101", "101"]
    # Warning (two attempts), the red week's coordination invitation
    # (test_kr_escalation_red.py), back on track.
    assert [n.template for n in fakes.notifications()] == [
        KR_WARNING,
        KR_WARNING,
        COORDINATION_INVITED,
        KR_RECOVERED,
    ]


async def test_signals_without_an_owner_tell_nobody(
    notifying: tuple[Escalations, FakeActivities],
) -> None:
    """Events of an older bridge carry no owner: the escalation runs as before, silently."""
    esc, fakes = notifying
    signal = lagging("2026-W46", value=60, expected=80)
    signal.owner_id = ""
    handle = await esc.start(signal)
    await state_becomes(handle, level=1)
    await handle.signal(KrEscalationWorkflow.risk_assessed, other("on_track", "2026-W47"))
    result = await handle.result()
    assert (result.status, result.told) == ("resolved", [])
    assert fakes.of(NOTIFY_ACTIVITY) == [] and fakes.of(RECIPIENTS_ACTIVITY) == []


async def test_cycle_end_closes_without_a_recovery_notice(
    notifying: tuple[Escalations, FakeActivities],
) -> None:
    esc, fakes = notifying
    handle = await esc.start(
        lagging("2026-W46", value=60, expected=80), cycle_end=timedelta(days=20)
    )
    result = await handle.result()
    assert result.status == "cycle_ended"
    assert [t.rung for t in result.told] == ["warning", "warning"]
    assert [n.template for n in fakes.notifications()] == [KR_WARNING]
    assert isinstance(result.told[0], Told)


async def test_the_warning_goes_to_the_robot_once_and_reminders_never_do(
    notifying: tuple[Escalations, FakeActivities],
) -> None:
    esc, fakes = notifying
    # Owner and manager in one department with a robot: one post for the step.
    fakes.robots = {OWNER: ("dep-purchasing", "dingtalk"), MANAGER: ("dep-purchasing", "dingtalk")}
    handle = await esc.start(lagging("2026-W46", value=60, expected=80))

    async def posted() -> None:
        assert len(fakes.of(IM_ACTIVITY)) == 1

    await eventually(posted)
    (post,) = [c.input for c in fakes.of(IM_ACTIVITY)]
    assert post.key == f"{handle.id}/warning/2026-W46/im/dep-purchasing/dingtalk"
    assert (post.template, post.recipient_id, post.params["expected"]) == (KR_WARNING, OWNER, "80")
    # Mail first (one notify for the step), then the robot.
    names = [c.name for c in fakes.calls]
    assert names.index(NOTIFY_ACTIVITY) < names.index(IM_ACTIVITY)
    assert len(fakes.notifications(KR_WARNING)) == 1
