"""Activities of the plan-approval workflow: apply a decision, escalate to the skip-level.

Both are idempotent in goals (repeating a decision returns the approval; adding an approver
twice adds nothing), so retries are safe. A refusal by goals (e.g. decided meanwhile) is not
retried: the workflow reports it to the person deciding.
"""

from __future__ import annotations

import grpc
from temporalio import activity

from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from services.common.settings import WorkerSettings
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.plan_approval import (
    APPROVE,
    DECIDE_ACTIVITY,
    ERROR_REFUSED,
    ESCALATE_ACTIVITY,
    DecideActivityInput,
    EscalateActivityInput,
    EscalateResult,
)


def skip_level(chain: list[str]) -> str:
    """The skip-level manager of a manager chain (direct manager first); "" when none."""
    return chain[1] if len(chain) > 1 else ""


class ApprovalActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @activity.defn(name=DECIDE_ACTIVITY)
    async def decide(self, input: DecideActivityInput) -> None:
        decision = (
            goals_pb2.DECISION_APPROVE if input.decision == APPROVE else goals_pb2.DECISION_REJECT
        )
        async with channel(self.settings.goals_addr) as ch:
            goals = goals_pb2_grpc.GoalsServiceStub(ch)
            try:
                await goals.DecideApproval(
                    goals_pb2.DecideApprovalRequest(
                        approval_id=input.approval_id,
                        decision=decision,
                        comment=input.comment,
                        decided_by=input.decided_by,
                        override=input.override,
                    ),
                    timeout=CALL_TIMEOUT_SECONDS,
                    # The person deciding is the actor of goals' audit entry.
                    metadata=metadata(input.decided_by),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("goals", err, ERROR_REFUSED) from err

    @activity.defn(name=ESCALATE_ACTIVITY)
    async def escalate(self, input: EscalateActivityInput) -> EscalateResult:
        md = metadata(workflow_actor())
        async with (
            channel(self.settings.identity_addr) as ich,
            channel(self.settings.goals_addr) as gch,
        ):
            identity = identity_pb2_grpc.IdentityServiceStub(ich)
            goals = goals_pb2_grpc.GoalsServiceStub(gch)
            try:
                chain = await identity.GetManagerChain(
                    identity_pb2.GetManagerChainRequest(employee_id=input.employee_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
            try:
                approval = await goals.GetApproval(
                    goals_pb2.GetApprovalRequest(id=input.approval_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
                # The same chain goals picked the approver from: managers who have left
                # are skipped (services/goals/identity_client.py managers()).
                active = [
                    m.id for m in chain.managers if m.status == identity_pb2.EMPLOYEE_STATUS_ACTIVE
                ]
                target = skip_level(active)
                if not target or target in approval.approver_ids:
                    return EscalateResult(approver_ids=list(approval.approver_ids))
                escalated = await goals.EscalateApproval(
                    goals_pb2.EscalateApprovalRequest(
                        approval_id=input.approval_id, add_approver_ids=[target]
                    ),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("goals", err, ERROR_REFUSED) from err
        return EscalateResult(approver_ids=list(escalated.approver_ids), added=[target])
