"""Sign-in: access tokens (JWT, minutes) and refresh tokens (opaque, rotated, days).

``POST /auth/login``, ``POST /auth/pin`` (shared devices: employee number + PIN, an access
token only) and ``POST /auth/refresh`` are public; the other routes need a token.
A person whose password must be changed (first sign-in of an imported account, or after an
HR reset) gets an access token that only allows ``POST /auth/password``, ``GET /auth/me``
and ``POST /auth/logout``; changing the password returns unrestricted tokens.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from fastapi import Request, Response

from gateway.deps import RpcDep
from gateway.policy import Principal
from gateway.problems import ProblemError, problem_responses
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.auth import (
    LoginRequest,
    Me,
    PasswordChange,
    PinLoginRequest,
    RefreshRequest,
    SharedDeviceToken,
    Tokens,
)
from gateway.security import Access, Allow, AuthDep, Authenticator, person_principal
from gateway.sign_in_throttle import SignInThrottle, client_address
from stride.identity.v1 import auth_pb2 as pb

T = TypeVar("T")

router = ResourceRouter(prefix="/auth", tags=["auth"], route_class=StrideRoute)
# What counts against the client address: wrong credentials, a locked login.
_FAILED_SIGN_IN = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED)


def me(principal: Principal) -> dict[str, Any]:
    return {
        "kind": principal.kind,
        "id": principal.id,
        "name": principal.name,
        "employee_number": principal.employee_number,
        "department_id": principal.department_id,
        "roles": sorted(principal.roles),
        "scopes": sorted(principal.scopes),
        "must_change_password": principal.must_change_password,
        "shared_device": principal.shared_device,
    }


def _tokens(
    auth: Authenticator, principal: Principal, refresh: pb.RefreshToken, response: Response
) -> dict[str, Any]:
    access = auth.tokens.issue(principal)
    # RFC 6749 §5.1: token responses are never cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return {
        "access_token": access.token,
        "token_type": "bearer",
        "expires_in": access.expires_in,
        "refresh_token": refresh.token,
        "refresh_token_expires_at": refresh.expires_at,
        "must_change_password": principal.must_change_password,
        "principal": me(principal),
    }


async def _sign_in(request: Request, call: Callable[[], Awaitable[T]]) -> T:
    """A sign-in call (password or PIN) under the per-address throttle: not made when the
    address has failed too often, and a failed one counted against the address."""
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    client = client_address(request)
    await throttle.check(client)
    try:
        return await call()
    except grpc.aio.AioRpcError as exc:
        if exc.code() in _FAILED_SIGN_IN:
            await throttle.failed(client)
        raise


@router.post(
    "/login",
    response_model=Tokens,
    name="login",
    dependencies=[Allow("auth.login")],
    responses=problem_responses(401, 429),
    description="Sign in with employee number (or email; upper and lower case count as one) "
    "and password. Wrong credentials: 401 invalid_credentials. After 5 failures with one login "
    "within 15 minutes that login is refused for 15 minutes, whether or not it exists: 429 "
    "account_locked; too many failures from one address: 429 too_many_sign_in_attempts; too "
    "many sign-ins at once: 503 sign_in_busy. 429 and 503 carry Retry-After.",
)
async def login(
    body: LoginRequest, request: Request, response: Response, rpc: RpcDep, auth: AuthDep
) -> dict[str, Any]:
    result = await _sign_in(
        request,
        lambda: rpc(
            rpc.auth.Authenticate, pb.AuthenticateRequest(login=body.login, password=body.password)
        ),
    )
    principal = person_principal(result.principal)
    # The rest of this request acts as the person who just signed in (audit actor).
    request.state.principal = principal
    refresh = await rpc(
        rpc.auth.IssueRefreshToken, pb.IssueRefreshTokenRequest(employee_id=principal.id)
    )
    return _tokens(auth, principal, refresh, response)


@router.post(
    "/pin",
    response_model=SharedDeviceToken,
    name="pin_login",
    dependencies=[Allow("auth.pin_login")],
    responses=problem_responses(401, 429),
    description="Sign in on a shared device (the printed QR codes open it) with employee "
    "number and PIN. Returns an access token only: short-lived (STRIDE_SHARED_DEVICE_TOKEN_TTL, "
    "15 minutes by default), no refresh token, and refused (403 shared_device_session) for "
    "changing the password or PIN and for API keys. A wrong PIN, an unknown number and a "
    "person without a PIN: 401 invalid_pin. After 5 wrong PINs in a row for one employee "
    "number it is refused for 15 minutes, whether or not it exists: 429 pin_locked; too many "
    "failures from one address: 429 too_many_sign_in_attempts. 429 carries Retry-After.",
)
async def pin_login(
    body: PinLoginRequest, request: Request, response: Response, rpc: RpcDep, auth: AuthDep
) -> dict[str, Any]:
    result = await _sign_in(
        request,
        lambda: rpc(
            rpc.auth.AuthenticatePin,
            pb.AuthenticatePinRequest(employee_number=body.employee_number, pin=body.pin),
        ),
    )
    principal = dataclasses.replace(person_principal(result.principal), shared_device=True)
    request.state.principal = principal
    access = auth.tokens.issue(principal)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return {
        "access_token": access.token,
        "token_type": "bearer",
        "expires_in": access.expires_in,
        "shared_device": True,
        "principal": me(principal),
    }


@router.post(
    "/refresh",
    response_model=Tokens,
    name="refresh",
    dependencies=[Allow("auth.refresh")],
    responses=problem_responses(401),
    description="Swap a refresh token for a new access token and a new refresh token (the old "
    "one stops working). Presenting an already used refresh token ends that whole session.",
)
async def refresh(
    body: RefreshRequest, request: Request, response: Response, rpc: RpcDep, auth: AuthDep
) -> dict[str, Any]:
    result = await rpc(
        rpc.auth.RotateRefreshToken, pb.RotateRefreshTokenRequest(token=body.refresh_token)
    )
    principal = person_principal(result.principal)
    request.state.principal = principal
    return _tokens(auth, principal, result.refresh_token, response)


@router.post(
    "/logout",
    status_code=204,
    name="logout",
    description="Revoke the caller's own refresh token (and the session it belongs to). "
    "204 also for a token that is unknown or someone else's; someone else's keeps working. "
    "Access tokens already issued stay valid until they expire (minutes).",
)
async def logout(
    body: RefreshRequest, rpc: RpcDep, access: Access = Allow("auth.logout")
) -> Response:
    await rpc(
        rpc.auth.RevokeRefreshToken,
        pb.RevokeRefreshTokenRequest(token=body.refresh_token, employee_id=access.caller.id),
    )
    return Response(status_code=204)


@router.post(
    "/password",
    response_model=Tokens,
    name="change_password",
    description="Change one's own password; ends every other session and returns new tokens. "
    "A wrong current password is 403 wrong_current_password; a weak new one 422 weak_password; "
    "a session signed in by PIN on a shared device: 403 shared_device_session.",
)
async def change_password(
    body: PasswordChange,
    response: Response,
    rpc: RpcDep,
    auth: AuthDep,
    access: Access = Allow("auth.password"),
) -> dict[str, Any]:
    caller = access.caller
    try:
        await rpc(
            rpc.auth.SetPassword,
            pb.SetPasswordRequest(
                employee_id=caller.id,
                new_password=body.new_password,
                current_password=body.current_password,
            ),
        )
    except grpc.aio.AioRpcError as exc:
        # Not a 401: the caller is signed in; the proof they gave is wrong.
        if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
            raise ProblemError(
                403, "wrong_current_password", "The current password is wrong."
            ) from exc
        raise
    refresh_token = await rpc(
        rpc.auth.IssueRefreshToken, pb.IssueRefreshTokenRequest(employee_id=caller.id)
    )
    principal = dataclasses.replace(caller, must_change_password=False)
    return _tokens(auth, principal, refresh_token, response)


@router.get("/me", response_model=Me, name="me")
async def whoami(access: Access = Allow("auth.me")) -> dict[str, Any]:
    return me(access.caller)
