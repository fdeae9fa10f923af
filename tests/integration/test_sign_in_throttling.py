"""Sign-in abuse: per-login lockout that treats logins that exist and logins that do not
alike, per-client throttling, Retry-After — through the gateway's HTTP API in front of the
real identity service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.integration.gateway_stack import (
    API,
    BASE,
    PASSWORD,
    GatewayStack,
    module_stack,
    problem,
)

stack = module_stack("gw-sign-in")
WRONG = "Wrong-pass-99"


@asynccontextmanager
async def client_at(stack: GatewayStack, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests come from ``address``."""
    transport = httpx.ASGITransport(
        app=stack.app, raise_app_exceptions=False, client=(address, 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url=BASE + API) as http:
        yield http


async def sign_in(http: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await http.post("/auth/login", json={"login": login, "password": password})


def answer(r: httpx.Response) -> tuple[Any, ...]:
    """What a client can tell from a refusal: status, code, detail, whether Retry-After is
    there (instance and request id differ per request anyway)."""
    body = r.json()
    return (r.status_code, body["code"], body["detail"], "retry-after" in r.headers)


@pytest.fixture(scope="module")
async def dept(stack: GatewayStack) -> str:
    return str((await stack.department()).id)


async def test_known_and_unknown_logins_get_the_same_answers_under_a_spray(
    stack: GatewayStack, dept: str
) -> None:
    known = await stack.person(dept, sign_in=False)
    unknown = "nobody-" + known.login  # shaped like a real one
    async with client_at(stack, "10.0.0.1") as http:
        for attempt in range(5):
            answers = {
                answer(await sign_in(http, login, WRONG)) for login in (known.login, unknown)
            }
            assert answers == {(401, "invalid_credentials", "wrong login or password", False)}, (
                attempt
            )
        # The fifth failure locked both: the same 429 with the same Retry-After, also for the
        # right password and for the login typed in other case.
        locked = [
            await sign_in(http, known.login, WRONG),
            await sign_in(http, unknown, WRONG),
            await sign_in(http, known.login, PASSWORD),
            await sign_in(http, known.login.lower(), PASSWORD),
            await sign_in(http, unknown.upper(), WRONG),
        ]
    for r in locked:
        body = problem(r, 429, "account_locked")
        assert "try again later" in body["detail"]
        assert 890 <= int(r.headers["retry-after"]) <= 900
    assert len({answer(r) for r in locked}) == 1
    # Another login of the same person (the e-mail) has its own count.
    async with client_at(stack, "10.0.0.2") as http:
        r = await sign_in(http, known.employee.email, PASSWORD)
        assert r.status_code == 200, r.text


async def test_a_client_that_keeps_failing_waits_others_do_not(
    stack: GatewayStack, dept: str
) -> None:
    person = await stack.person(dept, sign_in=False)
    limit = int(stack.settings.sign_in_client_limit.split("/")[0])
    assert stack.settings.sign_in_client_limit == "30/minute"  # the default
    async with client_at(stack, "10.0.1.1") as sprayer:
        # A spray: one guess for each of many logins, so no login gets locked.
        for i in range(limit):
            r = await sign_in(sprayer, f"guess-{i}", WRONG)
            problem(r, 401, "invalid_credentials")
        for login, password in ((f"guess-{limit}", WRONG), (person.login, PASSWORD)):
            r = await sign_in(sprayer, login, password)
            body = problem(r, 429, "too_many_sign_in_attempts")
            assert "from this address" in body["detail"]
            assert 1 <= int(r.headers["retry-after"]) <= 60
    async with client_at(stack, "10.0.1.2") as colleague:
        r = await sign_in(colleague, person.login, PASSWORD)
        assert r.status_code == 200, r.text
        # Successes do not count: a shared address of people who sign in right is not held up.
        for _ in range(limit + 5):
            r = await sign_in(colleague, person.login, PASSWORD)
            assert r.status_code == 200, r.text


async def test_an_hr_reset_unlocks_every_login_of_the_person(
    stack: GatewayStack, dept: str
) -> None:
    person = await stack.person(dept, sign_in=False)
    hr = await stack.person(dept, roles=["hr"])
    async with client_at(stack, "10.0.2.1") as http:
        for login in (person.login, person.employee.email):
            for _ in range(5):
                problem(await sign_in(http, login, WRONG), 401, "invalid_credentials")
            problem(await sign_in(http, login, PASSWORD), 429, "account_locked")
        r = await http.post(
            f"/employees/{person.id}/password-reset",
            json={"new_password": "Brand-new-pass-7"},
            headers=hr.headers,
        )
        assert r.status_code == 200, r.text
        for login in (person.login, person.employee.email.upper()):
            r = await sign_in(http, login, "Brand-new-pass-7")
            assert r.status_code == 200, r.text
