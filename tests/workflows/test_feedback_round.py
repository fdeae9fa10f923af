"""FeedbackRoundWorkflow on the time-skipping server: a whole 360 round (nominations, the
manager's approval through the validated Update, invitations, reminders to the raters who
have not answered on working days, the deadline, the close and the results notice), refused
Updates that change nothing, a refusal by the feedback service, HR approving, cancel; and
the cycle starting its rounds when it enters closing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import build_worker
from tests.waiting import until
from tests.workflows.fake_activities import FakeActivities, RoundStand
from workflows import ids
from workflows.cycle import CycleInput, CycleWorkflow
from workflows.feedback_round import FeedbackRoundWorkflow
from workflows.notifications import (
    FEEDBACK_APPROVAL_NEEDED,
    FEEDBACK_APPROVAL_REMINDER,
    FEEDBACK_INVITED,
    FEEDBACK_NOMINATE,
    FEEDBACK_NOMINATION_REMINDER,
    FEEDBACK_RATER_REMINDER,
    FEEDBACK_RESULTS_READY,
)
from workflows.round_rules import (
    APPROVE_ACTIVITY,
    CANCEL_ACTIVITY,
    CLOSE_ACTIVITY,
    MARK_INVITED_ACTIVITY,
    START_ROUNDS_ACTIVITY,
    ApproveNominationsInput,
    CancelRound,
    RoundInput,
    RoundsAtClosing,
    RoundState,
    StartRoundsInput,
)
from workflows.search_attributes import STRIDE_CYCLE, STRIDE_PHASE

SHANGHAI = ZoneInfo("Asia/Shanghai")
MANAGER = "emp-manager"
PEERS = ["emp-peer-1", "emp-peer-2"]
REPORT = "emp-report-1"
Handle = WorkflowHandle[FeedbackRoundWorkflow, RoundState]


@pytest.fixture
async def fakes() -> FakeActivities:
    return FakeActivities()


@pytest.fixture
async def stand() -> RoundStand:
    return RoundStand()


@pytest.fixture
async def task_queue(
    client: Client, fakes: FakeActivities, stand: RoundStand
) -> AsyncIterator[str]:
    activities = [*fakes.all(), *stand.all()]
    async with build_worker(client, f"tq-{uuid.uuid4()}", activities=activities) as worker:
        yield worker.task_queue


@pytest.fixture
async def started() -> AsyncIterator[list[Handle]]:
    handles: list[Handle] = []
    yield handles
    for handle in handles:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")


async def next_thursday_10(env: WorkflowEnvironment) -> datetime:
    now = (await env.get_current_time()).astimezone(SHANGHAI)
    day = now.date() + timedelta(days=1)
    while day.weekday() != 3:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=SHANGHAI)


async def start(
    client: Client, task_queue: str, started: list[Handle], due: date, deadline: date
) -> Handle:
    subject = f"emp-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        FeedbackRoundWorkflow.run,
        RoundInput(
            round_id=f"round-{uuid.uuid4().hex[:8]}",
            cycle_id="cyc-q4",
            subject_id=subject,
            manager_id=MANAGER,
            nominations_due=due.isoformat(),
            deadline=deadline.isoformat(),
        ),
        id=ids.feedback_round("cyc-q4", subject),
        task_queue=task_queue,
    )
    started.append(handle)
    return handle


def at(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI).replace(second=0, microsecond=0)


def recipients(fakes: FakeActivities, template: str) -> list[list[str]]:
    return [[m.recipient_id for m in n.messages] for n in fakes.notifications(template)]


def sent_at(fakes: FakeActivities, template: str) -> list[datetime]:
    return [at(c.at) for c in fakes.of("notify") if c.input.template == template]


async def refused(handle: Handle, update: ApproveNominationsInput) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(FeedbackRoundWorkflow.approve_nominations, update)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return str(cause.type)


async def test_a_whole_round_on_working_days(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    stand: RoundStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    thursday = await next_thursday_10(temporal_env)
    day0 = thursday.date()
    # The Monday after is a public holiday.
    fakes.holidays = [(day0 + timedelta(days=4)).isoformat()]
    await temporal_env.sleep(thursday - await temporal_env.get_current_time())
    # Nominations due on Friday, feedback closes two weeks after the start.
    handle = await start(
        client, task_queue, started, day0 + timedelta(days=1), day0 + timedelta(days=14)
    )
    subject = handle.id.rsplit("/", 1)[1]
    await until(lambda: len(fakes.notifications(FEEDBACK_NOMINATE)) == 1, 10)
    assert recipients(fakes, FEEDBACK_NOMINATE) == [[subject]]
    nominate = fakes.notifications(FEEDBACK_NOMINATE)[0]
    assert nominate.key == f"{handle.id}/nominate"
    assert nominate.messages[0].params["nominations_due"] == (day0 + timedelta(days=1)).isoformat()
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(STRIDE_PHASE) == "feedback-round:nominating"
    assert desc.typed_search_attributes.get(STRIDE_CYCLE) == "cyc-q4"

    # The subject is reminded on the due day at 09:00; the manager is asked on the first
    # working day after it: Tuesday (the weekend and the Monday holiday skipped).
    await temporal_env.sleep(
        datetime.combine(day0 + timedelta(days=6), time(10), SHANGHAI) - thursday
    )
    await until(lambda: len(fakes.notifications(FEEDBACK_APPROVAL_NEEDED)) == 1, 10)
    assert sent_at(fakes, FEEDBACK_NOMINATION_REMINDER) == [
        datetime.combine(day0 + timedelta(days=1), time(9), SHANGHAI)
    ]
    assert recipients(fakes, FEEDBACK_NOMINATION_REMINDER) == [[subject]]
    assert sent_at(fakes, FEEDBACK_APPROVAL_NEEDED) == [
        datetime.combine(day0 + timedelta(days=5), time(9), SHANGHAI)
    ]
    assert recipients(fakes, FEEDBACK_APPROVAL_NEEDED) == [[MANAGER]]

    # Refused Updates change nothing: the subject, a peer, an empty or repeated list.
    before = await handle.query(FeedbackRoundWorkflow.state)
    raters = [subject, MANAGER, *PEERS, REPORT]
    assert await refused(handle, ApproveNominationsInput(subject, raters)) == "own_round"
    assert await refused(handle, ApproveNominationsInput(subject, raters, True)) == "own_round"
    assert await refused(handle, ApproveNominationsInput(PEERS[0], raters)) == "not_the_manager"
    assert await refused(handle, ApproveNominationsInput(MANAGER, [])) == "no_raters"
    assert (
        await refused(handle, ApproveNominationsInput(MANAGER, [*raters, subject]))
        == "duplicate_rater"
    )
    assert await handle.query(FeedbackRoundWorkflow.state) == before
    assert stand.of(APPROVE_ACTIVITY) == []

    # The manager approves on Wednesday: the five raters are invited and marked invited.
    approved = await handle.execute_update(
        FeedbackRoundWorkflow.approve_nominations, ApproveNominationsInput(MANAGER, raters)
    )
    assert (approved.phase, approved.approved_by, approved.rater_ids) == (
        "approved",
        MANAGER,
        raters,
    )
    assert [c.input.approver_id for c in stand.of(APPROVE_ACTIVITY)] == [MANAGER]
    await until(lambda: len(stand.of(MARK_INVITED_ACTIVITY)) == 1, 10)
    assert recipients(fakes, FEEDBACK_INVITED) == [raters]
    assert stand.of(MARK_INVITED_ACTIVITY)[0].input.rater_ids == raters
    assert await refused(handle, ApproveNominationsInput(MANAGER, raters)) == (
        "round_not_nominating"
    )

    async def phase_is(phase: str) -> bool:
        return (await handle.describe()).typed_search_attributes.get(STRIDE_PHASE) == phase

    await until(lambda: phase_is("feedback-round:collecting"), 10, what="collecting")

    # Reminders every two working days at 09:00 go to those who have not answered.
    stand.answer(subject, PEERS[0])
    await temporal_env.sleep(timedelta(days=3))  # Saturday 10:00
    stand.answer(PEERS[1])
    await temporal_env.sleep(timedelta(days=4))  # Wednesday 10:00
    stand.answer(MANAGER, REPORT)
    result = await handle.result()

    assert sent_at(fakes, FEEDBACK_RATER_REMINDER) == [
        datetime.combine(day0 + timedelta(days=8), time(9), SHANGHAI),  # Friday
        datetime.combine(day0 + timedelta(days=12), time(9), SHANGHAI),  # Tuesday
    ]
    assert recipients(fakes, FEEDBACK_RATER_REMINDER) == [
        [MANAGER, PEERS[1], REPORT],
        [MANAGER, REPORT],
    ]
    # The last reminder (Thursday) found everyone answered: nobody was told.
    assert result.reminders == [3, 2, 0]
    # The manager approved before the reminder was due: never reminded.
    assert fakes.notifications(FEEDBACK_APPROVAL_REMINDER) == []

    # The round closes at the end of the deadline day; the subject and the manager are told.
    closes = stand.of(CLOSE_ACTIVITY)
    assert len(closes) == 1
    assert at(closes[0].at) == datetime.combine(day0 + timedelta(days=15), time(0), SHANGHAI)
    assert recipients(fakes, FEEDBACK_RESULTS_READY) == [[subject, MANAGER]]
    assert (result.phase, result.results_announced) == ("closed", True)
    assert (await handle.describe()).typed_search_attributes.get(STRIDE_PHASE) == (
        "feedback-round:closed"
    )


async def test_a_refusal_by_the_service_keeps_it_nominating_and_hr_may_approve(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    stand: RoundStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    today = (await temporal_env.get_current_time()).astimezone(SHANGHAI).date()
    handle = await start(
        client, task_queue, started, today + timedelta(days=3), today + timedelta(days=20)
    )
    subject = handle.id.rsplit("/", 1)[1]
    stand.refuse_approvals = 1
    raters = [subject, MANAGER, PEERS[0]]
    assert await refused(handle, ApproveNominationsInput(MANAGER, raters)) == (
        "nominations_refused"
    )
    assert (await handle.query(FeedbackRoundWorkflow.state)).phase == "nominating"
    # HR may approve another person's list (not their own).
    state = await handle.execute_update(
        FeedbackRoundWorkflow.approve_nominations,
        ApproveNominationsInput("emp-hr-1", raters, actor_is_hr=True),
    )
    assert (state.phase, state.approved_by) == ("approved", "emp-hr-1")
    await until(lambda: len(stand.of(MARK_INVITED_ACTIVITY)) == 1, 10)
    assert recipients(fakes, FEEDBACK_INVITED) == [raters]


async def test_cancel_ends_the_round_without_closing_it(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    stand: RoundStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    today = (await temporal_env.get_current_time()).astimezone(SHANGHAI).date()
    handle = await start(
        client, task_queue, started, today + timedelta(days=3), today + timedelta(days=20)
    )
    await until(lambda: len(fakes.notifications(FEEDBACK_NOMINATE)) == 1, 10)
    await handle.signal(FeedbackRoundWorkflow.cancel, CancelRound("emp-hr-1", "left the company"))
    result = await handle.result()
    assert (result.phase, result.cancelled_by) == ("cancelled", "emp-hr-1")
    assert stand.of(CLOSE_ACTIVITY) == []
    assert stand.of(APPROVE_ACTIVITY) == []
    assert [c.input.round_id for c in stand.of(CANCEL_ACTIVITY)] == [result.round_id]
    assert [n.template for n in fakes.notifications()] == [FEEDBACK_NOMINATE]
    assert (await handle.describe()).typed_search_attributes.get(STRIDE_PHASE) == (
        "feedback-round:cancelled"
    )


async def test_a_cycle_asked_to_starts_its_rounds_when_it_enters_closing(
    temporal_env: WorkflowEnvironment,
    client: Client,
    stand: RoundStand,
    task_queue: str,
) -> None:
    today = (await temporal_env.get_current_time()).astimezone(SHANGHAI).date()
    start, end = today + timedelta(days=2), today + timedelta(days=30)
    cycle_id = f"cyc-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(
            cycle_id=cycle_id,
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            feedback_rounds=RoundsAtClosing("tpl-360", "dept-qa", nomination_days=3),
        ),
        id=ids.cycle(cycle_id),
        task_queue=task_queue,
    )
    result = await handle.result()
    calls = stand.of(START_ROUNDS_ACTIVITY)
    assert [c.input for c in calls] == [
        StartRoundsInput(
            cycle_id=cycle_id,
            template_id="tpl-360",
            department_id="dept-qa",
            nominations_due=(end + timedelta(days=3)).isoformat(),
            deadline=(end + timedelta(days=13)).isoformat(),
        )
    ]
    # When the cycle enters closing: the end of its last day.
    assert at(calls[0].at) == datetime.combine(end + timedelta(days=1), time(0), SHANGHAI)
    assert result.rounds_started == 6


async def test_a_round_cancelled_in_the_service_releases_nothing_at_its_deadline(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    stand: RoundStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    today = (await temporal_env.get_current_time()).astimezone(SHANGHAI).date()
    handle = await start(
        client, task_queue, started, today + timedelta(days=2), today + timedelta(days=9)
    )
    subject = handle.id.rsplit("/", 1)[1]
    await handle.execute_update(
        FeedbackRoundWorkflow.approve_nominations,
        ApproveNominationsInput(MANAGER, [subject, MANAGER, PEERS[0]]),
    )
    await until(lambda: len(stand.of(MARK_INVITED_ACTIVITY)) == 1, 10)
    stand.phase = "cancelled"
    result = await handle.result()
    assert len(stand.of(CLOSE_ACTIVITY)) == 1
    assert result.phase == "cancelled" and not result.results_announced
    assert fakes.notifications(FEEDBACK_RESULTS_READY) == []
