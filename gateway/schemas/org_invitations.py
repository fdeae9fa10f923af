"""First sign-in invitations (one-time initial passwords): the bodies of /org/invitations."""

from __future__ import annotations

from pydantic import Field, StrictBool

from gateway.schemas.common import Id, RequestModel, ResponseModel


class InvitationRequest(RequestModel):
    employee_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    all_without_password: StrictBool = False


class InvitationJob(ResponseModel):
    job_id: str
    status: str = Field(description="queued, running, done or failed")
    total: int = Field(description="people chosen to get a password")
    issued: int
    skipped: int = Field(description="people who get none (reasons in skipped_reasons)")
    remaining: int = Field(description="people without a password beyond this job's 10,000")
    chunk_count: int
    chunks_done: int
    error: str = Field(default="", description="why the job failed")
    created_at: str
    finished_at: str
    slips_taken: bool = Field(description="the slips were downloaded (they are gone now)")
    skipped_reasons: dict[str, int] = Field(
        default_factory=dict, description="has_password, inactive, not_found, admin_required"
    )
    slips_url: str = Field(default="", description="where to download the slips once done")


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
    remaining: int = Field(description="people without a password left for the next job")
