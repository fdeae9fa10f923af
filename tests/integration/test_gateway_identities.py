"""Logins and e-mails are unique without regard to case (after Unicode normalisation), and
sign-in ignores case — through the gateway's HTTP API in front of the real identity service
(SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import PASSWORD, GatewayStack, module_stack, problem

stack = module_stack("gw-identities")


@pytest.fixture(scope="module")
async def org(stack: GatewayStack) -> dict[str, Any]:
    dept = str((await stack.department()).id)
    hr = await stack.person(dept, roles=["hr"])
    return {"dept": dept, "hr": hr.headers}


async def employee_numbers(stack: GatewayStack, headers: dict[str, str]) -> list[str]:
    r = await stack.http.get("/employees", params={"page_size": 200}, headers=headers)
    assert r.status_code == 200, r.text
    return [e["employee_number"] for e in r.json()["items"]]


async def test_admin_and_ADMIN_are_one_login_and_sign_in_ignores_case(
    stack: GatewayStack, org: dict[str, Any]
) -> None:
    hr, dept = org["hr"], org["dept"]
    new = {"name": "Wang Admin", "department_id": dept}
    r = await stack.http.post(
        "/employees",
        json={**new, "employee_number": "admin", "email": "Admin@Example.com"},
        headers=hr,
    )
    assert r.status_code == 201, r.text
    admin = r.json()
    for number, email in (
        ("ADMIN", "other@example.com"),  # the same login in capitals
        ("Admin", "other2@example.com"),
    ):
        r = await stack.http.post(
            "/employees", json={**new, "employee_number": number, "email": email}, headers=hr
        )
        body = problem(r, 409, "employee_number_taken")
        assert "upper and lower case count as one" in body["detail"]
    for email in ("admin@example.com", "ADMIN@EXAMPLE.COM", "ａｄｍｉｎ@example.com"):
        r = await stack.http.post(
            "/employees", json={**new, "employee_number": "second", "email": email}, headers=hr
        )
        problem(r, 409, "email_taken")
    numbers = await employee_numbers(stack, hr)
    assert numbers.count("admin") == 1 and "ADMIN" not in numbers and "second" not in numbers

    await stack.admin_grpc.set_password(identity_pb2.Employee(**_ids(admin)), PASSWORD)
    for login in ("admin", "Admin", "ADMIN", "admin@example.com", "ADMIN@example.COM"):
        tokens = await stack.login(login, PASSWORD)
        assert tokens["principal"]["id"] == admin["id"], login


def _ids(employee: dict[str, Any]) -> dict[str, str]:
    return {"id": employee["id"], "employee_number": employee["employee_number"]}


async def test_an_email_change_or_a_return_cannot_take_someone_elses_email(
    stack: GatewayStack, org: dict[str, Any]
) -> None:
    hr, dept = org["hr"], org["dept"]

    async def create(number: str, email: str) -> dict[str, Any]:
        r = await stack.http.post(
            "/employees",
            json={"employee_number": number, "name": number, "email": email, "department_id": dept},
            headers=hr,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    li = await create("li-1", "li@example.com")
    zhao = await create("zhao-1", "zhao@example.com")
    r = await stack.http.patch(
        f"/employees/{zhao['id']}", json={"email": "LI@example.com"}, headers=hr
    )
    problem(r, 409, "email_taken")
    # Li leaves; the address may go to someone else, and Li cannot come back with it.
    r = await stack.http.patch(f"/employees/{li['id']}", json={"status": "left"}, headers=hr)
    assert r.status_code == 200, r.text
    r = await stack.http.patch(
        f"/employees/{zhao['id']}", json={"email": "Li@Example.com"}, headers=hr
    )
    assert r.status_code == 200 and r.json()["email"] == "Li@Example.com"
    r = await stack.http.patch(f"/employees/{li['id']}", json={"status": "active"}, headers=hr)
    problem(r, 409, "email_taken")
    r = await stack.http.get(f"/employees/{li['id']}", headers=hr)
    assert r.json()["status"] == "left"
    r = await stack.http.patch(
        f"/employees/{li['id']}", json={"status": "active", "email": "li2@example.com"}, headers=hr
    )
    assert r.status_code == 200 and r.json()["status"] == "active"


async def test_the_database_refuses_duplicates_on_its_own(
    stack: GatewayStack, org: dict[str, Any]
) -> None:
    """The unique indexes hold even for a write that skips the service's checks."""
    r = await stack.http.post(
        "/employees",
        json={
            "employee_number": "Db-1",
            "name": "Db",
            "email": "Db@example.com",
            "department_id": org["dept"],
        },
        headers=org["hr"],
    )
    assert r.status_code == 201, r.text
    insert = text(
        "INSERT INTO employees (id, employee_number, name, department_id, status, created_at, "
        "roles, employee_number_key, email_key) VALUES "
        "(:id, :number, 'X', :dept, 'active', CURRENT_TIMESTAMP, '', :number_key, :email_key)"
    )
    async with stack.identity_engine.connect() as conn:
        for number, email_key in (("DB-1", None), ("db-2", "db@example.com")):
            values = {"id": number, "number": number, "dept": org["dept"]}
            with pytest.raises(IntegrityError):
                await conn.execute(
                    insert, {**values, "number_key": number.lower(), "email_key": email_key}
                )
            await conn.rollback()
