"""The performance archive and calibration.

Who reads whose archive is decided by the feedback service, where the data is read: these
routes pass the caller as the viewer (or actor) and never anything more. An employee reads
their own records, a manager those of the people in their reporting line, HR everyone's;
anything else is 404. HR archives a cycle by hand, exports (audited) and calibrates.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway import archive_export
from gateway.convert import to_dict
from gateway.deps import FilterId, PathId, RpcDep
from gateway.routers.common import created
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.archive import (
    ArchivedCycle,
    Calibration,
    CalibrationChangeBody,
    CalibrationList,
    CalibrationOpenBody,
    GuidanceBody,
    History,
    ManagerRatingBody,
    OptionalRating,
    SelfAssessmentBody,
)
from gateway.schemas.archive import ArchiveRecord as ArchiveRecordOut
from gateway.security import Access, Allow
from services.common.tables import XLSX_MEDIA_TYPE
from stride.common.v1 import common_pb2
from stride.feedback.v1 import archive_pb2 as pb

router = ResourceRouter(tags=["archive"], route_class=StrideRoute)


def _record(msg: pb.ArchiveRecord) -> dict[str, Any]:
    out = to_dict(msg)
    out["feedback_360"] = json.loads(out.pop("feedback_360_json") or "{}")
    out["external_metrics"] = json.loads(out.pop("external_metrics_json") or "{}")
    return out


def _history(msg: pb.History) -> dict[str, Any]:
    return {
        "employee_id": msg.employee_id,
        "entries": [
            {
                "record": _record(e.record),
                "score_delta": e.score_delta if e.HasField("score_delta") else None,
                "rating_direction": e.rating_direction,
            }
            for e in msg.entries
        ],
    }


def _calibration(msg: pb.Calibration) -> dict[str, Any]:
    out = to_dict(msg)
    out["records"] = [_record(r) for r in msg.records]
    return out


# --- archiving -----------------------------------------------------------------------------------
@router.post(
    "/cycles/{cycle_id}/archive",
    response_model=ArchivedCycle,
    name="archive_cycle",
    description="Creates or refreshes the cycle's archive records (the cycle workflow does it "
    "at its end): OKR scores once goals closed the cycle, released 360 aggregates, department "
    "and manager. Ratings and calibration are kept; idempotent.",
    dependencies=[Allow("archive.run")],
)
async def archive_cycle(cycle_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.archive.ArchiveCycle, pb.ArchiveCycleRequest(cycle_id=cycle_id)))


# --- export (before /archive/{employee_id}) -------------------------------------------------------
@router.get(
    "/archive/export",
    name="export_archive",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
    description="HR: the archive records matching the filters, streamed as CSV (UTF-8 with "
    "BOM) or XLSX (written in openpyxl's write-only mode). Audited: who, which filter, how many "
    "rows.",
)
async def export_archive(
    rpc: RpcDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    cycle_id: FilterId = "",
    department_id: FilterId = "",
    rating: Annotated[OptionalRating, Query()] = "",
    access: Access = Allow("archive.export"),
) -> Response:
    def query(token: str) -> pb.ExportArchiveRequest:
        return pb.ExportArchiveRequest(
            viewer_id=access.caller.id,
            cycle_id=cycle_id,
            department_id=department_id,
            rating=rating,
            format=format,
            page=common_pb2.PageRequest(page_size=archive_export.PAGE_SIZE, page_token=token),
        )

    # The first page (audited) before answering: a refusal is still a problem+json.
    first = await rpc(rpc.archive.ExportArchive, query(""))

    async def pages() -> AsyncIterator[pb.ArchivePage]:
        msg = first
        yield msg
        while msg.page.next_page_token:
            msg = await rpc(rpc.archive.ExportArchive, query(msg.page.next_page_token))
            yield msg

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Cache-Control": "no-store", "X-Total-Count": str(first.total)}
    if format == "xlsx":
        xlsx = archive_export.XlsxExport()
        async for p in pages():
            xlsx.add(p.records)
        headers["Content-Disposition"] = f'attachment; filename="stride-archive-{stamp}.xlsx"'
        return StreamingResponse(xlsx.chunks(), media_type=XLSX_MEDIA_TYPE, headers=headers)

    async def lines() -> AsyncIterator[str]:
        yield archive_export.csv_header()
        async for p in pages():
            yield "".join(archive_export.csv_line(archive_export.row(r)) for r in p.records)

    headers["Content-Disposition"] = f'attachment; filename="stride-archive-{stamp}.csv"'
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


# --- history -------------------------------------------------------------------------------------
@router.get(
    "/me/archive",
    response_model=History,
    name="my_archive",
    description="One's own archive records across cycles, oldest first, with the trend.",
)
async def my_archive(rpc: RpcDep, access: Access = Allow("archive.mine")) -> dict[str, Any]:
    me = access.caller.id
    msg = await rpc(rpc.archive.GetHistory, pb.GetHistoryRequest(viewer_id=me, employee_id=me))
    return _history(msg)


@router.get(
    "/archive/{employee_id}",
    response_model=History,
    name="employee_archive",
    description="An employee's archive across cycles with the trend: the employee, the "
    "managers in their reporting line and HR (anyone else: 404).",
)
async def employee_archive(
    employee_id: PathId, rpc: RpcDep, access: Access = Allow("archive.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.archive.GetHistory,
        pb.GetHistoryRequest(viewer_id=access.caller.id, employee_id=employee_id),
    )
    return _history(msg)


@router.put(
    "/me/archive/{cycle_id}/self-assessment",
    response_model=ArchiveRecordOut,
    name="put_self_assessment",
    description="One's own rating and comment for a cycle (until calibrated).",
)
async def put_self_assessment(
    cycle_id: PathId,
    body: SelfAssessmentBody,
    rpc: RpcDep,
    access: Access = Allow("archive.self_assessment"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.archive.SubmitSelfAssessment,
        pb.SubmitSelfAssessmentRequest(
            employee_id=access.caller.id,
            cycle_id=cycle_id,
            rating=body.rating,
            comment=body.comment,
        ),
    )
    return _record(msg)


@router.put(
    "/archive/{employee_id}/{cycle_id}/manager-rating",
    response_model=ArchiveRecordOut,
    name="put_manager_rating",
    description="The direct manager's rating and comment (the manager at archive time once "
    "archived); anyone else: 404.",
)
async def put_manager_rating(
    employee_id: PathId,
    cycle_id: PathId,
    body: ManagerRatingBody,
    rpc: RpcDep,
    access: Access = Allow("archive.manager_rating"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.archive.SubmitManagerRating,
        pb.SubmitManagerRatingRequest(
            manager_id=access.caller.id,
            employee_id=employee_id,
            cycle_id=cycle_id,
            rating=body.rating,
            comment=body.comment,
        ),
    )
    return _record(msg)


# --- calibration (HR) ----------------------------------------------------------------------------
@router.post(
    "/calibrations",
    response_model=Calibration,
    status_code=201,
    name="open_calibration",
    description="The calibration session of a department in a cycle (created on first "
    "open): distribution, guidance, 9-box, records and changes.",
)
async def open_calibration(
    body: CalibrationOpenBody,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("calibration.write"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.archive.OpenCalibration,
        pb.OpenCalibrationRequest(
            actor_id=access.caller.id, department_id=body.department_id, cycle_id=body.cycle_id
        ),
    )
    created(request, response, "get_calibration", calibration_id=msg.id)
    return _calibration(msg)


@router.get("/calibrations", response_model=CalibrationList, name="list_calibrations")
async def list_calibrations(
    rpc: RpcDep, cycle_id: FilterId = "", access: Access = Allow("calibration.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.archive.ListCalibrations,
        pb.ListCalibrationsRequest(viewer_id=access.caller.id, cycle_id=cycle_id),
    )
    return {"items": [_calibration(c) for c in msg.calibrations]}


@router.get("/calibrations/{calibration_id}", response_model=Calibration, name="get_calibration")
async def get_calibration(
    calibration_id: PathId, rpc: RpcDep, access: Access = Allow("calibration.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.archive.GetCalibration,
        pb.GetCalibrationRequest(viewer_id=access.caller.id, id=calibration_id),
    )
    return _calibration(msg)


@router.put(
    "/calibrations/{calibration_id}/guidance",
    response_model=Calibration,
    name="put_calibration_guidance",
    description="A target share per rating, shown next to the actual distribution and never "
    "enforced; an empty object clears it.",
)
async def put_guidance(
    calibration_id: PathId,
    body: GuidanceBody,
    rpc: RpcDep,
    access: Access = Allow("calibration.write"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.archive.SetGuidance,
        pb.SetGuidanceRequest(actor_id=access.caller.id, id=calibration_id, shares=body.shares),
    )
    return _calibration(msg)


@router.post(
    "/calibrations/{calibration_id}/changes",
    response_model=Calibration,
    name="calibrate",
    description="Changes a final rating or a potential; the reason is required. Recorded with "
    "who and the old value, and in the audit trail.",
)
async def calibrate(
    calibration_id: PathId,
    body: CalibrationChangeBody,
    rpc: RpcDep,
    access: Access = Allow("calibration.write"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.archive.Calibrate,
        pb.CalibrateRequest(
            actor_id=access.caller.id,
            id=calibration_id,
            employee_id=body.employee_id,
            field=body.field,
            value=body.value,
            reason=body.reason,
        ),
    )
    return _calibration(msg)
