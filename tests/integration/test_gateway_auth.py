"""Sign-in, refresh, logout, lockout, first-login password change, HR resets and API keys —
through the gateway's HTTP API in front of the real identity and goals services."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.policy import Principal
from gateway.tokens import AccessTokens
from services.cli.admin import admin_app
from services.identity.bootstrap import create_admin
from stride.identity.v1 import auth_pb2
from tests.integration.gateway_stack import (
    JWT_SECRET,
    PASSWORD,
    GatewayStack,
    bearer,
    module_stack,
    problem,
)

stack = module_stack("gw-auth")


@pytest.fixture(scope="module")
async def dept(stack: GatewayStack) -> str:
    return str((await stack.department()).id)


async def test_sign_in_and_who_am_i(stack: GatewayStack, dept: str) -> None:
    person = await stack.person(dept, roles=["hr"], name="Sun Li", sign_in=False)
    r = await stack.http.post("/auth/login", json={"login": person.login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    tokens = r.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 15 * 60
    assert tokens["must_change_password"] is False and tokens["refresh_token"]
    me = await stack.http.get("/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json() == {
        "kind": "person",
        "id": person.id,
        "name": "Sun Li",
        "employee_number": person.login,
        "department_id": dept,
        "roles": ["hr"],
        "scopes": [],
        "must_change_password": False,
        "shared_device": False,
    }
    # email works as login too
    r = await stack.http.post(
        "/auth/login", json={"login": person.employee.email, "password": PASSWORD}
    )
    assert r.status_code == 200


async def test_bad_credentials_are_401_with_www_authenticate(
    stack: GatewayStack, dept: str
) -> None:
    person = await stack.person(dept, sign_in=False)
    wrong = await stack.http.post(
        "/auth/login", json={"login": person.login, "password": "Wrong-pass-99"}
    )
    unknown = await stack.http.post(
        "/auth/login", json={"login": "nobody-here", "password": "Wrong-pass-99"}
    )
    # Same answer for a wrong password and an unknown login.
    assert (
        problem(wrong, 401, "invalid_credentials")["detail"]
        == (problem(unknown, 401, "invalid_credentials")["detail"])
    )
    problem(await stack.http.post("/auth/login", json={"login": "x"}), 422, "validation_error")

    r = await stack.http.get("/departments")
    problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == 'Bearer realm="stride"'
    r = await stack.http.get("/departments", headers=bearer("not-a-jwt"))
    problem(r, 401, "invalid_token")
    assert r.headers["www-authenticate"] == 'Bearer realm="stride", error="invalid_token"'
    me = Principal(id=person.id, roles=frozenset({"admin"}))
    forged = AccessTokens(b"another-secret-" + b"x" * 32, timedelta(minutes=5)).issue(me)
    problem(
        await stack.http.get("/departments", headers=bearer(forged.token)), 401, "invalid_token"
    )
    expired = AccessTokens(
        JWT_SECRET.encode(),
        timedelta(minutes=15),
        now=lambda: datetime.now(UTC) - timedelta(hours=1),
    ).issue(me)
    problem(
        await stack.http.get("/departments", headers=bearer(expired.token)), 401, "token_expired"
    )
    r = await stack.http.get("/departments", headers={"Authorization": "Basic dTpw"})
    problem(r, 401, "unauthenticated")


async def test_refresh_rotates_and_reuse_ends_the_session(stack: GatewayStack, dept: str) -> None:
    person = await stack.person(dept, sign_in=False)
    first = await stack.login(person.login, PASSWORD)
    r = await stack.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["principal"]["id"] == person.id
    assert (await stack.http.get("/auth/me", headers=bearer(second["access_token"]))).is_success
    # The used token again: refused, and the newest token of that session dies with it.
    again = await stack.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    problem(again, 401, "invalid_refresh_token")
    r = await stack.http.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    problem(r, 401, "invalid_refresh_token")
    # Another session of the same person is not affected.
    other = await stack.login(person.login, PASSWORD)
    r = await stack.http.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert r.status_code == 200
    problem(
        await stack.http.post("/auth/refresh", json={"refresh_token": "garbage"}),
        401,
        "invalid_refresh_token",
    )


async def test_logout_revokes_the_refresh_token(stack: GatewayStack, dept: str) -> None:
    person = await stack.person(dept, sign_in=False)
    tokens = await stack.login(person.login, PASSWORD)
    body = {"refresh_token": tokens["refresh_token"]}
    problem(await stack.http.post("/auth/logout", json=body), 401, "unauthenticated")
    r = await stack.http.post("/auth/logout", json=body, headers=bearer(tokens["access_token"]))
    assert r.status_code == 204
    problem(await stack.http.post("/auth/refresh", json=body), 401, "invalid_refresh_token")
    # Stateless access tokens live on until they expire (minutes); documented.
    assert (await stack.http.get("/auth/me", headers=bearer(tokens["access_token"]))).is_success


async def test_logout_with_someone_elses_refresh_token_leaves_it_working(
    stack: GatewayStack, dept: str
) -> None:
    a = await stack.person(dept, sign_in=False)
    b = await stack.person(dept)
    a_tokens = await stack.login(a.login, PASSWORD)
    stolen = {"refresh_token": a_tokens["refresh_token"]}
    # B's sign-out with A's token answers like one with an unknown token, and changes nothing.
    r = await stack.http.post("/auth/logout", json=stolen, headers=b.headers)
    assert r.status_code == 204 and r.content == b""
    unknown = await stack.http.post(
        "/auth/logout", json={"refresh_token": "no-such-token"}, headers=b.headers
    )
    assert unknown.status_code == 204 and unknown.content == b""
    r = await stack.http.post("/auth/refresh", json=stolen)
    assert r.status_code == 200, r.text
    assert r.json()["principal"]["id"] == a.id
    # A's own sign-out still ends A's session.
    mine = {"refresh_token": r.json()["refresh_token"]}
    r = await stack.http.post("/auth/logout", json=mine, headers=bearer(a_tokens["access_token"]))
    assert r.status_code == 204
    problem(await stack.http.post("/auth/refresh", json=mine), 401, "invalid_refresh_token")


async def test_lockout_is_429_until_hr_resets(stack: GatewayStack, dept: str) -> None:
    person = await stack.person(dept, sign_in=False)
    hr = await stack.person(dept, roles=["hr"])
    for _ in range(5):  # the fifth failure locks the account
        r = await stack.http.post(
            "/auth/login", json={"login": person.login, "password": "Wrong-pass-99"}
        )
        problem(r, 401, "invalid_credentials")
    r = await stack.http.post("/auth/login", json={"login": person.login, "password": PASSWORD})
    body = problem(r, 429, "account_locked")
    assert "try again later" in body["detail"]
    # An HR reset unlocks; the person must then choose a new password.
    r = await stack.http.post(f"/employees/{person.id}/password-reset", json={}, headers=hr.headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    temporary = r.json()["temporary_password"]
    assert r.json() == {
        "employee_id": person.id,
        "must_change_password": True,
        "temporary_password": temporary,
    }
    tokens = await stack.login(person.login, temporary)
    assert tokens["must_change_password"] is True


async def test_first_sign_in_must_change_the_password(stack: GatewayStack, dept: str) -> None:
    # An imported account: HR gave an initial password that must be changed.
    person = await stack.person(dept, password="Initial-pass-1", must_change=True, sign_in=False)
    tokens = await stack.login(person.login, "Initial-pass-1")
    assert tokens["must_change_password"] is True
    assert tokens["principal"]["must_change_password"] is True
    limited = bearer(tokens["access_token"])
    me = await stack.http.get("/auth/me", headers=limited)
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    for method, path in [("GET", "/departments"), ("GET", "/objectives"), ("GET", "/cycles")]:
        r = await stack.http.request(method, path, headers=limited)
        problem(r, 403, "password_change_required")

    change = "/auth/password"
    r = await stack.http.post(
        change,
        json={"current_password": "Wrong-pass-99", "new_password": "Brand-new-pass-2"},
        headers=limited,
    )
    problem(r, 403, "wrong_current_password")
    r = await stack.http.post(
        change,
        json={"current_password": "Initial-pass-1", "new_password": "short"},
        headers=limited,
    )
    problem(r, 422, "weak_password")
    r = await stack.http.post(
        change,
        json={"current_password": "Initial-pass-1", "new_password": "Brand-new-pass-2"},
        headers=limited,
    )
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["must_change_password"] is False
    assert (await stack.http.get("/departments", headers=bearer(fresh["access_token"]))).is_success
    # The new password ended the earlier session; the new refresh token works.
    r = await stack.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    problem(r, 401, "invalid_refresh_token")
    r = await stack.http.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert r.status_code == 200 and r.json()["must_change_password"] is False
    assert (await stack.login(person.login, "Brand-new-pass-2"))["must_change_password"] is False
    problem(
        await stack.http.post(
            "/auth/login", json={"login": person.login, "password": "Initial-pass-1"}
        ),
        401,
        "invalid_credentials",
    )


async def test_password_resets_of_privileged_accounts_need_an_admin(
    stack: GatewayStack, dept: str
) -> None:
    hr = await stack.person(dept, roles=["hr"])
    other_hr = await stack.person(dept, roles=["hr"], sign_in=False)
    admin = await stack.person(dept, roles=["admin"])
    employee = await stack.person(dept)
    path = "/employees/{}/password-reset"
    chosen = {"new_password": "Chosen-by-hr-7"}
    r = await stack.http.post(path.format(admin.id), json=chosen, headers=hr.headers)
    problem(r, 403, "admin_required")
    r = await stack.http.post(path.format(other_hr.id), json=chosen, headers=hr.headers)
    problem(r, 403, "admin_required")
    r = await stack.http.post(path.format(other_hr.id), json=chosen, headers=admin.headers)
    assert r.status_code == 200 and r.json()["temporary_password"] is None
    assert (await stack.login(other_hr.login, "Chosen-by-hr-7"))["must_change_password"] is True
    r = await stack.http.post(path.format(hr.id), json=chosen, headers=employee.headers)
    problem(r, 403, "forbidden")
    r = await stack.http.post(path.format("no-such-person"), json=chosen, headers=hr.headers)
    problem(r, 404, "employee_not_found")
    r = await stack.http.post(
        path.format(employee.id), json={"new_password": "weak"}, headers=hr.headers
    )
    problem(r, 422, "weak_password")


async def _audit_entries(
    stack: GatewayStack, headers: dict[str, str], **filters: str
) -> list[dict[str, Any]]:
    for _ in range(100):  # entries reach the chain through NATS
        r = await stack.http.get("/audit", params=filters, headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["items"]:
            return list(r.json()["items"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no audit entry for {filters}")


async def test_api_keys_create_use_scope_and_revoke(stack: GatewayStack, dept: str) -> None:
    admin = await stack.person(dept, roles=["admin"])
    employee = await stack.person(dept)
    body = {"name": "MES line 3", "scopes": ["org:read", "org:write", "goals:read"]}
    problem(
        await stack.http.post("/api-keys", json=body, headers=employee.headers), 403, "forbidden"
    )
    r = await stack.http.post("/api-keys", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    key, key_id = created["key"], created["api_key"]["id"]
    assert key.startswith("sk_") and created["api_key"]["created_by"] == admin.id
    assert created["api_key"]["scopes"] == ["goals:read", "org:read", "org:write"]
    listed = await stack.http.get("/api-keys", headers=admin.headers)
    assert key_id in [k["id"] for k in listed.json()["items"]] and key not in listed.text
    problem(await stack.http.get("/api-keys", headers=employee.headers), 403, "forbidden")

    # Both ways of presenting a key.
    for headers in (bearer(key), {"X-API-Key": key}):
        r = await stack.http.get("/objectives", headers=headers)
        assert r.status_code == 200, r.text
    me = (await stack.http.get("/auth/me", headers=bearer(key))).json()
    assert (me["kind"], me["id"], me["scopes"]) == (
        "api_key",
        key_id,
        ["goals:read", "org:read", "org:write"],
    )
    # Outside its scopes.
    r = await stack.http.get("/audit", headers=bearer(key))
    assert "audit:read" in problem(r, 403, "insufficient_scope")["detail"]
    r = await stack.http.post(
        "/objectives",
        json={"cycle_id": "c", "title": "T", "owner_id": employee.id},
        headers=bearer(key),
    )
    problem(r, 403, "insufficient_scope")
    problem(
        await stack.http.post("/api-keys", json=body, headers=bearer(key)),
        403,
        "insufficient_scope",
    )

    # Writes made with the key are audited as apikey:<id>, with the request id.
    r = await stack.http.post(
        "/departments",
        json={"name": "Made by MES"},
        headers={**bearer(key), "X-Request-ID": "req-apikey-1"},
    )
    assert r.status_code == 201, r.text
    entries = await _audit_entries(stack, admin.headers, resource_id=r.json()["id"])
    assert entries[0]["actor"] == f"apikey:{key_id}"
    assert entries[0]["request_id"] == "req-apikey-1"
    assert entries[0]["action"] == "identity.department.create"

    bad = {"name": "x", "scopes": ["root"]}
    problem(
        await stack.http.post("/api-keys", json=bad, headers=admin.headers), 422, "unknown_scope"
    )
    r = await stack.http.post(f"/api-keys/{key_id}/revoke", headers=admin.headers)
    assert r.status_code == 200 and r.json()["revoked_at"]
    # At once on this gateway (the cache entry is dropped on revoke).
    problem(await stack.http.get("/objectives", headers=bearer(key)), 401, "invalid_api_key")
    problem(await stack.http.get("/objectives", headers={"X-API-Key": key}), 401, "invalid_api_key")
    problem(
        await stack.http.get("/objectives", headers=bearer("sk_unknown")), 401, "invalid_api_key"
    )
    problem(
        await stack.http.post("/api-keys/no-such-key/revoke", headers=admin.headers),
        404,
        "api_key_not_found",
    )


async def test_api_key_checks_are_cached_briefly(stack: GatewayStack) -> None:
    created = await stack.admin_grpc.auth.CreateApiKey(
        auth_pb2.CreateApiKeyRequest(name="cache", scopes=["org:read"], created_by="test")
    )
    cache = stack.app.state.auth.api_keys
    old_ttl, cache.ttl = cache.ttl, 0.5
    try:
        headers = bearer(created.key)
        assert (await stack.http.get("/departments", headers=headers)).status_code == 200
        # Revoked behind this gateway's back (as through another replica).
        await stack.admin_grpc.auth.RevokeApiKey(
            auth_pb2.RevokeApiKeyRequest(id=created.api_key.id)
        )
        assert (await stack.http.get("/departments", headers=headers)).status_code == 200
        await asyncio.sleep(0.6)
        problem(await stack.http.get("/departments", headers=headers), 401, "invalid_api_key")
    finally:
        cache.ttl = old_ttl


async def test_audit_trail_names_the_signed_in_actor(stack: GatewayStack, dept: str) -> None:
    admin = await stack.person(dept, roles=["admin"])
    hr = await stack.person(dept, roles=["hr"])
    employee = await stack.person(dept)
    r = await stack.http.post(
        "/departments",
        json={"name": "Audited"},
        headers={**admin.headers, "X-Request-ID": "req-audit-7"},
    )
    assert r.status_code == 201
    entries = await _audit_entries(stack, hr.headers, resource_id=r.json()["id"])
    assert (entries[0]["actor"], entries[0]["request_id"]) == (admin.id, "req-audit-7")
    by_actor = await _audit_entries(stack, hr.headers, actor=admin.id)
    assert {e["actor"] for e in by_actor} == {admin.id}
    # A sign-in is recorded against the person; who asked is not known yet at that point.
    logins = await _audit_entries(
        stack, hr.headers, action="identity.auth.login", resource_id=employee.id
    )
    assert logins[0]["actor"] == "anonymous"
    verify = await stack.http.get("/audit/verify", headers=hr.headers)
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text
    problem(await stack.http.get("/audit", headers=employee.headers), 403, "forbidden")
    problem(
        await stack.http.get("/audit", params={"from_time": "yesterday"}, headers=hr.headers),
        422,
        "validation_error",
    )


async def test_cli_bootstrap_makes_an_admin_who_can_sign_in(stack: GatewayStack) -> None:
    number = f"ADM-{id(stack) % 100000}"
    account = await create_admin(
        stack.settings.identity_addr,
        employee_number=number,
        name="First Admin",
        email=f"{number.lower()}@example.com",
        department="Administration",
        password="First-admin-pass-1",
    )
    assert account.created and list(account.employee.roles) == ["admin"]
    tokens = await stack.login(number, "First-admin-pass-1")
    assert tokens["must_change_password"] is False
    assert tokens["principal"]["roles"] == ["admin"]
    r = await stack.http.post(
        "/api-keys",
        json={"name": "first", "scopes": ["org:read"]},
        headers=bearer(tokens["access_token"]),
    )
    assert r.status_code == 201
    # Again: the same person, a new password (and a forced change when asked for).
    again = await create_admin(
        stack.settings.identity_addr,
        employee_number=number,
        name="First Admin",
        email=f"{number.lower()}@example.com",
        department="Administration",
        password="Second-admin-pass-2",
        must_change=True,
    )
    assert not again.created and again.employee.id == account.employee.id
    assert (await stack.login(number, "Second-admin-pass-2"))["must_change_password"] is True


async def test_stride_admin_create_command(
    stack: GatewayStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIDE_IDENTITY_ADDR", stack.settings.identity_addr)
    runner = CliRunner()
    args = ["create", "--employee-number", "CLI-ADM-1", "--name", "Cli Admin"]
    args += ["--email", "cli-admin@example.com", "--department", "IT"]
    weak = await asyncio.to_thread(runner.invoke, admin_app, args, input="short\nshort\n")
    assert weak.exit_code == 1 and "weak_password" in weak.output
    ok = await asyncio.to_thread(
        runner.invoke, admin_app, args, input="Cli-admin-secret-9\nCli-admin-secret-9\n"
    )
    assert ok.exit_code == 0, ok.output
    assert "admin created" in ok.output and "CLI-ADM-1" in ok.output
    tokens = await stack.login("CLI-ADM-1", "Cli-admin-secret-9")
    assert tokens["principal"]["roles"] == ["admin"]
    # The audit trail shows where the account came from.
    entries = await _audit_entries(
        stack,
        bearer(tokens["access_token"]),
        actor="cli:bootstrap",
        resource_id=tokens["principal"]["id"],
    )
    assert "identity.employee.create" in {e["action"] for e in entries}


async def test_hr_updates_people_and_someone_who_left_cannot_sign_in(
    stack: GatewayStack, dept: str
) -> None:
    hr = await stack.person(dept, roles=["hr"])
    admin = await stack.person(dept, roles=["admin"])
    person = await stack.person(dept, sign_in=False)
    tokens = await stack.login(person.login, PASSWORD)
    path = f"/employees/{person.id}"
    r = await stack.http.patch(
        path, json={"title": "Shift lead", "roles": ["executive"]}, headers=hr.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["roles"]) == ("Shift lead", ["executive"])
    # HR may not hand out admin; an admin may.
    r = await stack.http.patch(path, json={"roles": ["admin"]}, headers=hr.headers)
    problem(r, 403, "admin_required")
    r = await stack.http.patch(path, json={"roles": ["bogus"]}, headers=hr.headers)
    problem(r, 422, "validation_error")
    # Roles take effect with the next token (refresh or sign-in).
    r = await stack.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.json()["principal"]["roles"] == ["executive"]
    refresh = r.json()["refresh_token"]
    r = await stack.http.patch(path, json={"status": "left"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "left"
    problem(
        await stack.http.post("/auth/login", json={"login": person.login, "password": PASSWORD}),
        401,
        "invalid_credentials",
    )
    problem(
        await stack.http.post("/auth/refresh", json={"refresh_token": refresh}),
        401,
        "invalid_refresh_token",
    )
    problem(
        await stack.http.patch("/employees/nobody", json={"title": "x"}, headers=hr.headers),
        404,
        "employee_not_found",
    )
