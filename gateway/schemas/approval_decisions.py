"""Deciding an approval: the bodies of /approvals/{id}/decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from pydantic import Field

from gateway.schemas.common import RequestModel, ResponseModel
from gateway.schemas.words import one_of
from workflows.plan_approval import APPROVE, REJECT
from workflows.vocabulary import MAX_COMMENT

if TYPE_CHECKING:
    Decision: TypeAlias = str
else:
    Decision = one_of(APPROVE, REJECT)


class DecisionBody(RequestModel):
    decision: Decision
    comment: Annotated[str, Field(max_length=MAX_COMMENT)] = ""


class DecidedApproval(ResponseModel):
    approval_id: str
    kind: str
    status: str = Field(description='"approved" or "rejected"')
    decision: str
    decided_by: str
    comment: str
    overridden: bool = Field(description="HR decided in place of the approvers")
    approver_ids: list[str]
