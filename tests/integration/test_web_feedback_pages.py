"""The web app's feedback pages (gateway/web/feedback_pages.py) on the real in-process stack
(identity, goals, feedback services on SQLite or PostgreSQL, NATS): each form submitted
through its page creates what the API then returns to the people concerned, and a bad
submit answers a 4xx page naming the problem (never a 500, nothing written).

Requests for feedback (ask, answer, decline), praise with a badge, an objective's page
(feedback about the goal, a challenge), the challenge thread (answer, resolve), upward
feedback (named and anonymous: the manager never sees an anonymous text below the
threshold) and the 360 rater's answer form.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from stride.feedback.v1 import rounds_pb2 as rpb
from stride.goals.v1 import goals_pb2 as gpb
from tests.integration.gateway_stack import GatewayStack, Person, module_stack
from tests.integration.test_web_pages import Browser, text

stack = module_stack("gw-web-feedback")


@dataclass
class Org:
    stack: GatewayStack
    department: str
    people: dict[str, Person]
    objective: str
    badge: str

    async def api(self, who: str, path: str, **params: Any) -> Any:
        r = await self.stack.http.get(path, params=params, headers=self.people[who].headers)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
async def org(stack: GatewayStack) -> Org:
    tag = uuid.uuid4().hex[:6]
    plant = await stack.department(f"Assembly {tag}")
    m = await stack.person(plant.id, name="Sun Manager")
    people = {
        "m": m,
        "e": await stack.person(plant.id, manager_id=m.id, name="Wang Worker"),
        "c": await stack.person(plant.id, manager_id=m.id, name="Chen Colleague"),
        "hr": await stack.person(plant.id, roles=["hr"], name="HR Person"),
    }
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Feedback web {tag}",
            start_date=(today - timedelta(days=10)).isoformat(),
            end_date=(today + timedelta(days=80)).isoformat(),
        )
    )
    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Halve changeover time",
            owner_id=people["e"].id,
            visibility=gpb.VISIBILITY_PUBLIC,
            key_results=[
                gpb.NewKeyResult(
                    title="Changeover minutes",
                    owner_id=people["e"].id,
                    baseline=40,
                    target=20,
                    weight=100,
                )
            ],
        )
    )
    r = await stack.http.put(
        f"/badges/team-player-{tag}",
        json={"name_zh": "团队之星", "name_en": "Team player"},
        headers=people["hr"].headers,
    )
    assert r.status_code == 200, r.text
    return Org(stack, plant.id, people, objective.id, r.json()["id"])


# -- requests for feedback --------------------------------------------------------------------


async def test_asking_for_feedback_and_answering_it_through_the_pages(org: Org) -> None:
    e, c = org.people["e"], org.people["c"]
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        page = await b.get("/feedback/requests")
        assert page.status_code == 200 and "Chen Colleague" in page.text  # offered to ask
        r = await b.post(
            "/feedback/requests",
            {"responder": c.id, "about": org.objective, "message": "How was my SMED plan?"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/feedback/requests?done=asked"
        assert "Your request was sent." in text(await b.get(r.headers["location"]))
    asked = (await org.api("c", "/feedback/requests", box="asked"))["items"]
    (ask,) = [a for a in asked if a["message"] == "How was my SMED plan?"]
    assert (ask["requester_id"], ask["subject_kind"], ask["subject_id"], ask["status"]) == (
        e.id,
        "objective",
        org.objective,
        "open",
    )
    async with Browser(org.stack) as b:
        await b.sign_in(c)
        # The inbox item's link opens the request.
        page = await b.get(f"/feedback/requests/{ask['id']}")
        assert page.status_code == 200 and "How was my SMED plan?" in text(page)
        # An empty answer: 422, the request stays open.
        bad = await b.post(f"/feedback/requests/{ask['id']}/answer", {"text": "  "})
        assert bad.status_code == 422 and 'id="problem"' in bad.text
        r = await b.post(
            f"/feedback/requests/{ask['id']}/answer", {"text": "Clear steps; add a checklist."}
        )
        assert r.status_code == 303
    received = (await org.api("e", "/feedback", box="received"))["items"]
    (answer,) = [f for f in received if f["request_id"] == ask["id"]]
    assert answer["text"] == "Clear steps; add a checklist." and answer["author_id"] == c.id
    assert answer["subject_kind"] == "objective"
    mine = (await org.api("e", "/feedback/requests", box="mine"))["items"]
    assert next(a for a in mine if a["id"] == ask["id"])["status"] == "answered"


async def test_declining_a_request_and_bad_requests_show_4xx_pages(org: Org) -> None:
    e, c = org.people["e"], org.people["c"]
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        # Nobody chosen: the API's 422, shown on the page with the form kept.
        bad = await b.post("/feedback/requests", {"responder": "", "message": "Kept text"})
        assert bad.status_code == 422 and "Kept text" in bad.text
        assert (await b.get("/feedback/requests/no-such-request")).status_code == 404
        await b.post("/feedback/requests", {"responder": c.id, "message": "Decline me"})
    (ask,) = [
        a
        for a in (await org.api("c", "/feedback/requests", box="asked"))["items"]
        if a["message"] == "Decline me"
    ]
    async with Browser(org.stack) as b:
        await b.sign_in(c)
        r = await b.post(f"/feedback/requests/{ask['id']}/decline", {})
        assert r.status_code == 303
    mine = (await org.api("e", "/feedback/requests", box="mine"))["items"]
    assert next(a for a in mine if a["id"] == ask["id"])["status"] == "declined"


# -- praise ------------------------------------------------------------------------------------


async def test_praise_with_a_badge_is_seen_by_the_department(org: Org) -> None:
    c = org.people["c"]
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        page = await b.get("/praise")
        assert page.status_code == 200 and "Team player" in page.text
        bad = await b.post("/praise", {"to": c.id, "badge": "", "text": "No badge"})
        assert bad.status_code == 422 and 'id="problem"' in bad.text
        r = await b.post(
            "/praise",
            {"to": c.id, "badge": org.badge, "text": "Fixed the jig overnight", "improvement": "1"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/praise?sent=1"
    praise = (await org.api("m", "/praise"))["items"]
    (item,) = [p for p in praise if p["text"] == "Fixed the jig overnight"]
    assert (item["about_id"], item["badge_id"], item["tags"]) == (c.id, org.badge, ["improvement"])
    assert not [p for p in praise if p["text"] == "No badge"]
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["m"])
        assert "Fixed the jig overnight" in text(await b.get("/praise"))


# -- an objective: feedback about it, challenges -----------------------------------------------


async def test_feedback_about_a_goal_and_a_challenge_answered_and_resolved(org: Org) -> None:
    e, c = org.people["e"], org.people["c"]
    async with Browser(org.stack) as b:
        await b.sign_in(c)
        page = await b.get(f"/objectives/{org.objective}")
        assert page.status_code == 200 and "Halve changeover time" in page.text
        assert 'id="challenge-form"' in page.text and 'id="goal-feedback-form"' in page.text
        r = await b.post(f"/objectives/{org.objective}/feedback", {"text": "Ambitious, good"})
        assert r.status_code == 303
        bad = await b.post(f"/objectives/{org.objective}/challenges", {"challenge": ""})
        assert bad.status_code == 422
        r = await b.post(
            f"/objectives/{org.objective}/challenges",
            {"challenge": "20 minutes needs the new press; is it funded?"},
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/challenges/")
        challenge_id = r.headers["location"].rsplit("/", 1)[1]
        assert (await b.get("/objectives/missing-objective")).status_code == 404
    received = (await org.api("e", "/feedback", box="received"))["items"]
    assert any(
        f["text"] == "Ambitious, good" and f["subject_id"] == org.objective for f in received
    )
    to_answer = (await org.api("e", "/challenges"))["items"]
    assert [ch["status"] for ch in to_answer if ch["id"] == challenge_id] == ["open"]
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        # The challenge's inbox link: the objective's page lists it; my list too.
        listed = await b.get(f"/objectives/{org.objective}/challenges")
        assert f"/challenges/{challenge_id}" in listed.text
        assert 'id="challenge-form"' not in listed.text  # the owner does not challenge it
        assert f"/challenges/{challenge_id}" in (await b.get("/challenges")).text
        page = await b.get(f"/challenges/{challenge_id}")
        assert 'id="answer-form"' in page.text
        bad = await b.post(f"/challenges/{challenge_id}/answer", {"text": ""})
        assert bad.status_code == 422 and 'id="answer-form"' in bad.text
        r = await b.post(
            f"/challenges/{challenge_id}/answer", {"text": "Funded in Q3.", "accepted": "1"}
        )
        assert r.status_code == 303
        # Answered: closed; neither a second answer nor a resolution is taken.
        assert (
            await b.post(f"/challenges/{challenge_id}/answer", {"text": "2"})
        ).status_code == 409
        assert (await b.post(f"/challenges/{challenge_id}/resolve", {})).status_code == 409
    async with Browser(org.stack) as b:
        await b.sign_in(c)
        page = await b.get(f"/challenges/{challenge_id}")
        assert "Funded in Q3." in text(page) and 'id="answer-form"' not in page.text
        # Another challenge: the challenger may not close it; the owner resolves it.
        r = await b.post(f"/objectives/{org.objective}/challenges", {"challenge": "Why 20?"})
        second = r.headers["location"].rsplit("/", 1)[1]
        refused = await b.post(f"/challenges/{second}/resolve", {})
        assert refused.status_code == 403
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        r = await b.post(f"/challenges/{second}/resolve", {"note": "Agreed in the stand-up"})
        assert r.status_code == 303
        assert "Resolved" in text(await b.get(f"/challenges/{second}"))
    resolved = await org.stack.http.get(f"/challenges/{second}", headers=e.headers)
    assert resolved.json()["status"] == "resolved"
    done = await org.stack.http.get(f"/challenges/{challenge_id}", headers=e.headers)
    assert done.json()["status"] == "answered" and done.json()["accepted"] is True


# -- upward feedback ----------------------------------------------------------------------------


async def test_upward_feedback_named_and_anonymous(org: Org) -> None:
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        page = await b.get("/upward-feedback")
        assert "Feedback to Sun Manager" in text(page)
        bad = await b.post("/upward-feedback", {"text": ""})
        assert bad.status_code == 422
        r = await b.post("/upward-feedback", {"text": "Thanks for the shift swap"})
        assert r.headers["location"] == "/upward-feedback?sent=named"
        r = await b.post("/upward-feedback", {"text": "Meetings run too long", "anonymous": "1"})
        assert r.headers["location"] == "/upward-feedback?sent=anonymous"
    summary = await org.api("m", "/me/upward-feedback")
    assert [n["text"] for n in summary["named"]] == ["Thanks for the shift swap"]
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["m"])
        page = await b.get("/upward-feedback")
        assert "Thanks for the shift swap" in text(page)
        # One anonymous author: below the threshold, the text is not shown.
        assert "Meetings run too long" not in page.text and 'id="anonymous-held"' in page.text
        # The manager has no manager: the API's 409 as a page.
        refused = await b.post("/upward-feedback", {"text": "Hello"})
        assert refused.status_code == 409 and "You have no manager" in text(refused)


# -- the 360 rater's answer form ----------------------------------------------------------------


async def test_a_rater_answers_a_360_round_through_the_form(org: Org) -> None:
    s = org.stack
    e, c = org.people["e"], org.people["c"]
    template = await s.rounds.CreateTemplate(
        rpb.CreateTemplateRequest(
            name=f"360 {uuid.uuid4().hex[:6]}",
            questions=[
                rpb.Question(kind="rating", text_zh="合作", text_en="Teamwork"),
                rpb.Question(kind="text", text_zh="建议", text_en="Advice"),
            ],
        )
    )
    today = date.today()
    started = await s.rounds.StartRounds(
        rpb.StartRoundsRequest(
            cycle_id=f"web-fb-{uuid.uuid4().hex[:6]}",
            template_id=template.id,
            department_id=org.department,
            deadline=(today + timedelta(days=30)).isoformat(),
            nominations_due=(today + timedelta(days=7)).isoformat(),
        )
    )
    (round_,) = [r for r in started.rounds if r.subject_id == e.id]
    await s.rounds.Nominate(rpb.NominateRequest(round_id=round_.id, actor_id=e.id, peer_ids=[c.id]))
    await s.rounds.ApproveNominations(
        rpb.ApproveNominationsRequest(
            round_id=round_.id,
            approver_id=org.people["m"].id,
            rater_ids=[e.id, org.people["m"].id, c.id],
        )
    )
    await s.rounds.MarkInvited(rpb.MarkInvitedRequest(round_id=round_.id))
    questions = {q.text_en: q.id for q in round_.questions}
    async with Browser(org.stack) as b:
        await b.sign_in(c)
        listed = await b.get("/feedback-rounds")
        assert f"/feedback-rounds/{round_.id}/answers" in listed.text
        assert "waiting for your answers" in text(listed)
        page = await b.get(f"/feedback-rounds/{round_.id}/answers")
        assert 'id="answers-form"' in page.text and "Teamwork" in page.text
        # No rating chosen: the API's 422, the text kept.
        bad = await b.post(
            f"/feedback-rounds/{round_.id}/answers", {f"q-{questions['Advice']}": "Kept advice"}
        )
        assert bad.status_code == 422 and "Kept advice" in bad.text
        r = await b.post(
            f"/feedback-rounds/{round_.id}/answers",
            {f"q-{questions['Teamwork']}": "4", f"q-{questions['Advice']}": "Share the SOPs"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/feedback-rounds?saved=1"
        # Answered: still listed, no longer waiting for the rater.
        listed = await b.get("/feedback-rounds")
        assert f"/feedback-rounds/{round_.id}/answers" in listed.text
        assert "waiting for your answers" not in text(listed)
    pending = await org.api("c", "/me/feedback-rounds")
    assert round_.id not in [r["id"] for r in pending["items"]]
    rated = await org.api("c", "/me/feedback-rounds", pending="false")
    assert round_.id in [r["id"] for r in rated["items"]]
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["hr"])
        # Not a rater of this round: the questions without a form.
        page = await b.get(f"/feedback-rounds/{round_.id}/answers")
        assert page.status_code == 200 and 'id="answers-form"' not in page.text


# -- coordination meetings ----------------------------------------------------------------------


async def test_a_key_result_with_a_blocker_links_its_coordination_page(org: Org) -> None:
    """Without Temporal (this stack runs none) the page shows the API's refusal as a page:
    never a 500. The meeting itself: tests/integration/test_escalation_red_flow.py (API)."""
    e = org.people["e"]
    krs = await org.api("e", f"/objectives/{org.objective}/key-results")
    kr = krs["items"][0]["id"]
    r = await org.stack.http.post(
        "/check-ins",
        json={
            "check_ins": [
                {
                    "key_result_id": kr,
                    "value": 35,
                    "confidence": 5,
                    "blockers": [{"text": "Press parts late", "department_id": org.department}],
                }
            ]
        },
        headers=e.headers,
    )
    assert r.status_code in (200, 201), r.text
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        page = await b.get(f"/key-results/{kr}")
        assert f'href="/key-results/{kr}/coordination"' in page.text
        assert f'href="/objectives/{org.objective}"' in page.text
        coordination = await b.get(f"/key-results/{kr}/coordination")
        assert coordination.status_code != 500 and coordination.status_code >= 400
        refused = await b.post(
            f"/key-results/{kr}/coordination", {"outcome": "", "follow_up": "2000-01-01"}
        )
        assert refused.status_code != 500 and refused.status_code >= 400
