"""Dashboards of a cycle from goals' read models (per department, kept from the event
stream): the whole organisation, a department with the departments below it, and the
caller's own organisation (their reports' departments and the departments they head)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import Any

from fastapi import Response

from gateway.convert import model_dict, model_json
from gateway.deps import PageParams, Paging, PathId, RpcDep
from gateway.problems import ProblemError
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import Page
from gateway.schemas.dashboards import Dashboard, DepartmentDashboard, RiskItem
from gateway.security import Access, Allow, department_and_below, organisation_reach
from services.common.tasks import settle
from stride.feedback.v1 import feedback_pb2 as fpb
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import week_of

router = ResourceRouter(prefix="/dashboards", tags=["dashboards"], route_class=StrideRoute)

PAGED = (
    " Paged by department: `departments` is one page of `page_size` departments in "
    "department id order (people_only rows among them; follow `next_page_token`); `total`, "
    "`weeks`, `feedback` and `feedback_given` cover every department shown, on every page."
)


async def _dashboard(
    rpc: RpcDep,
    cycle_id: str,
    departments: list[str] | None,
    paging: PageParams,
    people: Sequence[str] = (),
) -> Response:
    """The dashboard's answer, serialized here: a page of departments read straight from
    goals' message into :class:`Dashboard`'s shape (gateway.convert.model_dict) cost half
    what converting, then validating, every value does; the bytes are the same."""
    request = pb.GetDashboardRequest(
        cycle_id=cycle_id, all_departments=departments is None, page=paging.proto()
    )
    request.department_ids.extend(departments or [])
    request.owner_ids.extend(people)
    # The read model's answer is asked for while the cycle and feedback calls run: the
    # dashboard costs the slower of the two, not their sum.
    dashboard = asyncio.ensure_future(rpc(rpc.goals.GetDashboard, request))
    try:
        cycle = await rpc(rpc.goals.GetCycle, pb.GetCycleRequest(id=cycle_id))
        frequency = await rpc(
            rpc.feedback.GetFeedbackFrequency,
            fpb.GetFeedbackFrequencyRequest(
                from_week=week_of(date.fromisoformat(cycle.start_date)),
                to_week=week_of(date.fromisoformat(cycle.end_date)),
                department_ids=departments or [],
                totals_only=True,
            ),
        )
        answer = await dashboard
    finally:
        settle(dashboard)
    return Response(model_json(with_feedback(answer, frequency)), media_type="application/json")


def with_feedback(dashboard: pb.Dashboard, frequency: fpb.FeedbackFrequency) -> dict[str, Any]:
    """The dashboard (:class:`Dashboard`'s fields) with feedback frequency (per whole
    department of the page's rows; per week and in all over every department shown) and the
    next page's token."""
    by_department = {r.department_id: r.total for r in frequency.by_department}
    weeks = [{"week": r.week, "given": r.total} for r in frequency.by_week]
    return model_dict(
        dashboard,
        Dashboard,
        departments=[
            model_dict(
                row,
                DepartmentDashboard,
                feedback_given=0 if row.people_only else by_department.get(row.department_id, 0),
            )
            for row in dashboard.departments
        ],
        feedback=weeks,
        feedback_given=sum(w["given"] for w in weeks),
        next_page_token=dashboard.page.next_page_token,
    )


async def _my_organisation(rpc: RpcDep, access: Access) -> tuple[list[str] | None, list[str]]:
    """The caller's organisation: (whole departments, other reports); ``(None, [])`` when it
    is every department (whoever heads the root: answered as the organisation, not by naming
    thousands of departments); 404 when empty."""
    assert access.caller is not None
    reach = await organisation_reach(rpc, access.caller.id, transitive=True)
    if reach.whole_organisation:
        return None, []
    departments = list(dict.fromkeys([*reach.report_department_ids, *reach.headed_department_ids]))
    if not departments and not reach.report_ids:
        raise ProblemError(
            404, "no_organisation", "Nobody reports to you and you head no department."
        )
    return departments, list(reach.report_ids)


@router.get(
    "/{cycle_id}/organisation",
    response_model=Dashboard,
    name="get_organisation_dashboard",
    description="Every department of the cycle: completion, score distribution, weekly "
    "check-ins, behind / at-risk / stale counts and alignment % (HR, admin, executives)." + PAGED,
)
async def organisation(
    rpc: RpcDep, paging: Paging, cycle_id: PathId, access: Access = Allow("dashboard.organisation")
) -> Response:
    return await _dashboard(rpc, cycle_id, None, paging)


@router.get(
    "/{cycle_id}/departments/{department_id}",
    response_model=Dashboard,
    name="get_department_dashboard",
    description="A department and every department below it (its heads and heads above, "
    "HR, admin, executives)." + PAGED,
)
async def department(
    department_id: PathId,
    rpc: RpcDep,
    paging: Paging,
    cycle_id: PathId,
    access: Access = Allow("dashboard.department"),
) -> Response:
    departments = await department_and_below(rpc, department_id)
    return await _dashboard(rpc, cycle_id, departments, paging)


@router.get(
    "/{cycle_id}/my-organisation",
    response_model=Dashboard,
    name="get_my_organisation_dashboard",
    description="The caller's organisation (managers and department heads): the departments "
    "whose every member reports to them (all levels down), the departments they head with "
    "those below, and the goals of their other reports (rows marked `people_only`); for "
    "whoever heads every department, the organisation's dashboard." + PAGED,
)
async def my_organisation(
    rpc: RpcDep,
    paging: Paging,
    cycle_id: PathId,
    access: Access = Allow("dashboard.my_organisation"),
) -> Response:
    departments, people = await _my_organisation(rpc, access)
    return await _dashboard(rpc, cycle_id, departments, paging, people)


@router.get(
    "/{cycle_id}/my-organisation/at-risk",
    response_model=Page[RiskItem],
    name="list_my_organisation_risks",
    description="Key results at risk across the caller's organisation (as "
    "`/my-organisation`), by department, each with the blockers of its latest check-in.",
)
async def my_organisation_risks(
    rpc: RpcDep,
    paging: Paging,
    cycle_id: PathId,
    access: Access = Allow("dashboard.my_organisation"),
) -> dict[str, Any]:
    departments, people = await _my_organisation(rpc, access)
    msg = await rpc(
        rpc.goals.ListRisks,
        pb.ListRisksRequest(
            cycle_id=cycle_id,
            department_ids=departments or [],
            owner_ids=people,
            all_departments=departments is None,
            page=paging.proto(),
        ),
    )
    return page(msg, "items")
