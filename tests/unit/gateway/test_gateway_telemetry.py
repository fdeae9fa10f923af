"""The telemetry routes against the fake telemetry service: who may call them, what a batch
answers, what reaches the service, and the problem codes of bad input."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.bootstrap import GatewayDeps
from gateway.policy import Principal
from services.common.settings import GatewaySettings
from services.telemetry.domain.samples import MAX_BATCH
from stride.goals.v1 import goals_pb2 as gpb
from stride.telemetry.v1 import telemetry_pb2 as tpb
from tests.unit.gateway.conftest import BASE, make_client
from tests.unit.gateway.fakes import NOW, FakeServices

API = "/api/v1/telemetry"
SENDER = Principal(id="key-line", kind="api_key", scopes=frozenset({"telemetry:write"}))
READER = Principal(id="key-read", kind="api_key", scopes=frozenset({"goals:read"}))
HR = Principal(id="emp-hr", roles=frozenset({"hr"}), name="HR")
EMP = Principal(id="emp-1", name="Employee")
OTHER = Principal(id="emp-2", name="Other")


def _sample(i: int, **fields: object) -> dict[str, object]:
    return {
        "source": "line-a",
        "metric": "yield_pct",
        "value": 97.5,
        "unit": "%",
        "event_time": "2026-03-02T01:00:00Z",
        "sample_id": f"s-{i}",
        **fields,
    }


def _key_client(settings: GatewaySettings, deps: GatewayDeps, key: Principal) -> httpx.AsyncClient:
    app = create_app(settings, deps)
    app.state.auth.api_keys.put(f"sk_{key.id}", key)  # a key identity already vouched for
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url=BASE,
        headers={"X-API-Key": f"sk_{key.id}"},
    )


@pytest.fixture
async def sender(settings: GatewaySettings, deps: GatewayDeps) -> AsyncIterator[httpx.AsyncClient]:
    async with _key_client(settings, deps, SENDER) as c:
        yield c


def _metric(services: FakeServices, name: str = "yield_pct", unit: str = "%") -> None:
    services.telemetry.metrics[name] = tpb.Metric(name=name, unit=unit, created_at=NOW)


def _key_result(services: FakeServices, kr_id: str, owner: str, *, public: bool = False) -> None:
    services.goals.objectives[f"obj-{kr_id}"] = gpb.Objective(
        id=f"obj-{kr_id}",
        owner_id=owner,
        visibility=gpb.VISIBILITY_PUBLIC if public else gpb.VISIBILITY_RESTRICTED,
    )
    services.goals.key_results[kr_id] = gpb.KeyResult(
        id=kr_id, objective_id=f"obj-{kr_id}", owner_id=owner, department_id="dep-x", title="KR"
    )


async def test_a_batch_counts_accepted_duplicates_and_rejected(
    sender: httpx.AsyncClient, services: FakeServices
) -> None:
    _metric(services)
    batch = [_sample(1), _sample(2), _sample(3, metric="scrap_count")]
    r = await sender.post(f"{API}/samples", json={"samples": batch})
    assert r.status_code == 202, r.text
    assert r.json() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [
            {
                "index": 2,
                "sample_id": "s-3",
                "reason": "unknown_metric",
                "message": "no metric 'scrap_count'",
            }
        ],
    }
    call = services.log.calls[-1]
    assert call.method == "IngestSamples"
    assert call.request.received_via == "http:key-line"
    assert call.metadata["x-stride-actor"] == "apikey:key-line"
    assert call.request.samples[0].value == 97.5
    assert call.request.samples[0].event_time == "2026-03-02T01:00:00Z"
    # Sending the same batch again (a retry after a lost answer) counts nothing twice.
    r = await sender.post(f"{API}/samples", json={"samples": batch[:2]})
    assert r.json() == {"accepted": 0, "duplicates": 2, "rejected": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"samples": []}, "samples"),
        ({"samples": [_sample(i) for i in range(MAX_BATCH + 1)]}, "samples"),
        ({"samples": [_sample(1, value="97.5")]}, "samples.0.value"),
        ({"samples": [{k: v for k, v in _sample(1).items() if k != "sample_id"}]}, "samples.0"),
        ({"samples": [_sample(1, sample_id="")]}, "samples.0.sample_id"),
        ({"samples": [_sample(1, extra=1)]}, "samples.0.extra"),
        ({"samples": [_sample(1, source="a\x00b")]}, "samples"),
        ({"sample": [_sample(1)]}, "samples"),
    ],
)
async def test_a_batch_of_the_wrong_shape_is_refused_whole(
    sender: httpx.AsyncClient, services: FakeServices, body: dict[str, object], field: str
) -> None:
    _metric(services)
    r = await sender.post(f"{API}/samples", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "validation_error"
    assert any(e["field"].startswith(field) for e in r.json()["errors"]), r.json()["errors"]
    assert "IngestSamples" not in services.log.names()


async def test_samples_come_from_keys_with_telemetry_write(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    body = {"samples": [_sample(1)]}
    async with make_client(settings, deps, HR) as hr:
        r = await hr.post(f"{API}/samples", json=body)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    async with _key_client(settings, deps, READER) as key:
        r = await key.post(f"{API}/samples", json=body)
        assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")
    async with make_client(settings, deps, None) as anonymous:
        r = await anonymous.post(f"{API}/samples", json=body)
        assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")
    assert "IngestSamples" not in services.log.names()
    async with make_client(settings, deps) as admin:  # admin may do everything
        r = await admin.post(f"{API}/samples", json=body)
        assert r.status_code == 202
        assert services.log.calls[-1].request.received_via == "http:emp-admin"


async def test_metrics_are_defined_by_hr_and_read_by_goals_readers(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    body = {
        "name": "downtime_response_min",
        "unit": "min",
        "description": "Minutes from a stop to the first response",
        "expected_interval_seconds": 900,
    }
    async with make_client(settings, deps, HR) as hr:
        r = await hr.post(f"{API}/metrics", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["expected_interval_seconds"] == 900
        assert services.log.calls[-1].request.defined_by == "emp-hr"
        r = await hr.post(f"{API}/metrics", json={**body, "unit": "s"})
        assert (r.status_code, r.json()["code"]) == (409, "unit_change")
        for bad in ({**body, "name": "Yield %"}, {**body, "expected_interval_seconds": -1}):
            r = await hr.post(f"{API}/metrics", json=bad)
            assert (r.status_code, r.json()["code"]) == (422, "validation_error")
    async with _key_client(settings, deps, READER) as key:
        r = await key.get(f"{API}/metrics")
        assert r.status_code == 200
        assert [m["name"] for m in r.json()["items"]] == ["downtime_response_min"]
        r = await key.get(f"{API}/metrics/downtime_response_min")
        assert r.json()["unit"] == "min"
        r = await key.get(f"{API}/metrics/no_such_metric")
        assert (r.status_code, r.json()["code"]) == (404, "metric_not_found")
        r = await key.post(f"{API}/metrics", json=body)
        assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")
    async with make_client(settings, deps, EMP) as emp:
        assert (await emp.get(f"{API}/metrics")).status_code == 403
        assert (await emp.post(f"{API}/metrics", json=body)).status_code == 403


BINDING = {
    "key_result_id": "kr-bound",
    "metric": "yield_pct",
    "aggregation": "avg",
    "window": "shift",
    "transform": {"scale": 100, "offset": 0},
}


async def test_hr_binds_a_metric_and_the_owner_reads_it(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    _metric(services)
    _key_result(services, "kr-bound", EMP.id)
    async with make_client(settings, deps, HR) as hr:
        r = await hr.post(f"{API}/bindings", json=BINDING)
        assert r.status_code == 201, r.text
        binding = r.json()
        assert (binding["aggregation"], binding["window"]) == ("avg", "shift")
        assert binding["transform"] == {"scale": 100.0, "offset": 0.0}
        sent = services.log.calls[-1].request
        assert sent.aggregation == tpb.AGGREGATION_AVG and sent.window == tpb.WINDOW_KIND_SHIFT
        assert sent.created_by == "emp-hr"
        assert (await hr.get(f"{API}/bindings")).json()["items"] == [binding]
    async with make_client(settings, deps, EMP) as owner:
        r = await owner.get(f"{API}/bindings/{binding['id']}")
        assert r.status_code == 200 and r.json() == binding
        r = await owner.get(f"{API}/bindings", params={"key_result_id": "kr-bound"})
        assert r.json()["items"] == [binding]
        r = await owner.get(f"{API}/bindings")
        assert (r.status_code, r.json()["code"]) == (403, "key_result_required")
        r = await owner.post(f"{API}/bindings", json=BINDING)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
        r = await owner.delete(f"{API}/bindings/{binding['id']}")
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    # Someone who may not read the key result: exactly like a binding that does not exist.
    async with make_client(settings, deps, OTHER) as other:
        hidden = await other.get(f"{API}/bindings/{binding['id']}")
        missing = await other.get(f"{API}/bindings/no-such-binding")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["code"] == missing.json()["code"] == "binding_not_found"
        assert hidden.json()["detail"] == missing.json()["detail"]
        r = await other.get(f"{API}/bindings", params={"key_result_id": "kr-bound"})
        assert (r.status_code, r.json()["code"]) == (404, "key_result_not_found")
    async with make_client(settings, deps, HR) as hr:
        r = await hr.delete(f"{API}/bindings/{binding['id']}")
        assert r.status_code == 200 and services.log.calls[-1].request.deleted_by == "emp-hr"
        r = await hr.delete(f"{API}/bindings/{binding['id']}")
        assert (r.status_code, r.json()["code"]) == (404, "binding_not_found")


@pytest.mark.parametrize(
    "change",
    [
        {"aggregation": "ratio"},  # no denominator
        {"denominator_metric": "orders"},  # a denominator without ratio
        {"aggregation": "percentile"},  # no percentile
        {"aggregation": "percentile", "percentile": 101},
        {"aggregation": "median"},
        {"window": "month"},
        {"transform": {"scale": 0}},
        {"metric": "Yield"},
        {"source": "Line A"},
    ],
)
async def test_a_binding_with_wrong_parameters_is_422(
    client: httpx.AsyncClient, services: FakeServices, change: dict[str, object]
) -> None:
    r = await client.post(f"{API}/bindings", json={**BINDING, **change})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error"), r.text
    assert "CreateBinding" not in services.log.names()


async def test_windows_and_dead_letters_for_hr_and_admin(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices, sender: httpx.AsyncClient
) -> None:
    _metric(services)
    await sender.post(f"{API}/samples", json={"samples": [_sample(1, metric="nope")]})
    async with make_client(settings, deps, HR) as hr:
        r = await hr.get(
            f"{API}/windows",
            params={"metric": "yield_pct", "aggregation": "avg", "window": "day"},
        )
        assert r.status_code == 200 and r.json()["empty"] is True
        call = services.log.calls[-1].request
        assert (call.aggregation, call.window, call.at) == (
            tpb.AGGREGATION_AVG,
            tpb.WINDOW_KIND_DAY,
            "",
        )
        r = await hr.get(
            f"{API}/windows",
            params={"metric": "yield_pct", "aggregation": "avg", "window": "cycle_to_date"},
        )
        assert (r.status_code, r.json()["code"]) == (422, "validation_error")
        assert "cycle_start" in r.json()["detail"]
        r = await hr.get(f"{API}/dead-letters")
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["counts_by_reason"] == {"unknown_metric": 1}
        (letter,) = page["items"]
        assert letter["reason"] == "unknown_metric" and letter["subject"] == "http"
        assert tpb.Sample.FromString(base64.b64decode(letter["payload_base64"])).metric == "nope"
        r = await hr.get(f"{API}/dead-letters", params={"reason": "wrong_unit"})
        assert r.json()["items"] == [] and r.json()["counts_by_reason"] == {"unknown_metric": 1}
    async with make_client(settings, deps, EMP) as emp:
        assert (await emp.get(f"{API}/dead-letters")).status_code == 403
        r = await emp.get(
            f"{API}/windows", params={"metric": "yield_pct", "aggregation": "avg", "window": "day"}
        )
        assert r.status_code == 403


async def test_a_binding_of_a_public_objectives_key_result_is_read_by_everyone(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    _metric(services)
    _key_result(services, "kr-public", EMP.id, public=True)
    async with make_client(settings, deps, HR) as hr:
        created = await hr.post(f"{API}/bindings", json={**BINDING, "key_result_id": "kr-public"})
        binding = created.json()
    async with make_client(settings, deps, OTHER) as other:
        r = await other.get(f"{API}/bindings/{binding['id']}")
        assert r.status_code == 200 and r.json()["key_result_id"] == "kr-public"
        r = await other.get(f"{API}/bindings", params={"key_result_id": "kr-public"})
        assert [b["id"] for b in r.json()["items"]] == [binding["id"]]
