"""End to end: the seed's cross-department objective "On-time delivery ≥ 99 %" — four key
results owned by PMC, purchasing, quality and engineering — built through the REST API of a
real stack, three weeks of check-ins, then the scores and alignment read back.

The expected numbers are worked out here by hand from the documented rules
(services/goals/scoring.py), not by calling the scoring code:

- increase key result: (latest value - baseline) / (target - baseline), clamped to 0..1;
- stay within [lower, upper]: the share of checked-in weeks inside the bounds;
- boolean: 1 once done;
- objective, person, department: weighted by key-result weight over the key results in it /
  owned by them / owned by people of the department;
- alignment: share of non-company objectives linked to a parent.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from services.cli.seed import (
    COMPANY_OBJECTIVE,
    CROSS_DEPARTMENT_KEY_RESULTS,
    CROSS_DEPARTMENT_OBJECTIVE,
    company_objective_body,
    cross_department_body,
)
from tests.e2e.conftest import Stack
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def _week(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


async def _post(stack: Stack, path: str, body: dict[str, Any], expect: int = 201) -> Any:
    resp = await stack.api.post(path, json=body)
    assert resp.status_code == expect, f"POST {path}: {resp.status_code} {resp.text}"
    return resp.json()


async def _get(stack: Stack, path: str, **params: str) -> Any:
    resp = await stack.api.get(path, params=params)
    assert resp.status_code == 200, f"GET {path}: {resp.text}"
    return resp.json()


async def test_cross_department_objective_scores_and_alignment(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:6]
    departments = {}
    for name in ("Management", "PMC", "Purchasing", "Quality", "Engineering"):
        departments[name] = (await _post(stack, "/departments", {"name": f"{name} {tag}"}))["id"]
    # The seed's people, by employee number: the plant manager, PMC's planner (owner of the
    # objective), and one owner per department.
    home = {
        "D-1001": "Management",
        "D-1007": "PMC",
        "D-1008": "Purchasing",
        "D-1004": "Quality",
        "D-1009": "Engineering",
    }
    people: dict[str, str] = {}
    for number, dept in home.items():
        person = await _post(
            stack,
            "/employees",
            {
                "employee_number": f"{number}-{tag}",
                "name": f"Owner {number}",
                "email": f"{number.lower()}-{tag}@example.com",
                "department_id": departments[dept],
                "manager_id": people.get("D-1001", ""),
            },
        )
        people[number] = person["id"]
    # A 13-week cycle that started 6 weeks ago (on a Monday): the last three weeks are inside
    # it and in the past, whatever today is.
    today = date.today()
    start = today - timedelta(weeks=6, days=today.weekday())
    cycle = await _post(
        stack,
        "/cycles",
        {
            "name": f"OKR e2e {tag}",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(weeks=13, days=-1)).isoformat(),
        },
    )
    weeks = [_week(today - timedelta(weeks=n)) for n in (3, 2, 1)]

    company = await _post(
        stack, "/objectives", company_objective_body(cycle["id"], people[COMPANY_OBJECTIVE[1]])
    )
    objective = await _post(
        stack, "/objectives", cross_department_body(cycle["id"], people, company["id"])
    )
    assert objective["title"] == CROSS_DEPARTMENT_OBJECTIVE[0]
    assert (
        objective["parent_id"] == company["id"] and objective["department_id"] == departments["PMC"]
    )
    assert objective["key_result_count"] == 4 and objective["weight_total"] == 100
    krs = (await _get(stack, f"/objectives/{objective['id']}/key-results"))["items"]
    by_owner = {k["owner_id"]: k for k in krs}
    # Each key result belongs to its owner's department: one objective, four departments.
    for number, dept in home.items():
        if number in dict(CROSS_DEPARTMENT_KEY_RESULTS):
            assert by_owner[people[number]]["department_id"] == departments[dept]
    pmc, purchasing, quality, engineering = (
        by_owner[people[n]]["id"] for n in ("D-1007", "D-1008", "D-1004", "D-1009")
    )
    # Quality's own team objective, not aligned to anything: one boolean key result.
    quality_goal = await _post(
        stack,
        "/objectives",
        {
            "cycle_id": cycle["id"],
            "title": "8D problem solving on every customer complaint",
            "owner_id": people["D-1004"],
            "level": "team",
            "key_results": [{"title": "8D rolled out", "kind": "boolean", "weight": 100}],
        },
    )
    (eight_d,) = (await _get(stack, f"/objectives/{quality_goal['id']}/key-results"))["items"]

    # Three weeks of check-ins: each owner's phone sends one bulk request a week (here the
    # admin sends it for them; recorded_by names who did).
    values = {
        pmc: (3, 2, 1),  # plan changes per month, within ≤ 2 in 2 of 3 weeks
        purchasing: (94, 95, 96.5),  # % material on time, 92 -> 98
        quality: (92, 94, 95.6),  # % first-article pass, 90 -> 97
        engineering: (6, 3.5, 4),  # h downtime a week, within ≤ 4 (inclusive) in 2 of 3
    }
    owner_of = {k["id"]: k["owner_id"] for k in krs}
    for i, week in enumerate(weeks):
        for kr, series in values.items():
            entries = [{"key_result_id": kr, "value": series[i], "confidence": 7}]
            if kr == quality and i == 2:
                entries.append({"key_result_id": eight_d["id"], "value": 1, "confidence": 9})
            body = {"owner_id": owner_of[kr], "week": week, "check_ins": entries}
            recorded = (await _post(stack, "/check-ins", body))["check_ins"]
            assert [c["week"] for c in recorded] == [week] * len(entries)

    # Per key result, by hand.
    expected_kr = {
        pmc: 2 / 3,
        purchasing: (96.5 - 92) / (98 - 92),  # 0.75
        quality: (95.6 - 90) / (97 - 90),  # 0.8
        engineering: 2 / 3,
        eight_d["id"]: 1.0,
    }
    for kr, score in expected_kr.items():
        got = await _get(stack, f"/key-results/{kr}")
        assert got["score"] == pytest.approx(score), got["title"]
        history = (await _get(stack, f"/key-results/{kr}/check-ins/history"))["items"]
        assert [h["week"] for h in history] == (weeks if kr != eight_d["id"] else weeks[2:])
    # The objective: weights 20 / 30 / 30 / 20.
    objective_score = (20 * 2 / 3 + 30 * 0.75 + 30 * 0.8 + 20 * 2 / 3) / 100  # 0.7316...
    got = await _get(stack, f"/objectives/{objective['id']}")
    assert got["score"] == pytest.approx(objective_score)

    scores = await _get(stack, f"/cycles/{cycle['id']}/scores")
    assert {o["objective_id"]: o["score"] for o in scores["objectives"]} == {
        company["id"]: pytest.approx(0.0),
        objective["id"]: pytest.approx(objective_score),
        quality_goal["id"]: pytest.approx(1.0),
    }
    assert {o["objective_id"]: o["aligned"] for o in scores["objectives"]} == {
        company["id"]: False,
        objective["id"]: True,
        quality_goal["id"]: False,
    }
    # Quality's engineer owns a 30-weight KR at 0.8 and a 100-weight KR at 1.0.
    quality_person = (30 * 0.8 + 100 * 1.0) / 130  # 0.9538...
    assert {p["employee_id"]: p["score"] for p in scores["people"]} == {
        people["D-1007"]: pytest.approx(2 / 3),
        people["D-1008"]: pytest.approx(0.75),
        people["D-1004"]: pytest.approx(quality_person),
        people["D-1009"]: pytest.approx(2 / 3),
    }
    expected_departments = {
        # name: (score, key results, objectives, alignment)
        "Management": (0.0, 0, 1, 0.0),  # only the company objective (not counted)
        "PMC": (2 / 3, 1, 1, 1.0),  # owns the aligned cross-department objective
        "Purchasing": (0.75, 1, 0, 0.0),
        "Quality": (quality_person, 2, 1, 0.0),  # its own objective is not aligned
        "Engineering": (2 / 3, 1, 0, 0.0),
    }

    async def departments_caught_up() -> dict[str, Any]:
        # The per-department figures follow the dashboard read model (the goals event stream):
        # read again until the last check-ins have reached it.
        scores = await _get(stack, f"/cycles/{cycle['id']}/scores")
        departments_by_id = {d["department_id"]: d for d in scores["departments"]}
        for name, (score, kr_count, objective_count, alignment) in expected_departments.items():
            d = departments_by_id.get(departments[name])
            assert d is not None, name
            assert d["score"] == pytest.approx(score), name
            assert (d["key_result_count"], d["objective_count"]) == (kr_count, objective_count)
            assert d["alignment"] == pytest.approx(alignment), name
        return scores

    scores = await eventually(departments_caught_up, timeout=30)
    # Alignment: of the two non-company objectives, the cross-department one is aligned.
    assert scores["alignment"] == pytest.approx(0.5)
    assert (scores["aligned_count"], scores["objective_count"]) == (1, 3)

    # Participation (HR's view): everyone owning a goal in the cycle; nothing submitted yet.
    report = await _get(stack, f"/cycles/{cycle['id']}/participation", week=weeks[2])
    drafts = {p["employee_id"]: p["draft_objectives"] for p in report["people"]}
    assert drafts == {
        people["D-1001"]: 1,
        people["D-1007"]: 1,
        people["D-1004"]: 1,
        people["D-1008"]: 0,
        people["D-1009"]: 0,
    }
