"""Month-end department briefs (workflow ``report/monthly/<yyyy-mm>``, docs/reports.md):

- ``GET /reports/monthly/{month}``: the month's briefs, one per department (HR, admin,
  executives);
- ``GET /reports/monthly/{month}/{department_id}.pdf`` and ``.html``: one department's brief
  in ``language`` (zh-CN or en; default en): HR, admin,
  executives, and the department's heads (and heads above);
- ``POST /reports/monthly/{month}/run``: brief that month now (HR, admin); a month briefed
  before is briefed again, and nobody gets a second e-mail.

Goals stores the briefs; 404 ``monthly_brief_not_found`` for a month (or department) never
briefed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Response
from fastapi.responses import HTMLResponse
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from gateway.deps import Deps, PathId, RpcDep
from gateway.problems import ProblemError
from gateway.routers.common import temporal_client, temporal_unavailable
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.reports import MonthlyBriefList, MonthlyBriefRun
from gateway.schemas.words import Language
from gateway.security import Access, Allow
from services.worker.schedules import start_monthly_brief
from stride.goals.v1 import goals_pb2 as pb
from workflows import ids
from workflows.brief_figures import parse_brief_json
from workflows.vocabulary import DEFAULT_TIME_ZONE, MONTH_PATTERN, month_bounds

router = ResourceRouter(prefix="/reports/monthly", tags=["reports"], route_class=StrideRoute)

Month = Annotated[str, Path(pattern=MONTH_PATTERN, description="yyyy-mm")]
LanguageQuery = Annotated[Language, Query(description="zh-CN or en")]
NOT_BRIEFED = ("monthly_brief_not_found", "No brief for this month.")


def _summary(brief: pb.MonthlyBrief) -> dict[str, Any]:
    figures, _, _ = parse_brief_json(brief.figures_json)
    base = f"/api/v1/reports/monthly/{brief.month}/{brief.department_id}"
    return {
        "month": brief.month,
        "department_id": brief.department_id,
        "department_name": brief.department_name,
        "languages": list(brief.languages),
        "completion": figures.completion,
        "mean_score": figures.mean_score,
        "at_risk": figures.at_risk,
        "red": figures.red,
        "trend": figures.trend,
        "pdf": f"{base}.pdf",
        "html": f"{base}.html",
        "updated_at": brief.updated_at,
    }


@router.get(
    "/{month}",
    response_model=MonthlyBriefList,
    name="list_monthly_briefs",
    description="The month's department briefs (headline figures and download paths), by "
    "department name. HR, admin, executives: every department; a department head: the "
    "departments they head and those below (the brief's e-mail links them here). 404 "
    "`monthly_brief_not_found` for a month never briefed (for a head: none of theirs); 403 "
    "for anyone else.",
)
async def list_monthly_briefs(
    month: Month, rpc: RpcDep, access: Access = Allow("report.list")
) -> dict[str, Any]:
    scope = await access.scope()
    if not scope.everything and not scope.department_ids:
        raise ProblemError(403, "forbidden", "Briefs are listed for management and the heads.")
    found = await rpc(rpc.goals.ListMonthlyBriefs, pb.ListMonthlyBriefsRequest(month=month))
    briefs = list(found.briefs)
    if not scope.everything:
        mine = set(scope.department_ids)
        briefs = [b for b in briefs if b.department_id in mine]
    if not briefs:
        raise ProblemError(404, *NOT_BRIEFED)
    return {"month": month, "items": [_summary(b) for b in briefs]}


async def _document(
    rpc: RpcDep, month: str, department_id: str, language: str
) -> pb.MonthlyBriefDocument:
    brief = await rpc(
        rpc.goals.GetMonthlyBrief,
        pb.GetMonthlyBriefRequest(month=month, department_id=department_id, language=language),
    )
    if not brief.documents:
        raise ProblemError(404, *NOT_BRIEFED)
    document: pb.MonthlyBriefDocument = brief.documents[0]
    return document


@router.get(
    "/{month}/{department_id}.pdf",
    name="get_monthly_brief_pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    description="One department's brief as a PDF with charts (the CJK font embedded). HR, "
    "admin, executives, the department's heads (and heads above).",
)
async def get_monthly_brief_pdf(
    month: Month,
    department_id: PathId,
    rpc: RpcDep,
    language: LanguageQuery = "en",
    access: Access = Allow("report.read"),
) -> Response:
    document = await _document(rpc, month, department_id, language)
    return Response(
        document.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f'inline; filename="brief-{month}-{department_id}-{language}.pdf"'
            ),
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/{month}/{department_id}.html",
    name="get_monthly_brief_html",
    response_class=HTMLResponse,
    description="One department's brief as one HTML page with inline SVG charts. HR, admin, "
    "executives, the department's heads (and heads above).",
)
async def get_monthly_brief_html(
    month: Month,
    department_id: PathId,
    rpc: RpcDep,
    language: LanguageQuery = "en",
    access: Access = Allow("report.read"),
) -> HTMLResponse:
    document = await _document(rpc, month, department_id, language)
    return HTMLResponse(
        document.html,
        headers={
            "Cache-Control": "private, no-store",
            # The page is data, not an app: no scripts, styles inline at most.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


@router.post(
    "/{month}/run",
    status_code=202,
    response_model=MonthlyBriefRun,
    name="run_monthly_brief",
    description="Briefs the month now as report/monthly/<yyyy-mm> (again, if it ran before: "
    "the e-mails already sent are not sent again; while that month is being briefed, its "
    "running run is the answer). HR, admin. 503 `temporal_unavailable`.",
)
async def run_monthly_brief(
    month: Month, deps: Deps, access: Access = Allow("report.run")
) -> dict[str, Any]:
    if month_bounds(month) is None:
        raise ProblemError(422, "invalid_month", "The month must be yyyy-mm, years 2000..2100.")
    client = await temporal_client(deps)
    try:
        handle = await start_monthly_brief(
            client, month, task_queue=deps.task_queue, time_zone=DEFAULT_TIME_ZONE
        )
    except WorkflowAlreadyStartedError as running:
        # That month is being briefed right now: the caller's request is that run.
        return {
            "workflow_id": ids.monthly_brief(month),
            "run_id": running.run_id or "",
            "month": month,
        }
    except (RPCError, ConnectionError, TimeoutError) as exc:
        raise temporal_unavailable() from exc
    return {"workflow_id": handle.id, "run_id": handle.result_run_id or "", "month": month}
