"""Upward feedback, praise and goal challenges through HTTP: the real gateway in front of the
real identity, goals and feedback services (database, NATS), signed-in people.

- anonymous upward feedback reaches the manager only as an aggregate, only once three
  colleagues wrote, and never with an author (not to HR or an admin either);
- praise with HR's badge is seen by the team and its head, not by another department;
- a goal challenge is seen by the owner's manager and answered by the owner alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, Person, module_stack, problem

stack = module_stack("gw-feedback")


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@dataclass
class Team:
    stack: GatewayStack
    line: str
    quality: str
    lead: Person  # heads Line 3, manages the four below
    reports: list[Person]
    outsider: Person  # in Quality
    hr: Person
    admin: Person

    @property
    def http(self) -> httpx.AsyncClient:
        return self.stack.http


@pytest.fixture(scope="module")
async def team(stack: GatewayStack) -> Team:
    line = await stack.department("Line 3")
    quality = await stack.department("Quality")
    hq = await stack.department("HQ")
    lead = await stack.person(line.id, name="Line Lead")
    await stack.admin_grpc.identity.UpdateDepartment(
        identity_pb2.UpdateDepartmentRequest(id=line.id, head_id=lead.id)
    )
    reports = [await stack.person(line.id, manager_id=lead.id, name=f"Op {i}") for i in range(4)]
    return Team(
        stack,
        line.id,
        quality.id,
        lead,
        reports,
        await stack.person(quality.id, name="Inspector"),
        await stack.person(hq.id, roles=["hr"], name="HR"),
        await stack.person(hq.id, roles=["admin"], name="Admin"),
    )


async def test_anonymous_upward_feedback_needs_three_authors_and_never_names_them(
    team: Team,
) -> None:
    http, lead = team.http, team.lead
    a, b, c, d = team.reports
    named = ok(
        await http.post(
            "/me/upward-feedback", json={"text": "Thanks for the 5S push"}, headers=d.headers
        ),
        201,
    )
    assert named == {"manager_id": lead.id, "period": named["period"], "anonymous": False}
    for author, text in ((a, "Stand-ups run long"), (b, "Share the plan earlier")):
        receipt = ok(
            await http.post(
                "/me/upward-feedback",
                json={"text": text, "anonymous": True},
                headers=author.headers,
            ),
            201,
        )
        assert set(receipt) == {"manager_id", "period", "anonymous"}  # no id to trace back
    summary = ok(await http.get("/me/upward-feedback", headers=lead.headers))
    assert [n["author_id"] for n in summary["named"]] == [d.id]
    assert summary["anonymous"] == {
        "released": False,
        "threshold": 3,
        "items": 0,
        "authors": 0,
        "texts": [],
    }
    ok(
        await http.post(
            "/me/upward-feedback",
            json={"text": "More coaching on the new press", "anonymous": True},
            headers=c.headers,
        ),
        201,
    )
    r = await http.get("/me/upward-feedback", headers=lead.headers)
    summary = ok(r)
    assert summary["anonymous"]["released"] is True
    assert summary["anonymous"]["authors"] == 3 and summary["anonymous"]["items"] == 3
    assert sorted(summary["anonymous"]["texts"]) == sorted(
        ["Stand-ups run long", "Share the plan earlier", "More coaching on the new press"]
    )
    for author in (a, b, c):
        assert author.id not in r.text
    # HR and an admin have no way to it: their own summary is theirs, the audit trail has
    # no upward entry.
    for viewer in (team.hr, team.admin):
        own = await http.get("/me/upward-feedback", headers=viewer.headers)
        assert all(p.id not in own.text for p in (a, b, c))
        audit = ok(await http.get("/audit", headers=viewer.headers))
        assert "upward" not in str(audit)
    # The threshold is HR's to raise, never to lower below 3.
    problem(
        await http.put(
            "/feedback/settings", json={"anonymity_threshold": 2}, headers=team.hr.headers
        ),
        422,
        "threshold_below_minimum",
    )
    problem(
        await http.put("/feedback/settings", json={"anonymity_threshold": 5}, headers=lead.headers),
        403,
        "forbidden",
    )
    ok(
        await http.put(
            "/feedback/settings", json={"anonymity_threshold": 4}, headers=team.hr.headers
        )
    )
    try:
        held = ok(await http.get("/me/upward-feedback", headers=lead.headers))
        assert held["anonymous"]["released"] is False and held["anonymous"]["texts"] == []
    finally:
        ok(
            await http.put(
                "/feedback/settings", json={"anonymity_threshold": 3}, headers=team.hr.headers
            )
        )
    problem(
        await http.post("/me/upward-feedback", json={"text": "to whom?"}, headers=team.hr.headers),
        409,
        "no_manager",
    )


async def test_praise_with_a_badge_is_seen_by_the_team_and_not_by_others(team: Team) -> None:
    http = team.http
    a, b, *_ = team.reports
    badge = ok(
        await http.put(
            "/badges/digital-pioneer",
            json={"name_zh": "数字先锋奖", "name_en": "Digital pioneer"},
            headers=team.hr.headers,
        )
    )
    problem(
        await http.put(
            "/badges/digital-pioneer",
            json={"name_zh": "数字先锋奖", "name_en": "Digital pioneer"},
            headers=a.headers,
        ),
        403,
        "forbidden",
    )
    assert "digital-pioneer" in {
        x["code"] for x in ok(await http.get("/badges", headers=a.headers))["badges"]
    }
    problem(
        await http.post(
            "/feedback",
            json={"subject_id": a.id, "visibility": "praise", "text": "No badge"},
            headers=b.headers,
        ),
        422,
        "badge_required",
    )
    praise = ok(
        await http.post(
            "/feedback",
            json={
                "subject_id": a.id,
                "visibility": "praise",
                "badge_id": badge["id"],
                "text": "把点检表搬上了平板，全线推广",
            },
            headers=b.headers,
        ),
        201,
    )
    for viewer in (a, b, team.reports[2], team.lead, team.hr):
        seen = ok(await http.get("/praise", headers=viewer.headers))
        assert praise["id"] in {p["id"] for p in seen["items"]}
        ok(await http.get(f"/feedback/{praise['id']}", headers=viewer.headers))
    outside = ok(await http.get("/praise", headers=team.outsider.headers))
    assert praise["id"] not in {p["id"] for p in outside["items"]}
    problem(
        await http.get(f"/feedback/{praise['id']}", headers=team.outsider.headers),
        404,
        "feedback_not_found",
    )
    # Private feedback about a colleague: the peer gets 404, like a missing item.
    private = ok(
        await http.post(
            "/feedback", json={"subject_id": a.id, "text": "Watch the torque"}, headers=b.headers
        ),
        201,
    )
    problem(
        await http.get(f"/feedback/{private['id']}", headers=team.reports[2].headers),
        404,
        "feedback_not_found",
    )
    ok(await http.get(f"/feedback/{private['id']}", headers=a.headers))


async def test_a_goal_challenge_is_answered_by_the_owner(team: Team, stack: GatewayStack) -> None:
    http = team.http
    owner, peer, *_ = team.reports
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(name="Q4 challenges", start_date="2026-10-01", end_date="2026-12-31")
    )
    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Scrap below 1 %",
            owner_id=owner.id,
            visibility=gpb.VISIBILITY_PUBLIC,
        )
    )
    raised = ok(
        await http.post(
            f"/objectives/{objective.id}/challenges",
            json={"text": "Is 1 % possible with the old press?"},
            headers=peer.headers,
        ),
        201,
    )
    assert raised["status"] == "open" and raised["owner_id"] == owner.id
    mine = ok(await http.get("/challenges", params={"status": "open"}, headers=owner.headers))
    assert raised["id"] in {c["id"] for c in mine["items"]}
    manager = ok(
        await http.get(
            "/challenges", params={"reports": "true", "status": "open"}, headers=team.lead.headers
        )
    )
    assert raised["id"] in {c["id"] for c in manager["items"]}
    inbox = ok(await http.get("/me/inbox", headers=owner.headers))
    assert any(i["link"] == f"/objectives/{objective.id}/challenges" for i in inbox["items"])
    problem(
        await http.post(
            f"/challenges/{raised['id']}/answer",
            json={"text": "I'll answer"},
            headers=team.lead.headers,
        ),
        403,
        "not_objective_owner",
    )
    problem(
        await http.get(f"/challenges/{raised['id']}", headers=team.outsider.headers),
        404,
        "challenge_not_found",
    )
    answered = ok(
        await http.post(
            f"/challenges/{raised['id']}/answer",
            json={"text": "Yes: the new dies arrive in week 46"},
            headers=owner.headers,
        )
    )
    assert answered["status"] == "answered" and answered["closed_at"]
    assert [(m["kind"], m["author_id"]) for m in answered["messages"]] == [
        ("challenge", peer.id),
        ("answer", owner.id),
    ]
    listed = ok(await http.get(f"/objectives/{objective.id}/challenges", headers=peer.headers))
    assert [c["status"] for c in listed["items"]] == ["answered"]
    problem(
        await http.post(
            f"/challenges/{raised['id']}/answer", json={"text": "again"}, headers=owner.headers
        ),
        409,
        "challenge_closed",
    )
    still_open = ok(
        await http.get(
            "/challenges", params={"reports": "true", "status": "open"}, headers=team.lead.headers
        )
    )
    assert raised["id"] not in {c["id"] for c in still_open["items"]}


async def test_frequency_is_for_heads_and_hr(team: Team) -> None:
    http = team.http
    # What the line's rows count, given here (other tests may add more).
    for author in team.reports:
        ok(
            await http.post("/me/upward-feedback", json={"text": "Note"}, headers=author.headers),
            201,
        )
    badge = ok(
        await http.put(
            "/badges/line-hero",
            json={"name_zh": "产线之星", "name_en": "Line hero"},
            headers=team.hr.headers,
        )
    )
    a, b, *_ = team.reports
    ok(
        await http.post(
            "/feedback",
            json={
                "subject_id": a.id,
                "visibility": "praise",
                "badge_id": badge["id"],
                "text": "Hi",
            },
            headers=b.headers,
        ),
        201,
    )
    report = ok(await http.get("/feedback/frequency", headers=team.lead.headers))
    line = [r for r in report["rows"] if r["department_id"] == team.line]
    assert sum(r["upward"] for r in line) >= 4 and sum(r["praise"] for r in line) >= 1
    assert {r["department_id"] for r in report["rows"]} <= {team.line}
    everything = ok(await http.get("/feedback/frequency", headers=team.hr.headers))
    assert any(r["department_id"] == team.line for r in everything["rows"])
    problem(
        await http.get("/feedback/frequency", headers=team.reports[0].headers), 403, "forbidden"
    )
    problem(
        await http.get(
            "/feedback/frequency", params={"department_id": team.quality}, headers=team.lead.headers
        ),
        403,
        "forbidden",
    )
