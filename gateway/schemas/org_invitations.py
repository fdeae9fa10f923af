"""First sign-in invitations (one-time initial passwords): the bodies of /org/invitations."""

from __future__ import annotations

from pydantic import Field

from gateway.schemas.common import Id, RequestModel, ResponseModel


class InvitationRequest(RequestModel):
    employee_ids: list[Id] = Field(default_factory=list, max_length=1000)
    all_without_password: bool = False


class IssuedInvitation(ResponseModel):
    employee_id: str
    employee_number: str
    name: str
    department_id: str
    department_name: str
    initial_password: str


class SkippedInvitation(ResponseModel):
    employee_id: str
    reason: str


class Invitations(ResponseModel):
    issued: list[IssuedInvitation]
    skipped: list[SkippedInvitation]
    remaining: int = Field(description="people without a password left for the next call")
