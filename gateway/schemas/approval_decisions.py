"""Deciding an approval: the bodies of /approvals/{id}/decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from pydantic import Field, StringConstraints

from gateway.schemas.common import HumanText, RequestModel, ResponseModel
from gateway.schemas.words import one_of
from workflows.plan_approval import APPROVE, REJECT
from workflows.vocabulary import MAX_COMMENT

if TYPE_CHECKING:
    Decision: TypeAlias = str
else:
    Decision = one_of(APPROVE, REJECT)


class DecisionBody(RequestModel):
    decision: Decision
    comment: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT),
        HumanText(required=False, multiline=True),
    ] = ""


class DecidedApproval(ResponseModel):
    approval_id: str
    kind: str
    status: str = Field(description='"approved" or "rejected"')
    decision: str
    decided_by: str
    comment: str
    overridden: bool = Field(description="HR decided in place of the approvers")
    approver_ids: list[str]
