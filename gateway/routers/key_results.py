from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated, Any

import grpc
import structlog
from fastapi import Query, Request, Response
from pydantic import ValidationError
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)

from gateway.convert import enum_number, to_dict
from gateway.deps import Deps, FilterId, FilterIdItem, Paging, PathId, RpcDep
from gateway.problems import ProblemError
from gateway.routers.common import created, page, temporal_client, temporal_problem
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.check_ins import CheckIn, CheckInCreate
from gateway.schemas.common import Page, Week
from gateway.schemas.key_results import (
    EscalationState,
    KeyResult,
    KeyResultUpdate,
    Revision,
    RevisionCreate,
    SelfScore,
)
from gateway.schemas.words import RiskStatus
from gateway.security import Access, Allow
from services.goals.domain import MAX_KEY_RESULT_OWNERS
from stride.goals.v1 import goals_pb2 as pb
from workflows import ids

log = structlog.get_logger(__name__)

router = ResourceRouter(prefix="/key-results", tags=["key-results"], route_class=StrideRoute)

ESCALATION_QUERY = "state"


@router.get(
    "",
    response_model=Page[KeyResult],
    name="search_key_results",
    description="Key results by owner (default: the caller's own — what the phone's check-in "
    "screen lists), department, cycle, risk status. `owner_id` is repeatable (a team's key "
    f"results in one call, at most {MAX_KEY_RESULT_OWNERS} people). Others' as far as the "
    "caller may read their goals (managers: reports; department heads: their departments; "
    "HR, admin, executive: all): every person named is checked, and one the caller may not read "
    "refuses the whole request.",
)
async def search_key_results(
    rpc: RpcDep,
    paging: Paging,
    cycle_id: FilterId = "",
    owner_id: Annotated[list[FilterIdItem], Query(max_length=MAX_KEY_RESULT_OWNERS)] = [],  # noqa: B006
    department_id: FilterId = "",
    objective_id: FilterId = "",
    risk_status: RiskStatus | None = None,
    access: Access = Allow("key_result.list"),
) -> dict[str, Any]:
    owners = await access.goals_filter_many(owner_id, department_id)
    msg = await rpc(
        rpc.goals.ListKeyResults,
        pb.ListKeyResultsRequest(
            page=paging.proto(),
            cycle_id=cycle_id,
            # One person goes in owner_id, as before owner_ids existed.
            owner_id=owners[0] if len(owners) == 1 else "",
            owner_ids=owners if len(owners) > 1 else [],
            department_id=department_id,
            objective_id=objective_id,
            risk_status=(
                enum_number(pb.RiskStatus, risk_status)
                if risk_status
                else pb.RISK_STATUS_UNSPECIFIED
            ),
        ),
    )
    return page(msg, "key_results")


@router.get("/{key_result_id}", response_model=KeyResult, name="get_key_result")
async def get_key_result(
    key_result_id: PathId, access: Access = Allow("key_result.read")
) -> dict[str, Any]:
    return to_dict(access.resource)


@router.patch(
    "/{key_result_id}",
    response_model=KeyResult,
    name="update_key_result",
    description="Key results of draft objectives only (approved ones change their target "
    "through a revision); only the fields sent change.",
)
async def update_key_result(
    key_result_id: PathId,
    body: KeyResultUpdate,
    rpc: RpcDep,
    access: Access = Allow("key_result.update"),
) -> dict[str, Any]:
    await access.may_give_to(body.owner_id or "", access.resource.owner_id)
    req = pb.UpdateKeyResultRequest(id=key_result_id)
    sent = body.model_dump(exclude_unset=True)
    for name in (
        "title",
        "owner_id",
        "baseline",
        "target",
        "unit",
        "weight",
        "confidence",
        "lower_bound",
        "upper_bound",
    ):
        if sent.get(name) is not None:
            setattr(req, name, sent[name])
    if body.data_source is not None:
        req.data_source = enum_number(pb.DataSource, body.data_source)
    if body.milestones is not None:
        req.set_milestones = True
        req.milestones.extend(body.milestones)
    if body.plan is not None:
        req.set_plan = True
        req.plan.extend(
            pb.PlanPoint(date=p.date.isoformat(), progress=p.progress) for p in body.plan
        )
    return to_dict(await rpc(rpc.goals.UpdateKeyResult, req))


@router.post(
    "/{key_result_id}/self-score",
    response_model=KeyResult,
    name="set_self_score",
    description="The owner's own score (0..1) in the cycle's closing phase.",
)
async def set_self_score(
    key_result_id: PathId,
    body: SelfScore,
    rpc: RpcDep,
    access: Access = Allow("key_result.self_score"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.SetSelfScore,
        pb.SetSelfScoreRequest(
            key_result_id=key_result_id, self_score=body.self_score, note=body.note
        ),
    )
    return to_dict(msg)


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
    access: Access = Allow("checkin.record", load=False),
) -> dict[str, Any]:
    # One call: goals applies the owner rule on the key result it locks.
    employee_id, any_owner = access.actor()
    try:
        msg = await rpc(
            rpc.goals.RecordCheckIn,
            pb.RecordCheckInRequest(
                key_result_id=key_result_id,
                recorded_by=access.caller.actor,
                actor=pb.CheckInActor(employee_id=employee_id, any_owner=any_owner),
                **body.proto_fields(),
            ),
        )
    except grpc.aio.AioRpcError as exc:
        problem = await access.refusal(exc, key_result_id)
        if problem is None:
            raise
        raise problem from exc
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


@router.get(
    "/{key_result_id}/check-ins/history",
    response_model=Page[CheckIn],
    tags=["check-ins"],
    name="list_check_in_history",
    description="Every submitted version of the key result's check-ins (optionally of one "
    "week), oldest first.",
)
async def list_check_in_history(
    key_result_id: PathId,
    rpc: RpcDep,
    paging: Paging,
    week: Annotated[Week | None, Query(description='ISO week "YYYY-Www"')] = None,
    access: Access = Allow("checkin.history"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.ListCheckInHistory,
        pb.ListCheckInHistoryRequest(
            page=paging.proto(), key_result_id=key_result_id, week=week or ""
        ),
    )
    return page(msg, "check_ins")


@router.post(
    "/{key_result_id}/revisions",
    status_code=201,
    response_model=Revision,
    tags=["revisions"],
    name="request_revision",
    description="Asks the manager to approve a new target for an approved key result "
    "(mid-cycle), with the reason; the history keeps both versions.",
)
async def request_revision(
    key_result_id: PathId,
    body: RevisionCreate,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("revision.request"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.RequestRevision,
        pb.RequestRevisionRequest(
            key_result_id=key_result_id,
            new_target=body.new_target,
            reason=body.reason,
            requested_by=access.caller.actor,
        ),
    )
    created(request, response, "list_revisions", key_result_id=key_result_id)
    return to_dict(msg)


@router.get(
    "/{key_result_id}/revisions",
    response_model=Page[Revision],
    tags=["revisions"],
    name="list_revisions",
)
async def list_revisions(
    key_result_id: PathId, rpc: RpcDep, paging: Paging, access: Access = Allow("revision.list")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.ListRevisions,
        pb.ListRevisionsRequest(page=paging.proto(), key_result_id=key_result_id),
    )
    return page(msg, "revisions")


def _temporal_problem(exc: Exception) -> ProblemError:
    if isinstance(exc, WorkflowQueryFailedError | WorkflowQueryRejectedError):
        return ProblemError(502, "escalation_query_failed", "The escalation workflow failed.")
    return temporal_problem(
        exc,
        ProblemError(404, "escalation_not_found", "This key result has no escalation workflow."),
    )


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
    client = await temporal_client(deps)
    handle = client.get_workflow_handle(ids.kr_escalation(key_result_id))
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
