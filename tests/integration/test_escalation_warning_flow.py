"""The customer's warning rule end to end through the real engines (issue 11, rung 1).

The owner checks in over HTTP → goals assesses the risk → outbox → NATS JetStream → the event
bridge → ``kr-escalation/<kr>`` (Temporal dev server, the real activities: identity's manager
chain, identity's inbox, a real SMTP server). One lagging week sends nothing; the second makes
the key result at risk, and the owner and the owner's manager each get exactly one e-mail and
one inbox item with the numbers and a link. A redelivered event sends nothing more. Back on
track, both get one more e-mail saying so.

Shares test_approval_flow.py's module fixtures (a private nats-server, the SMTP sink, the
gateway stack and the worker's parts).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from email.message import EmailMessage

import nats
from nats.js.errors import NotFoundError
from temporalio.testing import WorkflowEnvironment

from services.common.mail_sink import MailSink
from services.common.nats import GOALS_STREAM
from services.goals.events import CHECKIN_RECORDED
from stride.goals.v1 import goals_pb2 as gpb
from tests.integration.gateway_stack import GatewayStack, Person
from tests.integration.test_approval_flow import (  # noqa: F401 (module fixtures)
    mails_to,
    own_nats,
    sink,
    stack,
    worker,
)
from tests.waiting import eventually
from workflows import ids
from workflows.kr_escalation import KrEscalationWorkflow


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def escalation_mails(sink: MailSink, person: Person) -> list[EmailMessage]:  # noqa: F811
    return [m for m in mails_to(sink, person.employee.email) if "kr-escalation" in m["Message-ID"]]


async def inbox_warnings(stack: GatewayStack, person: Person) -> list[dict[str, str]]:  # noqa: F811
    r = await stack.http.get("/me/inbox", headers=person.headers)
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if i["template"] == "kr.warning"]


async def test_two_lagging_weeks_warn_the_owner_and_the_manager_once_then_recovery(
    stack: GatewayStack,  # noqa: F811
    worker: str,  # noqa: F811
    sink: MailSink,  # noqa: F811
    temporal_dev_env: WorkflowEnvironment,
    own_nats: str,  # noqa: F811
) -> None:
    client = temporal_dev_env.client
    dep = await stack.department("Purchasing")
    manager = await stack.person(dep.id, name="Wang Manager")
    owner = await stack.person(dep.id, manager_id=manager.id, name="Zhao Buyer")
    today = date.today()
    # A 91-day cycle that began 6 weeks ago: linear plan 0 → 910 (10 a day).
    start = today - timedelta(days=42)
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Warn {uuid.uuid4().hex[:6]}",
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=90)).isoformat(),
        )
    )
    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Secure bearing supply",
            owner_id=owner.id,
            key_results=[
                gpb.NewKeyResult(
                    title="Bearings delivered", baseline=0, target=910, unit="pcs", weight=100
                )
            ],
        )
    )
    (kr,) = (
        await stack.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
    ).key_results
    escalation = client.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr.id))
    url = f"/key-results/{kr.id}/check-ins"
    first, second = iso_week(today - timedelta(days=14)), iso_week(today - timedelta(days=7))

    # One lagging week: behind, not at risk. Nothing is sent.
    r = await stack.http.post(
        url, json={"value": 10, "confidence": 3, "week": first}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    first_check_in = r.json()["id"]
    assert r.json()["risk"]["status"] == "behind"
    nc = await nats.connect(own_nats)
    try:
        js = nc.jetstream()

        async def consumed(check_in_id: str) -> None:
            """The check-in's event is on the stream and the bridge has handled it."""
            try:
                last = await js.get_last_msg(GOALS_STREAM, CHECKIN_RECORDED.subject)
            except NotFoundError as err:  # the outbox relay has not published it yet
                raise AssertionError("no check-in event yet") from err
            assert gpb.CheckInRecorded.FromString(last.data or b"").check_in.id == check_in_id
            info = await js.consumer_info(GOALS_STREAM, "flow")
            assert info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(lambda: consumed(first_check_in))
        assert escalation_mails(sink, owner) == [] and escalation_mails(sink, manager) == []
        assert await inbox_warnings(stack, owner) == []

        # The second lagging week: at risk → warning → one mail and one inbox item each.
        r = await stack.http.post(
            url, json={"value": 20, "confidence": 3, "week": second}, headers=owner.headers
        )
        assert r.status_code == 201, r.text
        second_check_in = r.json()["id"]
        risk = r.json()["risk"]
        assert (risk["status"], risk["behind_streak"]) == ("at_risk", 2)

        async def both_mailed() -> None:
            assert escalation_mails(sink, owner) and escalation_mails(sink, manager)
            state = await escalation.query(KrEscalationWorkflow.state)
            assert len(state.told) == 2

        await eventually(both_mailed)
        state = await escalation.query(KrEscalationWorkflow.state)
        assert [(t.rung, t.recipient_id, t.role) for t in state.told] == [
            ("warning", owner.id, "owner"),
            ("warning", manager.id, "manager"),
        ]
        # The same, as the owner sees it over HTTP (the workflow's state query).
        r = await stack.http.get(f"/key-results/{kr.id}/escalation", headers=owner.headers)
        assert r.status_code == 200, r.text
        told = r.json()["told"]
        assert [(t["rung"], t["recipient_id"], t["role"]) for t in told] == [
            ("warning", owner.id, "owner"),
            ("warning", manager.id, "manager"),
        ]
        assert told[0]["key"] == f"kr-escalation/{kr.id}/warning/{second}/{owner.id}"
        expected = f"{risk['expected_value']:,.2f}".rstrip("0").rstrip(".")
        for person, whose in ((owner, "Your key result"), (manager, "Your report's key result")):
            (mail,) = escalation_mails(sink, person)
            assert "Warning" in mail["Subject"] and "预警" in mail["Subject"]
            body = mail.get_body(preferencelist=("plain",))
            assert body is not None
            text = body.get_content()
            assert whose in text
            assert f"plan {expected} pcs, actual 20 pcs" in text
            assert f"{round(risk['shortfall'] * 100)} % short" in text
            assert "2 weeks" in text and f"/key-results/{kr.id}" in text
            (item,) = await inbox_warnings(stack, person)
            assert item["link"] == f"/key-results/{kr.id}" and item["emailed_at"]
            assert "actual 20 pcs" in item["body_en"] and "实际 20 pcs" in item["body_zh"]

        # The at-risk event again (a redelivery after the dedupe window): nothing more.
        original = await js.get_last_msg(GOALS_STREAM, CHECKIN_RECORDED.subject)
        await js.publish(
            CHECKIN_RECORDED.subject,
            original.data or b"",
            headers={"Nats-Msg-Id": f"replayed-{uuid.uuid4()}"},
        )
        await eventually(lambda: consumed(second_check_in))
    finally:
        await nc.drain()
    assert len(escalation_mails(sink, owner)) == 1 and len(escalation_mails(sink, manager)) == 1
    assert len(await inbox_warnings(stack, owner)) == 1
    assert len(await inbox_warnings(stack, manager)) == 1
    assert len((await escalation.query(KrEscalationWorkflow.state)).told) == 2

    # Back on track this week: the same two people hear it once, and the escalation ends.
    r = await stack.http.post(
        url, json={"value": 900, "confidence": 8, "week": iso_week(today)}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["risk"]["status"] == "on_track"
    result = await escalation.result()
    assert result.status == "resolved"
    assert [(t.rung, t.recipient_id) for t in result.told[2:]] == [
        ("recovered", owner.id),
        ("recovered", manager.id),
    ]
    for person in (owner, manager):
        (back,) = [m for m in escalation_mails(sink, person) if "Back on track" in m["Subject"]]
        body = back.get_body(preferencelist=("plain",))
        assert body is not None and "actual 900 pcs" in body.get_content()
        assert len(escalation_mails(sink, person)) == 2
