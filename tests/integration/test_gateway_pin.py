"""Shared-device sign-in by employee number + PIN, through the gateway's HTTP API in front of
the real identity service (PostgreSQL when STRIDE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.gateway_stack import (
    PASSWORD,
    GatewayStack,
    Person,
    bearer,
    module_stack,
    problem,
)

stack = module_stack("gw-pin")
PIN = "2580"


@pytest.fixture(scope="module")
async def dept(stack: GatewayStack) -> str:
    return str((await stack.department()).id)


async def _set_pin(stack: GatewayStack, person: Person, pin: str = PIN) -> None:
    r = await stack.http.put(
        "/me/pin", json={"current_password": PASSWORD, "pin": pin}, headers=person.headers
    )
    assert r.status_code == 204, r.text


async def _pin_login(stack: GatewayStack, number: str, pin: str) -> Any:
    return await stack.http.post("/auth/pin", json={"employee_number": number, "pin": pin})


async def _audit(stack: GatewayStack, hr: Person, action: str, resource_id: str) -> list[Any]:
    for _ in range(100):  # entries reach the chain through NATS
        r = await stack.http.get(
            "/audit", params={"action": action, "resource_id": resource_id}, headers=hr.headers
        )
        assert r.status_code == 200, r.text
        if r.json()["items"]:
            return list(r.json()["items"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no audit entry {action} for {resource_id}")


async def test_set_pin_and_sign_in_on_a_shared_device(stack: GatewayStack, dept: str) -> None:
    person = await stack.person(dept, name="Zhou Min")
    hr = await stack.person(dept, roles=["hr"])
    # Not without the password, and not an easy PIN.
    r = await stack.http.put(
        "/me/pin", json={"current_password": "Wrong-pass-99", "pin": PIN}, headers=person.headers
    )
    problem(r, 403, "wrong_current_password")
    for weak in ["1111", "1234", "654321", "12a4", "123", "123456789"]:
        r = await stack.http.put(
            "/me/pin", json={"current_password": PASSWORD, "pin": weak}, headers=person.headers
        )
        problem(r, 422, "weak_pin")
    problem(await _pin_login(stack, person.login, PIN), 401, "invalid_pin")  # no PIN yet
    await _set_pin(stack, person)

    r = await _pin_login(stack, person.login.lower(), PIN)  # numbers compare caselessly
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["shared_device"] is True and body["expires_in"] == 15 * 60
    assert "refresh_token" not in body
    assert body["principal"]["id"] == person.id and body["principal"]["shared_device"] is True
    shared = bearer(body["access_token"])
    me = await stack.http.get("/auth/me", headers=shared)
    assert me.status_code == 200 and me.json()["shared_device"] is True
    assert (await stack.http.get("/departments", headers=shared)).status_code == 200
    # The e-mail is no PIN login.
    problem(await _pin_login(stack, person.employee.email, PIN), 401, "invalid_pin")

    # A shared-device session changes no credentials.
    r = await stack.http.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": "Brand-new-pass-2"},
        headers=shared,
    )
    problem(r, 403, "shared_device_session")
    r = await stack.http.put(
        "/me/pin", json={"current_password": PASSWORD, "pin": "1357"}, headers=shared
    )
    problem(r, 403, "shared_device_session")
    # The password still is the old one.
    assert (await stack.login(person.login, PASSWORD))["access_token"]

    entries = await _audit(stack, hr, "identity.auth.pin_set", person.id)
    assert entries[0]["resource_id"] == person.id
    await _audit(stack, hr, "identity.auth.pin_login", person.id)


async def test_a_shared_device_session_creates_no_api_keys(stack: GatewayStack, dept: str) -> None:
    admin = await stack.person(dept, roles=["admin"])
    await _set_pin(stack, admin, "7319")
    r = await _pin_login(stack, admin.login, "7319")
    assert r.status_code == 200, r.text
    shared = bearer(r.json()["access_token"])
    r = await stack.http.post(
        "/api-keys", json={"name": "from the line", "scopes": ["goals:read"]}, headers=shared
    )
    problem(r, 403, "shared_device_session")
    r = await stack.http.post(
        "/api-keys", json={"name": "from my desk", "scopes": ["goals:read"]}, headers=admin.headers
    )
    assert r.status_code == 201, r.text


async def test_five_wrong_pins_lock_the_number_until_hr_resets(
    stack: GatewayStack, dept: str
) -> None:
    person = await stack.person(dept)
    hr = await stack.person(dept, roles=["hr"])
    await _set_pin(stack, person)
    for _ in range(4):
        problem(await _pin_login(stack, person.login, "9513"), 401, "invalid_pin")
    r = await _pin_login(stack, person.login, "9513")  # the fifth locks
    body = problem(r, 429, "pin_locked")
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    assert "try again later" in body["detail"]
    # The right PIN is refused too while locked; the password still works.
    problem(await _pin_login(stack, person.login, PIN), 429, "pin_locked")
    assert (await stack.login(person.login, PASSWORD))["access_token"]
    await _audit(stack, hr, "identity.auth.pin_locked", person.id)

    # A number that belongs to nobody locks the same way (no hint who exists).
    for _ in range(4):
        problem(await _pin_login(stack, "NOBODY-0", "9513"), 401, "invalid_pin")
    problem(await _pin_login(stack, "NOBODY-0", "9513"), 429, "pin_locked")

    # Only HR/admin remove a PIN; that also lifts the lock; a new PIN is set with the password.
    other = await stack.person(dept)
    r = await stack.http.delete(f"/employees/{person.id}/pin", headers=other.headers)
    problem(r, 403, "forbidden")
    r = await stack.http.delete(f"/employees/{person.id}/pin", headers=hr.headers)
    assert r.status_code == 204, r.text
    problem(await _pin_login(stack, person.login, PIN), 401, "invalid_pin")
    entries = await _audit(stack, hr, "identity.auth.pin_reset", person.id)
    assert entries[0]["actor"] == hr.id
    await _set_pin(stack, person, "4826")
    assert (await _pin_login(stack, person.login, "4826")).status_code == 200


async def test_a_success_starts_the_count_over(stack: GatewayStack, dept: str) -> None:
    person = await stack.person(dept)
    await _set_pin(stack, person)
    for _ in range(4):
        problem(await _pin_login(stack, person.login, "9513"), 401, "invalid_pin")
    assert (await _pin_login(stack, person.login, PIN)).status_code == 200
    for _ in range(4):
        problem(await _pin_login(stack, person.login, "9513"), 401, "invalid_pin")
    assert (await _pin_login(stack, person.login, PIN)).status_code == 200


async def test_a_password_reset_removes_the_pin(stack: GatewayStack, dept: str) -> None:
    person = await stack.person(dept)
    hr = await stack.person(dept, roles=["hr"])
    await _set_pin(stack, person)
    r = await stack.http.post(f"/employees/{person.id}/password-reset", json={}, headers=hr.headers)
    assert r.status_code == 200, r.text
    problem(await _pin_login(stack, person.login, PIN), 401, "invalid_pin")


async def test_only_an_admin_removes_an_hr_pin(stack: GatewayStack, dept: str) -> None:
    hr = await stack.person(dept, roles=["hr"])
    other_hr = await stack.person(dept, roles=["hr"])
    admin = await stack.person(dept, roles=["admin"])
    r = await stack.http.delete(f"/employees/{hr.id}/pin", headers=other_hr.headers)
    problem(r, 403, "admin_required")
    r = await stack.http.delete(f"/employees/{hr.id}/pin", headers=admin.headers)
    assert r.status_code == 204, r.text
