from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway import goals_export
from gateway.convert import to_dict
from gateway.deps import FilterId, Paging, PathId, RpcDep
from gateway.routers.common import created, page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.approvals import Approval
from gateway.schemas.common import Page, Week
from gateway.schemas.cycles import Cycle, CycleCreate, ParticipationReport, PlanSubmit, Scores
from gateway.security import Access, Allow, department_and_below
from services.common import spreadsheets
from services.common.tables import XLSX_MEDIA_TYPE
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2 as pb

router = ResourceRouter(prefix="/cycles", tags=["cycles"], route_class=StrideRoute)


@router.post(
    "",
    status_code=201,
    response_model=Cycle,
    name="create_cycle",
    dependencies=[Allow("cycle.create")],
)
async def create_cycle(
    body: CycleCreate, rpc: RpcDep, request: Request, response: Response
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.CreateCycle,
        pb.CreateCycleRequest(
            name=body.name,
            start_date=body.start_date.isoformat(),
            end_date=body.end_date.isoformat(),
            time_zone=body.time_zone,
            planning_deadline=body.planning_deadline.isoformat() if body.planning_deadline else "",
            approval_deadline=body.approval_deadline.isoformat() if body.approval_deadline else "",
            closing_deadline=body.closing_deadline.isoformat() if body.closing_deadline else "",
        ),
    )
    created(request, response, "get_cycle", cycle_id=msg.id)
    return to_dict(msg)


@router.get("", response_model=Page[Cycle], name="list_cycles", dependencies=[Allow("cycle.read")])
async def list_cycles(rpc: RpcDep, paging: Paging) -> dict[str, Any]:
    msg = await rpc(rpc.goals.ListCycles, pb.ListCyclesRequest(page=paging.proto()))
    return page(msg, "cycles")


@router.get(
    "/{cycle_id}", response_model=Cycle, name="get_cycle", dependencies=[Allow("cycle.read")]
)
async def get_cycle(cycle_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.goals.GetCycle, pb.GetCycleRequest(id=cycle_id)))


@router.post(
    "/{cycle_id}/close",
    response_model=Cycle,
    name="close_cycle",
    dependencies=[Allow("cycle.close")],
)
async def close_cycle(cycle_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.goals.CloseCycle, pb.CloseCycleRequest(id=cycle_id)))


@router.get(
    "/{cycle_id}/scores",
    response_model=Scores,
    name="get_scores",
    description="Scores (0..1) per objective, person and department, and alignment % "
    "(share of non-company objectives aligned to a parent). HR, admin and executives see "
    "the whole cycle (or filter); department heads pass `department_id` of a department "
    "they head (or one below; the departments below it are included); managers `owner_id` "
    "of a report; without filters everyone else sees their own. Paged by person: a page "
    "holds `page_size` people in employee id order with the objectives they own; "
    "`departments`, `alignment`, `aligned_count` and `objective_count` are the whole "
    "(filtered) cycle's and come on the first page only (empty / 0 on the following ones).",
)
async def get_scores(
    cycle_id: PathId,
    rpc: RpcDep,
    paging: Paging,
    department_id: FilterId = "",
    owner_id: FilterId = "",
    access: Access = Allow("cycle.scores"),
) -> dict[str, Any]:
    owner_id = await access.goals_filter(owner_id, department_id)
    departments = await department_and_below(rpc, department_id) if department_id else []
    msg = await rpc(
        rpc.goals.GetScores,
        pb.GetScoresRequest(
            cycle_id=cycle_id,
            department_id=department_id,
            department_ids=departments,
            owner_id=owner_id,
            page=paging.proto(),
        ),
    )
    return paged(msg)


def paged(message: Any) -> dict[str, Any]:
    """A paged report as its fields and ``next_page_token``."""
    body = to_dict(message)
    body.pop("page", None)
    body["next_page_token"] = message.page.next_page_token
    return body


@router.get(
    "/{cycle_id}/participation",
    response_model=ParticipationReport,
    name="get_participation",
    dependencies=[Allow("cycle.participation")],
    description="Per person: objectives drafted / pending / approved and key results checked "
    "in during `week` (default: the current week in the cycle's time zone); `owner_id` "
    "(repeatable) and `department_id` (with the departments below it) narrow it. Paged by "
    "person: `page_size` people a page in employee id order.",
)
async def get_participation(
    cycle_id: PathId,
    rpc: RpcDep,
    paging: Paging,
    week: Annotated[Week | None, Query(description='ISO week "YYYY-Www"')] = None,
    owner_id: Annotated[list[str], Query(max_length=200)] = [],  # noqa: B006
    department_id: FilterId = "",
) -> dict[str, Any]:
    departments = await department_and_below(rpc, department_id) if department_id else []
    msg = await rpc(
        rpc.goals.GetParticipation,
        pb.GetParticipationRequest(
            cycle_id=cycle_id,
            week=week or "",
            owner_ids=owner_id,
            department_ids=departments,
            page=paging.proto(),
        ),
    )
    return paged(msg)


@router.post(
    "/{cycle_id}/plan/submit",
    status_code=201,
    response_model=Approval,
    tags=["approvals"],
    name="submit_plan",
    description="Submits the caller's draft objectives of the cycle (all, or `objective_ids`) "
    "for their manager's approval; answers with the pending approval.",
)
async def submit_plan(
    cycle_id: PathId,
    body: PlanSubmit,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("plan.submit"),
) -> dict[str, Any]:
    employee_id = await access.acting_for(body.employee_id)
    msg = await rpc(
        rpc.goals.SubmitPlan,
        pb.SubmitPlanRequest(
            cycle_id=cycle_id, employee_id=employee_id, objective_ids=body.objective_ids
        ),
    )
    created(request, response, "get_approval", approval_id=msg.id)
    return to_dict(msg)


@router.get(
    "/{cycle_id}/exports/{kind}",
    name="export_goals",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
    description="HR: the cycle's objectives, key results, scores (per person) or check-ins, "
    "of one department and those below it or of all, streamed as CSV (UTF-8 with BOM) or "
    "XLSX. Audited: who, which export and filter, how many rows.",
)
async def export_goals(
    cycle_id: PathId,
    kind: Literal["objectives", "key_results", "scores", "check_ins"],
    rpc: RpcDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    department_id: FilterId = "",
    access: Access = Allow("goals.export"),
) -> Response:
    departments = await department_and_below(rpc, department_id) if department_id else []

    def query(token: str) -> pb.ExportGoalsRequest:
        return pb.ExportGoalsRequest(
            kind=kind,
            cycle_id=cycle_id,
            department_ids=departments,
            department_id=department_id,
            format=format,
            page=common_pb2.PageRequest(page_size=goals_export.PAGE_SIZE, page_token=token),
        )

    # The first page (audited) before answering: a refusal is still a problem+json.
    first = await rpc(rpc.goals.ExportGoals, query(""))

    async def pages() -> AsyncIterator[pb.ExportPage]:
        msg = first
        yield msg
        while msg.page.next_page_token:
            msg = await rpc(rpc.goals.ExportGoals, query(msg.page.next_page_token))
            yield msg

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"stride-{kind.replace('_', '-')}-{stamp}"
    headers = {"Cache-Control": "no-store", "X-Total-Count": str(first.total)}
    if format == "xlsx":
        xlsx = spreadsheets.XlsxSheet(kind, list(first.columns))
        async for p in pages():
            for row in p.rows:
                xlsx.append(goals_export.values(row))
        headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return StreamingResponse(xlsx.chunks(), media_type=XLSX_MEDIA_TYPE, headers=headers)

    async def lines() -> AsyncIterator[str]:
        yield spreadsheets.csv_header(list(first.columns))
        async for p in pages():
            yield goals_export.csv_lines(p.rows)

    headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)
