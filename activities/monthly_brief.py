"""The month-end brief's activities (:mod:`workflows.monthly_brief`): ``brief_collect`` gathers
plain rows from the services' existing gRPC APIs, computes every department's figures with
the pure rules of :mod:`workflows.brief_figures` and stores them in goals; ``brief_render``
renders one department's stored figures in zh-CN and en (:mod:`activities.brief_render`) and
stores the documents. :func:`brief_pdfs` loads stored PDFs for the notify activity's
attachments.

What is read (all through the APIs the gateway uses too):
- identity: departments (names, heads) and active people (department, manager: executives
  are the people without a manager and those granted the ``executive`` role);
- goals: the cycles overlapping the month, their key results (score, risk status), the
  objectives' alignment (``GetScores``), check-in participation per ISO week
  (``GetParticipation``) and each department's open blockers (``ListBlockers``); last month's
  stored figures for the trend;
- feedback: items given per department and ISO week (``GetFeedbackFrequency``).

Scores and risk statuses are those at collection time (the last working day), not
recomputed for a past month: a month run again later shows the key results as they are then.
Read-only apart from the stored brief, which a retry replaces: retries are safe.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import grpc
from temporalio import activity

from activities.brief_render import EN, board_rows, render_html, render_pdf
from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from services.common.settings import WorkerSettings
from stride.common.v1 import common_pb2
from stride.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.brief_figures import (
    BriefData,
    Department,
    KeyResultRow,
    PreviousFigures,
    all_figures,
    board,
    brief_json,
    month_weeks,
    parse_brief_json,
    previous_month,
    previous_of,
)
from workflows.monthly_brief import (
    COLLECT_ACTIVITY,
    ERROR_REFUSED,
    RENDER_ACTIVITY,
    BriefCollected,
    BriefCollectInput,
    BriefDepartment,
    BriefRenderInput,
)
from workflows.vocabulary import LANGUAGES, Risk, month_bounds

PAGE_SIZE = 200
ROLE_EXECUTIVE = "executive"


async def pages(call: Callable[[common_pb2.PageRequest], Awaitable[Any]]) -> AsyncIterator[Any]:
    """Every page of a paged list RPC (its response's ``page.next_page_token``)."""
    token = ""
    while True:
        page = await call(common_pb2.PageRequest(page_size=PAGE_SIZE, page_token=token))
        yield page
        token = page.page.next_page_token
        if not token:
            return


def _risk_name(status: goals_pb2.RiskStatus.ValueType) -> str:
    name: str = goals_pb2.RiskStatus.Name(status)
    value = name.removeprefix("RISK_STATUS_").lower()
    return value if value != "unspecified" else Risk.NO_DATA.value


def _overlaps(cycle: goals_pb2.Cycle, month: str) -> bool:
    bounds = month_bounds(month)
    assert bounds is not None
    return cycle.start_date <= bounds[1].isoformat() and cycle.end_date >= bounds[0].isoformat()


async def _key_results(
    goals: goals_pb2_grpc.GoalsServiceStub, cycle_id: str, md: Any, page: common_pb2.PageRequest
) -> goals_pb2.ListKeyResultsResponse:
    return await goals.ListKeyResults(
        goals_pb2.ListKeyResultsRequest(cycle_id=cycle_id, page=page),
        timeout=CALL_TIMEOUT_SECONDS,
        metadata=md,
    )


async def _blockers(
    goals: goals_pb2_grpc.GoalsServiceStub,
    department_id: str,
    md: Any,
    page: common_pb2.PageRequest,
) -> goals_pb2.ListBlockersResponse:
    """Open blockers addressed to ``department_id``."""
    return await goals.ListBlockers(
        goals_pb2.ListBlockersRequest(department_id=department_id, page=page),
        timeout=CALL_TIMEOUT_SECONDS,
        metadata=md,
    )


class MonthlyBriefActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    def all(self) -> list[Callable[..., Any]]:
        return [self.collect, self.render]

    @activity.defn(name=COLLECT_ACTIVITY)
    async def collect(self, input: BriefCollectInput) -> BriefCollected:
        md = metadata(workflow_actor())
        try:
            data, heads, executives = await self._gather(input.month, md)
            figures = all_figures(data)
            rows = board(data, figures)
            shown, left_off = board_rows(rows)
            async with channel(self.settings.goals_addr) as ch:
                goals = goals_pb2_grpc.GoalsServiceStub(ch)
                for done, f in enumerate(figures):
                    _heartbeat(done)
                    await goals.PutMonthlyBrief(
                        goals_pb2.PutMonthlyBriefRequest(
                            month=input.month,
                            department_id=f.department_id,
                            department_name=f.department_name,
                            figures_json=brief_json(f, shown, left_off),
                        ),
                        timeout=CALL_TIMEOUT_SECONDS,
                        metadata=md,
                    )
        except grpc.aio.AioRpcError as err:
            raise to_application_error("services", err, ERROR_REFUSED) from err
        return BriefCollected(
            departments=[BriefDepartment(d.id, heads.get(d.id, "")) for d in data.departments],
            executive_ids=executives,
        )

    async def _gather(self, month: str, md: Any) -> tuple[BriefData, dict[str, str], list[str]]:
        weeks = month_weeks(month)
        async with channel(self.settings.identity_addr) as ich:
            identity = identity_pb2_grpc.IdentityServiceStub(ich)
            departments: list[Department] = []
            heads: dict[str, str] = {}
            async for dp in pages(
                lambda p: identity.ListDepartments(
                    identity_pb2.ListDepartmentsRequest(page=p),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
            ):
                for found in dp.departments:
                    departments.append(Department(found.id, found.name, found.head_id))
                    heads[found.id] = found.head_id
            department_of: dict[str, str] = {}
            executives: list[str] = []
            async for ep in pages(
                lambda p: identity.ListEmployees(
                    identity_pb2.ListEmployeesRequest(page=p),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
            ):
                for e in ep.employees:
                    if e.status != identity_pb2.EMPLOYEE_STATUS_ACTIVE:
                        continue
                    department_of[e.id] = e.department_id
                    if not e.manager_id or ROLE_EXECUTIVE in e.roles:
                        executives.append(e.id)
        headcount: dict[str, int] = defaultdict(int)
        for department_id in department_of.values():
            headcount[department_id] += 1
        departments.sort(key=lambda d: (d.name, d.id))
        async with channel(self.settings.goals_addr) as gch:
            goals = goals_pb2_grpc.GoalsServiceStub(gch)
            cycles = [
                c
                async for cp in pages(
                    lambda p: goals.ListCycles(
                        goals_pb2.ListCyclesRequest(page=p),
                        timeout=CALL_TIMEOUT_SECONDS,
                        metadata=md,
                    )
                )
                for c in cp.cycles
                if _overlaps(c, month)
            ]
            key_results: list[goals_pb2.KeyResult] = []
            aligned: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            checked: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
            for cycle in cycles:
                async for kp in pages(partial(_key_results, goals, cycle.id, md)):
                    key_results.extend(kp.key_results)
                scores = await goals.GetScores(
                    goals_pb2.GetScoresRequest(cycle_id=cycle.id),
                    timeout=CALL_TIMEOUT_SECONDS * 3,
                    metadata=md,
                )
                for o in scores.objectives:
                    if o.level == goals_pb2.OBJECTIVE_LEVEL_COMPANY:
                        continue
                    aligned[o.department_id][1] += 1
                    aligned[o.department_id][0] += int(o.aligned)
                for week in weeks:
                    part = await goals.GetParticipation(
                        goals_pb2.GetParticipationRequest(cycle_id=cycle.id, week=week),
                        timeout=CALL_TIMEOUT_SECONDS * 3,
                        metadata=md,
                    )
                    for person in part.people:
                        if person.checked_in > 0 and person.employee_id in department_of:
                            checked[department_of[person.employee_id]][week].add(person.employee_id)
            blockers: dict[str, list[goals_pb2.DepartmentBlocker]] = defaultdict(list)
            for d in departments:
                async for bp in pages(partial(_blockers, goals, d.id, md)):
                    for b in bp.blockers:
                        blockers[b.key_result_id].append(b)
            previous: dict[str, PreviousFigures] = {}
            stored = await goals.ListMonthlyBriefs(
                goals_pb2.ListMonthlyBriefsRequest(month=previous_month(month)),
                timeout=CALL_TIMEOUT_SECONDS,
                metadata=md,
            )
            for brief in stored.briefs:
                before = previous_of(brief.figures_json)
                if before is not None:
                    previous[brief.department_id] = before
        async with channel(self.settings.feedback_addr) as fch:
            feedback = feedback_pb2_grpc.FeedbackServiceStub(fch)
            frequency = await feedback.GetFeedbackFrequency(
                feedback_pb2.GetFeedbackFrequencyRequest(from_week=weeks[0], to_week=weeks[-1]),
                timeout=CALL_TIMEOUT_SECONDS,
                metadata=md,
            )
        given: dict[str, int] = defaultdict(int)
        for row in frequency.rows:
            given[row.department_id] += row.total
        rows = []
        for kr in key_results:
            risk = _risk_name(kr.risk.status)
            open_blockers = blockers.get(kr.id, [])
            # Red: at risk with a blocker naming another department (the escalation's red).
            red = risk == Risk.AT_RISK.value and any(
                b.department_id != kr.department_id for b in open_blockers
            )
            rows.append(
                KeyResultRow(
                    kr.id,
                    kr.title,
                    kr.department_id,
                    kr.score,
                    risk,
                    red,
                    [b.text for b in open_blockers],
                )
            )
        data = BriefData(
            month=month,
            departments=departments,
            key_results=rows,
            headcount=dict(headcount),
            checked_in={d: {w: len(p) for w, p in by.items()} for d, by in checked.items()},
            alignment={d: (a, n) for d, (a, n) in aligned.items()},
            feedback_given=dict(given),
            previous=previous,
        )
        return data, heads, sorted(set(executives))

    @activity.defn(name=RENDER_ACTIVITY)
    async def render(self, input: BriefRenderInput) -> None:
        md = metadata(workflow_actor())
        try:
            async with channel(self.settings.goals_addr) as ch:
                goals = goals_pb2_grpc.GoalsServiceStub(ch)
                stored = await goals.GetMonthlyBrief(
                    goals_pb2.GetMonthlyBriefRequest(
                        month=input.month, department_id=input.department_id
                    ),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
                figures, rows, left_off = parse_brief_json(stored.figures_json)
                documents = [
                    goals_pb2.MonthlyBriefDocument(
                        language=language,
                        html=render_html(figures, rows, language, left_off),
                        pdf=render_pdf(figures, rows, language, left_off),
                    )
                    for language in LANGUAGES
                ]
                await goals.PutMonthlyBrief(
                    goals_pb2.PutMonthlyBriefRequest(
                        month=input.month, department_id=input.department_id, documents=documents
                    ),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
        except grpc.aio.AioRpcError as err:
            raise to_application_error("goals", err, ERROR_REFUSED) from err


async def brief_pdfs(
    goals_addr: str, month: str, department_ids: list[str], language: str, md: Any
) -> list[tuple[str, bytes]]:
    """(file name, PDF) of the stored briefs of ``department_ids`` in ``language`` (English
    for a language not rendered); a department without a stored brief is left out."""
    language = language if language in LANGUAGES else EN
    found: list[tuple[str, bytes]] = []
    async with channel(goals_addr) as ch:
        goals = goals_pb2_grpc.GoalsServiceStub(ch)
        for department_id in department_ids:
            try:
                brief = await goals.GetMonthlyBrief(
                    goals_pb2.GetMonthlyBriefRequest(
                        month=month, department_id=department_id, language=language
                    ),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
            except grpc.aio.AioRpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    continue
                raise
            for document in brief.documents:
                found.append((f"brief-{month}-{department_id}-{language}.pdf", document.pdf))
    return found


def _heartbeat(done: int) -> None:
    try:
        activity.heartbeat(done)
    except RuntimeError:  # outside an activity (tests)
        pass
