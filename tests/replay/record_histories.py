"""Regenerate tests/replay/histories/*.json by running the workflows.

    .venv/bin/python -m tests.replay.record_histories              # every scenario
    .venv/bin/python -m tests.replay.record_histories cycle_quarter_first_week  # some

The cycle and plan-approval scenarios run on fake activities (tests/workflows/
fake_activities.py): a history records what activities returned, not how.

The histories without ``audited`` in their name were recorded before the workflow recorded
its decisions in the audit trail (patch ``kr-escalation-audit``); they stay as they are, so
runs started by older code keep replaying. This script records the current behaviour only
(decisions go to a stand-in ``record_decision`` activity). The ``kr_escalation_audited_*``
scenarios send signals without an owner (as bridges before patch ``kr-escalation-notify``
did), so they notify nobody; ``kr_escalation_notified`` is a run that tells the owner and
the manager (warning, then back on track). ``kr_escalation_red_*`` turn red (patch
``kr-escalation-red``): by a blocker naming another department, recorded with its child
``coordination_blocker_resolved`` (invitation, an outcome, a reminder, the blocker resolved),
and by a third lagging week, with ``coordination_back_on_track``; they were recorded before
patch ``kr-escalation-ladder`` and stay as they are (re-recorded now, a red scenario that
sleeps past three working days would record the skip-level rung too).
``kr_escalation_ladder`` walks every rung (skip-level, HR with a course, everyone told on
recovery), with its child ``coordination_ladder``. A scenario may record several workflows
(a dict of histories by name).
``kr_escalation_red_at_night`` (with ``coordination_at_night``) raises the blocker at 23:00:
patches ``notify-quiet-for-all`` and ``coordination-calendar``.
``risk_sweep`` records a scheduled run (``risk_sweep_scheduled``) and the week's sweep it
starts as its child (``risk_sweep_week``), on a stand-in SweepRisk.
``promotion_approved`` is a promotion case endorsed, scored (a conflicted score refused), an
objection dismissed after the publicity period, approved; ``promotion_back_to_panel_withdrawn``
one whose objection is upheld (back to a new panel) and that the candidate then withdraws. Both
on a stand-in PromotionService (:class:`PromotionStand`).
``feedback_round_whole`` is a whole 360 round on a stand-in RoundService (:class:`RoundStand`);
``cycle_closing_with_rounds`` a quarter's last run that starts its 360 rounds at closing.
``monthly_brief`` is HR's run of ``report/monthly/2026-11`` on stand-in collect and render
activities (:class:`BriefStand`).
``integration_pull_lines`` is a scheduled pull of the mes-oee plugin's ``lines`` source that
fails once (the MES unavailable) and publishes on the retry, on a stand-in pull activity run by
its own integrations worker.

Before patches ``notify-channels``, ``plan-approval-holidays`` and ``cycle-holidays`` (quiet
hours, IM robots, the holiday calendar) the histories ``kr_escalation_notified``,
``plan_approval_escalated``, ``plan_approval_plan_and_revision``, ``cycle_quarter_first_week``
and ``cycle_quarter_closing`` were recorded; they stay as they are. Their scenarios now record
``*_channels`` / ``*_on_calendar`` histories, with an organisation calendar that has quiet
hours, a robot and holidays (:func:`_org_calendar`).

Runs each scenario on the time-skipping test server and writes the workflow's history as
JSON. Re-record only on purpose: the committed histories are what running workflows look
like, and tests/replay/test_replay.py replays them against the current code, so a change
that is not replay-safe fails CI instead of breaking workflows in production.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from services.common.binaries import find_binary
from services.integrations.worker import build_integrations_worker
from services.worker.worker import build_worker, ensure_search_attributes
from tests.fakes.audit import DecisionLog
from tests.workflows.fake_activities import (
    BRIEF_ORG,
    SKIP_LEVEL,
    BriefStand,
    FakeActivities,
    PromotionStand,
    RoundStand,
    SweepStand,
)
from workflows import ids
from workflows.calendar import rfc3339
from workflows.coordination import CoordinationWorkflow, OutcomeInput
from workflows.cycle import CycleInput, CycleWorkflow
from workflows.feedback_round import FeedbackRoundWorkflow
from workflows.integration_pull import (
    ERROR_SOURCE_UNAVAILABLE,
    PULL_ACTIVITY,
    IntegrationPullWorkflow,
    PullInput,
    PullReport,
)
from workflows.kr_escalation import (
    SIGNAL_RISK_ASSESSED,
    BlockerRef,
    BlockerResolvedSignal,
    EscalationState,
    KrEscalationInput,
    KrEscalationWorkflow,
    RiskSignal,
)
from workflows.monthly_brief import MonthlyBriefInput, MonthlyBriefWorkflow
from workflows.plan_approval import (
    SIGNAL_APPROVAL_REQUESTED,
    ApprovalRequest,
    DecisionInput,
    PlanApprovalInput,
    PlanApprovalWorkflow,
)
from workflows.promotion import PromotionWorkflow
from workflows.promotion_rules import (
    Decide,
    Endorse,
    Objection,
    PromotionInput,
    ResolveObjection,
    Score,
    SetPanel,
    Withdraw,
)
from workflows.risk_sweep import RiskSweepInput, RiskSweepWorkflow
from workflows.round_rules import ApproveNominationsInput, RoundInput, RoundsAtClosing

HISTORIES = Path(__file__).parent / "histories"
SHANGHAI = ZoneInfo("Asia/Shanghai")
IDENTITY = "stride-replay-recorder"

Handle = WorkflowHandle[KrEscalationWorkflow, EscalationState]


def _signal(event: int, week: str, status: str, owner_id: str = "") -> RiskSignal:
    return RiskSignal(
        event_id=f"evt-{event:04d}",
        check_in_id=f"chk-{event:04d}",
        week=week,
        status=status,
        shortfall=0.3 if status == "at_risk" else 0.0,
        behind_streak=2 if status == "at_risk" else 0,
        owner_id=owner_id,
        value=56.0 if status == "at_risk" else 81.0,
        expected_value=80.0,
        unit="%" if owner_id else "",
    )


async def _processed(handle: Handle, signals: int) -> None:
    """Wait until the workflow has handled ``signals`` signals (one task per signal batch)."""
    for _ in range(200):
        history = await handle.fetch_history()
        kinds = [e.WhichOneof("attributes") for e in history.events]
        signalled = [
            i for i, k in enumerate(kinds) if k == "workflow_execution_signaled_event_attributes"
        ]
        if (
            len(signalled) == signals
            and "workflow_task_completed_event_attributes" in kinds[signalled[-1] :]
        ):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} did not process {signals} signals")


async def _start(
    env: WorkflowEnvironment,
    client: Client,
    task_queue: str,
    name: str,
    cycle_end: timedelta,
    owner_id: str = "",
) -> Handle:
    now = await env.get_current_time()
    kr = f"kr-replay-{name}"
    return await client.start_workflow(
        KrEscalationWorkflow.run,
        KrEscalationInput(
            key_result_id=kr,
            cycle_id="cycle-2026q4",
            department_id="dept-assembly",
            cycle_end_utc=(now + cycle_end).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ),
        id=f"{ids.kr_escalation(kr)}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        start_signal=SIGNAL_RISK_ASSESSED,
        start_signal_args=[_signal(1, "2026-W45", "at_risk", owner_id)],
    )


async def resolved(env: WorkflowEnvironment, client: Client, task_queue: str) -> Handle:
    """Rises to red, ignores a redelivery, a same-week resubmission and 'behind'; resolves."""
    handle = await _start(env, client, task_queue, "resolved", timedelta(days=60))
    await _processed(handle, 1)
    steps = [
        _signal(2, "2026-W46", "at_risk"),
        _signal(2, "2026-W46", "at_risk"),  # redelivered
        _signal(3, "2026-W46", "at_risk"),  # re-submitted check-in, same week
        _signal(4, "2026-W47", "behind"),
        _signal(5, "2026-W48", "at_risk"),
    ]
    for n, step in enumerate(steps, start=2):
        await handle.signal(KrEscalationWorkflow.risk_assessed, step)
        await _processed(handle, n)
    await handle.signal(KrEscalationWorkflow.risk_assessed, _signal(6, "2026-W49", "on_track"))
    await handle.result()
    return handle


async def cycle_ended(env: WorkflowEnvironment, client: Client, task_queue: str) -> Handle:
    """Two at-risk weeks, then the cycle-end timer fires."""
    handle = await _start(env, client, task_queue, "cycle-ended", timedelta(days=30))
    await _processed(handle, 1)
    await handle.signal(KrEscalationWorkflow.risk_assessed, _signal(2, "2026-W46", "at_risk"))
    await _processed(handle, 2)
    await handle.result()
    return handle


async def cycle_already_over(env: WorkflowEnvironment, client: Client, task_queue: str) -> Handle:
    """Started after the cycle's end: ends at once."""
    handle = await _start(env, client, task_queue, "cycle-over", -timedelta(days=1))
    await handle.result()
    return handle


async def notified(env: WorkflowEnvironment, client: Client, task_queue: str) -> Handle:
    """Warning told to the owner and the manager; a red week tells nobody; back on track is
    told to both."""
    owner = "emp-owner"
    handle = await _start(env, client, task_queue, "notified", timedelta(days=60), owner)
    await _processed(handle, 1)
    for n, step in enumerate(
        [_signal(2, "2026-W46", "at_risk", owner), _signal(3, "2026-W47", "on_track", owner)],
        start=2,
    ):
        await handle.signal(KrEscalationWorkflow.risk_assessed, step)
        await _processed(handle, n)
    await handle.result()
    return handle


async def _coordination(
    client: Client, handle: Handle, told: int
) -> WorkflowHandle[CoordinationWorkflow, Any]:
    """The escalation's first coordination, once it has sent ``told`` invitations."""
    for _ in range(200):
        state = await handle.query(KrEscalationWorkflow.state)
        if state.coordinations:
            child = client.get_workflow_handle_for(CoordinationWorkflow.run, state.coordinations[0])
            if len((await child.query(CoordinationWorkflow.state)).told) == told:
                return child
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} started no coordination")


async def red_blocker(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> dict[str, WorkflowHandle[Any, Any]]:
    """Warning; a behind week naming purchasing turns it red (the head told, a coordination
    invites three); an outcome, a reminder after the follow-up date, the blocker resolved;
    back on track."""
    owner = "emp-owner"
    handle = await _start(env, client, task_queue, "red-blocker", timedelta(days=60), owner)
    await _processed(handle, 1)
    blocked = _signal(2, "2026-W46", "behind", owner)
    blocked.department_id = "dept-assembly"
    blocked.blockers = [BlockerRef("blk-0001", "dept-purchasing")]
    blocked.time_zone = "Asia/Shanghai"
    await handle.signal(KrEscalationWorkflow.risk_assessed, blocked)
    await _processed(handle, 2)
    child = await _coordination(client, handle, 3)
    today = (await env.get_current_time()).astimezone(ZoneInfo("Asia/Shanghai")).date()
    await child.execute_update(
        CoordinationWorkflow.record_outcome,
        OutcomeInput("Airfreight the bearings", (today + timedelta(days=2)).isoformat(), owner),
    )
    await env.sleep(timedelta(days=4))
    for _ in range(200):
        if (await child.query(CoordinationWorkflow.state)).reminded:
            break
        await asyncio.sleep(0.05)
    await handle.signal(
        KrEscalationWorkflow.blocker_resolved, BlockerResolvedSignal("evt-0003", "blk-0001")
    )
    await child.result()
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, _signal(4, "2026-W48", "on_track", owner)
    )
    await handle.result()
    return {"kr_escalation_red_blocker": handle, "coordination_blocker_resolved": child}


async def red_at_night(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> dict[str, WorkflowHandle[Any, Any]]:
    """A blocker naming purchasing at 23:00 Shanghai (patches ``notify-quiet-for-all`` and
    ``coordination-calendar``): the head's notice waits for 08:00 in the inbox, then the
    coordination invites (the meeting on the organisation's calendar); the blocker resolved,
    back on track."""
    owner = "emp-owner"
    shanghai = ZoneInfo("Asia/Shanghai")
    now = (await env.get_current_time()).astimezone(shanghai)
    night = datetime.combine(now.date() + timedelta(days=1), time(23, 0), shanghai)
    await env.sleep(night - now)
    handle = await _start(env, client, task_queue, "red-at-night", timedelta(days=60), owner)
    await _processed(handle, 1)
    blocked = _signal(2, "2026-W46", "behind", owner)
    blocked.department_id = "dept-assembly"
    blocked.blockers = [BlockerRef("blk-0009", "dept-purchasing")]
    blocked.time_zone = "Asia/Shanghai"
    await handle.signal(KrEscalationWorkflow.risk_assessed, blocked)
    await _processed(handle, 2)
    eight = datetime.combine(night.date() + timedelta(days=1), time(8, 5), shanghai)
    await env.sleep(eight - night)
    child = await _coordination(client, handle, 3)
    await handle.signal(
        KrEscalationWorkflow.blocker_resolved, BlockerResolvedSignal("evt-0003", "blk-0009")
    )
    await child.result()
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, _signal(4, "2026-W48", "on_track", owner)
    )
    await handle.result()
    return {"kr_escalation_red_at_night": handle, "coordination_at_night": child}


async def red_lagging(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> dict[str, WorkflowHandle[Any, Any]]:
    """A third lagging week turns it red (owner and manager invited); back on track closes
    the coordination."""
    owner = "emp-owner"
    handle = await _start(env, client, task_queue, "red-lagging", timedelta(days=60), owner)
    await _processed(handle, 1)
    for n, week in enumerate(("2026-W46", "2026-W47"), start=2):
        await handle.signal(KrEscalationWorkflow.risk_assessed, _signal(n, week, "at_risk", owner))
        await _processed(handle, n)
    child = await _coordination(client, handle, 2)
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, _signal(4, "2026-W48", "on_track", owner)
    )
    await handle.result()
    await child.result()
    return {"kr_escalation_red_lagging": handle, "coordination_back_on_track": child}


async def _told(handle: Handle, rung: str) -> None:
    for _ in range(400):
        if any(t.rung == rung for t in (await handle.query(KrEscalationWorkflow.state)).told):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} told nobody of {rung}")


async def ladder(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> dict[str, WorkflowHandle[Any, Any]]:
    """The whole ladder (patch ``kr-escalation-ladder``): warning, red by a lagging week,
    skip-level after three working days (holidays on the calendar), a new check-in restarts
    the count, HR after five more, back on track tells everyone told."""
    owner = "emp-owner"
    handle = await _start(env, client, task_queue, "ladder", timedelta(days=90), owner)
    await _processed(handle, 1)
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, _signal(2, "2026-W46", "at_risk", owner)
    )
    await _processed(handle, 2)
    for _ in range(200):
        if (await handle.query(KrEscalationWorkflow.state)).coordinations:
            break
        await asyncio.sleep(0.05)
    child = client.get_workflow_handle_for(
        CoordinationWorkflow.run, ids.coordination("kr-replay-ladder", 1)
    )
    await env.sleep(timedelta(days=8))
    await _told(handle, "skip_level")
    await handle.signal(KrEscalationWorkflow.risk_assessed, _signal(3, "2026-W47", "behind", owner))
    await _processed(handle, 3)
    await env.sleep(timedelta(days=12))
    await _told(handle, "hr")
    await handle.signal(
        KrEscalationWorkflow.risk_assessed, _signal(4, "2026-W48", "on_track", owner)
    )
    await handle.result()
    await child.result()
    return {"kr_escalation_ladder": handle, "coordination_ladder": child}


def _approval(approval_id: str, kind: str, requested_at: str) -> ApprovalRequest:
    return ApprovalRequest(
        event_id=f"evt-{approval_id}",
        approval_id=approval_id,
        kind=kind,
        approver_ids=["emp-manager"],
        requested_at=requested_at,
        objective_ids=["obj-1"] if kind == "plan" else [],
        revision_id="rev-1" if kind == "revision" else "",
    )


async def _announced(handle: WorkflowHandle[Any, Any], count: int) -> None:
    for _ in range(200):
        state = await handle.query(PlanApprovalWorkflow.state)
        if sum(a.announced for a in state.approvals) == count:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id}: {count} approvals not announced")


async def _start_plan(
    env: WorkflowEnvironment, client: Client, task_queue: str, name: str, first: ApprovalRequest
) -> WorkflowHandle[Any, Any]:
    employee = f"emp-replay-{name}"
    return await client.start_workflow(
        PlanApprovalWorkflow.run,
        PlanApprovalInput(cycle_id="cyc-2027q1", employee_id=employee, department_id="dep-qa"),
        id=f"{ids.plan_approval('cyc-2027q1', employee)}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        start_signal=SIGNAL_APPROVAL_REQUESTED,
        start_signal_args=[first],
    )


async def plan_escalated(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """Announced, reminded after 2 working days, escalated after 5, approved by the skip-level."""
    now = await env.get_current_time()
    handle = await _start_plan(
        env, client, task_queue, "escalated", _approval("apr-1", "plan", rfc3339(now))
    )
    await _announced(handle, 1)
    await env.sleep(timedelta(days=9))
    await handle.execute_update(
        PlanApprovalWorkflow.decide,
        DecisionInput("apr-1", "approve", actor_id=SKIP_LEVEL, comment="ok"),
    )
    await handle.result()
    return handle


async def plan_and_revision(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """A plan and a revision in one run: the plan approved, the revision rejected by HR."""
    now = rfc3339(await env.get_current_time())
    handle = await _start_plan(
        env, client, task_queue, "revision", _approval("apr-plan", "plan", now)
    )
    await handle.signal(
        PlanApprovalWorkflow.approval_requested, _approval("apr-rev", "revision", now)
    )
    await _announced(handle, 2)
    await handle.execute_update(
        PlanApprovalWorkflow.decide, DecisionInput("apr-plan", "approve", actor_id="emp-manager")
    )
    await handle.execute_update(
        PlanApprovalWorkflow.decide,
        DecisionInput("apr-rev", "reject", actor_id="emp-hr", actor_is_hr=True, comment="no"),
    )
    await handle.result()
    return handle


async def _quarter(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    now = await env.get_current_time()
    start = (now + timedelta(days=3)).date()
    cycle = f"cyc-replay-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(
            cycle_id=cycle,
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=90)).isoformat(),
        ),
        id=ids.cycle(cycle),
        task_queue=task_queue,
    )
    await handle.result()
    return handle


async def cycle_first_week(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """A quarter's first run: planning, approval, execution, the first Monday, continue-as-new."""
    latest = await _quarter(env, client, task_queue)
    assert latest.first_execution_run_id
    return client.get_workflow_handle(latest.id, run_id=latest.first_execution_run_id)


async def cycle_closing(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """A quarter's last run: the last weeks, closing, final scoring."""
    handle = await _quarter(env, client, task_queue)
    return client.get_workflow_handle(handle.id)  # the latest run


async def cycle_closing_with_rounds(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """A quarter whose input names a 360 template: its last run starts the feedback rounds when
    it enters closing (patch ``cycle-feedback-rounds``), then scores."""
    now = await env.get_current_time()
    start = (now + timedelta(days=3)).date()
    cycle = f"cyc-replay-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(
            cycle_id=cycle,
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=90)).isoformat(),
            feedback_rounds=RoundsAtClosing("tpl-360", "dept-assembly"),
        ),
        id=ids.cycle(cycle),
        task_queue=task_queue,
    )
    await handle.result()
    return client.get_workflow_handle(handle.id)  # the latest run


async def cycle_backfill(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """A past quarter being backfilled: phases at once, no reminder, waits for the close by
    hand (time passes, nothing happens), then archives on the cycle_closed signal."""
    now = await env.get_current_time()
    end = (now - timedelta(days=10)).date()
    cycle = f"cyc-replay-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(
            cycle_id=cycle,
            start_date=(end - timedelta(days=90)).isoformat(),
            end_date=end.isoformat(),
            backfill=True,
        ),
        id=ids.cycle(cycle),
        task_queue=task_queue,
    )
    for _ in range(200):
        if (await handle.query(CycleWorkflow.state)).awaiting_close:
            break
        await asyncio.sleep(0.05)
    else:
        raise TimeoutError(f"{handle.id} did not wait for the close")
    await env.sleep(timedelta(days=30))
    await handle.signal(CycleWorkflow.cycle_closed)
    await handle.result()
    return handle


async def risk_sweep(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> dict[str, WorkflowHandle[Any, Any]]:
    """A scheduled run (no week) and its child ``risk-sweep/<week>``, three batches of the
    stand-in SweepRisk (:class:`SweepStand`)."""
    parent = await client.start_workflow(
        RiskSweepWorkflow.run,
        RiskSweepInput(batch_size=2),
        id=f"{ids.RISK_SWEEP_SCHEDULE}-2026-11-30T04:00:00Z",
        task_queue=task_queue,
    )
    report = await parent.result()
    child = client.get_workflow_handle(ids.risk_sweep(report.week))
    return {"risk_sweep_scheduled": parent, "risk_sweep_week": child}


async def feedback_round(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """A whole 360 round: the subject told to nominate and reminded, the manager asked
    (holidays on the calendar), a refused Update, the list approved, the raters invited and
    reminded (the stand-in RoundService answers nobody), closed at the deadline, the results
    notice."""
    today = (await env.get_current_time()).astimezone(SHANGHAI).date()
    subject = "emp-replay-subject"
    handle = await client.start_workflow(
        FeedbackRoundWorkflow.run,
        RoundInput(
            round_id="round-replay",
            cycle_id="cyc-2027q1",
            subject_id=subject,
            manager_id="emp-manager",
            nominations_due=(today + timedelta(days=3)).isoformat(),
            deadline=(today + timedelta(days=16)).isoformat(),
        ),
        id=f"{ids.feedback_round('cyc-2027q1', subject)}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    await env.sleep(timedelta(days=7))
    for _ in range(200):
        if (await handle.query(FeedbackRoundWorkflow.state)).manager_asked:
            break
        await asyncio.sleep(0.05)
    raters = [subject, "emp-manager", "emp-peer-1", "emp-peer-2"]
    try:
        await handle.execute_update(
            FeedbackRoundWorkflow.approve_nominations, ApproveNominationsInput(subject, raters)
        )
    except Exception:  # refused by the validator (own_round): not in the history
        pass
    await handle.execute_update(
        FeedbackRoundWorkflow.approve_nominations, ApproveNominationsInput("emp-manager", raters)
    )
    await handle.result()
    return handle


async def _promotion_phase(handle: WorkflowHandle[Any, Any], phase: str) -> None:
    for _ in range(400):
        if (await handle.query(PromotionWorkflow.state)).phase == phase:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the case never reached {phase}")


async def _promotion_to_publicity(
    client: Client, task_queue: str, case_id: str, panel: list[str]
) -> WorkflowHandle[Any, Any]:
    candidate = f"emp-{case_id}"
    handle = await client.start_workflow(
        PromotionWorkflow.run,
        PromotionInput(case_id, candidate, candidate, "P4", "P5"),
        id=f"{ids.promotion(case_id)}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    await _promotion_phase(handle, "endorsement")
    await handle.execute_update(PromotionWorkflow.endorse, Endorse("emp-manager", True))
    await _promotion_phase(handle, "panel")
    await handle.execute_update(PromotionWorkflow.set_panel, SetPanel("emp-hr-1", panel, True))
    try:  # the manager is refused as a conflict of interest: not in the history
        await handle.execute_update(PromotionWorkflow.score, Score("emp-manager", 5))
    except Exception:
        pass
    for member in panel:
        await handle.execute_update(PromotionWorkflow.score, Score(member, 4))
    await _promotion_phase(handle, "publicity")
    await handle.execute_update(
        PromotionWorkflow.raise_objection, Objection("emp-colleague", "a reason")
    )
    return handle


async def promotion_approved(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """Endorsed, scored, an objection open past the publicity period then dismissed,
    approved."""
    handle = await _promotion_to_publicity(client, task_queue, "case-replay-1", ["emp-p1"])
    await env.sleep(timedelta(days=10))
    await _promotion_phase(handle, "investigation")
    await handle.execute_update(
        PromotionWorkflow.resolve_objection,
        ResolveObjection("emp-hr-1", 1, False, "", "unfounded", True),
    )
    await _promotion_phase(handle, "decision")
    await handle.execute_update(PromotionWorkflow.decide, Decide("emp-hr-1", True, "ok", True))
    await handle.result()
    return handle


async def promotion_back_to_panel(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """An objection upheld during the publicity period (back to a new panel), then
    withdrawn by the candidate."""
    handle = await _promotion_to_publicity(client, task_queue, "case-replay-2", ["emp-p1"])
    await handle.execute_update(
        PromotionWorkflow.resolve_objection,
        ResolveObjection("emp-hr-1", 1, True, "back_to_panel", "new panel", True),
    )
    await _promotion_phase(handle, "panel")
    await handle.execute_update(
        PromotionWorkflow.withdraw, Withdraw("emp-case-replay-2", "next year")
    )
    await handle.result()
    return handle


async def _org_calendar(env: WorkflowEnvironment, fakes: FakeActivities) -> None:
    """Quiet hours 22:00–08:00, a DingTalk robot in the owner's department, and holidays: the
    next two days (approvals count past them) and every Monday from the third week on (check-in
    reminders and digests move to Tuesday)."""
    today = (await env.get_current_time()).astimezone(SHANGHAI).date()
    fakes.quiet_start, fakes.quiet_end = "22:00", "08:00"
    fakes.robots = {"emp-owner": ("dept-assembly", "dingtalk")}
    days = [today + timedelta(days=d) for d in range(1, 130)]
    fakes.holidays = [
        d.isoformat()
        for d in days
        if d <= today + timedelta(days=2) or (d.weekday() == 0 and d >= today + timedelta(days=14))
    ]


async def integration_pull(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """A scheduled pull of mes-oee/lines: the MES fails once, the retry publishes 8 samples."""
    attempts: list[int] = []

    @activity.defn(name=PULL_ACTIVITY)
    async def pull(input: PullInput) -> PullReport:
        attempts.append(activity.info().attempt)
        if len(attempts) == 1:
            raise ApplicationError("MES answered 503", type=ERROR_SOURCE_UNAVAILABLE)
        return PullReport(
            plugin=input.plugin,
            source=input.source,
            published=8,
            by_metric={"availability": 2, "oee": 2, "performance": 2, "quality": 2},
            watermark_before="2026-12-01T00:00:00Z",
            watermark_after="2026-12-01T08:00:00Z",
        )

    queue = f"{task_queue}-integrations"
    async with build_integrations_worker(client, queue, [pull], identity=IDENTITY):
        handle = await client.start_workflow(
            IntegrationPullWorkflow.run,
            PullInput(plugin="mes-oee", source="lines", interval_seconds=900, timeout_seconds=120),
            id=f"{ids.integration_pull('mes-oee', 'lines')}-2026-12-01T08:15:00Z",
            task_queue=queue,
        )
        await handle.result()
    return handle


async def monthly_brief(
    env: WorkflowEnvironment, client: Client, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """HR briefs November 2026: collect, three departments rendered, the executives and one
    head mailed (stand-ins for collect and render, :class:`BriefStand`)."""
    handle = await client.start_workflow(
        MonthlyBriefWorkflow.run,
        MonthlyBriefInput(month="2026-11"),
        id=ids.monthly_brief("2026-11"),
        task_queue=task_queue,
    )
    await handle.result()
    return handle


Scenario = Callable[
    [WorkflowEnvironment, Client, str],
    Awaitable[WorkflowHandle[Any, Any] | dict[str, WorkflowHandle[Any, Any]]],
]
SCENARIOS: dict[str, Scenario] = {
    "kr_escalation_audited_resolved": resolved,
    "kr_escalation_audited_cycle_ended": cycle_ended,
    "kr_escalation_audited_cycle_already_over": cycle_already_over,
    "kr_escalation_channels": notified,
    "kr_escalation_red_blocker": red_blocker,
    "kr_escalation_red_lagging": red_lagging,
    "kr_escalation_red_at_night": red_at_night,
    "kr_escalation_ladder": ladder,
    "plan_approval_escalated_on_calendar": plan_escalated,
    "plan_approval_revision_on_calendar": plan_and_revision,
    "cycle_quarter_first_week_on_calendar": cycle_first_week,
    "cycle_quarter_closing_on_calendar": cycle_closing,
    "cycle_backfill_closed_by_hand": cycle_backfill,
    "risk_sweep": risk_sweep,
    "feedback_round_whole": feedback_round,
    "cycle_closing_with_rounds": cycle_closing_with_rounds,
    "promotion_approved": promotion_approved,
    "promotion_back_to_panel_withdrawn": promotion_back_to_panel,
    # The same last run, now archiving after final scoring (patch ``cycle-archive``).
    "cycle_closing_archived": cycle_closing,
    "integration_pull_lines": integration_pull,
    "monthly_brief": monthly_brief,
}


async def record(names: list[str] | None = None) -> dict[str, str]:
    """Run the scenarios (all, or ``names``); return each history as JSON by file name."""
    histories = {}
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        identity=IDENTITY,  # not pid@hostname: keep the machine out of committed files
    ) as env:
        await ensure_search_attributes(env.client)
        task_queue = f"record-{uuid.uuid4()}"
        fakes = FakeActivities()
        await _org_calendar(env, fakes)
        decisions = DecisionLog()
        sweep = SweepStand(["at_risk", "behind", "skip", "on_track", "at_risk"])
        rounds = RoundStand()
        promotions = PromotionStand()
        briefs = BriefStand(BRIEF_ORG)
        async with build_worker(
            env.client,
            task_queue,
            activities=[
                *fakes.all(),
                *decisions.activities(),
                sweep.sweep,
                *rounds.all(),
                *promotions.all(),
                briefs.collect,
                briefs.render,
            ],
            identity=IDENTITY,
        ):
            for name, scenario in SCENARIOS.items():
                if names and name not in names:
                    continue
                recorded = await scenario(env, env.client, task_queue)
                handles = recorded if isinstance(recorded, dict) else {name: recorded}
                for file_name, handle in handles.items():
                    histories[file_name] = (await handle.fetch_history()).to_json()
    return histories


def main(argv: list[str] | None = None) -> None:
    names = list(sys.argv[1:] if argv is None else argv)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    HISTORIES.mkdir(parents=True, exist_ok=True)
    for name, history in asyncio.run(record(names or None)).items():
        path = HISTORIES / f"{name}.json"
        path.write_text(history + "\n")
        print(path)


if __name__ == "__main__":
    main()
