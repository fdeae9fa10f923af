"""HR configures IM robots, the holiday calendar and quiet hours through the HTTP API (real
gateway and identity, SQLite and PostgreSQL): secrets are write-only (never in a response or
an audit entry), bad input is a 4xx problem with a stable code and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.gateway_stack import GatewayStack, module_stack, problem
from tests.integration.test_org_admin_http import audit_entries
from tests.waiting import eventually

stack = module_stack("gw-channels")

SECRET = "SECdeadbeefcafebabe0123456789"
TOKEN = "access_token=0123456789abcdef0123456789abcdef"
WEBHOOK = f"https://oapi.dingtalk.com/robot/send?{TOKEN}"


@pytest.fixture(scope="module")
async def org(stack: GatewayStack) -> dict[str, Any]:
    dept = str((await stack.department()).id)
    hr = await stack.person(dept, roles=["hr"])
    employee = await stack.person(dept)
    return {"dept": dept, "hr": hr.headers, "hr_person": hr, "employee": employee.headers}


async def test_a_robot_is_set_read_and_removed_without_its_secret(
    stack: GatewayStack, org: dict[str, Any]
) -> None:
    path = f"/departments/{org['dept']}/robots"
    r = await stack.http.put(
        f"{path}/dingtalk",
        json={"webhook_url": WEBHOOK, "secret": SECRET, "language": "zh-CN"},
        headers=org["hr"],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["has_secret"] is True and body["kind"] == "dingtalk"
    assert body["webhook_hint"] == "https://oapi.dingtalk.com/robot/send?…cdef"
    r = await stack.http.get(path, headers=org["hr"])
    assert r.status_code == 200
    assert [x["kind"] for x in r.json()["robots"]] == ["dingtalk"]
    for text in (body, r.json()):
        assert SECRET not in json.dumps(text) and "0123456789abcdef0123" not in json.dumps(text)
    # An employee may not see robots.
    assert (await stack.http.get(path, headers=org["employee"])).status_code == 403

    async def audited() -> list[dict[str, Any]]:
        entries = await audit_entries(stack, org["hr_person"], resource_id=org["dept"])
        puts = [e for e in entries if e["action"].endswith("department_robot.put")]
        assert puts
        return entries

    entries = await eventually(audited)
    dumped = json.dumps(entries)
    assert SECRET not in dumped and "0123456789abcdef0123" not in dumped

    r = await stack.http.delete(f"{path}/dingtalk", headers=org["hr"])
    assert r.status_code == 204
    problem(await stack.http.delete(f"{path}/dingtalk", headers=org["hr"]), 404, "robot_not_found")


@pytest.mark.parametrize(
    ("kind", "body", "status", "code"),
    [
        (
            "dingtalk",
            {"webhook_url": "http://oapi.dingtalk.com/robot/send"},
            422,
            "webhook_not_https",
        ),
        ("dingtalk", {"webhook_url": "not a url"}, 422, "invalid_webhook_url"),
        ("dingtalk", {"webhook_url": "https://"}, 422, "invalid_webhook_url"),
        ("wecom", {"webhook_url": WEBHOOK, "secret": "SECx"}, 422, "invalid_secret"),
        ("dingtalk", {"webhook_url": WEBHOOK, "language": "fr"}, 422, "validation_error"),
        ("dingtalk", {"webhook_url": WEBHOOK, "extra": 1}, 422, "validation_error"),
        ("slack", {"webhook_url": WEBHOOK}, 422, "validation_error"),
    ],
)
async def test_bad_robots_are_refused(
    stack: GatewayStack, org: dict[str, Any], kind: str, body: Any, status: int, code: str
) -> None:
    r = await stack.http.put(
        f"/departments/{org['dept']}/robots/{kind}", json=body, headers=org["hr"]
    )
    problem(r, status, code)
    listed = await stack.http.get(f"/departments/{org['dept']}/robots", headers=org["hr"])
    assert all(x["kind"] != kind for x in listed.json()["robots"])


async def test_a_robot_of_an_unknown_department_is_404(
    stack: GatewayStack, org: dict[str, Any]
) -> None:
    r = await stack.http.put(
        "/departments/nope/robots/wecom",
        json={"webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
        headers=org["hr"],
    )
    problem(r, 404, "department_not_found")


async def test_hr_sets_a_year_of_holidays_and_adjusted_working_days(
    stack: GatewayStack, org: dict[str, Any]
) -> None:
    year = {
        "holidays": [{"date": f"2026-10-0{d}", "name": "国庆节"} for d in range(1, 8)],
        "working_days": [
            {"date": "2026-09-27", "name": "国庆调休"},
            {"date": "2026-10-10", "name": "国庆调休"},
        ],
    }
    r = await stack.http.put("/org/calendar/2026", json=year, headers=org["hr"])
    assert r.status_code == 200, r.text
    r = await stack.http.get("/org/calendar/2026", headers=org["employee"])
    assert r.status_code == 200
    got = r.json()
    assert [d["date"] for d in got["holidays"]][:2] == ["2026-10-01", "2026-10-02"]
    assert [d["date"] for d in got["working_days"]] == ["2026-09-27", "2026-10-10"]
    # Employees read it, only HR/admin change it.
    r = await stack.http.put("/org/calendar/2026", json=year, headers=org["employee"])
    assert r.status_code == 403
    for bad, code in [
        ({"holidays": [{"date": "2027-01-01"}]}, "date_outside_year"),
        ({"holidays": [{"date": "2026-02-30"}]}, "validation_error"),
        ({"working_days": [{"date": "2026-10-09"}]}, "working_day_not_weekend"),
        ({"holidays": [{"date": "2026-10-01"}], "working_days": [{"date": "2026-10-01"}]}, None),
    ]:
        r = await stack.http.put("/org/calendar/2026", json=bad, headers=org["hr"])
        assert r.status_code == 422, r.text
        if code:
            assert r.json()["code"] == code
    # Nothing of the refused writes stuck.
    again = (await stack.http.get("/org/calendar/2026", headers=org["hr"])).json()
    assert again["holidays"] == got["holidays"]
    problem(await stack.http.get("/org/calendar/1900", headers=org["hr"]), 422, "validation_error")

    async def audited() -> None:
        entries = await audit_entries(stack, org["hr_person"], resource_type="org_calendar")
        assert [e["action"] for e in entries if e["resource_id"] == "2026"] == [
            "identity.org_calendar.put"
        ]

    await eventually(audited)


async def test_quiet_hours_are_read_by_everyone_and_set_by_hr(
    stack: GatewayStack, org: dict[str, Any]
) -> None:
    r = await stack.http.get("/org/notification-policy", headers=org["employee"])
    assert r.status_code == 200
    assert r.json() == {"time_zone": "Asia/Shanghai", "quiet_start": "22:00", "quiet_end": "08:00"}
    new = {"time_zone": "Asia/Shanghai", "quiet_start": "21:30", "quiet_end": "07:30"}
    r = await stack.http.put("/org/notification-policy", json=new, headers=org["hr"])
    assert r.status_code == 200 and r.json() == new
    bad_zone = {**new, "time_zone": "Mars/Olympus"}
    r = await stack.http.put("/org/notification-policy", json=bad_zone, headers=org["hr"])
    problem(r, 422, "invalid_time_zone")
    r = await stack.http.put(
        "/org/notification-policy", json={**new, "quiet_start": "25:00"}, headers=org["hr"]
    )
    problem(r, 422, "validation_error")
    assert (await stack.http.get("/org/notification-policy", headers=org["hr"])).json() == new
