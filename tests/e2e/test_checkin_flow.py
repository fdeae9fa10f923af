"""End to end: org → cycle → objective → key result → two lagging check-ins → escalation.

Everything goes through the gateway's REST API of a real stack (see conftest.py). The goals
service, which hosts the outbox relay, is SIGKILLed and restarted right after each check-in,
and JetStream must still hold exactly one ``checkin.recorded`` event per check-in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode

from stride.goals.v1 import goals_pb2
from tests.e2e.api import post as _post
from tests.e2e.api import temporal_cli_list
from tests.e2e.api import unique as _unique
from tests.e2e.api import week as _week
from tests.e2e.conftest import Stack
from tests.waiting import eventually
from workflows.search_attributes import STRIDE_CYCLE, STRIDE_DEPARTMENT, STRIDE_RISK_LEVEL

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CHECKIN_SUBJECT = "stride.goals.v1.checkin.recorded"
GOALS_STREAM = "STRIDE_GOALS"


async def _list(stack: Stack, path: str, **params: str) -> list[Any]:
    resp = await stack.api.get(path, params={**params, "page_size": "200"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["next_page_token"] == "", "more than one page: raise page_size"
    return list(body["items"])


def _assert_problem(resp: Any, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["status"] == status
    assert problem["code"] == code, problem


async def _wait_ready(stack: Stack, timeout: float = 60.0) -> None:
    """Until the gateway answers /readyz (its gRPC channels have reconnected)."""
    deadline = time.monotonic() + timeout
    while True:
        resp = await stack.api.get(f"{stack.config.gateway_url}/readyz")
        if resp.status_code == 200:
            return
        assert time.monotonic() < deadline, f"gateway not ready: {resp.text}"
        await asyncio.sleep(0.2)


async def _restart_goals(stack: Stack, *, crash: bool, relay: bool = True) -> None:
    """Restart the goals service; ``crash``: SIGKILL first; ``relay``: run its outbox relay."""
    if crash:
        await stack.sup.kill("goals")
    spec = stack.config.service_spec("goals")
    if not relay:
        spec = dataclasses.replace(spec, env={**spec.env, "STRIDE_OUTBOX_RELAY": "false"})
    await stack.sup.restart("goals", spec)
    await _wait_ready(stack)


@dataclass
class Flow:
    department: dict[str, Any]
    manager: dict[str, Any]
    owner: dict[str, Any]
    cycle: dict[str, Any]
    objective: dict[str, Any]
    key_result: dict[str, Any]
    check_ins: list[dict[str, Any]]


@pytest.fixture(scope="module")
async def flow(stack: Stack) -> Flow:
    production = await _post(stack, "/departments", {"name": _unique("Production")})
    await _post(stack, "/departments", {"name": _unique("Quality")})
    n = uuid.uuid4().hex[:6]
    manager = await _post(
        stack,
        "/employees",
        {
            "employee_number": f"M-{n}",
            "name": "Plant Manager",
            "email": f"m-{n}@example.com",
            "department_id": production["id"],
        },
    )
    owner = await _post(
        stack,
        "/employees",
        {
            "employee_number": f"E-{n}",
            "name": "Line Lead",
            "email": f"e-{n}@example.com",
            "department_id": production["id"],
            "manager_id": manager["id"],
        },
    )
    # A 13-week cycle that started 8 weeks ago: whatever today is, weeks 3 and 4 of the
    # cycle are inside it and in the past.
    start = date.today() - timedelta(weeks=8, days=date.today().weekday())
    cycle = await _post(
        stack,
        "/cycles",
        {
            "name": _unique("E2E cycle"),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(weeks=13, days=-1)).isoformat(),
        },
    )
    objective = await _post(
        stack,
        "/objectives",
        {"cycle_id": cycle["id"], "title": "Reliable line 3", "owner_id": manager["id"]},
    )
    kr = await _post(
        stack,
        f"/objectives/{objective['id']}/key-results",
        {"title": "Certified operators", "owner_id": owner["id"], "baseline": 0, "target": 100},
    )
    path = f"/key-results/{kr['id']}/check-ins"
    # 1. The relay is off: the first check-in's event exists only in the outbox when the
    #    service crashes; the restarted service's relay must publish it.
    await _restart_goals(stack, crash=False, relay=False)
    first = await _post(
        stack, path, {"value": 1.0, "confidence": 3, "week": _week(start + timedelta(weeks=2))}
    )
    await asyncio.sleep(0.5)
    assert await _check_in_events(stack, kr["id"]) == [], "the relay was meant to be off"
    await _restart_goals(stack, crash=True)
    # 2. The relay is on: it has most likely published (and maybe not yet marked) the second
    #    event when the service crashes; the restarted relay must not duplicate it.
    second = await _post(
        stack, path, {"value": 2.0, "confidence": 3, "week": _week(start + timedelta(weeks=3))}
    )
    await _restart_goals(stack, crash=True)
    return Flow(production, manager, owner, cycle, objective, kr, [first, second])


async def test_lagging_check_ins_are_at_risk(stack: Stack, flow: Flow) -> None:
    first, second = flow.check_ins
    assert first["risk"]["status"] == "behind"
    assert second["risk"]["status"] == "at_risk"
    assert second["risk"]["behind_streak"] == 2
    resp = await stack.api.get(f"/key-results/{flow.key_result['id']}")
    assert resp.status_code == 200
    assert resp.json()["current_value"] == 2.0
    assert resp.json()["risk"]["status"] == "at_risk"


async def _escalation(
    client: Client, workflow_id: str, stack: Stack, timeout: float = 60.0
) -> WorkflowExecutionDescription:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await client.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        if not stack.sup.child("worker").running:
            pytest.fail(f"the worker died\n{stack.logs('worker')}")
        if time.monotonic() > deadline:
            pytest.fail(f"{workflow_id} never started\n{stack.logs('worker', 'goals')}")
        await asyncio.sleep(0.3)


async def test_escalation_workflow_starts_at_warning(stack: Stack, flow: Flow) -> None:
    kr_id = flow.key_result["id"]
    workflow_id = f"kr-escalation/{kr_id}"
    client = await Client.connect(stack.config.temporal_address, namespace="default")
    description = await _escalation(client, workflow_id, stack)
    assert description.id == workflow_id
    state = await client.get_workflow_handle(workflow_id).query("state")
    assert state["key_result_id"] == kr_id
    assert state["level"] == 1
    assert state["level_name"] == "warning"
    assert state["status"] == "active"
    assert flow.check_ins[1]["week"] in state["at_risk_weeks"]
    # Ops find it by search attribute; no personal data in them. The workflow sets them in
    # its first task, which the first describe() may have come before.

    async def described_at_warning() -> WorkflowExecutionDescription:
        found = await client.get_workflow_handle(workflow_id).describe()
        assert found.typed_search_attributes.get(STRIDE_RISK_LEVEL) == "warning"
        return found

    attrs = (await eventually(described_at_warning)).typed_search_attributes
    assert attrs.get(STRIDE_CYCLE) == flow.cycle["id"]
    assert attrs.get(STRIDE_DEPARTMENT) == flow.department["id"]

    resp = await stack.api.get(f"/key-results/{kr_id}/escalation")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["level"], body["level_name"], body["status"]) == (1, "warning", "active")


async def test_temporal_cli_lists_the_escalation(stack: Stack, flow: Flow) -> None:
    workflow_id = f"kr-escalation/{flow.key_result['id']}"
    client = await Client.connect(stack.config.temporal_address, namespace="default")
    await _escalation(client, workflow_id, stack)
    # Visibility is eventually consistent: retry the listing briefly.
    deadline = time.monotonic() + 30
    while True:
        ids = await temporal_cli_list(stack.config.temporal_address, "StrideRiskLevel = 'warning'")
        if workflow_id in ids or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert workflow_id in ids


async def _check_in_events(stack: Stack, key_result_id: str) -> list[tuple[str, str]]:
    """(check-in id, Nats-Msg-Id) of every checkin.recorded message for the key result."""
    nc = await nats.connect(stack.config.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(GOALS_STREAM)
        found = []
        if not info.state.messages:
            return []
        for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
            try:
                msg = await js.get_msg(GOALS_STREAM, seq)
            except NotFoundError:
                continue
            if msg.subject != CHECKIN_SUBJECT:
                continue
            event = goals_pb2.CheckInRecorded.FromString(msg.data or b"")
            if event.check_in.key_result_id == key_result_id:
                msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
                assert msg_id == event.meta.event_id
                found.append((event.check_in.id, msg_id))
        return found
    finally:
        await nc.close()


async def test_exactly_one_event_per_check_in_across_relay_crashes(
    stack: Stack, flow: Flow
) -> None:
    expected = sorted(c["id"] for c in flow.check_ins)
    deadline = time.monotonic() + 30
    while True:
        events = await _check_in_events(stack, flow.key_result["id"])
        if sorted({cid for cid, _ in events}) == expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    # Give a duplicate (a relay re-publishing after its crash) time to show up.
    await asyncio.sleep(2)
    events = await _check_in_events(stack, flow.key_result["id"])
    assert sorted(cid for cid, _ in events) == expected, stack.logs("goals")
    assert len({mid for _, mid in events}) == len(expected)


# -- bad input: a clear 4xx, nothing written ------------------------------------------------


async def test_unknown_department_is_rejected(stack: Stack) -> None:
    before = await _list(stack, "/employees")
    n = uuid.uuid4().hex[:6]
    resp = await stack.api.post(
        "/employees",
        json={
            "employee_number": f"X-{n}",
            "name": "Nobody",
            "email": f"x-{n}@example.com",
            "department_id": "no-such-department",
        },
    )
    _assert_problem(resp, 422, "unknown_department")
    assert await _list(stack, "/employees") == before


async def test_duplicate_employee_number_is_a_conflict(stack: Stack, flow: Flow) -> None:
    before = await _list(stack, "/employees")
    resp = await stack.api.post(
        "/employees",
        json={
            "employee_number": flow.owner["employee_number"],
            "name": "Twin",
            "email": "twin@example.com",
            "department_id": flow.department["id"],
        },
    )
    _assert_problem(resp, 409, "employee_number_taken")
    assert await _list(stack, "/employees") == before


async def test_negative_check_in_value_is_rejected(stack: Stack, flow: Flow) -> None:
    path = f"/key-results/{flow.key_result['id']}/check-ins"
    before = await _list(stack, path)
    resp = await stack.api.post(path, json={"value": -5, "confidence": 5})
    _assert_problem(resp, 422, "validation_error")
    assert any(e["field"] == "value" for e in resp.json()["errors"])
    assert await _list(stack, path) == before


async def test_check_in_on_a_closed_cycle_is_a_conflict(stack: Stack, flow: Flow) -> None:
    start = date.today() - timedelta(weeks=4, days=date.today().weekday())
    cycle = await _post(
        stack,
        "/cycles",
        {
            "name": _unique("Closed cycle"),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(weeks=13, days=-1)).isoformat(),
        },
    )
    objective = await _post(
        stack,
        "/objectives",
        {"cycle_id": cycle["id"], "title": "Closed early", "owner_id": flow.manager["id"]},
    )
    kr = await _post(
        stack,
        f"/objectives/{objective['id']}/key-results",
        {"title": "Anything", "baseline": 0, "target": 10},
    )
    closed = await _post(stack, f"/cycles/{cycle['id']}/close", {}, expect=200)
    assert closed["status"] == "closed"
    path = f"/key-results/{kr['id']}/check-ins"
    resp = await stack.api.post(
        path, json={"value": 3, "confidence": 5, "week": _week(start + timedelta(weeks=1))}
    )
    _assert_problem(resp, 409, "cycle_closed")
    assert await _list(stack, path) == []
    resp = await stack.api.get(f"/key-results/{kr['id']}")
    assert resp.json()["current_value"] == 0
