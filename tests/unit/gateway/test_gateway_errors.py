"""Errors: request validation (422 validation_error), gRPC status → problem+json, 500s."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.bootstrap import GatewayDeps
from services.common.settings import GatewaySettings
from stride.goals.v1 import goals_pb2 as gpb
from tests.unit.gateway.conftest import make_client
from tests.unit.gateway.fakes import FakeServices

API = "/api/v1"
PROBLEM = "application/problem+json"


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = dict(r.json())
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:stride:problem:{code}"
    assert body["title"] and body["detail"]
    assert body["instance"] == r.request.url.path
    assert body["request_id"] == r.headers["x-request-id"]
    return body


async def _key_result(client: httpx.AsyncClient) -> str:
    cycle = await client.post(
        f"{API}/cycles", json={"name": "Q1", "start_date": "2026-01-01", "end_date": "2026-03-31"}
    )
    obj = await client.post(
        f"{API}/objectives",
        json={"cycle_id": cycle.json()["id"], "title": "Quality", "owner_id": "emp-1"},
    )
    kr = await client.post(
        f"{API}/objectives/{obj.json()['id']}/key-results",
        json={"title": "Yield", "baseline": 90, "target": 99},
    )
    assert kr.status_code == 201
    return str(kr.json()["id"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": -1, "confidence": 5}, "value"),
        ({"value": "abc", "confidence": 5}, "value"),
        ({"value": "12", "confidence": 5}, "value"),  # numbers must be JSON numbers
        ({"value": None, "confidence": 5}, "value"),
        ({"value": True, "confidence": 5}, "value"),
        ({"confidence": 5}, "value"),
        ({"value": 1, "confidence": 11}, "confidence"),
        ({"value": 1, "confidence": -1}, "confidence"),
        ({"value": 1, "confidence": 7.5}, "confidence"),
        ({"value": 1}, "confidence"),
        ({"value": 1, "confidence": 5, "week": "2026-48"}, "week"),
        ({"value": 1, "confidence": 5, "week": "2026-W54"}, "week"),
        ({"value": 1, "confidence": 5, "week": "2025-W53"}, "week"),  # 2025 has 52 weeks
        ({"value": 1, "confidence": 5, "note": "x" * 4001}, "note"),
        ({"value": 1, "confidence": 5, "mood": "great"}, "mood"),
    ],
)
async def test_bad_check_in_is_422_and_never_reaches_the_service(
    client: httpx.AsyncClient, services: FakeServices, body: dict[str, Any], field: str
) -> None:
    kr = await _key_result(client)
    before = len(services.log.calls)
    r = await client.post(f"{API}/key-results/{kr}/check-ins", json=body)
    problem = assert_problem(r, 422, "validation_error")
    assert field in {e["field"] for e in problem["errors"]}
    assert all(e["loc"][0] == "body" for e in problem["errors"])
    assert field in problem["detail"]
    # Refused before any call: no authorization read (goals applies the owner rule on the
    # write itself) and nothing written.
    assert [c.method for c in services.log.calls[before:]] == []
    assert services.goals.check_ins[kr] == []


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b'{"value": NaN, "confidence": 5}', 422, "validation_error"),
        (b'{"value": Infinity, "confidence": 5}', 422, "validation_error"),
        (b'{"value": 1e999, "confidence": 5}', 422, "validation_error"),
        (b'{"value": 1,', 400, "malformed_json"),
        (b"value=1", 400, "malformed_json"),
        (b'{"value": 1, "note": "\xff\xfe"}', 400, "malformed_json"),  # not UTF-8
    ],
)
async def test_non_finite_numbers_are_422_and_malformed_json_400(
    client: httpx.AsyncClient, services: FakeServices, raw: bytes, status: int, code: str
) -> None:
    kr = await _key_result(client)
    r = await client.post(
        f"{API}/key-results/{kr}/check-ins",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert_problem(r, status, code)
    assert services.goals.check_ins[kr] == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/departments", {"name": "   "}, "name"),
        ("/departments", {}, "name"),
        ("/departments", {"name": 5}, "name"),
        (
            "/employees",
            {"employee_number": "1", "name": "A", "email": "nope", "department_id": "d"},
            "email",
        ),
        ("/employees", {"employee_number": "1", "name": "A", "email": "a@b.cn"}, "department_id"),
        (
            "/cycles",
            {"name": "Q", "start_date": "2026-13-01", "end_date": "2026-12-31"},
            "start_date",
        ),
        (
            "/cycles",
            {"name": "Q", "start_date": "01/02/2026", "end_date": "2026-12-31"},
            "start_date",
        ),
        (
            "/cycles",
            {"name": "Q", "start_date": "2026-04-01", "end_date": "2026-03-31"},
            "end_date",
        ),
        (
            "/cycles",
            {
                "name": "Q",
                "start_date": "2026-01-01",
                "end_date": "2026-03-31",
                "time_zone": "Mars/Olympus",
            },
            "time_zone",
        ),
        ("/objectives", {"cycle_id": "c", "title": "", "owner_id": "e"}, "title"),
        ("/objectives", {"cycle_id": "c", "title": "T"}, "owner_id"),
        ("/objectives/obj-1/key-results", {"title": "K", "baseline": -5, "target": 10}, "baseline"),
        ("/objectives/obj-1/key-results", {"title": "K", "baseline": 0, "target": "ten"}, "target"),
        ("/objectives/obj-1/key-results", {"title": "K", "baseline": 0}, "target"),
    ],
)
async def test_bad_create_bodies_are_422(
    client: httpx.AsyncClient,
    services: FakeServices,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    services.goals.objectives["obj-1"] = gpb.Objective(id="obj-1", owner_id="emp-admin")
    r = await client.post(f"{API}{path}", json=body)
    problem = assert_problem(r, 422, "validation_error")
    assert field in {e["field"] for e in problem["errors"]}
    # At most the authorization read of the objective named in the path; nothing written.
    assert {c.method for c in services.log.calls} <= {"GetObjective"}


@pytest.mark.parametrize(
    "params",
    [{"page_size": 0}, {"page_size": 201}, {"page_size": "ten"}, {"page_token": "x" * 2000}],
)
async def test_bad_paging_is_422(
    client: httpx.AsyncClient, services: FakeServices, params: dict[str, Any]
) -> None:
    r = await client.get(f"{API}/cycles", params=params)
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"][0]["loc"][0] == "query"
    assert services.log.calls == []


async def test_bad_path_id_is_422(client: httpx.AsyncClient, services: FakeServices) -> None:
    r = await client.get(f"{API}/cycles/{'x' * 129}")
    assert_problem(r, 422, "validation_error")
    assert services.log.calls == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # Strings that are not human texts: ids, sign-in names, e-mail addresses.
        (
            "/employees",
            {"name": "Li", "email": "li@example.com", "department_id": "d\x00"},
            "department_id",
        ),
        ("/auth/login", {"login": "\ud9eb\udf6a\x00", "password": "secret-secret"}, "login"),
        ("/auth/login", {"login": "li\udc00", "password": "secret-secret"}, "login"),
        (
            "/objectives/copy",
            {"source_cycle_id": "a", "target_cycle_id": "b", "objective_ids": ["ok", "o\x00"]},
            "objective_ids",
        ),
    ],
)
async def test_nul_or_lone_surrogate_anywhere_in_a_body_is_422(
    client: httpx.AsyncClient, services: FakeServices, path: str, body: dict[str, Any], field: str
) -> None:
    # Sent as raw JSON: "\u0000" and a lone "\udc00" are valid JSON escapes.
    r = await client.post(
        f"{API}{path}",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    problem = assert_problem(r, 422, "validation_error")
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert services.log.calls == []


@pytest.mark.parametrize(
    "url", [f"{API}/cycles/c%00", f"{API}/key-results?objective_id=o%00", f"{API}/cycles?x=%00"]
)
async def test_nul_in_path_or_query_is_422_invalid_character(
    client: httpx.AsyncClient, services: FakeServices, url: str
) -> None:
    r = await client.get(url)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_character"
    assert "\x00" not in r.json()["instance"]
    assert r.json()["request_id"] == r.headers["x-request-id"]
    assert services.log.calls == []


async def test_not_found_takes_the_service_code(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/cycles/nope")
    problem = assert_problem(r, 404, "cycle_not_found")
    assert problem["detail"] == "cycle not found"
    assert_problem(await client.get(f"{API}/key-results/nope"), 404, "key_result_not_found")
    assert_problem(
        await client.post(f"{API}/key-results/nope/check-ins", json={"value": 1, "confidence": 1}),
        404,
        "key_result_not_found",
    )


async def test_not_found_without_trailer_falls_back_to_status_code(
    client: httpx.AsyncClient,
) -> None:
    problem = assert_problem(await client.get(f"{API}/employees/no-trailer"), 404, "not_found")
    assert problem["detail"] == "nothing here"


async def test_invalid_argument_is_422_with_service_code(
    client: httpx.AsyncClient, services: FakeServices
) -> None:
    r = await client.post(
        f"{API}/objectives", json={"cycle_id": "missing", "title": "T", "owner_id": "e"}
    )
    problem = assert_problem(r, 422, "unknown_cycle")
    assert "errors" not in problem
    cycle = await client.post(
        f"{API}/cycles", json={"name": "Q", "start_date": "2026-01-01", "end_date": "2026-03-31"}
    )
    obj = await client.post(
        f"{API}/objectives", json={"cycle_id": cycle.json()["id"], "title": "T", "owner_id": "e"}
    )
    # A target equal to the baseline is caught by the schema, before any service call.
    calls = len(services.log.calls)
    r = await client.post(
        f"{API}/objectives/{obj.json()['id']}/key-results",
        json={"title": "K", "baseline": 3, "target": 3},
    )
    problem = assert_problem(r, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["target"]
    assert "CreateKeyResult" not in services.log.names()[calls:]


async def test_already_exists_is_409(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{API}/departments", json={"name": "QA"})).status_code == 201
    r = await client.post(f"{API}/departments", json={"name": "QA"})
    problem = assert_problem(r, 409, "department_exists")
    assert "QA" in problem["detail"]


async def test_failed_precondition_is_409(client: httpx.AsyncClient) -> None:
    kr = await _key_result(client)
    cycle = (await client.get(f"{API}/key-results/{kr}")).json()["cycle_id"]
    assert (await client.post(f"{API}/cycles/{cycle}/close")).status_code == 200
    assert_problem(await client.post(f"{API}/cycles/{cycle}/close"), 409, "cycle_closed")
    r = await client.post(f"{API}/key-results/{kr}/check-ins", json={"value": 95, "confidence": 5})
    assert_problem(r, 409, "cycle_closed")


@pytest.mark.parametrize(
    ("employee", "status", "code"),
    [
        ("unauthenticated", 401, "invalid_credentials"),
        ("denied", 403, "not_yours"),
        ("locked", 429, "account_locked"),
    ],
)
async def test_credential_statuses_map_to_401_403_429(
    client: httpx.AsyncClient, employee: str, status: int, code: str
) -> None:
    r = await client.get(f"{API}/employees/{employee}")
    problem = assert_problem(r, status, code)
    assert problem["detail"] == f"{code} for you"  # written for people by the service
    if status == 401:
        assert r.headers["www-authenticate"] == 'Bearer realm="stride"'
    else:
        assert "www-authenticate" not in r.headers


async def test_service_crash_is_502_without_details(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/employees/boom")
    assert_problem(r, 502, "upstream_error")
    assert "hunter2" not in r.text and "RuntimeError" not in r.text


async def test_deadline_exceeded_is_504(settings: GatewaySettings, deps: GatewayDeps) -> None:
    deps.rpc_timeout = 0.2
    async with make_client(settings, deps) as client:
        assert_problem(await client.get(f"{API}/employees/slow"), 504, "service_timeout")


async def test_service_down_is_503(client: httpx.AsyncClient, services: FakeServices) -> None:
    await services.goals_server.stop(grace=0)
    r = await client.get(f"{API}/cycles")
    problem = assert_problem(r, 503, "service_unavailable")
    assert "127.0.0.1" not in problem["detail"]
    # identity is still up
    assert (await client.get(f"{API}/departments")).status_code == 200


class _ExplodingStub:
    async def GetCycle(self, request: object, **kwargs: object) -> object:
        raise RuntimeError("secret: db password hunter2")


async def test_unexpected_gateway_error_is_500_problem(
    settings: GatewaySettings, deps: GatewayDeps, capsys: pytest.CaptureFixture[str]
) -> None:
    deps.goals = _ExplodingStub()
    async with make_client(settings, deps) as client:
        r = await client.get(f"{API}/cycles/c1", headers={"X-Request-ID": "trace-me"})
    problem = assert_problem(r, 500, "internal_error")
    assert r.headers["x-request-id"] == "trace-me"
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    assert problem["request_id"] == "trace-me"
    # the details go to the log instead, with the request id
    logged = capsys.readouterr().out
    assert "hunter2" in logged and "trace-me" in logged


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{API}/nothing-here"), 404, "not_found")
    assert_problem(await client.delete(f"{API}/cycles"), 405, "method_not_allowed")
