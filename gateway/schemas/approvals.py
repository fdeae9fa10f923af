"""Approvals, the read side: the bodies of /approvals."""

from __future__ import annotations

from gateway.schemas.common import ResponseModel
from gateway.schemas.words import ApprovalKindOut, ApprovalStatusOut


class Approval(ResponseModel):
    id: str
    kind: ApprovalKindOut
    status: ApprovalStatusOut
    cycle_id: str
    employee_id: str
    department_id: str
    objective_ids: list[str]
    revision_id: str
    approver_ids: list[str]
    escalated: bool
    workflow_id: str
    decided_by: str
    comment: str
    created_at: str
    decided_at: str
    overridden: bool
