"""A red key result's coordination meeting: ``GET /key-results/{id}/coordination`` (the
latest ``coordination/<kr>/<n>``'s state query) and ``POST /key-results/{id}/coordination/
outcome`` (its ``record_outcome`` Update).

The coordination is found through the key result's escalation (``kr-escalation/<kr>``, its
``coordinations``). Both routes are for the people invited to it (the owner, the owner's
manager, the blocking department's head), HR and admin (``policy.check_coordination_
participant`` on the coordination's participants); others get 403 ``not_a_participant``. A key
result without a coordination answers 404 ``coordination_not_found``. The Update's validator
refuses an empty outcome (422 ``invalid_outcome``), a follow-up date in the past (422
``invalid_follow_up``) and a resolved coordination (409 ``coordination_resolved``).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from gateway import policy
from gateway.deps import Deps, PathId
from gateway.problems import ProblemError
from gateway.routers.common import temporal_client, temporal_problem
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.blockers import CoordinationOutcomeBody, CoordinationState
from gateway.security import Access, Allow
from workflows import ids
from workflows.coordination import (
    ERROR_CLOSED,
    ERROR_INVALID_FOLLOW_UP,
    ERROR_INVALID_OUTCOME,
    STATUS_OPEN,
    UPDATE_RECORD_OUTCOME,
    OutcomeInput,
)

log = structlog.get_logger(__name__)

router = ResourceRouter(prefix="/key-results", tags=["escalations"], route_class=StrideRoute)

STATE_QUERY = "state"
UPDATE_TIMEOUT = timedelta(seconds=30)
_NOT_FOUND = ProblemError(404, "coordination_not_found", "This key result has no coordination.")
_REFUSALS: dict[str, tuple[int, str, str]] = {
    ERROR_CLOSED: (409, "coordination_resolved", "The coordination is resolved already."),
    ERROR_INVALID_OUTCOME: (422, "invalid_outcome", "outcome must not be empty."),
    ERROR_INVALID_FOLLOW_UP: (
        422,
        "invalid_follow_up",
        "follow_up must be an ISO date, today or later (organisation time).",
    ),
}


def _as_dict(value: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if not isinstance(value, dict):
        raise ProblemError(502, "coordination_state_invalid", "Unexpected workflow answer.")
    return value


async def _query(handle: WorkflowHandle[Any, Any], timeout: float) -> dict[str, Any]:
    try:
        return _as_dict(await handle.query(STATE_QUERY, rpc_timeout=timedelta(seconds=timeout)))
    except ProblemError:
        raise
    except Exception as exc:
        problem = temporal_problem(exc, _NOT_FOUND)
        if problem.status >= 500:
            log.warning("coordination query failed", error=repr(exc))
        raise problem from exc


async def _coordination(
    deps: Deps, access: Access, key_result_id: str
) -> tuple[WorkflowHandle[Any, Any], dict[str, Any]]:
    """The key result's latest coordination and its state, once the caller may see it."""
    client = await temporal_client(deps)
    escalation = await _query(
        client.get_workflow_handle(ids.kr_escalation(key_result_id)), deps.rpc_timeout
    )
    started = escalation.get("coordinations") or []
    if not started:
        raise _NOT_FOUND
    handle = client.get_workflow_handle(started[-1])
    state = await _query(handle, deps.rpc_timeout)
    people = [p.get("employee_id", "") for p in state.get("participants", [])]
    decision = policy.check_coordination_participant(access.caller, people)
    if not decision.allowed:
        raise ProblemError(decision.status, decision.code, decision.detail)
    return handle, {**state, "id": handle.id}


@router.get(
    "/{key_result_id}/coordination",
    response_model=CoordinationState,
    name="get_coordination",
    description="The key result's latest coordination meeting (coordination/<kr>/<n>): who is "
    "invited, when, outcomes, follow-up. Its participants, HR, admin.",
)
async def get_coordination(
    key_result_id: PathId, deps: Deps, access: Access = Allow("coordination.read")
) -> dict[str, Any]:
    _, state = await _coordination(deps, access, key_result_id)
    return CoordinationState.model_validate(state).model_dump(mode="json")


@router.post(
    "/{key_result_id}/coordination/outcome",
    response_model=CoordinationState,
    name="record_coordination_outcome",
    description="Records what the coordination meeting agreed and when to check again; the "
    "participants are reminded once the follow-up date passes unresolved. Its participants, "
    "HR, admin.",
    responses={409: {"description": "the coordination is resolved"}},
)
async def record_coordination_outcome(
    key_result_id: PathId,
    body: CoordinationOutcomeBody,
    deps: Deps,
    access: Access = Allow("coordination.outcome"),
) -> dict[str, Any]:
    handle, known = await _coordination(deps, access, key_result_id)
    if known.get("status") != STATUS_OPEN:
        # A resolved coordination's workflow may have finished: it takes no Update.
        status, code, detail = _REFUSALS[ERROR_CLOSED]
        raise ProblemError(status, code, detail)
    outcome = OutcomeInput(
        outcome=body.outcome, follow_up=body.follow_up.isoformat(), by=access.caller.id
    )
    try:
        state = await handle.execute_update(
            UPDATE_RECORD_OUTCOME, outcome, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        if kind in _REFUSALS:
            status, code, detail = _REFUSALS[kind]
            raise ProblemError(status, code, detail) from exc
        raise ProblemError(502, "coordination_failed", "The coordination workflow failed.") from exc
    except Exception as exc:
        problem = temporal_problem(exc, _NOT_FOUND)
        if problem.status >= 500:
            log.warning("coordination update failed", error=repr(exc))
        raise problem from exc
    return CoordinationState.model_validate({**_as_dict(state), "id": handle.id}).model_dump(
        mode="json"
    )
