"""Credentials through the identity service's real gRPC API and database."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest

from services.identity import server
from stride.identity.v1 import auth_pb2 as apb
from stride.identity.v1 import auth_pb2_grpc, identity_pb2_grpc
from stride.identity.v1 import identity_pb2 as pb
from tests.integration.services_fixtures import running, service_settings
from tests.integration.test_identity_service import error_code


@pytest.fixture
async def stubs(database_url: str | None, data_dir: Path, nats_url: str):
    rt = server.runtime(service_settings(database_url, data_dir, nats_url))
    async with running(rt) as channel:
        yield identity_pb2_grpc.IdentityServiceStub(channel), auth_pb2_grpc.AuthServiceStub(channel)


async def _error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


async def person(identity, **extra) -> pb.Employee:
    tag = uuid.uuid4().hex[:8]
    dept = await identity.CreateDepartment(pb.CreateDepartmentRequest(name=f"D {tag}"))
    return await identity.CreateEmployee(
        pb.CreateEmployeeRequest(
            employee_number=f"N{tag}",
            name="Sun Li",
            email=f"{tag}@example.com",
            department_id=dept.id,
            **extra,
        )
    )


async def test_first_login_change_and_lockout(stubs) -> None:
    identity, auth = stubs
    emp = await person(identity, roles=["hr"])
    login = emp.employee_number
    # Imported account: HR sets an initial password; the person must change it.
    await auth.SetPassword(
        apb.SetPasswordRequest(employee_id=emp.id, new_password="Initial-pass-1", reset=True)
    )
    first = await auth.Authenticate(apb.AuthenticateRequest(login=login, password="Initial-pass-1"))
    assert first.principal.must_change_password and first.principal.roles == ["hr"]
    err = await _error(
        auth.SetPassword(
            apb.SetPasswordRequest(
                employee_id=emp.id, new_password="short", current_password="Initial-pass-1"
            )
        )
    )
    assert error_code(err) == "weak_password"
    err = await _error(
        auth.SetPassword(
            apb.SetPasswordRequest(
                employee_id=emp.id, new_password="Another-pass-2", current_password="wrong-one-123"
            )
        )
    )
    assert error_code(err) == "wrong_current_password"
    await auth.SetPassword(
        apb.SetPasswordRequest(
            employee_id=emp.id, new_password="Another-pass-2", current_password="Initial-pass-1"
        )
    )
    # Email works as login too.
    ok = await auth.Authenticate(
        apb.AuthenticateRequest(login=emp.email, password="Another-pass-2")
    )
    assert not ok.principal.must_change_password and ok.principal.employee_id == emp.id

    for _ in range(4):
        err = await _error(
            auth.Authenticate(apb.AuthenticateRequest(login=login, password="nope-nope-1"))
        )
        assert (
            err.code() == grpc.StatusCode.UNAUTHENTICATED
            and error_code(err) == "invalid_credentials"
        )
    err = await _error(
        auth.Authenticate(apb.AuthenticateRequest(login=login, password="nope-nope-1"))
    )
    assert error_code(err) == "invalid_credentials"  # the fifth failure locks
    err = await _error(
        auth.Authenticate(apb.AuthenticateRequest(login=login, password="Another-pass-2"))
    )
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and error_code(err) == "account_locked"
    # HR resets: unlocked, and a change is required again.
    await auth.SetPassword(
        apb.SetPasswordRequest(employee_id=emp.id, new_password="Reset-pass-33", reset=True)
    )
    again = await auth.Authenticate(apb.AuthenticateRequest(login=login, password="Reset-pass-33"))
    assert again.principal.must_change_password

    err = await _error(
        auth.Authenticate(apb.AuthenticateRequest(login="ghost", password="Reset-pass-33"))
    )
    assert error_code(err) == "invalid_credentials"


async def test_refresh_rotation_reuse_and_logout(stubs) -> None:
    identity, auth = stubs
    emp = await person(identity)
    first = await auth.IssueRefreshToken(apb.IssueRefreshTokenRequest(employee_id=emp.id))
    second = await auth.RotateRefreshToken(apb.RotateRefreshTokenRequest(token=first.token))
    assert second.principal.employee_id == emp.id and second.refresh_token.token != first.token
    # Replaying the used token revokes the whole family, including the newest token.
    err = await _error(auth.RotateRefreshToken(apb.RotateRefreshTokenRequest(token=first.token)))
    assert error_code(err) == "invalid_refresh_token"
    err = await _error(
        auth.RotateRefreshToken(apb.RotateRefreshTokenRequest(token=second.refresh_token.token))
    )
    assert error_code(err) == "invalid_refresh_token"

    other = await auth.IssueRefreshToken(apb.IssueRefreshTokenRequest(employee_id=emp.id))
    mine = apb.RevokeRefreshTokenRequest(token=other.token, employee_id=emp.id)
    await auth.RevokeRefreshToken(mine)
    await auth.RevokeRefreshToken(mine)  # idempotent
    err = await _error(auth.RotateRefreshToken(apb.RotateRefreshTokenRequest(token=other.token)))
    assert error_code(err) == "invalid_refresh_token"


async def test_api_keys(stubs) -> None:
    _, auth = stubs
    created = await auth.CreateApiKey(
        apb.CreateApiKeyRequest(name="MES line 3", scopes=["telemetry:write"], created_by="admin-1")
    )
    assert created.key.startswith("sk_") and created.api_key.prefix == created.key[:9]
    found = await auth.AuthenticateApiKey(apb.AuthenticateApiKeyRequest(key=created.key))
    assert list(found.scopes) == ["telemetry:write"] and found.id == created.api_key.id
    listed = await auth.ListApiKeys(apb.ListApiKeysRequest())
    assert created.key not in str(listed)  # never shown again
    await auth.RevokeApiKey(apb.RevokeApiKeyRequest(id=created.api_key.id))
    err = await _error(auth.AuthenticateApiKey(apb.AuthenticateApiKeyRequest(key=created.key)))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED and error_code(err) == "invalid_api_key"
    err = await _error(auth.CreateApiKey(apb.CreateApiKeyRequest(name="x", scopes=["root"])))
    assert error_code(err) == "unknown_scope"
