"""Translation of the goals routes, against the fake services: who a request acts for,
what the gateway fills in, what reaches the service."""

from __future__ import annotations

import httpx

from gateway.app import create_app
from gateway.bootstrap import GatewayDeps
from gateway.policy import Principal
from services.common.settings import GatewaySettings
from stride.goals.v1 import goals_pb2 as gpb
from tests.unit.gateway.conftest import BASE, make_client
from tests.unit.gateway.fakes import FakeServices

API = "/api/v1"
EMP = Principal(id="emp-1", name="Operator")
KEY = Principal(id="key-1", kind="api_key", scopes=frozenset({"goals:write", "goals:read"}))


def _kr(services: FakeServices, kr_id: str, owner: str) -> None:
    services.goals.key_results[kr_id] = gpb.KeyResult(id=kr_id, owner_id=owner)


async def test_bulk_check_in_acts_for_the_caller(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    _kr(services, "kr-1", "emp-1")
    _kr(services, "kr-9", "emp-9")
    body = {
        "week": "2026-W10",
        "check_ins": [
            {
                "key_result_id": "kr-1",
                "value": 4,
                "confidence": 7,
                "blockers": [{"text": "Waiting for gauges", "department_id": "dep-q"}],
                "answers": [{"item_id": "records", "checked": True}],
            }
        ],
    }
    async with make_client(settings, deps, EMP) as client:
        r = await client.post(f"{API}/check-ins", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["check_ins"][0]["recorded_by"] == "emp-1"
        call = services.log.calls[-1]
        assert call.method == "RecordCheckIns"
        assert call.request.owner_id == "emp-1" and call.request.recorded_by == "emp-1"
        (entry,) = call.request.check_ins
        assert entry.blockers[0].department_id == "dep-q" and entry.answers[0].checked
        # Someone else's key result reads like a missing one.
        other = {"check_ins": [{"key_result_id": "kr-9", "value": 1, "confidence": 1}]}
        r = await client.post(f"{API}/check-ins", json=other)
        assert r.status_code == 404 and r.json()["code"] == "key_result_not_found"
        assert r.json()["detail"] == "check_ins[0]: key result not found"
        # Acting for someone else is an admin's (no service call).
        calls = len(services.log.calls)
        r = await client.post(f"{API}/check-ins", json={**other, "owner_id": "emp-9"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert "RecordCheckIns" not in services.log.names()[calls:]


async def test_an_api_key_names_the_person(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    _kr(services, "kr-1", "emp-1")
    entry = {"key_result_id": "kr-1", "value": 4, "confidence": 7}
    app = create_app(settings, deps)
    # A key identity already vouched for (the gateway's short-lived cache of key checks).
    app.state.auth.api_keys.put("sk_unit", KEY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"X-API-Key": "sk_unit"}
    ) as client:
        r = await client.post(f"{API}/check-ins", json={"check_ins": [entry]})
        assert r.status_code == 422 and r.json()["code"] == "owner_required"
        r = await client.post(f"{API}/check-ins", json={"check_ins": [entry], "owner_id": "emp-1"})
        assert r.status_code == 201, r.text
    call = services.log.calls[-1]
    assert call.request.owner_id == "emp-1" and call.request.recorded_by == "apikey:key-1"


async def test_scores_default_to_the_callers_own(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    async with make_client(settings, deps, EMP) as client:
        r = await client.get(f"{API}/cycles/cyc-1/scores")
        assert r.status_code == 200 and r.json()["alignment"] == 0.5
    call = services.log.calls[-1]
    assert (call.request.owner_id, call.request.department_id) == ("emp-1", "")
    async with make_client(settings, deps) as client:  # admin: the whole cycle
        assert (await client.get(f"{API}/cycles/cyc-1/scores")).status_code == 200
    assert services.log.calls[-1].request.owner_id == ""
