from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError, RPCStatusCode

from gateway.convert import to_dict
from gateway.deps import Deps, Paging, PathId, RpcDep
from gateway.problems import ProblemError
from gateway.routers.common import created, page
from gateway.schemas import CheckIn, CheckInCreate, EscalationState, KeyResult, Page
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/key-results", tags=["key-results"])

ESCALATION_WORKFLOW_ID = "kr-escalation/{key_result_id}"
ESCALATION_QUERY = "state"


@router.get("/{key_result_id}", response_model=KeyResult, name="get_key_result")
async def get_key_result(
    key_result_id: PathId, access: Access = Allow("key_result.read")
) -> dict[str, Any]:
    return to_dict(access.resource)


@router.post(
    "/{key_result_id}/check-ins",
    status_code=201,
    response_model=CheckIn,
    tags=["check-ins"],
    name="record_check_in",
    description="Records the week's check-in, or replaces it (revision + 1) within the same week. "
    "Only the key result's owner (and admins) may.",
)
async def record_check_in(
    key_result_id: PathId,
    body: CheckInCreate,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("checkin.record"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.RecordCheckIn,
        pb.RecordCheckInRequest(
            key_result_id=key_result_id,
            value=body.value,
            confidence=body.confidence,
            note=body.note,
            week=body.week or "",
        ),
    )
    # There is no single-check-in resource: Location names the key result's check-ins.
    created(request, response, "list_check_ins", key_result_id=key_result_id)
    return to_dict(msg)


@router.get(
    "/{key_result_id}/check-ins",
    response_model=Page[CheckIn],
    tags=["check-ins"],
    name="list_check_ins",
)
async def list_check_ins(
    key_result_id: PathId, rpc: RpcDep, paging: Paging, access: Access = Allow("checkin.list")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.ListCheckIns,
        pb.ListCheckInsRequest(page=paging.proto(), key_result_id=key_result_id),
    )
    return page(msg, "check_ins")


def _temporal_problem(exc: Exception) -> ProblemError:
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.NOT_FOUND:
            return ProblemError(
                404, "escalation_not_found", "This key result has no escalation workflow."
            )
        if exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
            return ProblemError(504, "temporal_timeout", "Temporal did not answer in time.")
        if exc.status == RPCStatusCode.UNAVAILABLE:
            return ProblemError(503, "temporal_unavailable", "Temporal is unavailable.")
    if isinstance(exc, RPCTimeoutOrCancelledError):
        return ProblemError(504, "temporal_timeout", "Temporal did not answer in time.")
    if isinstance(exc, WorkflowQueryFailedError | WorkflowQueryRejectedError):
        return ProblemError(502, "escalation_query_failed", "The escalation workflow failed.")
    return ProblemError(502, "upstream_error", "Temporal failed to handle the request.")


@router.get(
    "/{key_result_id}/escalation",
    response_model=EscalationState,
    tags=["escalations"],
    name="get_escalation",
    description="State of the kr-escalation/<key_result_id> workflow (its `state` query).",
)
async def get_escalation(
    key_result_id: PathId, deps: Deps, access: Access = Allow("escalation.read")
) -> dict[str, Any]:
    try:
        client = await deps.temporal.client()
    except Exception as exc:
        log.warning("cannot connect to Temporal", error=str(exc))
        raise ProblemError(503, "temporal_unavailable", "Temporal is unavailable.") from exc
    handle = client.get_workflow_handle(ESCALATION_WORKFLOW_ID.format(key_result_id=key_result_id))
    try:
        state = await handle.query(
            ESCALATION_QUERY, rpc_timeout=timedelta(seconds=deps.rpc_timeout)
        )
    except Exception as exc:
        problem = _temporal_problem(exc)
        if problem.status >= 500:
            log.warning("escalation query failed", error=repr(exc))
        raise problem from exc
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        state = dataclasses.asdict(state)
    try:
        return EscalationState.model_validate(state).model_dump(mode="json")
    except ValidationError as exc:
        log.warning("unexpected escalation state", error=str(exc))
        raise ProblemError(
            502, "escalation_state_invalid", "The escalation workflow answered in an unknown shape."
        ) from exc
