"""Schema truth through HTTP: what the API answers is what its OpenAPI
document says, with the real gateway in front of the real identity and goals services.

- ``risk.progress`` is a number even for a target a hair from the baseline (5e-324 gave null);
- ``-0`` is stored and shown as 0; percentages lie in 0..100; amounts in 0..1e12; a milestone
  is named once;
- a body that is not JSON is 400 ``malformed_json``, answered after the permission check like
  any other bad body (401, 403, 404 first), and documented;
- a 405 lists every method of the path in ``Allow``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import httpx
import pytest

from services.common.errors import ERROR_CODE_KEY
from stride.goals.v1 import goals_pb2 as gpb
from tests.integration.gateway_stack import GatewayStack, Person, module_stack, problem
from tests.integration.test_gateway_goals import ok, today

stack = module_stack("gw-truth")


@dataclass
class Setup:
    stack: GatewayStack
    admin: Person
    manager: Person
    emp: Person
    outsider: Person
    cycle: str

    @property
    def http(self) -> httpx.AsyncClient:
        return self.stack.http


@pytest.fixture(scope="module")
async def setup(stack: GatewayStack) -> Setup:
    dept = await stack.department(f"Truth {uuid.uuid4().hex[:6]}")
    other = await stack.department(f"Other {uuid.uuid4().hex[:6]}")
    admin = await stack.person(dept.id, roles=["admin"], name="Admin")
    manager = await stack.person(dept.id, name="Manager")
    emp = await stack.person(dept.id, manager_id=manager.id, name="Operator")
    outsider = await stack.person(other.id, name="Outsider")
    start = today() - timedelta(weeks=5)
    cycle = ok(
        await stack.http.post(
            "/cycles",
            json={
                "name": f"Truth {uuid.uuid4().hex[:6]}",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=90)).isoformat(),
            },
            headers=admin.headers,
        ),
        201,
    )["id"]
    return Setup(stack, admin, manager, emp, outsider, cycle)


async def key_result(s: Setup, **kr: Any) -> dict[str, Any]:
    """A draft objective of ``s.emp`` with one key result; the key result."""
    body = {
        "cycle_id": s.cycle,
        "title": f"Objective {uuid.uuid4().hex[:6]}",
        "owner_id": s.emp.id,
        "key_results": [{"title": "KR", "weight": 100, **kr}],
    }
    obj = ok(await s.http.post("/objectives", json=body, headers=s.emp.headers), 201)
    krs = ok(await s.http.get(f"/objectives/{obj['id']}/key-results", headers=s.emp.headers))
    return dict(krs["items"][0])


async def titles(s: Setup) -> set[str]:
    r = await s.http.get(
        "/objectives", params={"cycle_id": s.cycle, "page_size": 200}, headers=s.admin.headers
    )
    return {o["title"] for o in ok(r)["items"]}


def grpc_code(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get(ERROR_CODE_KEY, "")


async def test_risk_progress_is_a_number_for_a_target_a_hair_from_the_baseline(
    setup: Setup,
) -> None:
    kr = await key_result(setup, baseline=0, target=5e-324)
    r = await setup.http.post(
        f"/key-results/{kr['id']}/check-ins",
        json={"value": 1, "confidence": 5},
        headers=setup.emp.headers,
    )
    risk = ok(r, 201)["risk"]
    assert all(isinstance(risk[k], float) for k in ("progress", "expected_progress", "shortfall"))
    assert risk["progress"] == 1e6  # bounded: the share overflowed to inf before
    again = ok(await setup.http.get(f"/key-results/{kr['id']}", headers=setup.emp.headers))
    assert isinstance(again["risk"]["progress"], float)


async def test_negative_zero_is_stored_and_shown_as_zero(setup: Setup) -> None:
    kr = await key_result(setup, baseline=-0.0, target=8)
    assert kr["baseline"] == 0 and "-0" not in json.dumps(kr["baseline"])
    r = await setup.http.post(
        f"/key-results/{kr['id']}/check-ins",
        json={"value": -0.0, "confidence": 5},
        headers=setup.emp.headers,
    )
    assert ok(r, 201)["value"] == 0
    assert '"value":0.0' in r.text and "-0.0" not in r.text
    # Over gRPC too (the gateway is not the only door).
    direct = await setup.stack.goals.RecordCheckIn(
        gpb.RecordCheckInRequest(
            key_result_id=kr["id"],
            value=-0.0,
            confidence=5,
            actor=gpb.CheckInActor(employee_id=setup.emp.id),
        )
    )
    assert str(direct.value) == "0.0"
    listed = await setup.http.get(f"/key-results/{kr['id']}/check-ins", headers=setup.emp.headers)
    assert "-0.0" not in ok(listed) and "-0.0" not in listed.text


@pytest.mark.parametrize(
    "kr",
    [
        {"kind": "percentage", "baseline": 90, "target": 150},
        {"kind": "percentage", "baseline": 101, "target": 100},
        {"kind": "percentage", "direction": "stay_within", "lower_bound": 0, "upper_bound": 120},
        {"baseline": 0, "target": 2e12},
        {"kind": "milestone", "milestones": ["Plan", "Move", "plan"]},
    ],
)
async def test_out_of_range_numbers_and_repeated_milestones_are_refused(
    setup: Setup, kr: dict[str, Any]
) -> None:
    title = f"Refused {uuid.uuid4().hex[:6]}"
    r = await setup.http.post(
        "/objectives",
        json={
            "cycle_id": setup.cycle,
            "title": title,
            "owner_id": setup.emp.id,
            "key_results": [{"title": "KR", "weight": 100, **kr}],
        },
        headers=setup.emp.headers,
    )
    problem(r, 422, "validation_error")
    assert title not in await titles(setup)


async def test_goals_refuses_them_over_grpc_too(setup: Setup) -> None:
    base = {"title": "KR", "weight": 100}
    cases = [
        (
            gpb.NewKeyResult(**base, kind=gpb.KEY_RESULT_KIND_PERCENTAGE, baseline=90, target=150),
            "percentage_out_of_range",
        ),
        (
            gpb.NewKeyResult(**base, kind=gpb.KEY_RESULT_KIND_MILESTONE, milestones=["a", "A"]),
            "duplicate_milestone",
        ),
        (gpb.NewKeyResult(**base, baseline=0, target=2e12), "target_too_large"),
    ]
    for spec, code in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await setup.stack.goals.CreateObjective(
                gpb.CreateObjectiveRequest(
                    cycle_id=setup.cycle, title="Direct", owner_id=setup.emp.id, key_results=[spec]
                )
            )
        assert grpc_code(refused.value) == code


async def test_a_percentage_check_in_lies_in_0_to_100(setup: Setup) -> None:
    kr = await key_result(setup, kind="percentage", baseline=90, target=98)
    r = await setup.http.post(
        f"/key-results/{kr['id']}/check-ins",
        json={"value": 101, "confidence": 5},
        headers=setup.emp.headers,
    )
    problem(r, 422, "percentage_out_of_range")
    listed = await setup.http.get(f"/key-results/{kr['id']}/check-ins", headers=setup.emp.headers)
    assert ok(listed)["items"] == []
    r = await setup.http.post(
        f"/key-results/{kr['id']}/check-ins",
        json={"value": 100, "confidence": 5},
        headers=setup.emp.headers,
    )
    ok(r, 201)


@pytest.mark.parametrize(
    "raw",
    [b'{"title": "half', b"title=x", b'{"title": "\xff\xfe"}'],
    ids=["truncated", "form", "not-utf8"],
)
async def test_malformed_json_is_400_after_the_permission_check(setup: Setup, raw: bytes) -> None:
    """The same order as every other bad body: who you are (401), whether you may (403/404),
    then the body (400 here, 422 for a well-formed wrong one)."""
    s = setup
    kr = await key_result(s, baseline=0, target=10)
    objective = kr["objective_id"]
    path = f"/objectives/{objective}"
    json_type = {"content-type": "application/json"}
    r = await s.http.patch(path, content=raw, headers=json_type)
    problem(r, 401, "unauthenticated")
    r = await s.http.patch(path, content=raw, headers={**json_type, **s.outsider.headers})
    problem(r, 404, "objective_not_found")
    r = await s.http.patch(path, content=raw, headers={**json_type, **s.manager.headers})
    problem(r, 403, "forbidden")
    r = await s.http.patch(path, content=raw, headers={**json_type, **s.emp.headers})
    body = problem(r, 400, "malformed_json")
    assert body["detail"].startswith("The request body is not JSON")
    # An admin-only route: a plain employee is refused before the body is looked at.
    r = await s.http.post("/cycles", content=raw, headers={**json_type, **s.emp.headers})
    problem(r, 403, "forbidden")
    r = await s.http.post("/cycles", content=raw, headers={**json_type, **s.admin.headers})
    problem(r, 400, "malformed_json")
    # Nothing changed.
    again = ok(await s.http.get(path, headers=s.emp.headers))
    assert again["title"].startswith("Objective ")
    # The status is in the operation's documented responses.
    doc = ok(await s.http.get("/openapi.json"))
    assert "400" in doc["paths"]["/api/v1/objectives/{objective_id}"]["patch"]["responses"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/cycles", "GET, POST"),
        ("PUT", "/objectives/{objective}", "DELETE, GET, PATCH"),
        ("POST", "/key-results/{kr}", "GET, PATCH"),
        ("DELETE", "/key-results/{kr}/check-ins", "GET, POST"),
        ("GET", "/auth/login", "POST"),
    ],
)
async def test_405_lists_every_method_of_the_path(
    setup: Setup, method: str, path: str, allow: str
) -> None:
    kr = await key_result(setup, baseline=0, target=10)
    url = path.format(objective=kr["objective_id"], kr=kr["id"])
    r = await setup.http.request(method, url, headers=setup.emp.headers)
    problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == allow


@pytest.mark.parametrize("raw", [b"\x00>\xdf\xac\xad\xd5+", b"\x00{"], ids=["utf16-like", "nul"])
async def test_garbage_is_not_an_empty_body(setup: Setup, raw: bytes) -> None:
    """A body whose fields are all optional: bytes that are not JSON (here ones json.loads
    takes for UTF-16) are refused, not read as "no fields" — the password stays as it was
    (found by the fuzz phase: the reset went through and generated a new password)."""
    s = setup
    r = await s.http.post(
        f"/employees/{s.emp.id}/password-reset",
        content=raw,
        headers={"content-type": "application/json", **s.admin.headers},
    )
    problem(r, 400, "malformed_json")
    signed_in = await s.http.post(
        "/auth/login", json={"login": s.emp.login, "password": s.emp.password}
    )
    assert signed_in.status_code == 200, signed_in.text
