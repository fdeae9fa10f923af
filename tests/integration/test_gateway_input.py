"""Bad input through HTTP: the real gateway in front of the real
identity and goals services. Each refusal is a 422 problem+json with a stable code, and
nothing is written.

- Only ASCII ``YYYY-Www`` is a week and ``YYYY-MM-DD`` a date; numbers and flags in query
  strings are ASCII digits and ``true``/``false``; body types are strict.
- Cycle dates lie in 2000..2100 and a cycle spans at most 400 days (9999 gave a 502, 0001 a
  cycle whose workflow failed forever).
- Every human-entered text goes through one rule (services/common/text.py): no control or
  bidirectional-override characters, nothing invisible-only, NFC, trimmed.
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import httpx
import pytest

from services.common.errors import ERROR_CODE_KEY
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2 as ipb
from tests.integration.gateway_stack import GatewayStack, Person, module_stack, problem
from tests.integration.test_gateway_goals import ok, today

stack = module_stack("gw-input")

FAKE_WEEKS = ["٢٠٢٦-W49", "2026-W4９", "２０２６-W49"]


@dataclass
class Setup:
    stack: GatewayStack
    dept: str
    admin: Person
    emp: Person
    cycle: str
    objective: str
    kr: str

    @property
    def http(self) -> httpx.AsyncClient:
        return self.stack.http


@pytest.fixture(scope="module")
async def setup(stack: GatewayStack) -> Setup:
    dept = await stack.department(f"Input {uuid.uuid4().hex[:6]}")
    admin = await stack.person(dept.id, roles=["admin"], name="Admin")
    emp = await stack.person(dept.id, manager_id=admin.id, name="Operator")
    start = today() - timedelta(weeks=5)
    cycle = ok(
        await stack.http.post(
            "/cycles",
            json={
                "name": f"Input {uuid.uuid4().hex[:6]}",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=90)).isoformat(),
            },
            headers=admin.headers,
        ),
        201,
    )["id"]
    obj = ok(
        await stack.http.post(
            "/objectives",
            json={
                "cycle_id": cycle,
                "title": "Yield",
                "owner_id": emp.id,
                "key_results": [{"title": "FPY", "baseline": 90, "target": 98, "weight": 100}],
            },
            headers=emp.headers,
        ),
        201,
    )
    krs = ok(await stack.http.get(f"/objectives/{obj['id']}/key-results", headers=emp.headers))
    return Setup(stack, dept.id, admin, emp, cycle, obj["id"], krs["items"][0]["id"])


async def history(s: Setup) -> list[dict[str, Any]]:
    r = await s.http.get(f"/key-results/{s.kr}/check-ins/history", headers=s.admin.headers)
    return list(ok(r)["items"])


async def cycle_names(s: Setup) -> set[str]:
    r = await s.http.get("/cycles", params={"page_size": 200}, headers=s.admin.headers)
    return {c["name"] for c in ok(r)["items"]}


def grpc_code(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get(ERROR_CODE_KEY, "")


# -- 1. weeks, dates and numbers: ASCII only ---------------------------------------------------


@pytest.mark.parametrize("fake", FAKE_WEEKS)
async def test_weeks_in_other_scripts_digits_are_refused_and_nothing_is_stored(
    setup: Setup, fake: str
) -> None:
    s, before = setup, await history(setup)
    single = await s.http.post(
        f"/key-results/{s.kr}/check-ins",
        json={"value": 91, "confidence": 5, "week": fake},
        headers=s.emp.headers,
    )
    assert problem(single, 422, "validation_error")["errors"][0]["field"] == "week"
    bulk = await s.http.post(
        "/check-ins",
        json={"week": fake, "check_ins": [{"key_result_id": s.kr, "value": 91, "confidence": 5}]},
        headers=s.emp.headers,
    )
    problem(bulk, 422, "validation_error")
    entry = await s.http.post(
        "/check-ins",
        json={"check_ins": [{"key_result_id": s.kr, "value": 91, "confidence": 5, "week": fake}]},
        headers=s.emp.headers,
    )
    problem(entry, 422, "validation_error")
    for path in (f"/cycles/{s.cycle}/participation", f"/key-results/{s.kr}/check-ins/history"):
        r = await s.http.get(path, params={"week": fake}, headers=s.admin.headers)
        problem(r, 422, "validation_error")
    assert await history(s) == before
    # The services refuse the same week when it arrives over gRPC.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await s.stack.goals.RecordCheckIn(
            gpb.RecordCheckInRequest(
                key_result_id=s.kr, value=91, confidence=5, week=fake, recorded_by=s.emp.id
            )
        )
    assert grpc_code(refused.value) == "invalid_week"
    assert await history(s) == before


@pytest.mark.parametrize(
    "start",
    [
        1767225600,  # a Unix timestamp
        "2026-01-01T00:00",  # a datetime at midnight
        "20260101",  # the basic ISO form
        "2026-W01-4",  # an ISO week date
        "２０２６-01-01",  # full-width digits
        "٢٠٢٦-01-01",  # Arabic-Indic digits
    ],
)
async def test_a_date_is_yyyy_mm_dd_in_ascii_digits(setup: Setup, start: Any) -> None:
    s, name = setup, f"Odd date {uuid.uuid4().hex[:6]}"
    r = await s.http.post(
        "/cycles",
        json={"name": name, "start_date": start, "end_date": "2026-03-31"},
        headers=s.admin.headers,
    )
    assert problem(r, 422, "validation_error")["errors"][0]["field"] == "start_date"
    assert name not in await cycle_names(s)
    # A plan point's date and an objective's dates are dates too.
    point = {"title": "K", "baseline": 0, "target": 5, "weight": 100, "plan": []}
    point["plan"] = [{"date": start, "progress": 0.5}]
    r = await s.http.post(
        "/objectives",
        json={"cycle_id": s.cycle, "title": "T", "owner_id": s.emp.id, "key_results": [point]},
        headers=s.emp.headers,
    )
    problem(r, 422, "validation_error")
    r = await s.http.post(
        "/objectives",
        json={"cycle_id": s.cycle, "title": "T", "owner_id": s.emp.id, "start_date": start},
        headers=s.emp.headers,
    )
    problem(r, 422, "validation_error")
    # Over gRPC goals parses dates by the same rule.
    if isinstance(start, str):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await s.stack.goals.CreateCycle(
                gpb.CreateCycleRequest(name=name, start_date=start, end_date="2026-03-31")
            )
        assert grpc_code(refused.value) == "invalid_start_date"
    assert name not in await cycle_names(s)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/cycles", {"page_size": "5.0"}),
        ("/cycles", {"page_size": "+5"}),
        ("/cycles", {"page_size": "5_0"}),
        ("/cycles", {"page_size": "٥"}),
        ("/cycles", {"page_size": "５"}),
        ("/org/sync/runs", {"limit": "2.0"}),
        ("/me/inbox", {"unread_only": "yes"}),
        ("/me/inbox", {"unread_only": "1"}),
        ("/audit", {"to_time": "0.5"}),
        ("/audit", {"from_time": "1767225600"}),
        ("/audit", {"from_time": "２０２６-01-01T00:00:00Z"}),
        # An id filter holds the characters of an id (a NUL reached PostgreSQL and answered
        # 502; the gateway now refuses NUL anywhere first: see the NUL tests below).
        ("/objectives", {"owner_id": "É\x836"}),
        ("/key-results", {"department_id": "dept one"}),
    ],
)
async def test_query_numbers_flags_and_times_are_strict(
    setup: Setup, path: str, params: dict[str, str]
) -> None:
    r = await setup.http.get(path, params=params, headers=setup.admin.headers)
    assert problem(r, 422, "validation_error")["errors"][0]["field"] == next(iter(params))


async def test_query_values_in_their_one_spelling_are_accepted(setup: Setup) -> None:
    h = setup.admin.headers
    assert ok(await setup.http.get("/cycles", params={"page_size": "05"}, headers=h))["items"]
    ok(await setup.http.get("/me/inbox", params={"unread_only": "true"}, headers=h))
    params = {"from_time": "2026-01-01T00:00:00Z", "to_time": "2026-01-02T08:00:00.5+08:00"}
    ok(await setup.http.get("/audit", params=params, headers=h))


async def test_a_page_token_is_only_what_the_service_made(setup: Setup) -> None:
    """int() takes Arabic-Indic digits: a forged token "o:٥" used to page from 5."""
    forged = base64.urlsafe_b64encode("o:٥".encode()).decode()
    r = await setup.http.get("/cycles", params={"page_token": forged}, headers=setup.admin.headers)
    problem(r, 422, "invalid_page_token")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await setup.stack.goals.ListCycles(
            gpb.ListCyclesRequest(page=common_pb2.PageRequest(page_token="o:5"))
        )
    assert grpc_code(refused.value) == "invalid_page_token"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/departments", {"name": "Strict", "stride_enabled": 1}, "stride_enabled"),
        ("/org/sync", {"source": "file", "dry_run": 0}, "dry_run"),
        ("/org/invitations", {"all_without_password": "true"}, "all_without_password"),
    ],
)
async def test_booleans_are_true_or_false(
    setup: Setup, path: str, body: dict[str, Any], field: str
) -> None:
    r = await setup.http.post(path, json=body, headers=setup.admin.headers)
    assert field in {e["field"] for e in problem(r, 422, "validation_error")["errors"]}


# -- 5. cycle dates in a sane range ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"start_date": "9999-01-01", "end_date": "9999-12-31"}, "cycle_dates_out_of_range"),
        ({"start_date": "0001-01-01", "end_date": "0001-03-31"}, "cycle_dates_out_of_range"),
        ({"start_date": "1999-10-01", "end_date": "1999-12-31"}, "cycle_dates_out_of_range"),
        ({"start_date": "2026-01-01", "end_date": "2027-03-01"}, "cycle_too_long"),
        (
            {
                "start_date": "2100-10-01",
                "end_date": "2100-12-31",
                "closing_deadline": "2101-01-07",
            },
            "cycle_dates_out_of_range",
        ),
    ],
)
async def test_cycle_dates_lie_in_2000_to_2100_and_span_at_most_400_days(
    setup: Setup, body: dict[str, str], code: str
) -> None:
    s, name = setup, f"Far {uuid.uuid4().hex[:6]}"
    r = await s.http.post("/cycles", json={"name": name, **body}, headers=s.admin.headers)
    problem(r, 422, "validation_error")
    # Goals applies the same rule to what reaches it over gRPC (9999 was an OverflowError: 502).
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await s.stack.goals.CreateCycle(gpb.CreateCycleRequest(name=name, **body))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert grpc_code(refused.value) == code
    assert name not in await cycle_names(s)


async def test_the_widest_cycle_allowed_is_created(setup: Setup) -> None:
    r = await setup.http.post(
        "/cycles",
        json={"name": "Last", "start_date": "2099-12-01", "end_date": "2100-12-31"},
        headers=setup.admin.headers,
    )
    assert ok(r, 201)["closing_deadline"] == "2101-01-07"


# -- 8. one rule for every text a person types -------------------------------------------------

BAD_TEXTS = {
    "nul": "Line\x00 3",
    "escape": "Line \x1b[31m3",
    "zero-width only": "\u200b\u200b",
    "whitespace only": " \t\u3000 ",
    "right-to-left override": "\u202etxt.exe",
    "isolate": "Wang\u2066 Wei\u2069",
}


def text_cases(s: Setup, text: str) -> list[tuple[str, str, dict[str, Any]]]:
    kr = {"title": "K", "baseline": 0, "target": 5, "weight": 100}
    objective = {"cycle_id": s.cycle, "owner_id": s.emp.id, "title": "T", "key_results": [kr]}
    return [
        ("post", "/departments", {"name": text}),
        (
            "post",
            "/employees",
            {"employee_number": f"E{uuid.uuid4().hex[:6]}", "name": text, "department_id": s.dept},
        ),
        ("post", "/cycles", {"name": text, "start_date": "2027-01-01", "end_date": "2027-03-31"}),
        ("post", "/objectives", {**objective, "title": text}),
        ("post", "/objectives", {**objective, "key_results": [{**kr, "title": text}]}),
        (
            "post",
            "/objectives",
            {**objective, "key_results": [{**kr, "kind": "milestone", "milestones": ["a", text]}]},
        ),
        ("post", "/api-keys", {"name": text, "scopes": ["goals:read"]}),
        ("patch", f"/objectives/{s.objective}", {"title": text}),
        (
            "post",
            f"/key-results/{s.kr}/check-ins",
            {"value": 91, "confidence": 5, "blockers": [{"text": text}]},
        ),
        (
            "put",
            f"/departments/{s.dept}/checklist",
            {"items": [{"id": "safety", "label_zh": text, "label_en": "Safety"}]},
        ),
    ]


@pytest.mark.parametrize("kind", sorted(BAD_TEXTS))
async def test_control_bidi_and_invisible_texts_are_refused_and_nothing_is_stored(
    setup: Setup, kind: str
) -> None:
    s, text = setup, BAD_TEXTS[kind]
    before = await history(s)
    departments = ok(await s.http.get("/departments", headers=s.admin.headers))["items"]
    title = ok(await s.http.get(f"/objectives/{s.objective}", headers=s.emp.headers))["title"]
    for method, path, body in text_cases(s, text):
        who = s.emp if path.startswith(("/objectives", "/key-results")) else s.admin
        r = await s.http.request(method, path, json=body, headers=who.headers)
        problem(r, 422, "validation_error")
    assert ok(await s.http.get("/departments", headers=s.admin.headers))["items"] == departments
    assert (
        ok(await s.http.get(f"/objectives/{s.objective}", headers=s.emp.headers))["title"] == title
    )
    assert await history(s) == before


@pytest.mark.parametrize("kind", ["nul", "right-to-left override", "zero-width only"])
async def test_the_services_refuse_the_same_texts_over_grpc(setup: Setup, kind: str) -> None:
    s, text = setup, BAD_TEXTS[kind]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await s.stack.admin_grpc.identity.CreateDepartment(ipb.CreateDepartmentRequest(name=text))
    assert grpc_code(refused.value) in ("invalid_name", "name_required")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await s.stack.goals.UpdateObjective(gpb.UpdateObjectiveRequest(id=s.objective, title=text))
    assert grpc_code(refused.value) in ("invalid_title", "title_required")


async def test_texts_are_normalised_and_trimmed(setup: Setup) -> None:
    s = setup
    decomposed = "Cafe\u0301  line\t3 \u200b"  # e + combining acute; tab; trailing zero-width
    r = await s.http.post("/departments", json={"name": decomposed}, headers=s.admin.headers)
    assert ok(r, 201)["name"] == "Caf\u00e9 line 3"
    r = await s.http.post(
        f"/key-results/{s.kr}/check-ins",
        json={"value": 92, "confidence": 5, "note": "\u200b first\r\n\tsecond \n"},
        headers=s.emp.headers,
    )
    assert ok(r, 201)["note"] == "first\n\tsecond"


# -- 9. NUL and unpaired surrogates in strings that are not texts --------------------------------


async def test_nul_in_ids_sign_in_names_paths_and_queries_is_a_4xx(setup: Setup) -> None:
    """Found by the fuzz suite: a NUL in ``department_id`` or in the sign-in name reached
    PostgreSQL and answered 502. Every string of a body, a path and a query string is held to
    "storable" before any service is called."""
    s = setup
    before = await history(s)
    people = ok(await s.http.get("/employees", headers=s.admin.headers))["items"]
    r = await s.http.post(
        "/employees",
        content=b'{"name": "Li", "employee_number": "E-nul", "department_id": "d\\u0000"}',
        headers={**s.admin.headers, "content-type": "application/json"},
    )
    problem(r, 422, "validation_error")
    r = await s.http.post(
        "/auth/login",
        content=b'{"login": "\\ud9eb\\udf6a\\u0000", "password": "secret-secret"}',
        headers={"content-type": "application/json"},
    )
    problem(r, 422, "validation_error")
    r = await s.http.get("/employees/e%00", headers=s.admin.headers)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_character")
    r = await s.http.get("/objectives?q=%00", headers=s.admin.headers)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_character")
    assert ok(await s.http.get("/employees", headers=s.admin.headers))["items"] == people
    assert await history(s) == before


async def test_a_service_answers_a_nul_id_over_grpc_as_invalid_argument(setup: Setup) -> None:
    """The net under the gateway: PostgreSQL refusing a character (NUL) is an invalid
    argument with code ``invalid_character``, not an internal error (SQLite stores NUL, so
    there the id is simply not found)."""
    s = setup
    postgres = bool(os.environ.get("STRIDE_TEST_DATABASE_URL"))
    expected = (
        (grpc.StatusCode.INVALID_ARGUMENT, "invalid_character")
        if postgres
        else (grpc.StatusCode.NOT_FOUND, "")
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await s.stack.admin_grpc.identity.GetEmployee(ipb.GetEmployeeRequest(id="e\x00"))
    assert refused.value.code() == expected[0]
    if postgres:
        assert grpc_code(refused.value) == expected[1]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await s.stack.goals.GetKeyResult(gpb.GetKeyResultRequest(id="k\x00"))
    assert refused.value.code() == expected[0]
    if postgres:
        assert grpc_code(refused.value) == expected[1]
