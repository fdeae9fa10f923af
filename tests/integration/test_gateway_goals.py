"""The goals API through HTTP: the real gateway in front of the real identity and goals
services (database, NATS), signed-in people with their place in the org chart.

Copy-from-previous, plan submission, revision requests, bulk check-in (all or nothing),
weights, targets, milestones, closed cycles, public objectives, checklists, approvals and
score visibility.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest

from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.feedback_helpers import code_of
from tests.integration.gateway_stack import GatewayStack, Person, module_stack, problem
from tests.waiting import eventually

ZONE = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(ZONE).date()


def week(weeks_ago: int) -> str:
    year, number, _ = (today() - timedelta(weeks=weeks_ago)).isocalendar()
    return f"{year}-W{number:02d}"


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@dataclass
class Org:
    stack: GatewayStack
    ops: str
    sales: str
    head: Person  # heads Operations
    manager: Person  # in Operations, reports to head
    emp: Person  # in Operations, reports to manager
    outsider: Person  # in Sales
    hr: Person
    admin: Person
    cycle: str  # started five weeks ago

    @property
    def http(self) -> httpx.AsyncClient:
        return self.stack.http


stack = module_stack("gw-goals")


@pytest.fixture(scope="module")
async def org(stack: GatewayStack) -> Org:
    hq = await stack.department(f"HQ {uuid.uuid4().hex[:6]}")
    ops = await stack.department(f"Operations {uuid.uuid4().hex[:6]}")
    sales = await stack.department(f"Sales {uuid.uuid4().hex[:6]}")
    head = await stack.person(ops.id, name="Ops Head")
    await stack.admin_grpc.identity.UpdateDepartment(
        identity_pb2.UpdateDepartmentRequest(id=ops.id, head_id=head.id)
    )
    manager = await stack.person(ops.id, manager_id=head.id, name="Line Manager")
    emp = await stack.person(ops.id, manager_id=manager.id, name="Operator")
    outsider = await stack.person(sales.id, name="Sales Rep")
    hr = await stack.person(hq.id, roles=["hr"], name="HR")
    admin = await stack.person(hq.id, roles=["admin"], name="Admin")
    start = today() - timedelta(weeks=5)
    cycle = ok(
        await stack.http.post(
            "/cycles",
            json={
                "name": f"Current {uuid.uuid4().hex[:6]}",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=90)).isoformat(),
            },
            headers=admin.headers,
        ),
        201,
    )
    return Org(stack, ops.id, sales.id, head, manager, emp, outsider, hr, admin, cycle["id"])


KRS = [
    {"title": "First-pass yield", "baseline": 90, "target": 98, "unit": "%", "weight": 50},
    {
        "title": "Line move",
        "kind": "milestone",
        "milestones": ["plan", "move", "run-off"],
        "weight": 30,
    },
    {
        "title": "Downtime per week",
        "direction": "stay_within",
        "lower_bound": 0,
        "upper_bound": 4,
        "unit": "h",
        "weight": 20,
    },
]


async def objective(
    org: Org, who: Person, *, cycle: str = "", krs: list[dict[str, Any]] | None = None, **extra: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An objective of ``who`` with key results (created through the API); (objective, KRs)."""
    body = {
        "cycle_id": cycle or org.cycle,
        "title": f"Objective {uuid.uuid4().hex[:6]}",
        "owner_id": who.id,
        "key_results": KRS if krs is None else krs,
        **extra,
    }
    obj = ok(await org.http.post("/objectives", json=body, headers=who.headers), 201)
    listed = ok(await org.http.get(f"/objectives/{obj['id']}/key-results", headers=who.headers))
    return obj, listed["items"]


async def history(org: Org, kr: str) -> list[dict[str, Any]]:
    r = await org.http.get(f"/key-results/{kr}/check-ins/history", headers=org.admin.headers)
    return list(ok(r)["items"])


async def titles(org: Org, who: Person, cycle: str) -> list[str]:
    r = await org.http.get(
        "/objectives", params={"cycle_id": cycle, "owner_id": who.id}, headers=who.headers
    )
    return sorted(o["title"] for o in ok(r)["items"])


# -- creating goals ---------------------------------------------------------------------------


async def test_objective_with_key_results_of_every_kind(org: Org) -> None:
    obj, krs = await objective(org, org.emp, level="team", project="Line 3", visibility="public")
    assert obj["status"] == "draft" and obj["level"] == "team" and obj["visibility"] == "public"
    assert obj["key_result_count"] == 3 and obj["weight_total"] == 100
    assert obj["project"] == "Line 3" and obj["start_date"] and obj["end_date"]
    by_title = {k["title"]: k for k in krs}
    move = by_title["Line move"]
    assert move["kind"] == "milestone" and move["target"] == 3 and move["baseline"] == 0
    assert move["milestones"] == ["plan", "move", "run-off"]
    down = by_title["Downtime per week"]
    assert down["direction"] == "stay_within" and down["upper_bound"] == 4
    assert by_title["First-pass yield"]["direction"] == "increase"
    assert {k["weight"] for k in krs} == {50, 30, 20}
    assert all(k["self_score"] is None and k["objective_status"] == "draft" for k in krs)


async def test_weights_must_total_100_and_nothing_is_written(org: Org) -> None:
    before = await titles(org, org.emp, org.cycle)
    bad = [dict(k, weight=w) for k, w in zip(KRS, (50, 30, 10), strict=True)]
    r = await org.http.post(
        "/objectives",
        json={
            "cycle_id": org.cycle,
            "title": "Unbalanced",
            "owner_id": org.emp.id,
            "key_results": bad,
        },
        headers=org.emp.headers,
    )
    err = problem(r, 422, "validation_error")
    assert "key_results" in {e["field"] for e in err["errors"]}
    assert await titles(org, org.emp, org.cycle) == before

    obj, krs = await objective(org, org.emp)
    ids = [k["id"] for k in krs]
    # Not naming every key result: the service refuses, weights unchanged.
    r = await org.http.put(
        f"/objectives/{obj['id']}/weights",
        json={"weights": {ids[0]: 60, ids[1]: 40}},
        headers=org.emp.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] != "validation_error"
    # Not totalling 100: the schema refuses.
    r = await org.http.put(
        f"/objectives/{obj['id']}/weights",
        json={"weights": {ids[0]: 60, ids[1]: 30, ids[2]: 30}},
        headers=org.emp.headers,
    )
    problem(r, 422, "validation_error")
    listed = ok(await org.http.get(f"/objectives/{obj['id']}/key-results", headers=org.emp.headers))
    assert [k["weight"] for k in listed["items"]] == [50, 30, 20]
    r = await org.http.put(
        f"/objectives/{obj['id']}/weights",
        json={"weights": {ids[0]: 40, ids[1]: 40, ids[2]: 20}},
        headers=org.emp.headers,
    )
    assert ok(r)["weight_total"] == 100
    listed = ok(await org.http.get(f"/objectives/{obj['id']}/key-results", headers=org.emp.headers))
    assert [k["weight"] for k in listed["items"]] == [40, 40, 20]
    # Someone else's objective: the manager may read it (403), an outsider may not (404).
    r = await org.http.put(
        f"/objectives/{obj['id']}/weights",
        json={"weights": {ids[0]: 100}},
        headers=org.manager.headers,
    )
    problem(r, 403, "forbidden")


async def test_target_equal_to_baseline_is_refused_and_nothing_is_written(org: Org) -> None:
    before = await titles(org, org.emp, org.cycle)
    same = [{"title": "Flat", "baseline": 5, "target": 5}]
    r = await org.http.post(
        "/objectives",
        json={
            "cycle_id": org.cycle,
            "title": "Flat goal",
            "owner_id": org.emp.id,
            "key_results": same,
        },
        headers=org.emp.headers,
    )
    err = problem(r, 422, "validation_error")
    assert "key_results.0.target" in {e["field"] for e in err["errors"]}
    assert await titles(org, org.emp, org.cycle) == before
    obj, _ = await objective(org, org.emp, krs=[])
    r = await org.http.post(
        f"/objectives/{obj['id']}/key-results",
        json={"title": "Flat", "baseline": 5, "target": 5},
        headers=org.emp.headers,
    )
    problem(r, 422, "validation_error")
    # And through an update of a draft (the service compares with the stored baseline).
    kr = ok(
        await org.http.post(
            f"/objectives/{obj['id']}/key-results",
            json={"title": "Scrap", "baseline": 5, "target": 2},
            headers=org.emp.headers,
        ),
        201,
    )
    assert kr["direction"] == "decrease"
    r = await org.http.patch(
        f"/key-results/{kr['id']}", json={"target": 5}, headers=org.emp.headers
    )
    problem(r, 422, "target_equals_baseline")
    got = ok(await org.http.get(f"/key-results/{kr['id']}", headers=org.emp.headers))
    assert got["target"] == 2
    changed = ok(
        await org.http.patch(
            f"/key-results/{kr['id']}",
            json={"target": 1, "title": "Scrap %"},
            headers=org.emp.headers,
        )
    )
    assert changed["target"] == 1 and changed["title"] == "Scrap %"


# -- check-ins --------------------------------------------------------------------------------


async def test_milestone_value_out_of_range(org: Org) -> None:
    _, krs = await objective(org, org.emp)
    move = next(k for k in krs if k["kind"] == "milestone")
    for value in (4, 1.5):
        r = await org.http.post(
            f"/key-results/{move['id']}/check-ins",
            json={"value": value, "confidence": 6, "week": week(1)},
            headers=org.emp.headers,
        )
        problem(r, 422, "milestone_out_of_range")
    assert await history(org, move["id"]) == []
    r = await org.http.post(
        f"/key-results/{move['id']}/check-ins",
        json={"value": 2, "confidence": 6, "week": week(1)},
        headers=org.emp.headers,
    )
    assert ok(r, 201)["score"] == pytest.approx(2 / 3)


async def test_bulk_check_in_all_or_nothing(org: Org) -> None:
    _, krs = await objective(org, org.emp)
    _, theirs = await objective(org, org.outsider)
    fpy, move, down = (k["id"] for k in krs)
    good = [
        {"key_result_id": fpy, "value": 94, "confidence": 7, "note": "new fixture"},
        {"key_result_id": move, "value": 1, "confidence": 8},
        {
            "key_result_id": down,
            "value": 6,
            "confidence": 4,
            "blockers": [{"text": "Spare spindle on order", "department_id": org.sales}],
        },
    ]
    # A bad entry (milestone out of range) refuses the whole request.
    bad = [good[0], {**good[1], "value": 7}, good[2]]
    r = await org.http.post(
        "/check-ins", json={"week": week(2), "check_ins": bad}, headers=org.emp.headers
    )
    err = problem(r, 422, "milestone_out_of_range")
    assert "check_ins[1]" in err["detail"]
    # Someone else's key result: like a missing one, nothing written.
    mixed = [good[0], {"key_result_id": theirs[0]["id"], "value": 95, "confidence": 5}]
    r = await org.http.post(
        "/check-ins", json={"week": week(2), "check_ins": mixed}, headers=org.emp.headers
    )
    problem(r, 404, "key_result_not_found")
    for kr in (fpy, move, down, theirs[0]["id"]):
        assert await history(org, kr) == [], kr
    # Nor may the manager check in on the employee's behalf.
    r = await org.http.post(
        "/check-ins",
        json={"week": week(2), "owner_id": org.emp.id, "check_ins": good},
        headers=org.manager.headers,
    )
    problem(r, 403, "forbidden")

    r = await org.http.post(
        "/check-ins", json={"week": week(2), "check_ins": good}, headers=org.emp.headers
    )
    recorded = ok(r, 201)["check_ins"]
    assert [c["key_result_id"] for c in recorded] == [fpy, move, down]
    assert {c["week"] for c in recorded} == {week(2)}
    assert {c["recorded_by"] for c in recorded} == {org.emp.id}
    (blocker,) = recorded[2]["blockers"]
    # A blocker naming a department gets its id in that department's blockers.
    assert blocker == {
        "text": "Spare spindle on order",
        "department_id": org.sales,
        "id": blocker["id"],
    }
    assert blocker["id"]
    assert recorded[0]["score"] == pytest.approx((94 - 90) / 8)
    # Re-submitting the same week replaces it; the history keeps both versions.
    again = [{**good[0], "value": 95}]
    r = await org.http.post(
        "/check-ins", json={"week": week(2), "check_ins": again}, headers=org.emp.headers
    )
    assert ok(r, 201)["check_ins"][0]["revision"] == 2
    versions = await history(org, fpy)
    assert [(v["value"], v["revision"]) for v in versions] == [(94, 1), (95, 2)]
    latest = ok(await org.http.get(f"/key-results/{fpy}/check-ins", headers=org.emp.headers))
    assert [c["value"] for c in latest["items"]] == [95]
    # An admin may check in for someone (recorded_by names the admin).
    r = await org.http.post(
        "/check-ins",
        json={"owner_id": org.emp.id, "check_ins": [{**good[1], "week": week(1)}]},
        headers=org.admin.headers,
    )
    assert ok(r, 201)["check_ins"][0]["recorded_by"] == org.admin.id


async def test_check_in_on_a_closed_cycle(org: Org) -> None:
    start = today() - timedelta(weeks=6)
    cycle = ok(
        await org.http.post(
            "/cycles",
            json={
                "name": f"Closing {uuid.uuid4().hex[:6]}",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=80)).isoformat(),
            },
            headers=org.admin.headers,
        ),
        201,
    )
    _, krs = await objective(org, org.emp, cycle=cycle["id"])
    closed = ok(await org.http.post(f"/cycles/{cycle['id']}/close", headers=org.hr.headers))
    assert closed["status"] == "closed"
    r = await org.http.post(
        f"/key-results/{krs[0]['id']}/check-ins",
        json={"value": 95, "confidence": 5, "week": week(1)},
        headers=org.emp.headers,
    )
    problem(r, 409, "cycle_closed")
    r = await org.http.post(
        "/check-ins",
        json={
            "week": week(1),
            "check_ins": [{"key_result_id": krs[0]["id"], "value": 95, "confidence": 5}],
        },
        headers=org.emp.headers,
    )
    problem(r, 409, "cycle_closed")
    assert await history(org, krs[0]["id"]) == []


async def test_checklists_and_answers(org: Org) -> None:
    items = [
        {
            "id": "inspection-records",
            "label_zh": "检验记录完整",
            "label_en": "Inspection records complete",
        },
        {
            "id": "downtime-response",
            "label_zh": "停机响应≤30分钟",
            "label_en": "Downtime response ≤ 30 min",
        },
    ]
    r = await org.http.put(
        f"/departments/{org.ops}/checklist", json={"items": items}, headers=org.emp.headers
    )
    problem(r, 403, "forbidden")
    r = await org.http.put(
        f"/departments/{org.ops}/checklist", json={"items": items}, headers=org.head.headers
    )
    assert [i["id"] for i in ok(r)["items"]] == ["inspection-records", "downtime-response"]
    got = ok(await org.http.get(f"/departments/{org.ops}/checklist", headers=org.outsider.headers))
    assert got["items"][0]["label_zh"] == "检验记录完整"
    r = await org.http.put(
        "/departments/nope/checklist", json={"items": items}, headers=org.hr.headers
    )
    problem(r, 404, "department_not_found")

    _, krs = await objective(org, org.emp)
    url = f"/key-results/{krs[0]['id']}/check-ins"
    answers = [{"item_id": "inspection-records", "checked": True}]
    r = await org.http.post(
        url,
        json={
            "value": 93,
            "confidence": 7,
            "week": week(1),
            "answers": [{"item_id": "nope", "checked": True}],
        },
        headers=org.emp.headers,
    )
    problem(r, 422, "unknown_checklist_item")
    r = await org.http.post(
        url,
        json={"value": 93, "confidence": 7, "week": week(1), "answers": answers},
        headers=org.emp.headers,
    )
    assert ok(r, 201)["answers"] == answers


# -- copy, plans, approvals, revisions ---------------------------------------------------------


async def test_copy_from_previous_cycle(org: Org) -> None:
    last = ok(
        await org.http.post(
            "/cycles",
            json={
                "name": f"Last {uuid.uuid4().hex[:6]}",
                "start_date": "2026-01-01",
                "end_date": "2026-03-31",
            },
            headers=org.admin.headers,
        ),
        201,
    )
    nxt = ok(
        await org.http.post(
            "/cycles",
            json={
                "name": f"Next {uuid.uuid4().hex[:6]}",
                "start_date": "2027-01-01",
                "end_date": "2027-03-31",
            },
            headers=org.admin.headers,
        ),
        201,
    )
    keep, _ = await objective(org, org.emp, cycle=last["id"], title="Keep line 3 running")
    other, _ = await objective(org, org.emp, cycle=last["id"], title="Train two operators")
    theirs, _ = await objective(org, org.outsider, cycle=last["id"])
    body = {"source_cycle_id": last["id"], "target_cycle_id": nxt["id"]}

    # Someone else's objective in the list: refused, nothing copied.
    r = await org.http.post(
        "/objectives/copy",
        json={**body, "objective_ids": [keep["id"], theirs["id"]]},
        headers=org.emp.headers,
    )
    assert r.status_code in (403, 404, 422), r.text
    assert await titles(org, org.emp, nxt["id"]) == []
    # Copying for someone else: admins only.
    r = await org.http.post(
        "/objectives/copy", json={**body, "owner_id": org.outsider.id}, headers=org.emp.headers
    )
    problem(r, 403, "forbidden")

    r = await org.http.post(
        "/objectives/copy", json={**body, "objective_ids": [keep["id"]]}, headers=org.emp.headers
    )
    copied = ok(r, 201)
    assert [o["title"] for o in copied["objectives"]] == ["Keep line 3 running"]
    copy = copied["objectives"][0]
    assert copy["cycle_id"] == nxt["id"] and copy["status"] == "draft" and copy["id"] != keep["id"]
    assert sorted(k["title"] for k in copied["key_results"]) == sorted(k["title"] for k in KRS)
    assert {k["objective_id"] for k in copied["key_results"]} == {copy["id"]}
    assert all(k["current_value"] == k["baseline"] for k in copied["key_results"])
    assert await titles(org, org.emp, nxt["id"]) == ["Keep line 3 running"]

    r = await org.http.post(
        "/objectives/copy",
        json={**body, "owner_id": org.emp.id, "objective_ids": [other["id"]]},
        headers=org.admin.headers,
    )
    ok(r, 201)
    assert await titles(org, org.emp, nxt["id"]) == ["Keep line 3 running", "Train two operators"]


async def test_plan_approval_visibility_and_revision_request(org: Org) -> None:
    obj, krs = await objective(org, org.emp)
    fpy = krs[0]
    # A revision is for approved goals only.
    r = await org.http.post(
        f"/key-results/{fpy['id']}/revisions",
        json={"new_target": 97, "reason": "x"},
        headers=org.emp.headers,
    )
    problem(r, 409, "objective_not_approved")

    r = await org.http.post(
        f"/cycles/{org.cycle}/plan/submit",
        json={"objective_ids": [obj["id"]]},
        headers=org.emp.headers,
    )
    approval = ok(r, 201)
    assert r.headers["location"].endswith(f"/approvals/{approval['id']}")
    assert approval["kind"] == "plan" and approval["status"] == "pending"
    assert approval["approver_ids"] == [org.manager.id] and approval["objective_ids"] == [obj["id"]]
    assert approval["workflow_id"] == f"cycle/{org.cycle}/plan/{org.emp.id}"
    got = ok(await org.http.get(f"/objectives/{obj['id']}", headers=org.emp.headers))
    assert got["status"] == "pending_approval"
    # Only drafts change directly.
    r = await org.http.patch(
        f"/objectives/{obj['id']}", json={"title": "Changed"}, headers=org.emp.headers
    )
    problem(r, 409, "objective_not_draft")

    # Who sees the approval.
    mine = ok(await org.http.get("/approvals", headers=org.manager.headers))
    assert approval["id"] in [a["id"] for a in mine["items"]]
    # The employee decides nothing (no reports): their default list is empty.
    assert ok(await org.http.get("/approvals", headers=org.emp.headers))["items"] == []
    own = ok(
        await org.http.get(
            "/approvals",
            params={"employee_id": org.emp.id, "approver_id": ""},
            headers=org.emp.headers,
        )
    )
    assert approval["id"] in [a["id"] for a in own["items"]]
    r = await org.http.get(
        "/approvals", params={"approver_id": org.manager.id}, headers=org.emp.headers
    )
    problem(r, 403, "forbidden")
    hr_view = ok(
        await org.http.get(
            "/approvals", params={"approver_id": org.manager.id}, headers=org.hr.headers
        )
    )
    assert approval["id"] in [a["id"] for a in hr_view["items"]]
    for who in (org.emp, org.manager, org.hr, org.admin):
        assert (
            ok(await org.http.get(f"/approvals/{approval['id']}", headers=who.headers))["id"]
            == approval["id"]
        )
    for who in (org.outsider, org.head):
        problem(
            await org.http.get(f"/approvals/{approval['id']}", headers=who.headers),
            404,
            "approval_not_found",
        )
    problem(
        await org.http.get("/approvals/nope", headers=org.hr.headers), 404, "approval_not_found"
    )

    # The manager approves (what the approval workflow's Update does once validated).
    await org.stack.goals.DecideApproval(
        gpb.DecideApprovalRequest(
            approval_id=approval["id"], decision=gpb.DECISION_APPROVE, decided_by=org.manager.id
        )
    )
    decided = ok(await org.http.get(f"/approvals/{approval['id']}", headers=org.emp.headers))
    assert decided["status"] == "approved" and decided["decided_by"] == org.manager.id
    # Decided: no longer among the manager's pending approvals, still there with status=any.
    pending = ok(await org.http.get("/approvals", headers=org.manager.headers))
    assert approval["id"] not in [a["id"] for a in pending["items"]]
    every = ok(
        await org.http.get("/approvals", params={"status": "any"}, headers=org.manager.headers)
    )
    assert approval["id"] in [a["id"] for a in every["items"]]

    # Revision: only the owner asks; bad targets are refused; both versions are kept.
    url = f"/key-results/{fpy['id']}/revisions"
    r = await org.http.post(
        url, json={"new_target": 97, "reason": "Supplier change"}, headers=org.manager.headers
    )
    problem(r, 403, "forbidden")
    r = await org.http.post(
        url, json={"new_target": 97, "reason": "x"}, headers=org.outsider.headers
    )
    problem(r, 404, "key_result_not_found")
    r = await org.http.post(url, json={"new_target": 90, "reason": "x"}, headers=org.emp.headers)
    problem(r, 422, "target_equals_baseline")
    r = await org.http.post(url, json={"new_target": 97, "reason": ""}, headers=org.emp.headers)
    problem(r, 422, "validation_error")
    r = await org.http.post(
        url,
        json={"new_target": 97, "reason": "New press delayed to next quarter"},
        headers=org.emp.headers,
    )
    revision = ok(r, 201)
    assert revision["status"] == "pending" and revision["requested_by"] == org.emp.id
    assert (revision["old_target"], revision["new_target"]) == (98, 97)
    r = await org.http.post(
        url, json={"new_target": 96, "reason": "again"}, headers=org.emp.headers
    )
    problem(r, 409, "revision_pending")
    listed = ok(await org.http.get(url, headers=org.manager.headers))
    assert [v["id"] for v in listed["items"]] == [revision["id"]]
    problem(await org.http.get(url, headers=org.outsider.headers), 404, "key_result_not_found")
    pending = ok(await org.http.get("/approvals", headers=org.manager.headers))
    assert [(a["kind"], a["revision_id"]) for a in pending["items"]] == [
        ("revision", revision["id"])
    ]
    # The target stays until the revision is approved.
    assert (
        ok(await org.http.get(f"/key-results/{fpy['id']}", headers=org.emp.headers))["target"] == 98
    )


async def test_public_objectives_are_readable_by_everyone(org: Org) -> None:
    public, pkrs = await objective(org, org.outsider, visibility="public")
    private, _ = await objective(org, org.outsider)
    e = org.emp.headers
    assert ok(await org.http.get(f"/objectives/{public['id']}", headers=e))["id"] == public["id"]
    assert ok(await org.http.get(f"/key-results/{pkrs[0]['id']}", headers=e))["id"] == pkrs[0]["id"]
    ok(await org.http.get(f"/key-results/{pkrs[0]['id']}/check-ins", headers=e))
    problem(
        await org.http.get(f"/objectives/{private['id']}", headers=e), 404, "objective_not_found"
    )
    listed = ok(
        await org.http.get(
            "/objectives",
            params={"cycle_id": org.cycle, "owner_id": org.outsider.id, "page_size": 200},
            headers=e,
        )
    )
    assert [o["id"] for o in listed["items"]] == [public["id"]]
    # Readable is not writable.
    r = await org.http.patch(f"/objectives/{public['id']}", json={"title": "Mine now"}, headers=e)
    problem(r, 403, "forbidden")
    r = await org.http.post(
        f"/key-results/{pkrs[0]['id']}/check-ins", json={"value": 91, "confidence": 5}, headers=e
    )
    problem(r, 403, "forbidden")


async def test_list_filters_and_paging(org: Org) -> None:
    parent, _ = await objective(org, org.head, level="department", title="Dept goal")
    child, _ = await objective(org, org.emp, parent_id=parent["id"], level="individual")
    r = await org.http.get(
        "/objectives", params={"parent_id": parent["id"]}, headers=org.head.headers
    )
    assert [o["id"] for o in ok(r)["items"]] == [child["id"]]
    r = await org.http.get(
        "/objectives",
        params={"cycle_id": org.cycle, "level": "department", "department_id": org.ops},
        headers=org.hr.headers,
    )
    assert parent["id"] in [o["id"] for o in ok(r)["items"]]
    assert all(o["level"] == "department" for o in ok(r)["items"])
    r = await org.http.get("/objectives", params={"status": "approved"}, headers=org.emp.headers)
    assert all(o["status"] == "approved" for o in ok(r)["items"])
    problem(
        await org.http.get("/objectives", params={"level": "galaxy"}, headers=org.emp.headers),
        422,
        "validation_error",
    )
    first = ok(
        await org.http.get(
            "/objectives", params={"cycle_id": org.cycle, "page_size": 1}, headers=org.emp.headers
        )
    )
    assert len(first["items"]) == 1 and first["next_page_token"]
    second = ok(
        await org.http.get(
            "/objectives",
            params={"cycle_id": org.cycle, "page_size": 1, "page_token": first["next_page_token"]},
            headers=org.emp.headers,
        )
    )
    assert second["items"][0]["id"] != first["items"][0]["id"]
    # My key results (the phone's check-in screen).
    mine = ok(
        await org.http.get(
            "/key-results",
            params={"cycle_id": org.cycle, "page_size": 200},
            headers=org.emp.headers,
        )
    )
    assert mine["items"] and {k["owner_id"] for k in mine["items"]} == {org.emp.id}
    r = await org.http.get(
        "/key-results", params={"owner_id": org.outsider.id}, headers=org.emp.headers
    )
    problem(r, 403, "forbidden")
    r = await org.http.get(
        "/key-results", params={"owner_id": org.emp.id}, headers=org.manager.headers
    )
    assert {k["owner_id"] for k in ok(r)["items"]} == {org.emp.id}


async def test_key_results_of_several_owners_in_one_call(org: Org) -> None:
    """``owner_id`` repeated: a team's key results in one call, every person checked as if
    named alone (the team view of the web app uses it)."""
    _, manager_krs = await objective(org, org.manager)
    _, emp_krs = await objective(org, org.emp)
    _, outsider_krs = await objective(org, org.outsider)
    both = {"cycle_id": org.cycle, "owner_id": [org.manager.id, org.emp.id], "page_size": 200}
    # The head of Operations reads both (the manager reports to them, the operator is in
    # their department) in one answer.
    found = ok(await org.http.get("/key-results", params=both, headers=org.head.headers))
    ids = {k["id"] for k in found["items"]}
    assert {k["id"] for k in manager_krs + emp_krs} <= ids
    assert {k["owner_id"] for k in found["items"]} == {org.manager.id, org.emp.id}
    assert not ids & {k["id"] for k in outsider_krs}
    # One id still works as before.
    one = {"cycle_id": org.cycle, "owner_id": org.emp.id, "page_size": 200}
    found = ok(await org.http.get("/key-results", params=one, headers=org.manager.headers))
    assert {k["owner_id"] for k in found["items"]} == {org.emp.id}
    # A manager naming their report and someone else gets the refusal of that person alone.
    alone = await org.http.get(
        "/key-results", params={"owner_id": org.outsider.id}, headers=org.manager.headers
    )
    refused = problem(alone, 403, "forbidden")
    mixed = {"cycle_id": org.cycle, "owner_id": [org.emp.id, org.outsider.id]}
    r = await org.http.get("/key-results", params=mixed, headers=org.manager.headers)
    assert problem(r, 403, "forbidden")["detail"] == refused["detail"]
    # ... and an unknown person, wherever in the list, answers as when named alone.
    ghost = {"owner_id": [org.emp.id, "no-such-person"]}
    r = await org.http.get("/key-results", params=ghost, headers=org.manager.headers)
    alone = await org.http.get(
        "/key-results", params={"owner_id": "no-such-person"}, headers=org.manager.headers
    )
    assert (r.status_code, r.json()["code"]) == (alone.status_code, alone.json()["code"])
    assert r.status_code in (403, 404)
    # HR reads anyone's.
    found = ok(await org.http.get("/key-results", params=mixed, headers=org.hr.headers))
    assert {k["owner_id"] for k in found["items"]} == {org.emp.id, org.outsider.id}
    # At most 200 people at once: the gateway's 422, and goals' own refusal behind it.
    many = {"owner_id": [f"p{i}" for i in range(201)]}
    problem(
        await org.http.get("/key-results", params=many, headers=org.hr.headers),
        422,
        "validation_error",
    )
    with pytest.raises(grpc.aio.AioRpcError) as refusal:
        await org.stack.goals.ListKeyResults(
            gpb.ListKeyResultsRequest(owner_ids=[f"p{i}" for i in range(201)])
        )
    assert refusal.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(refusal.value) == "too_many_owners"


async def test_scores_and_participation_visibility(org: Org) -> None:
    await objective(org, org.emp)
    await objective(org, org.outsider)  # HR's scores show both (whatever ran before)
    url = f"/cycles/{org.cycle}/scores"
    own = ok(await org.http.get(url, headers=org.emp.headers))
    assert {p["employee_id"] for p in own["people"]} == {org.emp.id}
    assert {o["owner_id"] for o in own["objectives"]} == {org.emp.id}
    problem(
        await org.http.get(url, params={"department_id": org.ops}, headers=org.emp.headers),
        403,
        "forbidden",
    )
    problem(
        await org.http.get(url, params={"owner_id": org.outsider.id}, headers=org.emp.headers),
        403,
        "forbidden",
    )
    problem(
        await org.http.get(url, params={"owner_id": "nobody"}, headers=org.emp.headers),
        404,
        "employee_not_found",
    )
    report = ok(
        await org.http.get(url, params={"owner_id": org.emp.id}, headers=org.manager.headers)
    )
    assert {p["employee_id"] for p in report["people"]} == {org.emp.id}

    async def head_sees_ops() -> None:  # the figures follow the dashboard read model
        dept = ok(
            await org.http.get(url, params={"department_id": org.ops}, headers=org.head.headers)
        )
        assert {d["department_id"] for d in dept["departments"]} == {org.ops}

    await eventually(head_sees_ops, timeout=15)
    problem(
        await org.http.get(url, params={"department_id": org.sales}, headers=org.head.headers),
        403,
        "forbidden",
    )

    async def hr_sees_everyone() -> None:
        everything = ok(await org.http.get(url, headers=org.hr.headers))
        assert {org.emp.id, org.outsider.id} <= {p["employee_id"] for p in everything["people"]}
        assert everything["objective_count"] >= own["objective_count"]

    await eventually(hr_sees_everyone, timeout=15)

    part = f"/cycles/{org.cycle}/participation"
    problem(await org.http.get(part, headers=org.manager.headers), 403, "forbidden")
    got = ok(await org.http.get(part, params={"week": week(2)}, headers=org.hr.headers))
    assert got["week"] == week(2)
    assert org.emp.id in {p["employee_id"] for p in got["people"]}
    problem(
        await org.http.get(part, params={"week": "2026-W99"}, headers=org.hr.headers),
        422,
        "validation_error",
    )


async def test_cycle_deadlines_and_phase(org: Org) -> None:
    body = {
        "name": f"Deadlines {uuid.uuid4().hex[:6]}",
        "start_date": "2027-04-01",
        "end_date": "2027-06-30",
        "planning_deadline": "2027-04-05",
        "approval_deadline": "2027-04-09",
        "closing_deadline": "2027-07-10",
    }
    cycle = ok(await org.http.post("/cycles", json=body, headers=org.hr.headers), 201)
    assert cycle["phase"] == "planning"
    assert (cycle["planning_deadline"], cycle["approval_deadline"], cycle["closing_deadline"]) == (
        "2027-04-05",
        "2027-04-09",
        "2027-07-10",
    )
    defaults = ok(
        await org.http.post(
            "/cycles",
            json={k: body[k] for k in ("start_date", "end_date")} | {"name": body["name"] + "d"},
            headers=org.hr.headers,
        ),
        201,
    )
    assert defaults["planning_deadline"] == "2027-04-08"  # start + 7 days
    assert defaults["closing_deadline"] == "2027-07-07"  # end + 7 days
    before = len(
        ok(await org.http.get("/cycles", params={"page_size": 200}, headers=org.hr.headers))[
            "items"
        ]
    )
    bad = {**body, "name": "Bad", "approval_deadline": "2027-04-02"}
    err = problem(
        await org.http.post("/cycles", json=bad, headers=org.hr.headers), 422, "validation_error"
    )
    assert [e["field"] for e in err["errors"]] == ["approval_deadline"]
    after = len(
        ok(await org.http.get("/cycles", params={"page_size": 200}, headers=org.hr.headers))[
            "items"
        ]
    )
    assert after == before


async def test_a_draft_objective_is_deleted_with_its_key_results(org: Org) -> None:
    obj, krs = await objective(org, org.emp)
    # A check-in on a draft's key result goes with it.
    r = await org.http.post(
        f"/key-results/{krs[0]['id']}/check-ins",
        json={"value": 90, "confidence": 7},
        headers=org.emp.headers,
    )
    ok(r, 201)
    # Someone who may not see it: the same 404 as a missing one; a reader who may not edit: 403.
    hidden = await org.http.delete(f"/objectives/{obj['id']}", headers=org.outsider.headers)
    missing = await org.http.delete(f"/objectives/nope-{uuid.uuid4().hex}", headers=org.emp.headers)
    assert (
        problem(hidden, 404, "objective_not_found")["detail"]
        == (problem(missing, 404, "objective_not_found")["detail"])
    )
    problem(
        await org.http.delete(f"/objectives/{obj['id']}", headers=org.manager.headers),
        403,
        "forbidden",
    )
    # Aligned objectives hold it until they are aligned elsewhere.
    child, _ = await objective(org, org.emp, krs=[], parent_id=obj["id"])
    r = await org.http.delete(f"/objectives/{obj['id']}", headers=org.emp.headers)
    problem(r, 409, "objective_has_aligned_objectives")
    ok(
        await org.http.patch(
            f"/objectives/{child['id']}", json={"parent_id": ""}, headers=org.emp.headers
        )
    )

    r = await org.http.delete(f"/objectives/{obj['id']}", headers=org.emp.headers)
    assert r.status_code == 204 and r.content == b""
    problem(
        await org.http.get(f"/objectives/{obj['id']}", headers=org.emp.headers),
        404,
        "objective_not_found",
    )
    for kr in krs:
        r = await org.http.get(f"/key-results/{kr['id']}", headers=org.admin.headers)
        problem(r, 404, "key_result_not_found")
    problem(
        await org.http.delete(f"/objectives/{obj['id']}", headers=org.emp.headers),
        404,
        "objective_not_found",
    )

    # Submitted (no longer a draft): 409 with a stable code, nothing deleted.
    pending, _ = await objective(org, org.emp)
    r = await org.http.post(
        f"/cycles/{org.cycle}/plan/submit",
        json={"objective_ids": [pending["id"]]},
        headers=org.emp.headers,
    )
    ok(r, 201)
    r = await org.http.delete(f"/objectives/{pending['id']}", headers=org.emp.headers)
    problem(r, 409, "objective_not_draft")
    assert (
        ok(await org.http.get(f"/objectives/{pending['id']}", headers=org.emp.headers))["id"]
        == pending["id"]
    )
