"""A 360 round end to end on the real engines: the gateway, identity (inbox, org calendar),
goals and feedback (RoundService on the test database), the round workflow on the
time-skipping Temporal server with the real activities (services/worker/worker.py).

HR starts the rounds; the RoundStarted of the subject's round starts its workflow (as the
bridge does); the subject is told to nominate and nominates; through HTTP the subject, an
outsider and bad lists are refused with stable codes, the manager approves; the approved raters
are invited (inbox) and the round collects answers; a rater who has not answered is reminded
on a working day; at the deadline the service closes the round and the subject and the manager
are told the results are ready.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from services.common.settings import WorkerSettings
from services.worker.handlers import Outcome
from services.worker.round_handlers import handle_round_started
from services.worker.worker import activities_for, build_worker, ensure_search_attributes
from stride.feedback.v1 import rounds_pb2 as pb
from stride.identity.v1 import inbox_pb2
from tests.integration import test_promotion_flow
from tests.integration.gateway_stack import GatewayStack, gateway_stack, problem
from tests.integration.test_feedback_rounds import QUESTIONS, answers
from tests.integration.worker_stack import NO_QUIET_HOURS
from tests.waiting import until
from workflows import ids
from workflows.feedback_round import FeedbackRoundWorkflow
from workflows.notifications import (
    FEEDBACK_INVITED,
    FEEDBACK_NOMINATE,
    FEEDBACK_RATER_REMINDER,
    FEEDBACK_RESULTS_READY,
)
from workflows.vocabulary import DEFAULT_TIME_ZONE


async def inbox(stack: GatewayStack, person: str) -> list[str]:
    """The templates of ``person``'s inbox items."""
    assert stack.deps.inbox is not None
    found = await stack.deps.inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=person))
    return [item.template for item in found.items]


def approve(stack: GatewayStack, round_id: str, raters: list[str], headers: dict[str, str]) -> Any:
    return stack.http.post(
        f"/feedback-rounds/{round_id}/nominations/approve",
        json={"rater_ids": raters},
        headers=headers,
    )


ORG_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)


# This test's own time-skipping server: it skips 12 days (the fixture says why).
temporal_env = test_promotion_flow.temporal_env


async def test_a_round_from_start_to_results(
    database_url: str | None,
    nats_url: str,
    tmp_path: Any,
    temporal_env: WorkflowEnvironment,
) -> None:
    client = temporal_env.client
    await ensure_search_attributes(client)
    queue = f"round-flow-{uuid.uuid4().hex[:8]}"
    async with gateway_stack(
        database_url,
        tmp_path,
        nats_url,
        temporal_address=client.service_client.config.target_host,
        task_queue=queue,
    ) as stack:
        # Invitations wait for the end of quiet hours (22:00-08:00 Shanghai by default): off,
        # or the round stays "approved" when the suite runs in the organisation's night.
        await stack.admin_grpc.identity.PutNotificationPolicy(NO_QUIET_HOURS)
        dept = await stack.department()
        boss = await stack.person(dept.id, sign_in=False)
        manager = await stack.person(dept.id, manager_id=boss.id)
        subject = await stack.person(dept.id, manager_id=manager.id)
        peers = [await stack.person(dept.id, manager_id=boss.id, sign_in=False) for _ in "123"]
        outsider = await stack.person((await stack.department()).id)
        rounds = stack.deps.rounds
        assert rounds is not None
        template = await rounds.CreateTemplate(
            pb.CreateTemplateRequest(name="360", questions=QUESTIONS)
        )
        # The round's dates from the later of today and the time-skipping server's day (an
        # earlier test may have moved its clock weeks ahead; the workflow reads that clock).
        server_day = (await temporal_env.get_current_time()).astimezone(ORG_ZONE).date()
        today = max(date.today(), server_day)
        started = await rounds.StartRounds(
            pb.StartRoundsRequest(
                cycle_id=f"cyc-{uuid.uuid4().hex[:6]}",
                template_id=template.id,
                department_id=dept.id,
                nominations_due=(today + timedelta(days=3)).isoformat(),
                deadline=(today + timedelta(days=10)).isoformat(),
            )
        )
        (mine,) = [r for r in started.rounds if r.subject_id == subject.id]
        settings = WorkerSettings(
            identity_addr=stack.settings.identity_addr,
            goals_addr=stack.settings.goals_addr,
            feedback_addr=stack.settings.feedback_addr,
        )
        async with build_worker(client, queue, activities=activities_for(settings)):
            event = pb.RoundStarted(
                round_id=mine.id,
                cycle_id=mine.cycle_id,
                subject_id=mine.subject_id,
                manager_id=mine.manager_id,
                deadline=mine.deadline,
                nominations_due=mine.nominations_due,
            )
            assert mine.manager_id == manager.id
            outcome = await handle_round_started(client, event, task_queue=queue)
            assert outcome is Outcome.ROUND_STARTED
            handle = client.get_workflow_handle_for(
                FeedbackRoundWorkflow.run, ids.feedback_round(mine.cycle_id, subject.id)
            )
            await until(
                lambda: _has(stack, subject.id, FEEDBACK_NOMINATE), what="the nominate notice"
            )
            await rounds.Nominate(
                pb.NominateRequest(
                    round_id=mine.id, actor_id=subject.id, peer_ids=[p.id for p in peers]
                )
            )

            listed = [subject.id, manager.id, peers[0].id, peers[1].id]
            url_round = mine.id
            problem(await approve(stack, url_round, listed, subject.headers), 403, "own_round")
            problem(
                await approve(stack, url_round, listed, outsider.headers), 404, "round_not_found"
            )
            problem(
                await approve(stack, url_round, [*listed, peers[0].id], manager.headers),
                422,
                "duplicate_rater",
            )
            problem(await approve(stack, url_round, [], manager.headers), 422, "no_raters")
            # The third peer is left out; the service keeps self and the manager.
            r = await approve(stack, url_round, listed, manager.headers)
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["phase"], body["approved_by"]) == ("approved", manager.id)
            assert set(body["rater_ids"]) == set(listed)

            async def collecting() -> bool:
                found = await rounds.GetRound(pb.GetRoundRequest(round_id=mine.id))
                return bool(found.phase == "collecting")

            await until(collecting, what="the round collecting answers")
            for person in listed:
                assert FEEDBACK_INVITED in await inbox(stack, person)
            assert FEEDBACK_INVITED not in await inbox(stack, peers[2].id)
            problem(
                await approve(stack, url_round, listed, manager.headers),
                409,
                "round_not_nominating",
            )

            for rater in (subject.id, manager.id, peers[0].id):
                await rounds.SubmitAnswers(
                    pb.SubmitAnswersRequest(round_id=mine.id, rater_id=rater, answers=answers(4))
                )
            # Reminders go to the one who has not answered.
            # The server's clock past the deadline (the reminders fire on the way).
            await temporal_env.sleep(timedelta(days=12))

            async def finished() -> bool:
                desc = await handle.describe()
                return desc.status is not None and desc.status.name != "RUNNING"

            await until(finished, 60, what="the round's end")
            result = await handle.result()
            assert result.phase == "closed"
            assert result.reminders and result.reminders[0] == 1
            assert FEEDBACK_RATER_REMINDER in await inbox(stack, peers[1].id)
            assert FEEDBACK_RATER_REMINDER not in await inbox(stack, peers[0].id)
            closed = await rounds.GetRound(pb.GetRoundRequest(round_id=mine.id))
            assert closed.phase == "closed" and closed.closed_at
            for person in (subject.id, manager.id):
                assert FEEDBACK_RESULTS_READY in await inbox(stack, person)


async def _has(stack: GatewayStack, person: str, template: str) -> bool:
    return template in await inbox(stack, person)
