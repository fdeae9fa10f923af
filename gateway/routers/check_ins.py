"""The phone screen's bulk check-in: one request for all of a person's key results."""

from __future__ import annotations

import re
from typing import Any

import grpc

from gateway.body_limit import BULK_BODY
from gateway.convert import to_dict
from gateway.deps import RpcDep
from gateway.problems import ProblemError, service_code
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.check_ins import BulkCheckIn, BulkCheckInResult
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb

router = ResourceRouter(prefix="/check-ins", tags=["check-ins"], route_class=StrideRoute)

_ENTRY = re.compile(r"^(check_ins\[\d+\]): ")


def _hidden(exc: grpc.aio.AioRpcError) -> ProblemError | None:
    """Someone else's key result in the list answers like a missing one (no existence leak,
    as for a single check-in)."""
    if exc.code() != grpc.StatusCode.PERMISSION_DENIED or service_code(exc) != "not_owner":
        return None
    entry = _ENTRY.match(exc.details() or "")
    where = f"{entry[1]}: " if entry else ""
    return ProblemError(404, "key_result_not_found", f"{where}key result not found")


@router.post(
    "",
    status_code=201,
    response_model=BulkCheckInResult,
    name="record_check_ins",
    openapi_extra=BULK_BODY,
    description="Checks in on several of the caller's key results at once: all are recorded "
    "or none (a bad entry or someone else's key result refuses the whole request). Each "
    "entry replaces that week's check-in of its key result like a single check-in does.",
)
async def record_check_ins(
    body: BulkCheckIn, rpc: RpcDep, access: Access = Allow("checkin.bulk")
) -> dict[str, Any]:
    owner_id = await access.acting_for(body.owner_id)
    actor = access.caller.actor
    request = pb.RecordCheckInsRequest(
        owner_id=owner_id,
        week=body.week or "",
        recorded_by=actor,
        check_ins=[
            pb.RecordCheckInRequest(
                key_result_id=entry.key_result_id, recorded_by=actor, **entry.proto_fields()
            )
            for entry in body.check_ins
        ],
    )
    try:
        msg = await rpc(rpc.goals.RecordCheckIns, request)
    except grpc.aio.AioRpcError as exc:
        problem = _hidden(exc)
        if problem is None:
            raise
        raise problem from exc
    return to_dict(msg)
