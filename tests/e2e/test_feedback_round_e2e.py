"""End to end: a 360 round through the real stack, and the anonymity a subject, a manager and
HR are held to.

Every process runs under ``stride up``'s supervisor (conftest.py): HR starts the rounds over
HTTP, the feedback service emits ``round.started``, the worker's bridge starts
``feedback-round/<cycle>/<subject>``, which asks the subject to nominate (inbox + e-mail);
the manager approves the list through the workflow's Update (HTTP), the workflow invites the
raters (e-mail) and opens the answers. The one step not waited for is the deadline: the test
closes the rounds with ``CloseRound`` over gRPC, the call the workflow makes at the end of the
deadline day (tests/workflows/test_feedback_round.py runs that part on the time-skipping
server).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from services.common.channels import channel
from services.identity.bootstrap import Bootstrap
from stride.feedback.v1 import rounds_pb2, rounds_pb2_grpc
from stride.identity.v1 import identity_pb2
from tests.e2e.api import post
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PASSWORD = "Round-e2e-pass-1"
QUESTIONS = [
    {"id": "teamwork", "kind": "rating", "text_zh": "团队合作", "text_en": "Teamwork"},
    {"id": "advice", "kind": "text", "text_zh": "建议", "text_en": "Advice"},
]


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


class People:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.by_name: dict[str, dict[str, Any]] = {}
        self.headers: dict[str, dict[str, str]] = {}

    def id(self, name: str) -> str:
        return str(self.by_name[name]["id"])

    async def add(self, dept: str, name: str, manager: str = "", roles: list[str] | None = None):
        number = f"RE{uuid.uuid4().hex[:6]}"
        person = await post(
            self.stack,
            "/employees",
            {
                "employee_number": number,
                "name": f"{name} {number}",
                "email": f"{number.lower()}@example.com",
                "department_id": dept,
                "manager_id": self.id(manager) if manager else "",
                "roles": roles or [],
            },
        )
        async with channel(self.stack.config.service_addr("identity"), actor="e2e-setup") as ch:
            await Bootstrap(ch).set_password(
                identity_pb2.Employee(id=person["id"]), PASSWORD, must_change=False
            )
        r = await self.stack.api.post("/auth/login", json={"login": number, "password": PASSWORD})
        self.by_name[name] = person
        self.headers[name] = {"Authorization": f"Bearer {ok(r)['access_token']}"}


def mails_to(stack: Stack, person: dict[str, Any], *words: str) -> list[str]:
    """Subjects of the e-mails ``person`` received whose subject holds every word."""
    subjects = [str(m["Subject"]) for m in stack.mail.received() if m["To"] == person["email"]]
    return [s for s in subjects if all(w in s for w in words)]


async def test_a_round_runs_through_its_workflow_and_releases_only_what_anonymity_allows(
    stack: Stack,
) -> None:
    tag = uuid.uuid4().hex[:6]
    dept = (await post(stack, "/departments", {"name": f"Stamping {tag}"}))["id"]
    p = People(stack)
    await p.add(dept, "Boss")
    await p.add(dept, "HR", "Boss", ["hr"])
    await p.add(dept, "M", "Boss")
    await p.add(dept, "S", "M")
    await p.add(dept, "T", "M")
    for report in ("R1", "R2"):
        await p.add(dept, report, "T")
    for peer in ("P1", "P2", "P3", "P4"):
        await p.add(dept, peer, "Boss")
    today = date.today()
    cycle = await post(
        stack,
        "/cycles",
        {
            "name": f"360 e2e {tag}",
            "start_date": (today - timedelta(days=60)).isoformat(),
            "end_date": (today + timedelta(days=30)).isoformat(),
        },
    )

    # HR: a template, then a round for everyone in the department.
    template = ok(
        await stack.api.post(
            "/feedback-templates",
            json={"name": f"360 {tag}", "questions": QUESTIONS},
            headers=p.headers["HR"],
        ),
        201,
    )
    started = ok(
        await stack.api.post(
            "/feedback-rounds",
            json={
                "cycle_id": cycle["id"],
                "template_id": template["id"],
                "department_id": dept,
                "deadline": (today + timedelta(days=21)).isoformat(),
                "nominations_due": (today + timedelta(days=7)).isoformat(),
            },
            headers=p.headers["HR"],
        )
    )
    rounds = {r["subject_id"]: r["id"] for r in started["rounds"]}
    assert set(rounds) == {p.id(n) for n in p.by_name}

    # The bridge started each round's workflow, which asks its subject to nominate.
    async def mailed(name: str) -> bool:
        return bool(mails_to(stack, p.by_name[name], "360"))

    for subject in ("S", "T"):
        await eventually(
            lambda s=subject: mailed(s),
            f"{subject}'s invitation to nominate\n{stack.logs('worker', 'feedback')}",
        )

    async def nominate_and_approve(subject: str, peers: list[str], reports: list[str]) -> str:
        rid = rounds[p.id(subject)]
        ok(
            await stack.api.put(
                f"/feedback-rounds/{rid}/nominations",
                json={
                    "peer_ids": [p.id(x) for x in peers],
                    "report_ids": [p.id(x) for x in reports],
                },
                headers=p.headers[subject],
            )
        )
        raters = [p.id(x) for x in (subject, "M", *peers, *reports)]
        # The subject may not approve their own list (the workflow's validator agrees).
        r = await stack.api.post(
            f"/feedback-rounds/{rid}/nominations/approve",
            json={"rater_ids": raters},
            headers=p.headers[subject],
        )
        assert (r.status_code, r.json()["code"]) == (403, "own_round"), r.text
        approved = ok(
            await stack.api.post(
                f"/feedback-rounds/{rid}/nominations/approve",
                json={"rater_ids": raters},
                headers=p.headers["M"],
            )
        )
        assert approved["phase"] in ("approved", "collecting"), approved
        return rid

    s_round = await nominate_and_approve("S", ["P1", "P2", "P3"], [])
    t_round = await nominate_and_approve("T", ["P1", "P2", "P3", "P4"], ["R1", "R2"])

    # The workflow invites the raters: an e-mail naming the subject (by name, not by id), and
    # the round among their pending ones.
    async def invited(name: str, subject: str, rid: str) -> bool:
        mine = ok(await stack.api.get("/me/feedback-rounds", headers=p.headers[name]))
        about = p.by_name[subject]["name"]
        return rid in {r["id"] for r in mine["items"]} and bool(
            mails_to(stack, p.by_name[name], "Invitation", about)
        )

    for name in ("P1", "P2", "P3"):
        await eventually(lambda n=name: invited(n, "S", s_round), f"{name}'s invitation")
    for name in ("P4", "R1", "R2"):
        await eventually(lambda n=name: invited(n, "T", t_round), f"{name}'s invitation")
    assert not [m for m in mails_to(stack, p.by_name["P1"]) if p.id("S") in m]

    async def answer(rid: str, rater: str, rating: int, advice: str = "") -> None:
        answers: list[dict[str, Any]] = [{"question_id": "teamwork", "rating": rating}]
        if advice:
            answers.append({"question_id": "advice", "text": advice})
        ok(
            await stack.api.put(
                f"/feedback-rounds/{rid}/answers",
                json={"answers": answers},
                headers=p.headers[rater],
            ),
            204,
        )

    async def results(rid: str, viewer: str) -> tuple[dict[str, Any], str]:
        r = await stack.api.get(f"/feedback-rounds/{rid}/results", headers=p.headers[viewer])
        return ok(r), r.text

    def teamwork(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
        q = next(q for q in res["questions"] if q["question_id"] == "teamwork")
        return {a["group"]: a for a in q["aggregates"]}

    def no_rater(text: str, *raters: str) -> None:
        for rater in raters:
            assert p.id(rater) not in text, f"{rater} is named in the results"

    async def close(rid: str) -> None:
        addr = stack.config.service_addr("feedback")
        async with channel(addr, actor="feedback-round-workflow") as ch:
            await rounds_pb2_grpc.RoundServiceStub(ch).CloseRound(
                rounds_pb2.CloseRoundRequest(round_id=rid)
            )

    # Round of S: two anonymous answers show the subject, the manager and HR nothing.
    await answer(s_round, "P1", 5, "share the fixture drawings earlier")
    await answer(s_round, "P2", 2)
    for viewer in ("S", "M", "HR"):
        res, text = await results(s_round, viewer)
        assert res["released"] is False and res["questions"] == [], res
        no_rater(text, "P1", "P2")
    # The third, then the deadline: the aggregate, still no rater.
    await answer(s_round, "P3", 2)
    await close(s_round)
    for viewer in ("S", "M", "HR"):
        res, text = await results(s_round, viewer)
        assert res["released"] is True and res["respondents"] == 3
        assert teamwork(res)["all"]["average"] == pytest.approx(3.0)
        assert teamwork(res)["peer"]["released"] is True
        no_rater(text, "P1", "P2", "P3")
    # Nobody else reads them: not a peer, not an admin.
    r = await stack.api.get(f"/feedback-rounds/{s_round}/results")
    assert r.status_code == 403, r.text
    r = await stack.api.get(f"/feedback-rounds/{s_round}/results", headers=p.headers["P1"])
    assert r.status_code == 403, r.text

    # Round of T: four peers and two reports answered. Reports (2) are under the threshold,
    # and the peers' average beside the total would give them away: only the total shows.
    for peer, rating in (("P1", 4), ("P2", 4), ("P3", 5), ("P4", 3)):
        await answer(t_round, peer, rating)
    await answer(t_round, "R1", 1, "too many late changes to the plan")
    await answer(t_round, "R2", 2)
    await close(t_round)
    for viewer in ("T", "M", "HR"):
        res, text = await results(t_round, viewer)
        groups = teamwork(res)
        assert groups["all"]["released"] and groups["all"]["respondents"] == 6
        assert groups["all"]["average"] == pytest.approx(19 / 6, abs=0.01)
        for hidden in ("peer", "report"):
            assert groups[hidden]["released"] is False
            assert groups[hidden]["respondents"] == 0 and groups[hidden]["average"] == 0
        body = json.dumps(res)
        assert '"respondents": 2' not in body and '"respondents": 4' not in body
        no_rater(text, "P1", "P2", "P3", "P4", "R1", "R2")
