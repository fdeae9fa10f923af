"""360 rounds through HTTP: the real gateway in front of the real identity and feedback
services (database, NATS), signed-in people. HR makes a template and starts rounds, the
subject nominates, raters answer, and results show the subject, the manager and HR only what
the anonymity rules release — never a rater. The round workflow's steps (approval after its
Update, invitations, close at the deadline) are the RoundService calls it makes, over gRPC."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from stride.feedback.v1 import rounds_pb2 as rpb
from tests.integration.gateway_stack import GatewayStack, Person, module_stack, problem

stack = module_stack("gw-feedback-rounds")

# Every question anonymous: no rater id may appear anywhere in the results.
QUESTIONS = [
    {"id": "teamwork", "kind": "rating", "text_zh": "团队合作", "text_en": "Teamwork"},
    {"id": "quality", "kind": "rating", "text_zh": "质量意识", "text_en": "Quality mindset"},
    {"id": "advice", "kind": "text", "text_zh": "建议", "text_en": "Advice"},
]


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


@dataclass
class Org:
    stack: GatewayStack
    dept: str
    people: dict[str, Person]
    rounds: dict[str, str]  # subject name → round id

    @property
    def http(self) -> httpx.AsyncClient:
        return self.stack.http

    def id(self, name: str) -> str:
        return self.people[name].id

    def as_(self, name: str) -> dict[str, str]:
        return self.people[name].headers


@pytest.fixture(scope="module")
async def org(stack: GatewayStack) -> Org:
    """Boss → M → S, S2, T; T → R1, R2; peers P1..P4 under Boss; HR; an admin."""
    dept = await stack.department(f"Machining {uuid.uuid4().hex[:6]}")
    people: dict[str, Person] = {}

    async def add(name: str, manager: str = "", roles: tuple[str, ...] = ()) -> None:
        people[name] = await stack.person(
            dept.id, manager_id=people[manager].id if manager else "", roles=roles, name=name
        )

    await add("Boss")
    await add("M", "Boss")
    for subject in ("S", "S2", "T"):
        await add(subject, "M")
    for report in ("R1", "R2"):
        await add(report, "T")
    for peer in ("P1", "P2", "P3", "P4"):
        await add(peer, "Boss")
    await add("HR", "Boss", ("hr",))
    await add("Admin", "Boss", ("admin",))
    o = Org(stack, dept.id, people, {})

    # HR: a template, then rounds for the department.
    template = ok(
        await o.http.post(
            "/feedback-templates",
            json={"name": "360 Q4", "questions": QUESTIONS},
            headers=o.as_("HR"),
        ),
        201,
    )
    today = date.today()
    body = {
        "cycle_id": f"2026-Q4-{uuid.uuid4().hex[:6]}",
        "template_id": template["id"],
        "department_id": dept.id,
        "deadline": (today + timedelta(days=30)).isoformat(),
        "nominations_due": (today + timedelta(days=7)).isoformat(),
    }
    problem(await o.http.post("/feedback-rounds", json=body, headers=o.as_("P1")), 403, "forbidden")
    started = ok(await o.http.post("/feedback-rounds", json=body, headers=o.as_("HR")))
    assert started["already"] == 0 and len(started["rounds"]) == len(people)
    o.rounds = {
        n: r["id"] for r in started["rounds"] for n in people if people[n].id == r["subject_id"]
    }
    again = ok(await o.http.post("/feedback-rounds", json=body, headers=o.as_("HR")))
    assert again == {"rounds": [], "already": len(people)}
    return o


async def nominate_and_open(o: Org, subject: str, peers: list[str], reports: list[str]) -> str:
    rid = o.rounds[subject]
    round_ = ok(
        await o.http.put(
            f"/feedback-rounds/{rid}/nominations",
            json={"peer_ids": [o.id(p) for p in peers], "report_ids": [o.id(r) for r in reports]},
            headers=o.as_(subject),
        )
    )
    assert round_["phase"] == "nominating"
    # The workflow: the manager's approval (its Update), then the invitations.
    everyone = [o.id(x) for x in (subject, "M", *peers, *reports)]
    await o.stack.rounds.ApproveNominations(
        rpb.ApproveNominationsRequest(round_id=rid, approver_id=o.id("M"), rater_ids=everyone)
    )
    await o.stack.rounds.MarkInvited(rpb.MarkInvitedRequest(round_id=rid))
    return rid


async def answer(o: Org, rid: str, rater: str, rating: int, comment: str = "") -> None:
    answers: list[dict[str, Any]] = [
        {"question_id": "teamwork", "rating": rating},
        {"question_id": "quality", "rating": 6 - rating},
    ]
    if comment:
        answers.append({"question_id": "advice", "text": comment})
    ok(
        await o.http.put(
            f"/feedback-rounds/{rid}/answers", json={"answers": answers}, headers=o.as_(rater)
        ),
        204,
    )


async def results(o: Org, rid: str, viewer: str) -> tuple[dict[str, Any], str]:
    r = await o.http.get(f"/feedback-rounds/{rid}/results", headers=o.as_(viewer))
    return ok(r), r.text


def groups(res: dict[str, Any], question: str = "teamwork") -> dict[str, dict[str, Any]]:
    q = next(q for q in res["questions"] if q["question_id"] == question)
    return {a["group"]: a for a in q["aggregates"]}


def no_rater_in(o: Org, text: str, raters: list[str]) -> None:
    for rater in raters:
        assert o.id(rater) not in text, f"{rater}'s id is in the results"


async def test_two_answers_show_nothing_the_third_shows_the_aggregate_and_never_a_rater(
    org: Org,
) -> None:
    o = org
    rid = await nominate_and_open(o, "S", ["P1", "P2", "P3"], [])
    pending = ok(await o.http.get("/me/feedback-rounds", headers=o.as_("P1")))
    assert rid in [r["id"] for r in pending["items"]]
    await answer(o, rid, "S", 4)  # self
    await answer(o, rid, "M", 3)  # the manager
    await answer(o, rid, "P1", 5, "更多培训 / more training")
    await answer(o, rid, "P2", 1, "clearer goals")
    pending = ok(await o.http.get("/me/feedback-rounds", headers=o.as_("P1")))
    assert rid not in [r["id"] for r in pending["items"]]

    # Two anonymous answers: the subject, the manager and HR see no aggregate and no rater.
    for viewer in ("S", "M", "HR"):
        res, text = await results(o, rid, viewer)
        assert res["released"] is False and res["respondents"] == 0 and res["questions"] == []
        no_rater_in(o, text, ["P1", "P2"])
    # The rater list does not tell the manager who has answered.
    seen = ok(await o.http.get(f"/feedback-rounds/{rid}", headers=o.as_("M")))
    assert {r["status"] for r in seen["raters"] if r["relation"] == "peer"} == {"invited"}

    # The third answer; the workflow closes the round at the deadline.
    await answer(o, rid, "P3", 3)
    await o.stack.rounds.CloseRound(rpb.CloseRoundRequest(round_id=rid))
    for viewer in ("S", "M", "HR"):
        res, text = await results(o, rid, viewer)
        assert res["released"] is True and res["respondents"] == 3 and res["threshold"] == 3
        found = groups(res)
        assert found["all"]["released"] and found["all"]["average"] == pytest.approx(3.0)
        assert found["peer"] == {
            "group": "peer",
            "released": True,
            "respondents": 3,
            "average": 3.0,
        }
        assert found["report"]["released"] is False
        advice = next(q for q in res["questions"] if q["question_id"] == "advice")
        assert sorted(advice["comments"]) == ["clearer goals", "更多培训 / more training"]
        # Self and manager are named; no peer is, anywhere in the answer.
        teamwork = next(q for q in res["questions"] if q["question_id"] == "teamwork")
        assert [(n["relation"], n["rating"]) for n in teamwork["named"]] == [
            ("self", 4),
            ("manager", 3),
        ]
        no_rater_in(o, text, ["P1", "P2", "P3"])
    # Nobody else, not even an admin; raters neither.
    for viewer in ("Admin", "P1", "Boss"):
        problem(
            await o.http.get(f"/feedback-rounds/{rid}/results", headers=o.as_(viewer)),
            403,
            "not_a_results_reader",
        )
    # A late answer is refused; the aggregates stay as frozen.
    r = await o.http.put(
        f"/feedback-rounds/{rid}/answers",
        json={
            "answers": [
                {"question_id": "teamwork", "rating": 1},
                {"question_id": "quality", "rating": 1},
            ]
        },
        headers=o.as_("P3"),
    )
    problem(r, 409, "round_closed")
    res, _ = await results(o, rid, "S")
    assert groups(res)["all"]["average"] == pytest.approx(3.0)


async def test_a_round_closed_with_two_anonymous_answers_releases_nothing(org: Org) -> None:
    o = org
    rid = await nominate_and_open(o, "S2", ["P1", "P2", "P3"], [])
    await answer(o, rid, "P1", 5, "solid")
    await answer(o, rid, "P2", 2, "late often")
    await o.stack.rounds.CloseRound(rpb.CloseRoundRequest(round_id=rid))
    for viewer in ("S2", "M", "HR"):
        res, text = await results(o, rid, viewer)
        assert res["released"] is False and res["respondents"] == 0
        assert all(not a["released"] and a["respondents"] == 0 for a in groups(res).values())
        assert all(q["comments"] == [] for q in res["questions"])
        no_rater_in(o, text, ["P1", "P2"])


async def test_two_reports_stay_hidden_next_to_four_peers_and_the_total_does_not_give_them_away(
    org: Org,
) -> None:
    o = org
    rid = await nominate_and_open(o, "T", ["P1", "P2", "P3", "P4"], ["R1", "R2"])
    for peer in ("P1", "P2", "P3", "P4"):
        await answer(o, rid, peer, 4)
    await answer(o, rid, "R1", 1, "micromanages")
    await answer(o, rid, "R2", 2)
    await o.stack.rounds.CloseRound(rpb.CloseRoundRequest(round_id=rid))
    for viewer in ("T", "M", "HR"):
        res, text = await results(o, rid, viewer)
        assert res["released"] is True and res["respondents"] == 6
        for question in ("teamwork", "quality"):
            found = groups(res, question)
            assert found["all"]["released"] and found["all"]["respondents"] == 6
            # Reports (2) are below the threshold; peers shown beside the total would give
            # them away as total − peers: hidden too, with nothing but released=false.
            for hidden in ("report", "peer"):
                assert found[hidden] == {
                    "group": hidden,
                    "released": False,
                    "respondents": 0,
                    "average": 0.0,
                }
        no_rater_in(o, text, ["P1", "P2", "P3", "P4", "R1", "R2"])
        # Nothing else in the answer counts reports: the only numbers are the total's.
        numbers = json.dumps(res)
        assert '"respondents": 2' not in numbers and '"respondents": 4' not in numbers
