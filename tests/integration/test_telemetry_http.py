"""Telemetry through HTTP: the real gateway in front of the real identity, goals and telemetry
services (database, NATS).

HR defines a metric and binds it to a machine-fed key result; a line's integration posts
batches with an API key holding telemetry:write; the key result shows the window's value,
a resent batch counts nothing twice, a bad sample is rejected with its reason and counted in
the dead letters, and the key result's owner reads the binding while a stranger cannot.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import auth_pb2
from tests.integration.gateway_stack import GatewayStack, bearer, module_stack, problem
from tests.waiting import midday_zone

stack = module_stack("gw-telemetry")


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _key_result(stack: GatewayStack, owner_id: str) -> str:
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Telemetry {time.monotonic_ns()}",
            start_date=(today - timedelta(days=30)).isoformat(),
            end_date=(today + timedelta(days=60)).isoformat(),
            time_zone=midday_zone(),  # the day window never straddles midnight
        )
    )
    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(cycle_id=cycle.id, title="Line A runs well", owner_id=owner_id)
    )
    kr = await stack.goals.CreateKeyResult(
        gpb.CreateKeyResultRequest(
            objective_id=objective.id,
            title="Line A yield ≥ 98 %",
            target=98,
            data_source=gpb.DATA_SOURCE_TELEMETRY,
        )
    )
    return str(kr.id)


async def test_samples_posted_over_http_move_a_bound_key_result(stack: GatewayStack) -> None:
    http = stack.http
    dept = await stack.department()
    hr = await stack.person(dept.id, roles=["hr"], name="HR")
    owner = await stack.person(dept.id, name="Line Lead")
    stranger = await stack.person((await stack.department()).id, name="Stranger")
    key = await stack.admin_grpc.auth.CreateApiKey(
        auth_pb2.CreateApiKeyRequest(
            name="line-a gateway", scopes=["telemetry:write"], created_by="test"
        )
    )
    sender = bearer(key.key)
    kr_id = await _key_result(stack, owner.id)

    metric = {"name": "yield_pct", "unit": "%", "expected_interval_seconds": 600}
    ok(await http.post("/telemetry/metrics", json=metric, headers=hr.headers), 201)
    binding = ok(
        await http.post(
            "/telemetry/bindings",
            json={
                "key_result_id": kr_id,
                "metric": "yield_pct",
                "source": "line-a",
                "aggregation": "avg",
                "window": "day",
            },
            headers=hr.headers,
        ),
        201,
    )
    assert binding["key_result_id"] == kr_id and binding["window"] == "day"

    now = _now()
    batch = [
        {"source": "line-a", "metric": "yield_pct", "value": v, "unit": "%",
         "event_time": now, "sample_id": f"a-{i}"}
        for i, v in enumerate((97.0, 99.0))
    ]  # fmt: skip
    bad = {**batch[0], "unit": "ppm", "sample_id": "a-bad"}
    result = ok(await http.post("/telemetry/samples", json={"samples": [*batch, bad]},
                                headers=sender), 202)  # fmt: skip
    assert result["accepted"] == 2 and result["duplicates"] == 0
    assert [(r["index"], r["sample_id"], r["reason"]) for r in result["rejected"]] == [
        (2, "a-bad", "wrong_unit")
    ]
    # The key result shows the day's average within seconds.
    deadline = time.monotonic() + 5
    while True:
        kr = ok(await http.get(f"/key-results/{kr_id}", headers=owner.headers))
        if kr["current_value"] == 98.0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert kr["current_value"] == 98.0, kr

    # A retry of the same batch changes nothing.
    again = ok(await http.post("/telemetry/samples", json={"samples": batch}, headers=sender), 202)
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    await asyncio.sleep(1.2)
    assert (
        ok(await http.get(f"/key-results/{kr_id}", headers=owner.headers))["current_value"] == 98.0
    )

    # Ops see the bad sample, counted by its reason.
    letters = ok(await http.get("/telemetry/dead-letters", headers=hr.headers))
    assert letters["counts_by_reason"].get("wrong_unit", 0) >= 1
    assert any(d["reason"] == "wrong_unit" for d in letters["items"])
    window = ok(
        await http.get(
            "/telemetry/windows",
            params={"metric": "yield_pct", "aggregation": "count", "window": "day",
                    "source": "line-a"},
            headers=hr.headers,
        )
    )  # fmt: skip
    assert window["count"] == 2 and window["value"] == 2.0

    # The owner reads the binding of their key result; a stranger cannot tell it exists.
    mine = ok(await http.get(f"/telemetry/bindings/{binding['id']}", headers=owner.headers))
    assert mine["last_value"] == 98.0 and mine["stale"] is False
    problem(
        await http.get(f"/telemetry/bindings/{binding['id']}", headers=stranger.headers),
        404,
        "binding_not_found",
    )
    # The key may send, not define or bind.
    problem(await http.post("/telemetry/metrics", json=metric, headers=sender), 403,
            "insufficient_scope")  # fmt: skip
    # Unbinding: the key result keeps its value.
    ok(await http.delete(f"/telemetry/bindings/{binding['id']}", headers=hr.headers))
    problem(
        await http.get(f"/telemetry/bindings/{binding['id']}", headers=hr.headers),
        404,
        "binding_not_found",
    )


async def test_service_refusals_keep_their_codes(stack: GatewayStack) -> None:
    http = stack.http
    dept = await stack.department()
    admin = await stack.person(dept.id, roles=["admin"], name="Admin")
    manual = await stack.goals.CreateKeyResult(
        gpb.CreateKeyResultRequest(
            objective_id=(
                await stack.goals.CreateObjective(
                    gpb.CreateObjectiveRequest(
                        cycle_id=(
                            await stack.goals.CreateCycle(
                                gpb.CreateCycleRequest(
                                    name=f"Manual {time.monotonic_ns()}",
                                    start_date=date.today().isoformat(),
                                    end_date=(date.today() + timedelta(days=80)).isoformat(),
                                )
                            )
                        ).id,
                        title="Typed by people",
                        owner_id=admin.id,
                    )
                )
            ).id,
            title="Manual",
            target=10,
        )
    )
    body = {"key_result_id": manual.id, "metric": "scrap_count", "aggregation": "sum",
            "window": "week"}  # fmt: skip
    ok(await http.post("/telemetry/metrics", json={"name": "scrap_count"},
                       headers=admin.headers), 201)  # fmt: skip
    problem(await http.post("/telemetry/bindings", json=body, headers=admin.headers), 409,
            "not_machine_fed")  # fmt: skip
    problem(
        await http.post("/telemetry/bindings", json={**body, "key_result_id": "no-such-kr"},
                        headers=admin.headers),
        422,
        "unknown_key_result",
    )  # fmt: skip
    problem(await http.get("/telemetry/metrics/no_such_metric", headers=admin.headers), 404,
            "metric_not_found")  # fmt: skip
    problem(
        await http.get("/telemetry/windows",
                       params={"metric": "nope", "aggregation": "sum", "window": "day"},
                       headers=admin.headers),
        422,
        "unknown_metric",
    )  # fmt: skip


async def test_odd_input_is_answered_4xx_or_per_sample_never_5xx(stack: GatewayStack) -> None:
    """What a fuzzer or a broken sender sends: every answer is a 2xx or a 4xx with a code, and
    every sample the service cannot use comes back rejected with its reason."""
    http = stack.http
    admin = await stack.person((await stack.department()).id, roles=["admin"], name="Admin")
    h = admin.headers
    ok(await http.post("/telemetry/metrics", json={"name": "odd_pct", "unit": "%"}, headers=h), 201)
    base = {"source": "line-z", "metric": "odd_pct", "value": 1.0, "unit": "%",
            "event_time": _now()}  # fmt: skip
    odd = [
        {"event_time": "9999-12-31T23:59:59-23:59"},
        {"event_time": "0001-01-01T00:00:00+14:00"},
        {"event_time": "yesterday"},
        {"event_time": ""},
        {"source": "Linie Ä"},
        {"source": ""},
        {"metric": "odd_pct.\u200b"},
        {"value": 1e308},
        {"value": -1e308},
        {"unit": "‰"},
        {"sample_id": "é" * 128},
    ]
    samples = [{**base, **change, "sample_id": f"odd-{i}"} for i, change in enumerate(odd)]
    samples[-1]["sample_id"] = "é" * 128
    r = await http.post("/telemetry/samples", json={"samples": samples}, headers=h)
    assert r.status_code == 202, r.text
    body = r.json()
    rejected = {x["index"]: x["reason"] for x in body["rejected"]}
    assert body["accepted"] + body["duplicates"] + len(rejected) == len(samples)
    for index in (0, 1, 2, 3):
        assert rejected[index] in ("future_time", "ancient_time", "bad_sample"), body
    assert rejected[4] == rejected[5] == "bad_source"
    assert rejected[9] == "wrong_unit"
    for params in (
        {"at": "9999-12-31T23:59:59-23:59"},
        {"at": "0001-01-01T00:00:00+14:00"},
        {"window": "cycle_to_date", "cycle_start": "0001-01-01"},
        {"window": "cycle_to_date", "cycle_start": "2026-02-30"},
        {"aggregation": "percentile", "percentile": "1e-300"},
    ):
        query = {"metric": "odd_pct", "aggregation": "avg", "window": "week", **params}
        r = await http.get("/telemetry/windows", params=query, headers=h)
        assert r.status_code in (200, 422), (params, r.text)
    for reason in ("", "wrong_unit", "no_such_reason"):
        r = await http.get("/telemetry/dead-letters", params={"reason": reason}, headers=h)
        assert r.status_code in (200, 422), r.text


async def test_the_archive_keeps_what_the_bound_metrics_measured_over_the_cycle(
    stack: GatewayStack,
) -> None:
    """HR archives the cycle: the owner of a machine-fed key result gets its metric's figure
    over the cycle (the binding's aggregation, the metric's unit) as an external metric;
    someone without one gets none."""
    http = stack.http
    dept = await stack.department()
    hr = await stack.person(dept.id, roles=["hr"], name="HR")
    owner = await stack.person(dept.id, name="Line B Lead")
    colleague = await stack.person(dept.id, name="Colleague")
    key = await stack.admin_grpc.auth.CreateApiKey(
        auth_pb2.CreateApiKeyRequest(name="line-b mes", scopes=["telemetry:write"], created_by="t")
    )
    kr_id = await _key_result(stack, owner.id)
    cycle_id = (await stack.goals.GetKeyResult(gpb.GetKeyResultRequest(id=kr_id))).cycle_id
    metric = {"name": "oee_pct", "unit": "%", "expected_interval_seconds": 3600}
    ok(await http.post("/telemetry/metrics", json=metric, headers=hr.headers), 201)
    binding = {"key_result_id": kr_id, "metric": "oee_pct", "source": "line-b",
               "aggregation": "avg", "window": "shift"}  # fmt: skip
    ok(await http.post("/telemetry/bindings", json=binding, headers=hr.headers), 201)
    now = datetime.now(UTC)
    samples = [
        {"source": "line-b", "metric": "oee_pct", "value": v, "unit": "%",
         "event_time": (now - timedelta(days=d)).isoformat(), "sample_id": f"b-{d}"}
        for d, v in ((10, 70.0), (3, 80.0), (0, 96.0))
    ] + [  # another line's OEE is not line B's
        {"source": "line-c", "metric": "oee_pct", "value": 10.0, "unit": "%",
         "event_time": now.isoformat(), "sample_id": "c-0"}
    ]  # fmt: skip
    accepted = ok(
        await http.post("/telemetry/samples", json={"samples": samples}, headers=bearer(key.key)),
        202,
    )
    assert accepted["accepted"] == 4, accepted

    ok(await http.post(f"/cycles/{cycle_id}/archive", headers=hr.headers))
    record = ok(await http.get(f"/archive/{owner.id}", headers=hr.headers))
    (entry,) = [e for e in record["entries"] if e["record"]["cycle_id"] == cycle_id]
    external = entry["record"]["external_metrics"]
    assert set(external) == {"oee_pct@line-b"}
    figure = external["oee_pct@line-b"]
    assert figure["value"] == 82.0 and figure["samples"] == 3  # (70 + 80 + 96) / 3
    assert (figure["unit"], figure["aggregation"], figure["key_result_id"]) == ("%", "avg", kr_id)
    other = ok(await http.get(f"/archive/{colleague.id}", headers=hr.headers))
    (entry,) = [e for e in other["entries"] if e["record"]["cycle_id"] == cycle_id]
    assert entry["record"]["external_metrics"] == {}
