"""Activities of ``kr-escalation/<kr>`` and ``coordination/<kr>/<n>``: who is told about a key
result at risk, and who heads the department a blocker names.

The owner and the owner's direct manager (the first *active* manager of identity's manager
chain, as approvals pick theirs). Read-only, so retries are safe; identity being down fails
the attempt and the retry asks again.
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
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.escalation_notices import (
    DEPARTMENT_HEAD_ACTIVITY,
    RECIPIENTS_ACTIVITY,
    DepartmentHead,
    DepartmentHeadInput,
    Recipients,
    RecipientsInput,
)

ERROR_REFUSED = "EscalationRecipientsRefused"


class EscalationActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @activity.defn(name=RECIPIENTS_ACTIVITY)
    async def recipients(self, input: RecipientsInput) -> Recipients:
        async with channel(self.settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                chain = await identity.GetManagerChain(
                    identity_pb2.GetManagerChainRequest(employee_id=input.owner_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
        active = [m.id for m in chain.managers if m.status == identity_pb2.EMPLOYEE_STATUS_ACTIVE]
        return Recipients(owner_id=input.owner_id, manager_id=active[0] if active else "")

    @activity.defn(name=DEPARTMENT_HEAD_ACTIVITY)
    async def department_head(self, input: DepartmentHeadInput) -> DepartmentHead:
        """The head of a department ("" when it has none or identity does not know it)."""
        async with channel(self.settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                department = await identity.GetDepartment(
                    identity_pb2.GetDepartmentRequest(id=input.department_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    return DepartmentHead(department_id=input.department_id)
                raise to_application_error("identity", err, ERROR_REFUSED) from err
        return DepartmentHead(department_id=input.department_id, head_id=department.head_id)
