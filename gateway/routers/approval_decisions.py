"""Deciding an approval: ``POST /approvals/{approval_id}/decision``.

The rule ``approval.decide`` reads the approval from goals (``GetApproval``): its current
approvers and HR may decide; others who may read it get 403, the rest 404 like a missing
approval. The gateway then executes the ``decide`` Update of its workflow
(``approval.workflow_id``, i.e. ``cycle/<cycle>/plan/<employee>``) with the caller's id and
whether they are HR. Only one of the approval's current approvers, or HR (an override), may
decide, and only once: the Update's validator is the authority; the gateway applies the same
pure rule to what goals says first, so that a decided approval whose workflow has ended still
answers 409. Refusals map to 403 ``not_an_approver`` / 409 ``approval_not_pending``; the
workflow then applies the decision in goals (audited there) and notifies the owner.
(Listing and reading approvals: the approvals router.)
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from gateway.deps import Deps, PathId
from gateway.policy import ADMIN, HR
from gateway.problems import ProblemError
from gateway.routers.common import temporal_client, temporal_problem
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.approval_decisions import DecidedApproval, DecisionBody
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb
from workflows.plan_approval import (
    ERROR_INVALID_DECISION,
    ERROR_NOT_APPROVER,
    ERROR_NOT_FOUND,
    ERROR_NOT_PENDING,
    ERROR_OWN_APPROVAL,
    ERROR_REFUSED,
    STATUS_APPROVED,
    STATUS_PENDING,
    UPDATE_DECIDE,
    ApprovalItem,
    DecisionInput,
    decision_error,
)

log = structlog.get_logger(__name__)

router = ResourceRouter(prefix="/approvals", tags=["approvals"], route_class=StrideRoute)

# A decision waits for goals to record it (the workflow's activity, retried a few times).
UPDATE_TIMEOUT = timedelta(seconds=60)

WORKFLOW_NOT_READY = "approval_workflow_unavailable"
_REFUSALS: dict[str, tuple[int, str]] = {
    ERROR_NOT_APPROVER: (403, "You are not an approver of this approval."),
    ERROR_OWN_APPROVAL: (
        403,
        "Nobody decides on their own plan or revision: another HR person, or the manager or "
        "skip-level manager it names, decides.",
    ),
    ERROR_NOT_PENDING: (409, "This approval is not pending (already decided)."),
    ERROR_NOT_FOUND: (404, "approval not found"),
    # goals knows the approval but its workflow does not yet (the event is on its way).
    WORKFLOW_NOT_READY: (503, "The approval is not ready yet; retry shortly."),
    ERROR_INVALID_DECISION: (422, "decision must be approve or reject"),
    ERROR_REFUSED: (409, "The goals service refused the decision; reload and retry."),
}


def _refused(err: WorkflowUpdateFailedError) -> ProblemError:
    """A refused or failed Update as problem+json."""
    cause = err.cause
    kind = cause.type if isinstance(cause, ApplicationError) else None
    if kind == ERROR_NOT_FOUND:
        # The gateway found the approval in goals: the workflow has not heard of it yet.
        kind = WORKFLOW_NOT_READY
    if kind in _REFUSALS:
        status, detail = _REFUSALS[kind]
        return ProblemError(status, kind, detail)
    return ProblemError(502, "approval_workflow_failed", "The approval workflow failed.")


def _temporal(err: Exception) -> ProblemError:
    # NOT_FOUND: the request event has not reached Temporal yet, or the workflow is gone.
    not_ready = ProblemError(503, WORKFLOW_NOT_READY, _REFUSALS[WORKFLOW_NOT_READY][1])
    return temporal_problem(err, not_ready)


@router.post(
    "/{approval_id}/decision",
    response_model=DecidedApproval,
    name="decide_approval",
    description="Approve or reject (with a comment). Only a current approver, or HR.",
)
async def decide_approval(
    approval_id: PathId,
    body: DecisionBody,
    deps: Deps,
    access: Access = Allow("approval.decide"),
) -> dict[str, Any]:
    principal = access.caller
    # Loaded from goals (GetApproval) by the rule's dependency.
    approval: pb.Approval = access.resource
    decision = DecisionInput(
        approval_id=approval.id,
        decision=body.decision,
        actor_id=principal.id,
        # HR overrides; so may admin (who may do everything).
        actor_is_hr=principal.has_role(HR) or principal.has_role(ADMIN),
        comment=body.comment,
    )
    # The workflow's own rule, first on what goals says (a decided approval's workflow may
    # have ended); the Update's validator checks again on the workflow's state.
    known = ApprovalItem(
        approval_id=approval.id,
        kind="",
        approver_ids=list(approval.approver_ids),
        requested_at="",
        remind_at="",
        escalate_at="",
        status=STATUS_PENDING if approval.status == pb.APPROVAL_STATUS_PENDING else STATUS_APPROVED,
    )
    early = decision_error(known, decision, approval.employee_id)
    if early is not None:
        status, detail = _REFUSALS[early]
        raise ProblemError(status, early, detail)
    if not approval.workflow_id:
        raise ProblemError(409, "approval_without_workflow", "This approval has no workflow.")
    client = await temporal_client(deps)
    handle = client.get_workflow_handle(approval.workflow_id)
    try:
        item = await handle.execute_update(
            UPDATE_DECIDE,
            decision,
            result_type=ApprovalItem,
            rpc_timeout=UPDATE_TIMEOUT,
        )
    except WorkflowUpdateFailedError as exc:
        raise _refused(exc) from exc
    except Exception as exc:
        problem = _temporal(exc)
        if problem.status >= 500:
            log.warning("approval decision failed", error=repr(exc))
        raise problem from exc
    return dataclasses.asdict(item)
