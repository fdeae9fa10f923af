"""API keys of integrations: the bodies of /api-keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from gateway.schemas.common import Name, RequestModel, ResponseModel


class ApiKeyCreate(RequestModel):
    name: Name
    scopes: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=16)]


class ApiKey(ResponseModel):
    id: str
    name: str
    scopes: list[str]
    created_by: str
    created_at: str
    revoked_at: str
    last_used_at: str
    prefix: str


class ApiKeyCreated(ResponseModel):
    api_key: ApiKey
    key: str = Field(description="the secret; shown only in this response")
