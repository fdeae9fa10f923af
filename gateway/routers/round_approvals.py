"""The manager approves a 360 round's rater list:
``POST /feedback-rounds/{round_id}/nominations/approve`` {"rater_ids": [...]}.

The round is read from the feedback service (``RoundService.GetRound`` with the caller as the
viewer: who may not see it gets 404 ``round_not_found`` like a missing round). Only the
round's manager or HR approves, never the subject (403 ``own_round`` / ``not_the_manager``):
the rule ``feedback_round.approve`` lets people through and this route narrows it. The gateway
applies the workflow's own rule (:func:`workflows.round_rules.approval_error`) to what the
service says first, then executes the Update ``approve_nominations`` on
``feedback-round/<cycle>/<subject>``, whose validator is the authority. Refusals: 409
``round_not_nominating``, 422 ``no_raters`` / ``duplicate_rater``, 409 ``nominations_refused``
(the service refused, e.g. a rater who was not nominated); the workflow not there yet (the
round.started event is on its way) 503 ``round_workflow_unavailable``.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from gateway.deps import Deps, PathId, RpcDep
from gateway.policy import HR
from gateway.problems import ProblemError
from gateway.routers.common import temporal_client, temporal_problem, update_once_started
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.round_approvals import ApprovedRound, ApproveNominationsBody
from gateway.security import Access, Allow
from stride.feedback.v1 import rounds_pb2 as pb
from workflows import ids
from workflows.round_rules import (
    ERROR_DUPLICATE_RATER,
    ERROR_NO_RATERS,
    ERROR_NOT_MANAGER,
    ERROR_NOT_NOMINATING,
    ERROR_OWN_ROUND,
    ERROR_REFUSED,
    ERROR_TOO_MANY_RATERS,
    UPDATE_APPROVE,
    ApproveNominationsInput,
    RoundState,
    approval_error,
)

log = structlog.get_logger(__name__)

router = ResourceRouter(
    prefix="/feedback-rounds", tags=["feedback-rounds"], route_class=StrideRoute
)

# The approval waits for the feedback service to record it (the workflow's activity).
UPDATE_TIMEOUT = timedelta(seconds=60)

WORKFLOW_NOT_READY = "round_workflow_unavailable"
_REFUSALS: dict[str, tuple[int, str]] = {
    ERROR_OWN_ROUND: (403, "Nobody approves the raters of their own round."),
    ERROR_NOT_MANAGER: (403, "Only the subject's manager or HR approves the rater list."),
    ERROR_NOT_NOMINATING: (409, "The rater list is not open for approval (approved or closed)."),
    ERROR_NO_RATERS: (422, "rater_ids must name at least one rater."),
    ERROR_DUPLICATE_RATER: (422, "rater_ids names a rater twice."),
    ERROR_TOO_MANY_RATERS: (422, "rater_ids names too many raters."),
    ERROR_REFUSED: (409, "The feedback service refused the list (a rater was not nominated?)."),
    WORKFLOW_NOT_READY: (503, "The round is not ready yet; retry shortly."),
}


def _problem(code: str) -> ProblemError:
    status, detail = _REFUSALS[code]
    return ProblemError(status, code, detail)


def _refused(err: WorkflowUpdateFailedError) -> ProblemError:
    cause = err.cause
    kind = cause.type if isinstance(cause, ApplicationError) else None
    if kind in _REFUSALS:
        return _problem(str(kind))
    return ProblemError(502, "round_workflow_failed", "The round's workflow failed.")


@router.post(
    "/{round_id}/nominations/approve",
    response_model=ApprovedRound,
    name="approve_round_nominations",
    description="Approves the rater list of a 360 round (nominated raters to invite; self and "
    "the manager always stay); the raters are invited next. The subject's manager or HR.",
    responses={409: {"description": "not open for approval, or refused by the service"}},
)
async def approve_nominations(
    round_id: PathId,
    body: ApproveNominationsBody,
    deps: Deps,
    rpc: RpcDep,
    access: Access = Allow("feedback_round.approve"),
) -> dict[str, Any]:
    caller = access.caller
    found = await rpc(
        rpc.rounds.GetRound, pb.GetRoundRequest(round_id=round_id, viewer_id=caller.id)
    )
    update = ApproveNominationsInput(
        actor_id=caller.id, rater_ids=list(body.rater_ids), actor_is_hr=caller.has_role(HR)
    )
    # The workflow's own rule, first on what the service says (a closed round's workflow has
    # ended); the Update's validator checks again on the workflow's state.
    early = approval_error(found.phase, False, found.subject_id, found.manager_id, update)
    if early is not None:
        raise _problem(early)
    client = await temporal_client(deps)
    handle = client.get_workflow_handle(ids.feedback_round(found.cycle_id, found.subject_id))
    try:
        state = await update_once_started(
            handle,
            UPDATE_APPROVE,
            update,
            result_type=RoundState,
            rpc_timeout=UPDATE_TIMEOUT,
            patience=deps.workflow_start_patience,
        )
    except WorkflowUpdateFailedError as exc:
        raise _refused(exc) from exc
    except Exception as exc:
        problem = temporal_problem(exc, _problem(WORKFLOW_NOT_READY))
        if problem.status >= 500:
            log.warning("round approval failed", error=repr(exc))
        raise problem from exc
    return dataclasses.asdict(state)
