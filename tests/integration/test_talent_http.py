"""Talent through HTTP: the real gateway in front of the real identity, goals and feedback
services. A stretch objective, praise tagged as improvement and steady scores make a
high-potential suggestion HR confirms with a reason; a manager reads their own dimensions and
their report may not."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from stride.feedback.v1 import feedback_pb2 as fpb
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, module_stack, problem
from workflows.vocabulary import week_of

stack = module_stack("gw-talent")


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def _scored_cycle(stack: GatewayStack, start: str, end: str, owner: str, value: float) -> str:
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(name=f"Cycle {start}", start_date=start, end_date=end)
    )
    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Steady output",
            owner_id=owner,
            key_results=[gpb.NewKeyResult(title="Output", baseline=0, target=100, weight=100)],
        )
    )
    krs = await stack.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
    await stack.goals.RecordCheckIn(
        gpb.RecordCheckInRequest(
            key_result_id=krs.key_results[0].id, value=value, week=_week_in(start)
        )
    )
    return str(cycle.id)


def _week_in(start: str) -> str:
    return week_of(date.fromisoformat(start) + timedelta(days=14))


async def test_hr_confirms_a_suggestion_and_a_manager_reads_own_dimensions(
    stack: GatewayStack,
) -> None:
    http = stack.http
    line = await stack.department("Line 5")
    hq = await stack.department("HQ")
    lead = await stack.person(line.id, name="Line Lead")
    await stack.admin_grpc.identity.UpdateDepartment(
        identity_pb2.UpdateDepartmentRequest(id=line.id, head_id=lead.id)
    )
    op = await stack.person(line.id, manager_id=lead.id, name="Operator")
    peer = await stack.person(line.id, manager_id=lead.id, name="Peer")
    hr = await stack.person(hq.id, roles=["hr"], name="HR")
    for start, end in (("2026-04-01", "2026-06-30"), ("2026-07-01", "2026-09-30")):
        await _scored_cycle(stack, start, end, op.id, 80)
    current = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(name="2026 Q4", start_date="2026-10-01", end_date="2026-12-31")
    )

    # The operator's stretch objective, through the API, met at 0.9.
    bold = ok(
        await http.post(
            "/objectives",
            json={
                "cycle_id": current.id,
                "title": "Changeover under 10 minutes",
                "owner_id": op.id,
                "stretch": True,
                "key_results": [{"title": "Changeovers", "baseline": 0, "target": 100}],
            },
            headers=op.headers,
        ),
        201,
    )
    assert bold["stretch"] is True
    krs = await stack.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=bold["id"]))
    await stack.goals.RecordCheckIn(
        gpb.RecordCheckInRequest(key_result_id=krs.key_results[0].id, value=90, week="2026-W42")
    )
    # Praise for an improvement, through the API.
    badge = await stack.feedback.PutBadge(
        fpb.PutBadgeRequest(code="kaizen", name_zh="改善之星", name_en="Kaizen star", active=True)
    )
    praise = ok(
        await http.post(
            "/feedback",
            json={
                "subject_id": op.id,
                "visibility": "praise",
                "badge_id": badge.id,
                "text": "New quick-change clamps",
                "tags": ["improvement"],
            },
            headers=peer.headers,
        ),
        201,
    )
    assert praise["tags"] == ["improvement"]
    wrong = await http.post(
        "/feedback",
        json={"subject_id": op.id, "text": "Private", "tags": ["improvement"]},
        headers=peer.headers,
    )
    problem(wrong, 422, "tags_on_private")

    computed = ok(
        await http.post(
            f"/cycles/{current.id}/talent-suggestions/compute",
            json={"department_id": line.id},
            headers=hr.headers,
        )
    )
    assert computed["people"] == 3
    [suggestion] = computed["suggestions"]
    assert suggestion["employee_id"] == op.id
    assert suggestion["reasons"] == ["stable", "innovative"]
    assert suggestion["level"] == pytest.approx((0.8 + 0.8 + 0.9) / 3)
    assert suggestion["innovation_points"] == 3
    listed = ok(await http.get(f"/cycles/{current.id}/talent-suggestions", headers=hr.headers))
    assert [s["id"] for s in listed["items"]] == [suggestion["id"]]

    refused = await http.post(
        f"/talent-suggestions/{suggestion['id']}/confirm",
        json={"reason": "I like them"},
        headers=lead.headers,
    )
    problem(refused, 403, "forbidden")
    confirmed = ok(
        await http.post(
            f"/talent-suggestions/{suggestion['id']}/confirm",
            json={"reason": "Two steady quarters and a bold one"},
            headers=hr.headers,
        )
    )
    assert confirmed["status"] == "confirmed" and confirmed["decided_by"] == hr.id
    assert confirmed["decision_reason"] == "Two steady quarters and a bold one"
    late = await http.post(
        f"/talent-suggestions/{suggestion['id']}/dismiss",
        json={"reason": "Changed my mind"},
        headers=hr.headers,
    )
    problem(late, 409, "suggestion_decided")

    dims = ok(
        await http.get(f"/cycles/{current.id}/managers/{lead.id}/dimensions", headers=lead.headers)
    )
    assert (dims["team_size"], dims["objectives"], dims["stretch_objectives"]) == (2, 1, 1)
    assert dims["stretch_share"] == 1.0 and dims.get("ambition") is None
    assert dims["manager_expected"] == 0 and dims.get("manager_on_time_share") is None
    assert dims["team_expected"] > 0 and dims["team_on_time"] == 0
    ok(await http.get(f"/cycles/{current.id}/managers/{lead.id}/dimensions", headers=hr.headers))
    peeked = await http.get(
        f"/cycles/{current.id}/managers/{lead.id}/dimensions", headers=op.headers
    )
    problem(peeked, 403, "forbidden")
