"""Sign-in, tokens, one's own password and PIN: the bodies of /auth and /me/pin."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gateway.schemas.common import MAX_EMAIL, RequestModel, ResponseModel, Secret


class LoginRequest(RequestModel):
    login: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EMAIL)
    ] = Field(description="employee number or email")
    password: Secret


class PinLoginRequest(RequestModel):
    employee_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EMAIL)
    ]
    pin: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="4 to 8 digits"
    )


class PinChange(RequestModel):
    current_password: Secret
    pin: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="4 to 8 digits, not one digit repeated, not a run like 1234 or 654321"
    )


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class PasswordChange(RequestModel):
    current_password: Secret
    new_password: Secret


class Me(ResponseModel):
    kind: Literal["person", "api_key"]
    id: str
    name: str
    employee_number: str = ""
    department_id: str = ""
    roles: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)
    must_change_password: bool = False
    shared_device: bool = Field(
        default=False, description="signed in by PIN on a shared device (POST /auth/pin)"
    )


class Tokens(ResponseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str
    refresh_token_expires_at: str
    must_change_password: bool = Field(
        description="the access token only allows POST /auth/password, GET /auth/me and logout"
    )
    principal: Me


class SharedDeviceToken(ResponseModel):
    """A PIN sign-in on a shared device: an access token only (no refresh token)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds the access token is valid (no refresh)")
    shared_device: Literal[True] = Field(
        default=True,
        description="the token may not change the password or PIN, nor create API keys",
    )
    principal: Me
