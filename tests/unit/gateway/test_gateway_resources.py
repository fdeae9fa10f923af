"""REST ↔ gRPC translation of every resource, against in-process fake services."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.bootstrap import GatewayDeps
from gateway.policy import Principal
from services.common.settings import GatewaySettings
from tests.unit.gateway.conftest import make_client
from tests.unit.gateway.fakes import FakeServices

API = "/api/v1"


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(f"{API}{path}", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _org(client: httpx.AsyncClient) -> dict[str, str]:
    dep = await _post(client, "/departments", {"name": "Stamping"})
    boss = await _post(
        client,
        "/employees",
        {
            "employee_number": "E001",
            "name": "Wang Li",
            "email": "wang.li@example.com",
            "department_id": dep["id"],
        },
    )
    cycle = await _post(
        client,
        "/cycles",
        {"name": "2026 Q1", "start_date": "2026-01-01", "end_date": "2026-03-31"},
    )
    obj = await _post(
        client,
        "/objectives",
        {"cycle_id": cycle["id"], "title": "Cut scrap", "owner_id": boss["id"]},
    )
    kr = await _post(
        client,
        f"/objectives/{obj['id']}/key-results",
        {"title": "Scrap rate down", "baseline": 0, "target": 100, "unit": "%"},
    )
    return {
        "dep": dep["id"],
        "boss": boss["id"],
        "cycle": cycle["id"],
        "obj": obj["id"],
        "kr": kr["id"],
    }


async def test_department_create_get_list(
    client: httpx.AsyncClient, services: FakeServices
) -> None:
    r = await client.post(f"{API}/departments", json={"name": "  Assembly  "})
    assert r.status_code == 201
    body = r.json()
    assert body == {
        "id": body["id"],
        "name": "Assembly",
        "parent_id": "",
        "created_at": "2026-03-02T01:02:03Z",
        "head_id": "",
        "stride_enabled": True,
    }
    assert r.headers["location"] == f"{API}/departments/{body['id']}"
    # the request reached the service with the proto fields filled in
    call = services.log.calls[-1]
    assert call.method == "CreateDepartment" and call.request.name == "Assembly"

    child = await _post(client, "/departments", {"name": "Line 1", "parent_id": body["id"]})
    assert child["parent_id"] == body["id"]

    got = await client.get(r.headers["location"])
    assert got.status_code == 200 and got.json() == body

    listed = await client.get(f"{API}/departments")
    assert listed.status_code == 200
    assert listed.json() == {"items": [body, child], "next_page_token": ""}


async def test_employees_filters_and_enum(client: httpx.AsyncClient) -> None:
    dep = await _post(client, "/departments", {"name": "Stamping"})
    other = await _post(client, "/departments", {"name": "Paint"})
    boss = await _post(
        client,
        "/employees",
        {"employee_number": "E1", "name": "Boss", "email": "b@x.cn", "department_id": dep["id"]},
    )
    assert boss["status"] == "active" and boss["manager_id"] == ""
    worker = await _post(
        client,
        "/employees",
        {
            "employee_number": "E2",
            "name": "Worker",
            "email": "w@x.cn",
            "department_id": dep["id"],
            "manager_id": boss["id"],
        },
    )
    await _post(
        client,
        "/employees",
        {
            "employee_number": "E3",
            "name": "Painter",
            "email": "p@x.cn",
            "department_id": other["id"],
        },
    )
    by_manager = (await client.get(f"{API}/employees", params={"manager_id": boss["id"]})).json()
    assert [e["id"] for e in by_manager["items"]] == [worker["id"]]
    by_dep = (await client.get(f"{API}/employees", params={"department_id": dep["id"]})).json()
    assert [e["id"] for e in by_dep["items"]] == [boss["id"], worker["id"]]
    assert (await client.get(f"{API}/employees")).json()["items"][2]["name"] == "Painter"
    got = await client.get(f"{API}/employees/{worker['id']}")
    assert got.json() == worker


async def test_cycle_lifecycle(client: httpx.AsyncClient, services: FakeServices) -> None:
    r = await client.post(
        f"{API}/cycles",
        json={
            "name": "2026 Q2",
            "start_date": "2026-04-01",
            "end_date": "2026-06-30",
            "time_zone": "Europe/Berlin",
        },
    )
    assert r.status_code == 201
    cycle = r.json()
    assert cycle["status"] == "open" and cycle["time_zone"] == "Europe/Berlin"
    assert cycle["start_date"] == "2026-04-01" and cycle["end_date"] == "2026-06-30"
    assert r.headers["location"] == f"{API}/cycles/{cycle['id']}"
    closed = await client.post(f"{API}/cycles/{cycle['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert (await client.get(f"{API}/cycles/{cycle['id']}")).json()["status"] == "closed"
    listed = (await client.get(f"{API}/cycles")).json()
    assert [c["status"] for c in listed["items"]] == ["closed"]


async def test_objectives_key_results_and_check_ins(client: httpx.AsyncClient) -> None:
    ids = await _org(client)
    obj = (await client.get(f"{API}/objectives/{ids['obj']}")).json()
    assert obj["owner_id"] == ids["boss"] and obj["cycle_id"] == ids["cycle"]
    assert obj["description"] == ""
    filtered = (
        await client.get(f"{API}/objectives", params={"cycle_id": ids["cycle"], "owner_id": "x"})
    ).json()
    assert filtered["items"] == []
    filtered = (await client.get(f"{API}/objectives", params={"owner_id": ids["boss"]})).json()
    assert [o["id"] for o in filtered["items"]] == [ids["obj"]]

    kr = (await client.get(f"{API}/key-results/{ids['kr']}")).json()
    assert kr["baseline"] == 0 and kr["target"] == 100 and kr["unit"] == "%"
    assert kr["owner_id"] == ids["boss"]
    assert kr["risk"]["status"] == "no_data"
    listed = (await client.get(f"{API}/objectives/{ids['obj']}/key-results")).json()
    assert [k["id"] for k in listed["items"]] == [ids["kr"]]

    r = await client.post(
        f"{API}/key-results/{ids['kr']}/check-ins",
        json={"value": 20, "confidence": 4, "note": "die change", "week": "2026-W09"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{API}/key-results/{ids['kr']}/check-ins"
    first = r.json()
    assert first["week"] == "2026-W09" and first["value"] == 20.0 and first["confidence"] == 4
    assert first["revision"] == 1
    assert first["risk"]["status"] == "at_risk" and first["risk"]["behind_streak"] == 2
    # same week again replaces it (revision 2); a week-less check-in is the current week
    again = await client.post(
        f"{API}/key-results/{ids['kr']}/check-ins",
        json={"value": 80.5, "confidence": 8, "week": "2026-W09"},
    )
    assert again.json()["revision"] == 2 and again.json()["risk"]["status"] == "on_track"
    current = await client.post(
        f"{API}/key-results/{ids['kr']}/check-ins", json={"value": 90, "confidence": 10}
    )
    assert current.json()["week"] == "2026-W10"
    history = (await client.get(f"{API}/key-results/{ids['kr']}/check-ins")).json()
    assert [(c["week"], c["value"]) for c in history["items"]] == [
        ("2026-W09", 80.5),
        ("2026-W10", 90.0),
    ]
    kr = (await client.get(f"{API}/key-results/{ids['kr']}")).json()
    assert kr["current_value"] == 90.0 and kr["risk"]["status"] == "on_track"


async def test_paging_walks_every_item_once(
    client: httpx.AsyncClient, services: FakeServices
) -> None:
    for i in range(5):
        await _post(client, "/departments", {"name": f"D{i}"})
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        params: dict[str, str | int] = {"page_size": 2}
        if token:
            params["page_token"] = token
        r = await client.get(f"{API}/departments", params=params)
        assert r.status_code == 200
        body = r.json()
        assert len(body["items"]) <= 2
        seen += [d["name"] for d in body["items"]]
        pages += 1
        token = body["next_page_token"]
        if not token:
            break
    assert seen == [f"D{i}" for i in range(5)] and pages == 3
    request = services.log.calls[-1].request
    assert request.page.page_size == 2 and request.page.page_token != ""
    # the default page size is sent when the client gives none
    await client.get(f"{API}/departments")
    assert services.log.calls[-1].request.page.page_size == 50


async def test_request_id_and_deadline_reach_the_service(
    client: httpx.AsyncClient, services: FakeServices
) -> None:
    r = await client.get(f"{API}/departments", headers={"X-Request-ID": "req-123"})
    assert r.headers["x-request-id"] == "req-123"
    call = services.log.calls[-1]
    assert call.metadata["x-request-id"] == "req-123"
    # the acting principal travels with every call, for the services' audit trail
    assert call.metadata["x-stride-actor"] == "emp-admin"
    assert call.time_remaining is not None and 0 < call.time_remaining <= 5

    r = await client.get(f"{API}/departments")
    generated = r.headers["x-request-id"]
    assert len(generated) == 32
    assert services.log.calls[-1].metadata["x-request-id"] == generated

    # an unsafe incoming id is replaced, not echoed
    r = await client.get(f"{API}/departments", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert r.headers["x-request-id"] != "a b\tc" + "x" * 200
    assert len(r.headers["x-request-id"]) == 32


async def test_an_owners_check_in_asks_identity_nothing_about_the_org(
    client: httpx.AsyncClient, settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    """The every-day path: the owner's own check-in is decided on the key result alone (no
    manager chain, no department tree), so identity is not on the check-in's hot path."""
    ids = await _org(client)
    owner = Principal(id=ids["boss"], department_id=ids["dep"])
    async with make_client(settings, deps, owner) as mine:
        services.log.calls.clear()
        r = await mine.post(
            f"{API}/key-results/{ids['kr']}/check-ins",
            json={"value": 20, "confidence": 4, "week": "2026-W09"},
        )
        assert r.status_code == 201, r.text
    asked = set(services.log.names())
    assert not asked & {"GetManagerChain", "GetDepartment", "ListDepartments"}, asked
    # Someone else (no relation) is still refused after the org lookups.
    stranger = Principal(id="emp-stranger", department_id="dep-elsewhere")
    async with make_client(settings, deps, stranger) as other:
        r = await other.post(
            f"{API}/key-results/{ids['kr']}/check-ins", json={"value": 30, "confidence": 4}
        )
    assert r.status_code == 404 and r.json()["code"] == "key_result_not_found"


async def test_a_managers_objective_list_asks_identity_once_for_the_reach(
    client: httpx.AsyncClient, settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    """A manager's list is scoped by one GetReach (identity folds whole departments), never by
    paging through every indirect report."""
    ids = await _org(client)
    report = await _post(
        client,
        "/employees",
        {
            "employee_number": "E002",
            "name": "Li Na",
            "email": "li.na@example.com",
            "department_id": ids["dep"],
            "manager_id": ids["boss"],
        },
    )
    boss = Principal(id=ids["boss"], department_id=ids["dep"])
    async with make_client(settings, deps, boss) as mine:
        services.log.calls.clear()
        r = await mine.get(f"{API}/objectives", params={"cycle_id": ids["cycle"]})
        assert r.status_code == 200, r.text
    names = services.log.names()
    assert names.count("GetReach") == 1 and "ListReports" not in names, names
    listed = [c for c in services.log.calls if c.method == "ListObjectives"]
    assert report["id"] in listed[-1].request.visible_owner_ids
