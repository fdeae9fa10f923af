"""A line's daily inspection on its shared device, through the pages, into telemetry: the real
gateway in front of the real identity, goals and telemetry services (database, NATS).

The QR sheet's inspection code opens the PIN sign-in; the line's worker ticks the line's
checklist and records it; they are signed out back to the PIN screen, and the inspection is a
sample of ``inspection_complete`` (source: the line) in the telemetry service's window, which
moves a key result bound to it. Bad submits answer a clear 4xx page and record nothing.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date, timedelta
from html import unescape
from typing import Any

import httpx

from gateway.web.session import ACCESS_COOKIE
from stride.goals.v1 import goals_pb2 as gpb
from tests.integration.gateway_stack import BASE, GatewayStack, module_stack, problem
from tests.integration.test_web_pages import Browser, text
from tests.waiting import midday_zone
from workflows.vocabulary import INSPECTION_METRIC

stack = module_stack("gw-inspect")

CHECKLIST = {
    "items": [
        {"id": "guards", "label_zh": "防护罩完好", "label_en": "Guards in place"},
        {"id": "records", "label_zh": "记录完整", "label_en": "Inspection records complete"},
    ]
}


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def _window(stack: GatewayStack, hr: Any, line: str) -> dict[str, Any]:
    return ok(
        await stack.http.get(
            "/telemetry/windows",
            params={"metric": INSPECTION_METRIC, "aggregation": "avg", "window": "day",
                    "source": line},
            headers=hr.headers,
        )
    )  # fmt: skip


async def _bound_key_result(stack: GatewayStack, hr: Any, owner_id: str, line: str) -> str:
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Inspection {time.monotonic_ns()}",
            start_date=(today - timedelta(days=30)).isoformat(),
            end_date=(today + timedelta(days=60)).isoformat(),
            time_zone=midday_zone(),  # the day window never straddles midnight
        )
    )
    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(cycle_id=cycle.id, title="Line 3 is safe", owner_id=owner_id)
    )
    kr = await stack.goals.CreateKeyResult(
        gpb.CreateKeyResultRequest(
            objective_id=objective.id,
            title="Inspection records complete ≥ 95 %",
            target=95,
            data_source=gpb.DATA_SOURCE_TELEMETRY,
        )
    )
    binding = {
        "key_result_id": kr.id,
        "metric": INSPECTION_METRIC,
        "source": line,
        "aggregation": "avg",
        "window": "day",
        "transform": {"scale": 100, "offset": 0},
    }
    ok(await stack.http.post("/telemetry/bindings", json=binding, headers=hr.headers), 201)
    return str(kr.id)


async def _pin_sign_in(device: Browser, person: Any, line: str) -> httpx.Response:
    return await device.post(
        "/pin-sign-in",
        {"employee_number": person.login, "pin": "2580", "department": line,
         "then": "inspection"},
    )  # fmt: skip


async def test_the_daily_inspection_feeds_telemetry_and_a_bound_key_result(
    stack: GatewayStack,
) -> None:
    http = stack.http
    line = (await stack.department("Line 3")).id
    other = (await stack.department("Line 4")).id
    hr = await stack.person(other, roles=["hr"], name="HR")
    worker = await stack.person(line, name="Wang Worker")
    stranger = await stack.person(other, name="Zhao Other")
    for p in (worker, stranger):
        r = await http.put("/me/pin", json={"current_password": p.password, "pin": "2580"},
                           headers=p.headers)  # fmt: skip
        assert r.status_code == 204, r.text
    ok(await http.put(f"/departments/{line}/checklist", json=CHECKLIST, headers=hr.headers))

    # The QR sheet: per line a check-in code and an inspection code.
    async with Browser(stack) as b:
        await b.sign_in(hr)
        sheet = await b.get(f"/qr?department={line}")
        assert sheet.status_code == 200 and sheet.text.count("<svg") == 2
        links = [unescape(x) for x in re.findall(r"<svg[^>]*><title>([^<]+)</title>", sheet.text)]
        assert links == [
            f"{BASE}/pin-sign-in?department={line}",
            f"{BASE}/pin-sign-in?department={line}&then=inspection",
        ]
        assert "Scan for the line's daily inspection" in text(sheet)

    async with Browser(stack) as device:
        page = await device.get(links[1].removeprefix(BASE))
        assert page.status_code == 200 and 'name="then" value="inspection"' in page.text
        assert "record the line's daily inspection" in text(page)
        r = await _pin_sign_in(device, worker, line)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"/inspection?shared=1&department={line}"
        form = await device.get(r.headers["location"])
        assert form.status_code == 200
        assert "Line: Line 3" in text(form) and "Inspection records complete" in text(form)
        assert 'id="item-guards"' in form.text and 'for="item-guards"' not in form.text
        submission = re.search(r'name="submission_id" value="([a-f0-9]+)"', form.text)
        assert submission
        # A tick on an item the checklist does not have: a 422 page, nothing recorded.
        data = {"department": line, "submission_id": submission[1]}
        r = await device.post("/inspection", {**data, "item-nope": "1"})
        assert r.status_code == 422 and "The checklist changed meanwhile" in text(r)
        assert ACCESS_COOKIE in device.http.cookies  # still signed in, the form shown again
        # Everything ticked: recorded, signed out, back to the line's PIN screen.
        r = await device.post("/inspection", {**data, "item-guards": "1", "item-records": "1"})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == (
            f"/pin-sign-in?department={line}&then=inspection&inspected=1"
        )
        assert ACCESS_COOKIE not in device.http.cookies
        done = await device.get(r.headers["location"])
        assert "Inspection recorded" in text(done) and "the next person can sign in" in text(done)
        # The session has ended: the inspection page goes back to the PIN screen.
        r = await device.get(f"/inspection?shared=1&department={line}")
        assert r.status_code == 303
        assert r.headers["location"] == f"/pin-sign-in?department={line}&then=inspection"

    # The metric was defined by the first inspection; the sample is in the line's day window.
    metric = ok(await http.get(f"/telemetry/metrics/{INSPECTION_METRIC}", headers=hr.headers))
    assert metric["unit"] == "ratio"
    window = await _window(stack, hr, line)
    assert (window["value"], window["count"]) == (1.0, 1), window

    # HR binds a key result to the line's inspections; the next one (half ticked) moves it.
    kr_id = await _bound_key_result(stack, hr, worker.id, line)
    async with Browser(stack) as device:
        await device.get(links[1].removeprefix(BASE))
        await _pin_sign_in(device, worker, line)
        form = await device.get(f"/inspection?shared=1&department={line}")
        sid = re.search(r'name="submission_id" value="([a-f0-9]+)"', form.text)
        assert sid
        data = {"department": line, "submission_id": sid[1], "item-records": "1"}
        assert (await device.post("/inspection", data)).status_code == 303
    window = await _window(stack, hr, line)
    assert (window["value"], window["count"]) == (0.75, 2), window
    deadline = time.monotonic() + 10
    while True:
        kr = ok(await http.get(f"/key-results/{kr_id}", headers=worker.headers))
        if kr["current_value"] == 75.0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert kr["current_value"] == 75.0, kr

    # The same submission sent again (a retry) is recorded once.
    again = ok(
        await http.post(f"/departments/{line}/inspections",
                        json={"checked": ["records"], "submission_id": sid[1]},
                        headers=worker.headers),
        201,
    )  # fmt: skip
    assert again["duplicate"] is True and again["value"] == 0.5
    assert (await _window(stack, hr, line))["count"] == 2

    # Someone of another line on this line's device: told so, and the API refuses them.
    async with Browser(stack) as device:
        await device.get(links[1].removeprefix(BASE))
        await _pin_sign_in(device, stranger, line)
        page = await device.get(f"/inspection?shared=1&department={line}")
        assert page.status_code == 200 and 'id="inspection-not-member"' in page.text
        assert 'id="inspection-form"' not in page.text
        r = await device.post("/inspection", {"department": line, "item-records": "1"})
        assert r.status_code == 403 and "Only the people of this line" in text(r)
        # "Not you?" signs out back to the inspection's PIN screen.
        r = await device.post("/sign-out", {"shared": "1", "then": "inspection",
                                            "department": line})  # fmt: skip
        assert r.headers["location"] == f"/pin-sign-in?department={line}&then=inspection"
    assert (await _window(stack, hr, line))["count"] == 2

    # A line without a checklist has nothing to inspect: 409, no sample.
    r = await http.post(f"/departments/{other}/inspections", json={"checked": []},
                        headers=stranger.headers)  # fmt: skip
    problem(r, 409, "no_checklist")
    # A body of the wrong shape: 422 before anything is read.
    r = await http.post(f"/departments/{line}/inspections", json={"checked": "records"},
                        headers=worker.headers)  # fmt: skip
    problem(r, 422, "validation_error")
