"""A line's daily inspection (docs/web.md, docs/telemetry.md): the department's checklist
ticked on the line's shared device, recorded as one telemetry sample.

The route reads the checklist from goals, applies the pure rules of :mod:`gateway.inspection`
and hands the sample to the telemetry service (IngestSamples, the path every HTTP sample
takes). The metric is defined the first time an inspection needs it. Retrying a submission
with its ``submission_id`` records it once (the telemetry service drops a repeated sample).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import grpc

from gateway.deps import PathId, Rpc, RpcDep
from gateway.inspection import InspectionRefused, inspection, sample_id
from gateway.problems import ProblemError, service_code
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.inspections import InspectionRecorded, InspectionSubmit
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as gpb
from stride.telemetry.v1 import telemetry_pb2 as pb
from workflows.vocabulary import INSPECTION_METRIC, INSPECTION_UNIT

router = ResourceRouter(prefix="/departments", tags=["inspections"], route_class=StrideRoute)

METRIC_DESCRIPTION = (
    "Daily inspection of a line: share of its checklist's items ticked (1 = complete); "
    "source = the department's id"
)


async def ensure_metric(rpc: Rpc, defined_by: str) -> None:
    """Define the inspection metric unless it is there (a first inspection, or HR defined it:
    then it is left as it is)."""
    try:
        await rpc(rpc.telemetry.GetMetric, pb.GetMetricRequest(name=INSPECTION_METRIC))
        return
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
    try:
        await rpc(
            rpc.telemetry.DefineMetric,
            pb.DefineMetricRequest(
                name=INSPECTION_METRIC,
                unit=INSPECTION_UNIT,
                description=METRIC_DESCRIPTION,
                expected_interval_seconds=0,  # a line that does not run makes no inspection
                defined_by=defined_by,
            ),
        )
    except grpc.aio.AioRpcError as exc:
        # Defined at the same moment by another line's first inspection: that one counts.
        if service_code(exc) != "concurrent_metric_change":
            raise


@router.post(
    "/{department_id}/inspections",
    status_code=201,
    response_model=InspectionRecorded,
    name="record_inspection",
    description="Record the line's daily inspection: the department's checklist with the items "
    "ticked (members of the department). It becomes one sample of the telemetry metric "
    f"`{INSPECTION_METRIC}` (source: the department's id; value: share of the items ticked). "
    "409 no_checklist when the department has no checklist; 422 unknown_checklist_item / "
    "duplicate_checklist_item; 409 inspection_metric_unit when the metric was defined in "
    "another unit.",
)
async def record_inspection(
    department_id: PathId,
    body: InspectionSubmit,
    rpc: RpcDep,
    access: Access = Allow("inspection.submit"),
) -> dict[str, Any]:
    checklist = await rpc(
        rpc.goals.GetChecklist, gpb.GetChecklistRequest(department_id=department_id)
    )
    try:
        found = inspection([i.id for i in checklist.items], body.checked)
    except InspectionRefused as refused:
        raise ProblemError(refused.status, refused.code, refused.detail) from None
    await ensure_metric(rpc, access.caller.id)
    event_time = datetime.now(UTC).isoformat(timespec="milliseconds")
    sid = sample_id(body.submission_id or uuid.uuid4().hex)
    result = await rpc(
        rpc.telemetry.IngestSamples,
        pb.IngestSamplesRequest(
            samples=[
                pb.Sample(
                    source=department_id,
                    metric=INSPECTION_METRIC,
                    value=found.value,
                    unit=INSPECTION_UNIT,
                    event_time=event_time,
                    sample_id=sid,
                )
            ],
            received_via=f"inspection:{access.caller.id}",
        ),
    )
    if result.rejected:
        reason = result.rejected[0]
        if reason.reason == "wrong_unit":
            raise ProblemError(
                409,
                "inspection_metric_unit",
                f"The metric {INSPECTION_METRIC} is defined in another unit than "
                f"{INSPECTION_UNIT!r}; HR defines it again or removes it.",
            )
        raise ProblemError(422, reason.reason, reason.message)
    return {
        "department_id": department_id,
        "metric": INSPECTION_METRIC,
        "value": found.value,
        "complete": found.complete,
        "items": found.items,
        "checked": list(found.checked),
        "sample_id": sid,
        "event_time": event_time,
        "duplicate": result.duplicates > 0,
    }
