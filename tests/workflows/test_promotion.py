"""PromotionWorkflow on the time-skipping server: a case through eligibility, the manager's
endorsement, a panel (a conflicted member refused, scores validated), the publicity period
(公示) on the organisation's working days with an objection dismissed and one upheld (back to
a new panel, then rejected), HR's decision and the notices; a withdrawal; an ineligible case.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Any
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
from tests.workflows.fake_activities import HR_PEOPLE, FakeActivities, PromotionStand
from workflows import ids
from workflows.notifications import (
    PROMOTION_DECIDED,
    PROMOTION_DECISION_NEEDED,
    PROMOTION_ENDORSE_NEEDED,
    PROMOTION_INELIGIBLE,
    PROMOTION_OBJECTION,
    PROMOTION_PANEL_NEEDED,
    PROMOTION_PANEL_OVERDUE,
    PROMOTION_PUBLICITY_NOTICE,
    PROMOTION_SCORE_NEEDED,
    PROMOTION_WITHDRAWN_NOTICE,
)
from workflows.promotion import PromotionWorkflow
from workflows.promotion_rules import (
    ERROR_ALREADY_SCORED,
    ERROR_CONFLICT,
    ERROR_HR_ONLY,
    ERROR_NOT_APPLICANT,
    ERROR_NOT_MANAGER,
    ERROR_OPEN_OBJECTIONS,
    ERROR_OWN_CASE,
    ERROR_SCORE_RANGE,
    ERROR_WRONG_PHASE,
    STEP_OBJECTION,
    STEP_RESOLVED,
    STEP_SCORE,
    Decide,
    Eligibility,
    Endorse,
    Objection,
    PromotionInput,
    PromotionState,
    ResolveObjection,
    Score,
    SetPanel,
    Withdraw,
)
from workflows.search_attributes import STRIDE_PHASE
from workflows.vocabulary import (
    OBJECTION_BACK_TO_PANEL,
    OBJECTION_DISMISSED,
    OBJECTION_REJECT,
    PROMOTION_APPROVED,
    PROMOTION_DECISION,
    PROMOTION_ENDORSEMENT,
    PROMOTION_INVESTIGATION,
    PROMOTION_PANEL,
    PROMOTION_PUBLICITY,
    PROMOTION_REJECTED,
    PROMOTION_WITHDRAWN,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MANAGER = "emp-manager"
DIRECTOR = "emp-director"
HR = HR_PEOPLE[0]
PANEL = ["emp-panel-1", "emp-panel-2", "emp-panel-3"]
Handle = WorkflowHandle[PromotionWorkflow, PromotionState]


@pytest.fixture
async def fakes() -> FakeActivities:
    return FakeActivities()


@pytest.fixture
async def stand() -> PromotionStand:
    return PromotionStand()


@pytest.fixture
async def task_queue(
    client: Client, fakes: FakeActivities, stand: PromotionStand
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


async def start(client: Client, task_queue: str, started: list[Handle]) -> tuple[Handle, str]:
    case_id = f"case-{uuid.uuid4().hex[:8]}"
    candidate = f"emp-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        PromotionWorkflow.run,
        PromotionInput(
            case_id=case_id,
            candidate_id=candidate,
            applicant_id=candidate,
            current_grade="P4",
            target_grade="P5",
        ),
        id=ids.promotion(case_id),
        task_queue=task_queue,
    )
    started.append(handle)
    return handle, candidate


async def phase(handle: Handle, wanted: str) -> PromotionState:
    for _ in range(400):
        state = await handle.query(PromotionWorkflow.state)
        if state.phase == wanted:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached {wanted}: {state.phase}")


async def refused(handle: Handle, update: Any, arg: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, arg)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return str(cause.type)


def recipients(fakes: FakeActivities, template: str) -> list[list[str]]:
    return [[m.recipient_id for m in n.messages] for n in fakes.notifications(template)]


async def told(fakes: FakeActivities, template: str, count: int = 1) -> list[list[str]]:
    """The recipients of each ``template`` notice, once there are ``count`` of them."""
    for _ in range(200):
        if len(fakes.notifications(template)) >= count:
            break
        await asyncio.sleep(0.05)
    return recipients(fakes, template)


async def through_panel(handle: Handle, members: list[str]) -> None:
    await phase(handle, PROMOTION_PANEL)
    await handle.execute_update(PromotionWorkflow.set_panel, SetPanel(HR, members, True))
    for member, score in zip(members, [4, 5, 3], strict=False):
        await handle.execute_update(PromotionWorkflow.score, Score(member, score))


async def test_objection_dismissed_then_approved_on_working_days(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    stand: PromotionStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    thursday = await next_thursday_10(temporal_env)
    # The Monday after is a public holiday: the publicity period skips it.
    fakes.holidays = [(thursday.date() + timedelta(days=4)).isoformat()]
    await temporal_env.sleep(thursday - await temporal_env.get_current_time())
    handle, candidate = await start(client, task_queue, started)

    await phase(handle, PROMOTION_ENDORSEMENT)
    assert await told(fakes, PROMOTION_ENDORSE_NEEDED) == [[MANAGER]]
    assert await refused(handle, PromotionWorkflow.endorse, Endorse(DIRECTOR, True)) == (
        ERROR_NOT_MANAGER
    )
    await handle.execute_update(PromotionWorkflow.endorse, Endorse(MANAGER, True, "ready"))
    await phase(handle, PROMOTION_PANEL)
    assert await told(fakes, PROMOTION_PANEL_NEEDED) == [HR_PEOPLE]

    # The panel: HR only; a member in the reporting line is a conflict of interest.
    assert await refused(handle, PromotionWorkflow.set_panel, SetPanel(MANAGER, PANEL, False)) == (
        ERROR_HR_ONLY
    )
    assert await refused(
        handle, PromotionWorkflow.set_panel, SetPanel(HR, [*PANEL[:2], DIRECTOR], True)
    ) == (ERROR_CONFLICT)
    await handle.execute_update(PromotionWorkflow.set_panel, SetPanel(HR, PANEL, True))
    await asyncio.sleep(0.5)
    assert await told(fakes, PROMOTION_SCORE_NEEDED) == [PANEL]
    # Scores: the manager is refused as a conflict, a score out of range, a second score.
    assert await refused(handle, PromotionWorkflow.score, Score(MANAGER, 5)) == ERROR_CONFLICT
    assert await refused(handle, PromotionWorkflow.score, Score(PANEL[0], 9)) == (ERROR_SCORE_RANGE)
    await handle.execute_update(PromotionWorkflow.score, Score(PANEL[0], 4))
    assert await refused(handle, PromotionWorkflow.score, Score(PANEL[0], 5)) == (
        ERROR_ALREADY_SCORED
    )
    assert await refused(handle, PromotionWorkflow.raise_objection, Objection("emp-x", "why")) == (
        ERROR_WRONG_PHASE
    )
    await handle.execute_update(PromotionWorkflow.score, Score(PANEL[1], 5))
    await handle.execute_update(PromotionWorkflow.score, Score(PANEL[2], 3))

    state = await phase(handle, PROMOTION_PUBLICITY)
    assert state.mean_score == 4.0
    # Thursday + 5 working days, the holiday Monday skipped: Friday, Tuesday..Friday → the end
    # of the Friday a week later.
    end = datetime.combine(thursday.date() + timedelta(days=9), time(), tzinfo=SHANGHAI)
    assert datetime.fromisoformat(state.publicity_end) == end
    told_ = (await told(fakes, PROMOTION_PUBLICITY_NOTICE))[0]
    assert {candidate, MANAGER, *PANEL, *HR_PEOPLE} == set(told_)
    describe = await handle.describe()
    assert describe.typed_search_attributes.get(STRIDE_PHASE) == "promotion:publicity"

    # Objections: not the candidate; anyone else with a reason, HR told.
    assert await refused(
        handle, PromotionWorkflow.raise_objection, Objection(candidate, "I object to myself")
    ) == (ERROR_OWN_CASE)
    await handle.execute_update(
        PromotionWorkflow.raise_objection, Objection("emp-colleague", "the ratings were inflated")
    )
    assert await told(fakes, PROMOTION_OBJECTION) == [HR_PEOPLE]
    assert await refused(handle, PromotionWorkflow.decide, Decide(HR, True, "", True)) == (
        ERROR_OPEN_OBJECTIONS
    )

    # The period ends with the objection open: investigation until HR dismisses it.
    await temporal_env.sleep(end - await temporal_env.get_current_time() + timedelta(hours=1))
    await phase(handle, PROMOTION_INVESTIGATION)
    await handle.execute_update(
        PromotionWorkflow.resolve_objection,
        ResolveObjection(HR, 1, False, "", "checked the archive", True),
    )
    state = await phase(handle, PROMOTION_DECISION)
    assert state.objections[0].status == OBJECTION_DISMISSED
    assert await told(fakes, PROMOTION_DECISION_NEEDED) == [HR_PEOPLE]
    assert await refused(handle, PromotionWorkflow.decide, Decide(MANAGER, True)) == (ERROR_HR_ONLY)
    await handle.execute_update(PromotionWorkflow.decide, Decide(HR, True, "welcome", True))
    result = await handle.result()
    assert result.phase == PROMOTION_APPROVED
    assert result.decided_by == HR
    assert set((await told(fakes, PROMOTION_DECIDED))[0]) == {candidate, MANAGER, *PANEL}

    # Every step recorded (audited by the service), the scores and the objection with them.
    steps = stand.steps()
    assert [s.score for s in steps if s.step == STEP_SCORE] == [4, 5, 3]
    assert [s.text for s in steps if s.step == STEP_OBJECTION] == ["the ratings were inflated"]
    assert [s.outcome for s in steps if s.step == STEP_RESOLVED] == [OBJECTION_DISMISSED]
    assert steps[-1].phase == PROMOTION_APPROVED


async def test_objections_upheld_back_to_a_panel_then_rejected(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    stand: PromotionStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    handle, candidate = await start(client, task_queue, started)
    await phase(handle, PROMOTION_ENDORSEMENT)
    await handle.execute_update(PromotionWorkflow.endorse, Endorse(MANAGER, True))
    await through_panel(handle, PANEL)
    await phase(handle, PROMOTION_PUBLICITY)
    await handle.execute_update(
        PromotionWorkflow.raise_objection,
        Objection("emp-colleague", "a panel member is his cousin"),
    )
    # Upheld during the period: back to a new panel (HR asked again).
    await handle.execute_update(
        PromotionWorkflow.resolve_objection,
        ResolveObjection(HR, 1, True, OBJECTION_BACK_TO_PANEL, "new panel", True),
    )
    state = await phase(handle, PROMOTION_PANEL)
    assert state.panel == [] and state.scores == [] and state.panel_rounds == 1
    assert await told(fakes, PROMOTION_PANEL_NEEDED, 2) == [HR_PEOPLE, HR_PEOPLE]
    second = ["emp-panel-4", "emp-panel-5", "emp-panel-6"]
    await through_panel(handle, second)
    await phase(handle, PROMOTION_PUBLICITY)
    await handle.execute_update(
        PromotionWorkflow.raise_objection, Objection("emp-other", "falsified output figures")
    )
    await handle.execute_update(
        PromotionWorkflow.resolve_objection,
        ResolveObjection(HR, 2, True, OBJECTION_REJECT, "confirmed", True),
    )
    result = await handle.result()
    assert result.phase == PROMOTION_REJECTED
    assert result.reasons == ["objection_upheld"]
    assert set((await told(fakes, PROMOTION_DECIDED))[0]) == {candidate, MANAGER, *second}


async def test_withdrawn_by_the_candidate(
    client: Client,
    fakes: FakeActivities,
    stand: PromotionStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    handle, candidate = await start(client, task_queue, started)
    await phase(handle, PROMOTION_ENDORSEMENT)
    await handle.execute_update(PromotionWorkflow.endorse, Endorse(MANAGER, True))
    await phase(handle, PROMOTION_PANEL)
    assert await refused(handle, PromotionWorkflow.withdraw, Withdraw(MANAGER)) == (
        ERROR_NOT_APPLICANT
    )
    await handle.execute_update(PromotionWorkflow.withdraw, Withdraw(candidate, "next year"))
    result = await handle.result()
    assert result.phase == PROMOTION_WITHDRAWN and result.withdrawn_by == candidate
    assert set((await told(fakes, PROMOTION_WITHDRAWN_NOTICE))[0]) == {
        candidate,
        MANAGER,
        *HR_PEOPLE,
    }


async def test_ineligible_is_rejected_with_its_reasons(
    client: Client,
    fakes: FakeActivities,
    stand: PromotionStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    stand.eligibility = Eligibility(False, ["rating_below_minimum", "tenure_too_short"])
    handle, candidate = await start(client, task_queue, started)
    result = await handle.result()
    assert result.phase == PROMOTION_REJECTED
    assert result.reasons == ["rating_below_minimum", "tenure_too_short"]
    assert await told(fakes, PROMOTION_INELIGIBLE) == [[candidate]]
    notice = fakes.notifications(PROMOTION_INELIGIBLE)[0]
    assert notice.messages[0].params["reasons"] == "rating_below_minimum, tenure_too_short"
    assert not fakes.notifications(PROMOTION_ENDORSE_NEEDED)


async def test_a_panel_short_of_its_quorum_at_the_deadline_then_reaching_it(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    stand: PromotionStand,
    task_queue: str,
    started: list[Handle],
) -> None:
    handle, _ = await start(client, task_queue, started)
    await phase(handle, PROMOTION_ENDORSEMENT)
    await handle.execute_update(PromotionWorkflow.endorse, Endorse(MANAGER, True))
    await phase(handle, PROMOTION_PANEL)
    four = [*PANEL, "emp-panel-4"]
    await handle.execute_update(PromotionWorkflow.set_panel, SetPanel(HR, four, True))
    for member in four[:2]:
        await handle.execute_update(PromotionWorkflow.score, Score(member, 4))
    # Ten working days pass with two scores of the three needed: HR is told, once.
    await temporal_env.sleep(timedelta(days=16))
    assert await told(fakes, PROMOTION_PANEL_OVERDUE) == [HR_PEOPLE]
    state = await handle.query(PromotionWorkflow.state)
    assert state.phase == PROMOTION_PANEL and state.panel_overdue_notified
    # The third score reaches the quorum past the deadline: the fourth is not waited for.
    await handle.execute_update(PromotionWorkflow.score, Score(four[2], 5))
    state = await phase(handle, PROMOTION_PUBLICITY)
    assert state.mean_score == 4.33
    assert len(fakes.notifications(PROMOTION_PANEL_OVERDUE)) == 1
