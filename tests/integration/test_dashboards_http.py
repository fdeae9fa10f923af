"""Dashboards through HTTP on the real stack (gateway, identity, goals, database, NATS): the
numbers of a small plant, computed by hand below, for the organisation, a department with
the departments below it, and "my organisation" of a manager two levels up.

The plant (Plant is headed by the general manager; Assembly and Paint are below it):

    gm (Plant) ── A (Assembly head) ── a1, a2 (Assembly), x1 (Sales: not A's department)
               └─ P (Paint head) ──── p1 (Paint)
    s1 (Sales, nobody's report)

Objectives (cycle 2025 Q4, live scores) and key results (0 → 100, score = latest / 100):

    C   company, gm (Plant), no key results
    OA  department, A (Assembly), aligned to C: ka1 (a1) W46 40, W47 80 → .8 (weight 50)
                                               ka2 (a2) W46 100       → 1  (weight 50)
    OP  department, P (Paint), not aligned:     kp1 (p1) W45 5, W46 10, W47 20 → .2 (at risk)
    OX  individual, x1 (Sales), aligned to OA:  kx1 (x1) W46 50, W47 60 → .6
    OS  individual, s1 (Sales), a draft:        ks1 (s1) no check-in  → 0
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import grpc
import openpyxl
import pytest

from gateway.convert import to_dict
from services.cli.dashboards import rebuild
from services.common.paging import MAX_PAGE_SIZE
from stride.common.v1 import common_pb2
from stride.feedback.v1 import feedback_pb2 as fpb
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import (
    PASSWORD,
    GatewayStack,
    Person,
    bearer,
    module_stack,
    problem,
)
from tests.integration.goals_helpers import settled_score_pages
from tests.integration.test_gateway_input import grpc_code
from tests.integration.test_goals_service import Q4_2025
from tests.waiting import eventually

stack = module_stack("gw-dashboards")


@dataclass
class Plant:
    stack: GatewayStack
    cycle: str
    people: dict[str, Person]
    departments: dict[str, str]
    headers: dict[str, dict[str, str]]


async def _objective(
    s: GatewayStack, cycle: str, owner: Person, level: int, parent: str, krs: list[Person]
) -> gpb.Objective:
    return await s.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle,
            title=f"Objective {uuid.uuid4().hex[:6]}",
            owner_id=owner.id,
            level=level,
            parent_id=parent,
            key_results=[
                gpb.NewKeyResult(
                    title=f"KR of {p.id[:6]}",
                    owner_id=p.id,
                    baseline=0,
                    target=100,
                    weight=100 // len(krs),
                )
                for p in krs
            ],
        )
    )


@pytest.fixture(scope="module")
async def plant(stack: GatewayStack) -> Plant:
    tag = uuid.uuid4().hex[:6]
    plant_dept = await stack.department(f"Plant {tag}")
    assembly = await stack.department(f"Assembly {tag}", parent_id=plant_dept.id)
    paint = await stack.department(f"Paint {tag}", parent_id=plant_dept.id)
    sales = await stack.department(f"Sales {tag}")
    gm = await stack.person(plant_dept.id, name="General Manager", sign_in=False)
    a = await stack.person(assembly.id, manager_id=gm.id, name="Assembly head", sign_in=False)
    p = await stack.person(paint.id, manager_id=gm.id, name="Paint head", sign_in=False)
    people = {
        "gm": gm,
        "A": a,
        "P": p,
        "a1": await stack.person(assembly.id, manager_id=a.id, sign_in=False),
        "a2": await stack.person(assembly.id, manager_id=a.id, sign_in=False),
        "x1": await stack.person(sales.id, manager_id=a.id, sign_in=False),
        "p1": await stack.person(paint.id, manager_id=p.id, sign_in=False),
        "s1": await stack.person(sales.id, sign_in=False),
        "hr": await stack.person(sales.id, roles=["hr"], sign_in=False),
    }
    for dept, head in ((plant_dept, gm), (assembly, a), (paint, p)):
        await stack.admin_grpc.identity.UpdateDepartment(
            identity_pb2.UpdateDepartmentRequest(id=dept.id, head_id=head.id)
        )
    # Signed in once the organisation stands (a manager is one with reports).
    headers = {
        k: bearer((await stack.login(v.login, PASSWORD))["access_token"]) for k, v in people.items()
    }
    g = stack.goals
    cycle = (
        await g.CreateCycle(
            gpb.CreateCycleRequest(name=f"Q4 {tag}", start_date=Q4_2025[0], end_date=Q4_2025[1])
        )
    ).id
    company = await _objective(stack, cycle, gm, gpb.OBJECTIVE_LEVEL_COMPANY, "", [])
    oa = await _objective(
        stack, cycle, a, gpb.OBJECTIVE_LEVEL_DEPARTMENT, company.id, [people["a1"], people["a2"]]
    )
    op = await _objective(stack, cycle, p, gpb.OBJECTIVE_LEVEL_DEPARTMENT, "", [people["p1"]])
    ox = await _objective(
        stack, cycle, people["x1"], gpb.OBJECTIVE_LEVEL_INDIVIDUAL, oa.id, [people["x1"]]
    )
    await _objective(stack, cycle, people["s1"], gpb.OBJECTIVE_LEVEL_INDIVIDUAL, "", [people["s1"]])
    for owner, approver in ((a, gm), (p, gm), (people["x1"], a)):
        approval = await g.SubmitPlan(gpb.SubmitPlanRequest(cycle_id=cycle, employee_id=owner.id))
        await g.DecideApproval(
            gpb.DecideApprovalRequest(
                approval_id=approval.id, decision=gpb.DECISION_APPROVE, decided_by=approver.id
            )
        )
    await g.SetCyclePhase(gpb.SetCyclePhaseRequest(id=cycle, phase=gpb.CYCLE_PHASE_EXECUTION))
    krs = {}
    for objective in (oa, op, ox):
        for kr in (
            await g.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
        ).key_results:
            krs[next(k for k, v in people.items() if v.id == kr.owner_id)] = kr.id
    for owner, series in {
        "a1": (("2025-W46", 40), ("2025-W47", 80)),
        "a2": (("2025-W46", 100),),
        "p1": (("2025-W45", 5), ("2025-W46", 10), ("2025-W47", 20)),  # far behind: at risk
        "x1": (("2025-W46", 50), ("2025-W47", 60)),
    }.items():
        for week, value in series:
            # Naming another department: p1's at-risk key result is red (the others are not
            # at risk).
            blockers = (
                [gpb.Blocker(text="Resin deliveries late", department_id=sales.id)]
                if week == "2025-W47"
                else []
            )
            await g.RecordCheckIn(
                gpb.RecordCheckInRequest(
                    key_result_id=krs[owner], value=value, week=week, blockers=blockers
                )
            )
    departments = {
        "plant": plant_dept.id,
        "assembly": assembly.id,
        "paint": paint.id,
        "sales": sales.id,
    }
    return Plant(stack, cycle, people, departments, headers)


async def _settled(plant: Plant, path: str, who: str, key_results: int) -> dict[str, Any]:
    """The dashboard once the read model has caught up with the events (it follows the
    stream, so a fresh write shows within moments)."""
    body: dict[str, Any] = {}
    same = 0
    for _ in range(100):
        r = await plant.stack.http.get(path, headers=plant.headers[who])
        assert r.status_code == 200, r.text
        previous, body = body, r.json()
        ready = body["total"]["key_results"] == key_results and body["weeks"]
        # Caught up: the same figures three reads in a row (events still in flight move them).
        same = same + 1 if ready and body == previous else 0
        if same >= 2:
            return body
        await asyncio.sleep(0.25)
    raise AssertionError(f"dashboard never settled: {body}")


def _figures(body: dict[str, Any]) -> dict[str, Any]:
    t = body["total"]
    return {
        "krs": t["key_results"],
        "avg": round(t["average_score"], 6),
        "completed": t["completed"],
        "bands": t["score_bands"],
        "objectives": (t["objectives"], t["alignable_objectives"], t["aligned_objectives"]),
        "alignment": round(t["alignment"], 6),
        "weeks": {w["week"]: w["check_ins"] for w in body["weeks"]},
    }


async def test_my_organisation_of_a_manager_two_levels_up(plant: Plant) -> None:
    body = await _settled(plant, f"/dashboards/{plant.cycle}/my-organisation", "gm", 4)
    # ka1 .8 + ka2 1 + kp1 .2 + kx1 .6 = 2.6 over 4; s1 is nobody's report.
    assert _figures(body) == {
        "krs": 4,
        "avg": 0.65,
        "completed": 1,
        "bands": [1, 0, 1, 2],
        "objectives": (4, 3, 2),  # C, OA, OP, OX; OA and OX aligned
        "alignment": round(2 / 3, 6),
        "weeks": {"2025-W45": 1, "2025-W46": 4, "2025-W47": 3},
    }
    rows = {(d["department_id"], d["people_only"]): d["figures"] for d in body["departments"]}
    d = plant.departments
    # Assembly and Paint whole (read model); x1 alone of Sales (live); Plant has C only.
    assert set(rows) == {(d["plant"], False), (d["assembly"], False), (d["paint"], False),
                         (d["sales"], True)}  # fmt: skip
    assert rows[(d["assembly"], False)]["average_score"] == pytest.approx(0.9)
    assert rows[(d["sales"], True)]["key_results"] == 1
    assert rows[(d["plant"], False)]["objectives"] == 1
    assert all(f["behind"] + f["at_risk"] + f["stale"] >= 0 for f in rows.values())


async def test_my_organisation_of_a_first_line_manager(plant: Plant) -> None:
    body = await _settled(plant, f"/dashboards/{plant.cycle}/my-organisation", "A", 3)
    assert _figures(body) == {
        "krs": 3,
        "avg": 0.8,  # (.8 + 1 + .6) / 3
        "completed": 1,
        "bands": [0, 0, 1, 2],
        "objectives": (2, 2, 2),  # OA, OX
        "alignment": 1.0,
        "weeks": {"2025-W46": 3, "2025-W47": 2},
    }


async def test_organisation_and_department_dashboards(plant: Plant) -> None:
    whole = await _settled(plant, f"/dashboards/{plant.cycle}/organisation", "hr", 5)
    assert _figures(whole) == {
        "krs": 5,
        "avg": 0.52,  # 2.6 / 5 (ks1 scores 0)
        "completed": 1,
        "bands": [2, 0, 1, 2],
        "objectives": (5, 4, 2),
        "alignment": 0.5,
        "weeks": {"2025-W45": 1, "2025-W46": 4, "2025-W47": 3},
    }
    path = f"/dashboards/{plant.cycle}/departments/{plant.departments['plant']}"
    for who in ("gm", "hr"):  # the head of Plant, HR
        body = await _settled(plant, path, who, 3)
        assert _figures(body) == {
            "krs": 3,
            "avg": 0.666667,  # (.8 + 1 + .2) / 3
            "completed": 1,
            "bands": [1, 0, 0, 2],
            "objectives": (3, 2, 1),  # C, OA, OP; OA aligned
            "alignment": 0.5,
            "weeks": {"2025-W45": 1, "2025-W46": 3, "2025-W47": 2},
        }
    # The read model rebuilt from the tables says the same.
    rebuilt = await rebuild(plant.stack.settings.goals_addr, plant.cycle)  # stride dashboards
    assert rebuilt.cycles == 1 and rebuilt.departments == 4
    r = await plant.stack.http.get(
        f"/dashboards/{plant.cycle}/organisation", headers=plant.headers["hr"]
    )
    assert _figures(r.json()) == _figures(whole)


async def test_who_may_read_which_dashboard(plant: Plant) -> None:
    http, h, c, d = plant.stack.http, plant.headers, plant.cycle, plant.departments
    # Nobody reports to them (HR reads the organisation's instead).
    for who in ("a1", "x1", "hr"):
        r = await http.get(f"/dashboards/{c}/my-organisation", headers=h[who])
        problem(r, 404, "no_organisation")
    for who in ("gm", "A", "a1"):
        problem(await http.get(f"/dashboards/{c}/organisation", headers=h[who]), 403, "forbidden")
    # The Assembly head may not read Paint's; the general manager (head above) may.
    paint = f"/dashboards/{c}/departments/{d['paint']}"
    problem(await http.get(paint, headers=h["A"]), 403, "forbidden")
    assert (await http.get(paint, headers=h["gm"])).status_code == 200
    missing = await http.get("/dashboards/no-such-cycle/organisation", headers=h["hr"])
    problem(missing, 404, "cycle_not_found")


async def test_hr_exports_stream_the_cycle_as_csv_and_xlsx_and_are_audited(plant: Plant) -> None:
    http, h, c, d = plant.stack.http, plant.headers, plant.cycle, plant.departments
    # Key results of Plant and the departments below it (ka1, ka2, kp1), as CSV.
    r = await http.get(
        f"/cycles/{c}/exports/key_results",
        params={"department_id": d["plant"]},
        headers=h["hr"],
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["x-total-count"] == "3"
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    owners = {plant.people[k].id: k for k in ("a1", "a2", "p1")}
    assert sorted(owners[row["owner_id"]] for row in rows) == ["a1", "a2", "p1"]
    assert {owners[row["owner_id"]]: float(row["score"]) for row in rows} == {
        "a1": 0.8,
        "a2": 1.0,
        "p1": 0.2,
    }
    # Every check-in of the cycle as XLSX: numbers stay numbers.
    r = await http.get(f"/cycles/{c}/exports/check_ins", params={"format": "xlsx"}, headers=h["hr"])
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active
    assert sheet is not None
    header, *values = [list(v) for v in sheet.iter_rows(values_only=True)]
    assert header[:5] == ["key_result_id", "department_id", "owner_id", "week", "value"]
    assert sorted((v[3], v[4]) for v in values) == [
        ("2025-W45", 5.0),
        ("2025-W46", 10.0), ("2025-W46", 40.0), ("2025-W46", 50.0), ("2025-W46", 100.0),
        ("2025-W47", 20.0), ("2025-W47", 60.0), ("2025-W47", 80.0),
    ]  # fmt: skip
    scores = await http.get(f"/cycles/{c}/exports/scores", headers=h["hr"])
    people = {
        row["employee_id"]: row
        for row in csv.DictReader(io.StringIO(scores.content.decode("utf-8-sig")))
    }
    assert float(people[plant.people["a1"].id]["score"]) == pytest.approx(0.8)
    # Not for managers; an unknown export is a 422, an unknown cycle a 404.
    problem(await http.get(f"/cycles/{c}/exports/key_results", headers=h["gm"]), 403, "forbidden")
    assert (await http.get(f"/cycles/{c}/exports/salaries", headers=h["hr"])).status_code == 422
    problem(
        await http.get("/cycles/nope/exports/objectives", headers=h["hr"]), 404, "cycle_not_found"
    )

    async def audited() -> list[dict[str, Any]]:
        r = await http.get("/audit", params={"action": "goals.export"}, headers=h["hr"])
        assert r.status_code == 200, r.text
        found = [e for e in r.json()["items"] if c in e["resource_id"]]
        assert len(found) == 3
        return found

    entries = await eventually(audited)
    details = sorted(e["detail"] for e in entries)
    assert any(f"department={d['plant']} departments=3 rows=3" in x for x in details), details
    assert any("export=check_ins format=xlsx" in x and "rows=8" in x for x in details), details


async def test_at_risk_key_results_across_my_organisation_with_their_blockers(plant: Plant) -> None:
    http, h, c = plant.stack.http, plant.headers, plant.cycle
    r = await http.get(f"/dashboards/{c}/my-organisation/at-risk", headers=h["gm"])
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["key_result"]["owner_id"] for i in items] == [plant.people["p1"].id]
    assert items[0]["week"] == "2025-W47"
    assert [b["text"] for b in items[0]["blockers"]] == ["Resin deliveries late"]
    # The same key result counts in the general manager's dashboard; not in A's organisation.
    body = await _settled(plant, f"/dashboards/{c}/my-organisation", "gm", 4)
    assert body["total"]["at_risk"] == 1
    # ... and is red: its open blocker names Sales. Sales resolves it: at risk, no longer red.
    assert body["total"]["red"] == 1
    blocker_id = items[0]["blockers"][0]["id"]
    sales = plant.departments["sales"]
    resolved = await http.post(
        f"/departments/{sales}/blockers/{blocker_id}/resolve", headers=h["hr"]
    )
    assert resolved.status_code == 200, resolved.text
    for _ in range(100):
        body = await _settled(plant, f"/dashboards/{c}/my-organisation", "gm", 4)
        if body["total"]["red"] == 0:
            break
        await asyncio.sleep(0.1)
    assert (body["total"]["at_risk"], body["total"]["red"]) == (1, 0)
    mine = await http.get(f"/dashboards/{c}/my-organisation/at-risk", headers=h["A"])
    assert mine.json()["items"] == []
    problem(
        await http.get(f"/dashboards/{c}/my-organisation/at-risk", headers=h["a1"]),
        404,
        "no_organisation",
    )


async def test_feedback_frequency_of_the_cycle_weeks(plant: Plant) -> None:
    """Feedback given this week counts in a cycle running now, in the author's department."""
    s, h, p = plant.stack, plant.headers, plant.people
    today = date.today()
    now = await s.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Now {uuid.uuid4().hex[:6]}",
            start_date=(today - timedelta(days=30)).isoformat(),
            end_date=(today + timedelta(days=30)).isoformat(),
        )
    )
    for author, about in (("a1", "a2"), ("p1", "P"), ("s1", "a1")):
        await s.feedback.GiveFeedback(
            fpb.GiveFeedbackRequest(
                author_id=p[author].id,
                subject_kind="person",
                subject_id=p[about].id,
                visibility="private",
                text="Thanks for the help with the changeover",
            )
        )
    expected = {
        "hr": ("organisation", 3),
        "gm": ("my-organisation", 2),
        "A": ("my-organisation", 1),
    }
    for who, (route, given) in expected.items():
        r = await s.http.get(f"/dashboards/{now.id}/{route}", headers=h[who])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["feedback_given"] == given, who
        assert [w["given"] for w in body["feedback"]] == [given], who
        assert body["total"]["key_results"] == 0
    # The Q4 2025 dashboards count none of it.
    old = await s.http.get(f"/dashboards/{plant.cycle}/organisation", headers=h["hr"])
    assert old.json()["feedback_given"] == 0


async def test_participation_of_a_department_and_those_below(plant: Plant) -> None:
    p, d = plant.people, plant.departments
    r = await plant.stack.http.get(
        f"/cycles/{plant.cycle}/participation",
        params={"week": "2025-W47", "department_id": d["plant"]},
        headers=plant.headers["hr"],
    )
    assert r.status_code == 200, r.text
    seen = {row["employee_id"]: row for row in r.json()["people"]}
    names = {v.id: k for k, v in p.items()}
    assert sorted(names[e] for e in seen) == ["A", "P", "a1", "a2", "gm", "p1"]  # not x1, s1
    assert seen[p["gm"].id]["draft_objectives"] == 1  # C
    assert seen[p["A"].id]["approved_objectives"] == 1 and seen[p["A"].id]["key_results"] == 0
    assert (seen[p["a1"].id]["checked_in"], seen[p["a2"].id]["checked_in"]) == (1, 0)
    assert seen[p["p1"].id]["at_risk"] == 1


async def test_scores_of_a_department_include_those_below(plant: Plant) -> None:
    """The plant's scores hold assembly's and paint's people and goals (not sales'); the
    paint department's only its own."""
    p, d, http = plant.people, plant.departments, plant.stack.http
    url = f"/cycles/{plant.cycle}/scores"
    whole = await http.get(url, params={"department_id": d["plant"]}, headers=plant.headers["hr"])
    assert whole.status_code == 200, whole.text
    body = whole.json()
    # Key results owned by a1, a2 (assembly), p1 (paint) and x1 (sales, aligned to
    # assembly's objective: not counted here); the plant's own company objective.
    departments = {x["department_id"] for x in body["departments"]}
    assert {d["assembly"], d["paint"]} <= departments <= {d["plant"], d["assembly"], d["paint"]}
    assert {x["employee_id"] for x in body["people"]} == {p["a1"].id, p["a2"].id, p["p1"].id}
    assert d["sales"] not in {o["department_id"] for o in body["objectives"]}
    paint = await http.get(url, params={"department_id": d["paint"]}, headers=plant.headers["hr"])
    assert {x["employee_id"] for x in paint.json()["people"]} == {p["p1"].id}


async def test_my_organisation_of_whoever_heads_every_root_is_the_organisation(
    plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever heads the top of the organisation is answered as the organisation dashboard
    (goals asked for every department, not for each of thousands by id: at 100,000 people
    the top manager's reach names 5,522); the head's change shows at once (identity's reach
    cache follows the org tree's version). Goals here names at most 2 departments a request,
    as if the organisation were wider than MAX_DASHBOARD_DEPARTMENTS."""
    monkeypatch.setattr("services.goals.handlers.dashboards.MAX_DASHBOARD_DEPARTMENTS", 2)
    s, c = plant.stack, plant.cycle
    for path in ("my-organisation", "my-organisation/at-risk"):  # gm's names 3 departments
        problem(
            await s.http.get(f"/dashboards/{c}/{path}", headers=plant.headers["gm"]),
            422,
            "dashboard_too_wide",
        )
    board = await s.department(f"Board {uuid.uuid4().hex[:6]}")
    ceo = await s.person(board.id, name="Chief executive")
    plant.headers["ceo"] = bearer(ceo.token)
    problem(
        await s.http.get(f"/dashboards/{c}/my-organisation", headers=plant.headers["ceo"]),
        404,
        "no_organisation",
    )
    roots = [d for d in await s.admin_grpc.departments() if not d.parent_id]
    try:
        for d in roots:
            await s.admin_grpc.identity.UpdateDepartment(
                identity_pb2.UpdateDepartmentRequest(id=d.id, head_id=ceo.id)
            )
        mine = await _settled(plant, f"/dashboards/{c}/my-organisation", "ceo", 5)
        whole = await _settled(plant, f"/dashboards/{c}/organisation", "hr", 5)
        assert mine == whole
        assert not any(d["people_only"] for d in mine["departments"])
        r = await s.http.get(
            f"/dashboards/{c}/my-organisation/at-risk", headers=plant.headers["ceo"]
        )
        assert r.status_code == 200, r.text
        assert [i["key_result"]["owner_id"] for i in r.json()["items"]] == [plant.people["p1"].id]
        # Goals lists the organisation's at-risk key results without a department named.
        every = await s.goals.ListRisks(gpb.ListRisksRequest(cycle_id=c, all_departments=True))
        assert [k.key_result.owner_id for k in every.items] == [plant.people["p1"].id]
        # Their objective list is the organisation's (as HR's), every department's included.
        lists = {}
        for who in ("ceo", "hr"):
            r = await s.http.get(
                "/objectives", params={"cycle_id": c, "page_size": 200}, headers=plant.headers[who]
            )
            assert r.status_code == 200, r.text
            lists[who] = sorted(o["id"] for o in r.json()["items"])
        assert lists["ceo"] == lists["hr"] and lists["hr"]
    finally:
        for d in roots:
            await s.admin_grpc.identity.UpdateDepartment(
                identity_pb2.UpdateDepartmentRequest(id=d.id, head_id=d.head_id)
            )
    monkeypatch.undo()
    body = await _settled(plant, f"/dashboards/{c}/my-organisation", "gm", 4)
    assert _figures(body)["krs"] == 4


async def _pages(
    plant: Plant, path: str, size: int, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every page of a paged report as HR, ``size`` people a page (next_page_token followed)."""
    pages: list[dict[str, Any]] = []
    token = ""
    while True:
        asked = {**params, "page_size": size, **({"page_token": token} if token else {})}
        r = await plant.stack.http.get(path, params=asked, headers=plant.headers["hr"])
        assert r.status_code == 200, r.text
        pages.append(r.json())
        token = pages[-1]["next_page_token"]
        if not token:
            return pages


async def test_scores_and_participation_come_a_page_of_people_at_a_time(plant: Plant) -> None:
    """HR's scores and participation, paged by person: following next_page_token yields every
    person once, a page's objectives are its people's, and the numbers (the cycle's figures
    on the first page) are those of goals' unpaged answer."""
    p, d, g = plant.people, plant.departments, plant.stack.goals
    below_plant = [d["plant"], d["assembly"], d["paint"]]
    for params, narrowing in (
        ({}, {}),
        ({"department_id": d["plant"]}, {"department_ids": below_plant}),
        ({"owner_id": p["A"].id}, {"owner_id": p["A"].id}),
    ):
        whole = to_dict(await g.GetScores(gpb.GetScoresRequest(cycle_id=plant.cycle, **narrowing)))
        for size in (1, 2, 50):
            path = f"/cycles/{plant.cycle}/scores"
            await settled_score_pages(partial(_pages, plant, path, size, params), whole, size)
    first = await _pages(plant, f"/cycles/{plant.cycle}/scores", 50, {})
    assert len(first) == 1 and {x["employee_id"] for x in first[0]["people"]} == {
        p[k].id for k in ("a1", "a2", "p1", "x1", "s1")
    }

    for params, owners, departments in (
        ({}, [], []),
        ({"department_id": d["plant"]}, [], below_plant),
        (
            {"owner_id": [p["gm"].id, p["a1"].id, p["s1"].id]},
            [p[k].id for k in ("gm", "a1", "s1")],
            [],
        ),
    ):
        unpaged = await g.GetParticipation(
            gpb.GetParticipationRequest(
                cycle_id=plant.cycle, week="2025-W47", owner_ids=owners, department_ids=departments
            )
        )
        want = [to_dict(x) for x in unpaged.people]
        for size in (1, 3):
            pages = await _pages(
                plant, f"/cycles/{plant.cycle}/participation", size, {**params, "week": "2025-W47"}
            )
            assert all(len(page["people"]) <= size for page in pages)
            assert [x for page in pages for x in page["people"]] == want
            assert [bool(page["next_page_token"]) for page in pages] == [True] * (
                len(pages) - 1
            ) + [False]


@pytest.mark.parametrize("route", ["scores", "participation"])
async def test_a_bad_page_token_is_a_problem(plant: Plant, route: str) -> None:
    url = f"/cycles/{plant.cycle}/{route}"
    hr = plant.headers["hr"]
    for token in ("not a token", "bzoxMA==", "YTo="):  # junk, an offset token, an empty key
        r = await plant.stack.http.get(url, params={"page_token": token}, headers=hr)
        # The API's answer to any page token it did not issue (docs/security.md).
        problem(r, 422, "invalid_page_token")
    r = await plant.stack.http.get(url, params={"page_size": 0}, headers=hr)
    problem(r, 422, "validation_error")


# -- dashboards a page of departments at a time -------------------------------------------------
_WHOLE = ("cycle_id", "total", "weeks", "feedback", "feedback_given")


def _dashboard_routes(plant: Plant) -> list[tuple[str, str, int]]:
    """(path, who, key results) of the three dashboards: the organisation (4 departments),
    Plant and below (3), the general manager's organisation (3 whole, Sales people_only)."""
    c, d = plant.cycle, plant.departments
    return [
        (f"/dashboards/{c}/organisation", "hr", 5),
        (f"/dashboards/{c}/departments/{d['plant']}", "hr", 3),
        (f"/dashboards/{c}/my-organisation", "gm", 4),
    ]


async def test_goals_pages_a_dashboard_by_department_id(plant: Plant) -> None:
    """GetDashboard with a page: every department once, in department id order (people_only
    rows among the others), with the unpaged answer's figures; the total and weeks are the
    whole dashboard's on every page; no page is empty."""
    g, c, d, p = plant.stack.goals, plant.cycle, plant.departments, plant.people
    await _settled(plant, f"/dashboards/{c}/organisation", "hr", 5)
    await _settled(plant, f"/dashboards/{c}/my-organisation", "gm", 4)
    mine = [d["plant"], d["assembly"], d["paint"]]
    narrowings: list[tuple[dict[str, Any], int]] = [
        ({"all_departments": True}, 4),
        ({"department_ids": mine}, 3),
        ({"department_ids": mine, "owner_ids": [p["x1"].id]}, 4),  # gm's: Sales people_only
    ]
    for narrowing, departments in narrowings:
        whole = await g.GetDashboard(gpb.GetDashboardRequest(cycle_id=c, **narrowing))
        assert not whole.HasField("page")  # unpaged (internal callers): as before
        want = sorted((to_dict(r) for r in whole.departments), key=lambda r: r["department_id"])
        assert len(want) == departments
        for size in (1, 2, 3, 200):
            rows: list[dict[str, Any]] = []
            token = ""
            while True:
                msg = await g.GetDashboard(
                    gpb.GetDashboardRequest(
                        cycle_id=c,
                        page=common_pb2.PageRequest(page_size=size, page_token=token),
                        **narrowing,
                    )
                )
                assert 0 < len(msg.departments) <= size
                assert msg.total == whole.total and list(msg.weeks) == list(whole.weeks)
                rows += [to_dict(r) for r in msg.departments]
                token = msg.page.next_page_token
                if not token:
                    break
            assert rows == want, (narrowing, size)
    people_only = await g.GetDashboard(
        gpb.GetDashboardRequest(
            cycle_id=c,
            department_ids=mine,
            owner_ids=[p["x1"].id],
            page=common_pb2.PageRequest(page_size=200),
        )
    )
    assert [(r.department_id, r.people_only) for r in people_only.departments] == sorted(
        [(x, False) for x in mine] + [(d["sales"], True)]
    )


@pytest.mark.parametrize(
    ("page", "code"),
    [
        (common_pb2.PageRequest(page_size=MAX_PAGE_SIZE + 1), "invalid_page_size"),
        (common_pb2.PageRequest(page_size=-1), "invalid_page_size"),
        (common_pb2.PageRequest(page_token="junk"), "invalid_page_token"),
        (common_pb2.PageRequest(page_token="bzoxMA=="), "invalid_page_token"),  # an offset's
    ],
)
async def test_goals_refuses_a_bad_dashboard_page(
    plant: Plant, page: common_pb2.PageRequest, code: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await plant.stack.goals.GetDashboard(
            gpb.GetDashboardRequest(cycle_id=plant.cycle, all_departments=True, page=page)
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert grpc_code(refused.value) == code


async def test_dashboards_come_a_page_of_departments_at_a_time(plant: Plant) -> None:
    """The three dashboard routes, paged by department: following next_page_token yields
    every department once in id order with goals' unpaged figures; total, weeks and feedback
    are the same on every page (the whole dashboard's)."""
    g, c, d, p = plant.stack.goals, plant.cycle, plant.departments, plant.people
    unpaged = {
        "organisation": {"all_departments": True},
        "departments": {"department_ids": [d["plant"], d["assembly"], d["paint"]]},
        "my-organisation": {
            "department_ids": [d["plant"], d["assembly"], d["paint"]],
            "owner_ids": [p["x1"].id],
        },
    }
    for path, who, key_results in _dashboard_routes(plant):
        first = await _settled(plant, path, who, key_results)
        assert first["next_page_token"] == ""  # at most 50 departments: one page
        whole = await g.GetDashboard(
            gpb.GetDashboardRequest(cycle_id=c, **unpaged[path.split("/")[3]])
        )
        want = sorted((to_dict(r) for r in whole.departments), key=lambda r: r["department_id"])
        assert [r["department_id"] for r in first["departments"]] == [
            r["department_id"] for r in want
        ]
        for size in (1, 2, 3):
            pages: list[dict[str, Any]] = []
            token = ""
            while True:
                asked = {"page_size": size, **({"page_token": token} if token else {})}
                r = await plant.stack.http.get(path, params=asked, headers=plant.headers[who])
                assert r.status_code == 200, r.text
                pages.append(r.json())
                token = pages[-1]["next_page_token"]
                if not token:
                    break
            assert len(pages) == -(-len(want) // size)
            assert all(0 < len(page["departments"]) <= size for page in pages)
            for page in pages:
                assert {k: page[k] for k in _WHOLE} == {k: first[k] for k in _WHOLE}
            rows = [r for page in pages for r in page["departments"]]
            assert [{k: v for k, v in r.items() if k != "feedback_given"} for r in rows] == want
            assert rows == first["departments"]


async def test_a_bad_dashboard_page_is_a_problem(plant: Plant) -> None:
    for path, who, _ in _dashboard_routes(plant):
        h = plant.headers[who]
        for token in ("not a token", "bzoxMA==", "YTo="):  # junk, an offset token, an empty key
            r = await plant.stack.http.get(path, params={"page_token": token}, headers=h)
            problem(r, 422, "invalid_page_token")
        for size in (0, MAX_PAGE_SIZE + 1):
            r = await plant.stack.http.get(path, params={"page_size": size}, headers=h)
            problem(r, 422, "validation_error")
