"""A promotion case end to end through HTTP on the real engines: the gateway, identity (inbox,
org calendar, people), goals and feedback (PromotionService on the test database), the
promotion workflow on the time-skipping Temporal server with the real activities
(services/worker/worker.py) and real mail (an aiosmtpd sink).

HR sets lenient eligibility rules; the candidate applies; the PromotionApplied event starts
``promotion/<case>`` (as the bridge does); the manager is told (inbox + mail) and endorses;
HR is asked for a panel, a conflicted panel is refused, the panel scores (a second score and
a score out of range refused); the publicity period opens (the candidate, the manager, the
panel and HR told); a colleague objects (HR told; the author shown to HR only) and HR
dismisses it; the period passes on the organisation's working days; HR decides; the candidate,
the manager and the panel get the decision by inbox and mail.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from services.common.mail_sink import MailSink
from services.common.settings import WorkerSettings
from services.worker.handlers import Outcome
from services.worker.promotion_handlers import handle_promotion_applied
from services.worker.worker import activities_for, build_worker, ensure_search_attributes
from stride.feedback.v1 import promotions_pb2 as pb
from stride.identity.v1 import inbox_pb2
from tests.integration.gateway_stack import GatewayStack, gateway_stack, problem
from tests.integration.worker_stack import NO_QUIET_HOURS
from tests.temporal_leftovers import time_skipping_env
from tests.waiting import until
from workflows.notifications import (
    PROMOTION_DECIDED,
    PROMOTION_DECISION_NEEDED,
    PROMOTION_ENDORSE_NEEDED,
    PROMOTION_OBJECTION,
    PROMOTION_PANEL_NEEDED,
    PROMOTION_PUBLICITY_NOTICE,
    PROMOTION_SCORE_NEEDED,
)


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with MailSink() as s:
        yield s


async def inbox(stack: GatewayStack, person: str) -> list[str]:
    assert stack.deps.inbox is not None
    found = await stack.deps.inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=person))
    return [item.template for item in found.items]


def mails_to(sink: MailSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.received() if m["To"] == address]


async def told(stack: GatewayStack, template: str, *people: Any) -> None:
    async def all_told() -> bool:
        for person in people:
            if template not in await inbox(stack, person.id):
                return False
        return True

    await until(all_told, 60, what=f"{template} in every inbox")


@pytest.fixture
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """This test's own time-skipping server: it skips ten days, which on the session's server
    fires every timer the other tests' workflows left there (on a loaded CI machine the
    skip's RPC timed out)."""
    async with time_skipping_env() as env:
        yield env


async def test_a_promotion_through_http_with_an_objection_dismissed(
    database_url: str | None,
    nats_url: str,
    tmp_path: Any,
    temporal_env: WorkflowEnvironment,
    sink: MailSink,
) -> None:
    client = temporal_env.client
    await ensure_search_attributes(client)
    queue = f"promotion-flow-{uuid.uuid4().hex[:8]}"
    async with gateway_stack(
        database_url,
        tmp_path,
        nats_url,
        temporal_address=client.service_client.config.target_host,
        task_queue=queue,
    ) as stack:
        await stack.admin_grpc.identity.PutNotificationPolicy(NO_QUIET_HOURS)
        dept = await stack.department()
        boss = await stack.person(dept.id)
        manager = await stack.person(dept.id, manager_id=boss.id)
        candidate = await stack.person(dept.id, manager_id=manager.id)
        panel = [await stack.person(dept.id, manager_id=boss.id) for _ in "123"]
        colleague = await stack.person(dept.id, manager_id=boss.id)
        outsider = await stack.person((await stack.department()).id)
        hr = await stack.person((await stack.department()).id, roles=["hr"])
        http = stack.http

        # HR's rules (no archive in this stack yet: no ratings needed, no tenure).
        r = await http.put(
            "/promotion-rules",
            json={"min_rating": "B", "ratings_count": 0, "min_tenure_months": 0},
            headers=hr.headers,
        )
        assert r.status_code == 200 and r.json()["version"] == 1, r.text
        r = await http.post(
            "/promotions",
            json={"current_grade": "P4", "target_grade": "P5"},
            headers=candidate.headers,
        )
        assert r.status_code == 201, r.text
        case = r.json()
        case_id = case["id"]
        assert (case["status"], case["manager_id"]) == ("eligibility", manager.id)
        url = f"/promotions/{case_id}"

        settings = WorkerSettings(
            identity_addr=stack.settings.identity_addr,
            goals_addr=stack.settings.goals_addr,
            feedback_addr=stack.settings.feedback_addr,
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
        )
        async with build_worker(client, queue, activities=activities_for(settings)):
            event = pb.PromotionApplied(
                case_id=case_id,
                candidate_id=candidate.id,
                applicant_id=candidate.id,
                current_grade="P4",
                target_grade="P5",
            )
            assert await handle_promotion_applied(client, event, task_queue=queue) is (
                Outcome.PROMOTION_STARTED
            )
            # A redelivered event starts nothing.
            assert await handle_promotion_applied(client, event, task_queue=queue) is (
                Outcome.PROMOTION_EXISTS
            )
            # Eligible: the manager is asked to endorse, in the inbox and by mail.
            await told(stack, PROMOTION_ENDORSE_NEEDED, manager)
            await until(lambda: bool(mails_to(sink, manager.employee.email)), what="mail")
            (ask,) = mails_to(sink, manager.employee.email)
            assert "endorse" in ask["Subject"] and "推荐" in ask["Subject"]

            body = {"endorse": True, "comment": "Ready for P5"}
            problem(
                await http.post(f"{url}/endorsement", json=body, headers=outsider.headers),
                404,
                "promotion_not_found",
            )
            problem(
                await http.post(f"{url}/endorsement", json=body, headers=candidate.headers),
                403,
                "promotion_not_the_manager",
            )
            r = await http.post(f"{url}/endorsement", json=body, headers=manager.headers)
            assert r.status_code == 200 and r.json()["phase"] == "panel", r.text

            # HR names the panel: the boss (reporting line) and the manager are conflicted.
            await told(stack, PROMOTION_PANEL_NEEDED, hr)
            for conflicted in (boss, manager):
                members = {"member_ids": [panel[0].id, panel[1].id, conflicted.id]}
                problem(
                    await http.put(f"{url}/panel", json=members, headers=hr.headers),
                    403,
                    "conflict_of_interest",
                )
            problem(
                await http.put(
                    f"{url}/panel",
                    json={"member_ids": [p.id for p in panel]},
                    headers=manager.headers,
                ),
                403,
                "forbidden",
            )
            r = await http.put(
                f"{url}/panel", json={"member_ids": [p.id for p in panel]}, headers=hr.headers
            )
            assert r.status_code == 200, r.text
            await told(stack, PROMOTION_SCORE_NEEDED, *panel)

            # Scores: the manager may read the case but not score; once each; in range.
            problem(
                await http.post(f"{url}/scores", json={"score": 5}, headers=manager.headers),
                403,
                "conflict_of_interest",
            )
            r = await http.post(f"{url}/scores", json={"score": 4}, headers=panel[0].headers)
            assert r.status_code == 200 and [s["score"] for s in r.json()["scores"]] == [4]
            problem(
                await http.post(f"{url}/scores", json={"score": 5}, headers=panel[0].headers),
                409,
                "already_scored",
            )
            problem(
                await http.post(f"{url}/scores", json={"score": 9}, headers=panel[1].headers),
                422,
                "score_out_of_range",
            )
            for member, score in ((panel[1], 5), (panel[2], 3)):
                r = await http.post(f"{url}/scores", json={"score": score}, headers=member.headers)
                assert r.status_code == 200, r.text

            # The publicity period (公示): everyone concerned and HR are told.
            await told(stack, PROMOTION_PUBLICITY_NOTICE, candidate, manager, *panel, hr)
            objection = {"reason": "The P5 bar needs a certified process audit."}
            problem(
                await http.post(f"{url}/objections", json=objection, headers=candidate.headers),
                403,
                "own_case",
            )
            r = await http.post(f"{url}/objections", json=objection, headers=colleague.headers)
            assert r.status_code == 201 and r.json()["number"] == 1, r.text
            await told(stack, PROMOTION_OBJECTION, hr)
            seen_by_hr = (await http.get(url, headers=hr.headers)).json()
            seen_by_candidate = (await http.get(url, headers=candidate.headers)).json()
            assert seen_by_hr["objections"][0]["author_id"] == colleague.id
            assert seen_by_candidate["objections"][0]["author_id"] == ""
            assert seen_by_candidate["objections"][0]["reason"] == objection["reason"]
            assert seen_by_hr["status"] == "publicity" and seen_by_hr["mean_score"] == 4.0
            problem(await http.get(url, headers=outsider.headers), 404, "promotion_not_found")

            problem(
                await http.post(f"{url}/decision", json={"approve": True}, headers=hr.headers),
                409,
                "open_objections",
            )
            r = await http.post(
                f"{url}/objections/1/resolution",
                json={"uphold": False, "comment": "He holds the certificate."},
                headers=hr.headers,
            )
            assert r.status_code == 200 and r.json()["objections"][0]["status"] == "dismissed"
            problem(
                await http.post(f"{url}/decision", json={"approve": True}, headers=hr.headers),
                409,
                "promotion_wrong_phase",
            )

            # The period passes (five working days on the org calendar): HR decides.
            await temporal_env.sleep(timedelta(days=10))
            await told(stack, PROMOTION_DECISION_NEEDED, hr)
            r = await http.post(
                f"{url}/decision",
                json={"approve": True, "comment": "Congratulations"},
                headers=hr.headers,
            )
            assert r.status_code == 200 and r.json()["phase"] == "approved", r.text
            await told(stack, PROMOTION_DECIDED, candidate, manager, *panel)

            async def decision_mail() -> bool:
                return any(
                    "Promotion decided" in m["Subject"]
                    for m in mails_to(sink, candidate.employee.email)
                )

            await until(decision_mail, 60, what="the decision mail")
            (mail,) = [
                m
                for m in mails_to(sink, candidate.employee.email)
                if "Promotion decided" in m["Subject"]
            ]
            assert "approved" in mail["Subject"] and "晋升评审结果" in mail["Subject"]

            final = (await http.get(url, headers=hr.headers)).json()
            assert (final["status"], final["decided_by"]) == ("approved", hr.id)
            assert final["decision_comment"] == "Congratulations"
            steps = [s["step"] for s in final["steps"]]
            assert steps[0] == "eligibility_checked" and steps[-1] == "decided"
            assert steps.count("scored") == 3 and "objection_resolved" in steps
            mine = (await http.get("/promotions", headers=panel[2].headers)).json()
            assert [c["id"] for c in mine["items"]] == [case_id]
            assert not (await http.get("/promotions", headers=outsider.headers)).json()["items"]
