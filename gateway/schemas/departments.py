"""Departments: the bodies of /departments."""

from __future__ import annotations

from pydantic import Field

from gateway.schemas.common import Name, OptionalId, RequestModel, ResponseModel


class DepartmentCreate(RequestModel):
    name: Name
    parent_id: OptionalId = ""
    head_id: OptionalId = Field(default="", description="employee id of the department head")
    stride_enabled: bool | None = Field(
        default=None, description="pilot rollout: Stride is on for its people (default true)"
    )


class DepartmentUpdate(RequestModel):
    """Only the fields sent change."""

    name: Name | None = None
    parent_id: OptionalId | None = Field(default=None, description='"" makes it top-level')
    head_id: OptionalId | None = Field(default=None, description='"" removes the head')
    stride_enabled: bool | None = None


class Department(ResponseModel):
    id: str
    name: str
    parent_id: str
    created_at: str
    head_id: str = ""
    stride_enabled: bool = True
