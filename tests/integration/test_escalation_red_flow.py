"""A blocker naming another department end to end through the real engines.

The customer's example: engineering checks in on its key result with the blocker
"进口轴承缺货导致B线停机预警" (imported bearings out of stock, line B about to stop), which
needs purchasing. Over HTTP → goals stores the check-in and the blocker row → outbox → NATS →
the event bridge → ``kr-escalation/<kr>`` turns red at once → the purchasing head gets an
inbox item about the blocker, and ``coordination/<kr>/1`` invites the owner, the owner's
manager and the purchasing head: one e-mail each with a ``text/calendar`` ``.ics``
(METHOD:REQUEST, the three attendees, one UID). Purchasing lists its open blockers, the head
records the meeting's outcome (a bad one is refused), resolves the blocker, and the
coordination resolves.

Shares test_approval_flow.py's module fixtures (a private nats-server, the SMTP sink, the
gateway stack and the worker's parts).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from email.message import EmailMessage

from icalendar import Calendar
from temporalio.testing import WorkflowEnvironment

from services.common.mail_sink import MailSink
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, Person, problem
from tests.integration.test_approval_flow import (  # noqa: F401 (module fixtures)
    mails_to,
    own_nats,
    sink,
    stack,
    worker,
)
from tests.integration.test_escalation_warning_flow import iso_week
from tests.waiting import eventually
from workflows import ids
from workflows.coordination import CoordinationWorkflow
from workflows.kr_escalation import KrEscalationWorkflow

BEARINGS = "进口轴承缺货导致B线停机预警"


def invitations(sink: MailSink, person: Person) -> list[EmailMessage]:  # noqa: F811
    return [m for m in mails_to(sink, person.employee.email) if "coordination" in m["Message-ID"]]


def calendar_of(mail: EmailMessage) -> Calendar:
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return Calendar.from_ical(payload)


async def test_a_blocker_naming_purchasing_turns_red_and_calls_a_coordination_meeting(
    stack: GatewayStack,  # noqa: F811
    worker: str,  # noqa: F811
    sink: MailSink,  # noqa: F811
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    client = temporal_dev_env.client
    engineering = await stack.department("Engineering")
    purchasing = await stack.department("Purchasing")
    manager = await stack.person(engineering.id, name="Chen Manager")
    owner = await stack.person(engineering.id, manager_id=manager.id, name="Liu Engineer")
    head = await stack.person(purchasing.id, name="Sun Purchasing Head")
    await stack.admin_grpc.identity.UpdateDepartment(
        identity_pb2.UpdateDepartmentRequest(id=purchasing.id, head_id=head.id)
    )
    buyer = await stack.person(purchasing.id, name="Zhou Buyer")
    hr = await stack.person(engineering.id, roles=["hr"], name="Wu HR")
    today = date.today()
    start = today - timedelta(days=42)
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Red {uuid.uuid4().hex[:6]}",
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=90)).isoformat(),
        )
    )
    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Line B uptime",
            owner_id=owner.id,
            key_results=[
                gpb.NewKeyResult(
                    title="Line B output", baseline=0, target=910, unit="pcs", weight=100
                )
            ],
        )
    )
    (kr,) = (
        await stack.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
    ).key_results
    escalation = client.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr.id))
    week = iso_week(today - timedelta(days=7))

    # One check-in, on plan, naming purchasing: red at once (no lagging weeks needed).
    r = await stack.http.post(
        f"/key-results/{kr.id}/check-ins",
        json={
            "value": 360,
            "confidence": 4,
            "week": week,
            "blockers": [{"text": BEARINGS, "department_id": purchasing.id}],
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    (blocker,) = r.json()["blockers"]
    assert blocker["department_id"] == purchasing.id

    three = (owner, manager, head)

    async def invited() -> None:
        for person in three:
            assert len(invitations(sink, person)) == 1, person.employee.name

    await eventually(invited, timeout=60)
    state = await escalation.query(KrEscalationWorkflow.state)
    assert (state.level_name, state.coordinations) == ("red", [ids.coordination(kr.id, 1)])
    uids = set()
    for person in three:
        (mail,) = invitations(sink, person)
        assert "Coordination meeting" in mail["Subject"] and "协调会" in mail["Subject"]
        cal = calendar_of(mail)
        assert str(cal["method"]) == "REQUEST"
        (event,) = cal.walk("VEVENT")
        attendees = sorted(str(a).removeprefix("mailto:") for a in event.get("attendee"))
        assert attendees == sorted(p.employee.email for p in three)
        assert "mailto:" in str(event["organizer"])
        assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=30)
        uids.add(str(event["uid"]))
    assert len(uids) == 1

    # The purchasing head's inbox has the blocker (once) and the invitation.
    r = await stack.http.get("/me/inbox", headers=head.headers)
    assert r.status_code == 200, r.text
    templates = sorted(i["template"] for i in r.json()["items"])
    assert templates == ["blocker.raised", "coordination.invited"]
    (notice,) = [i for i in r.json()["items"] if i["template"] == "blocker.raised"]
    assert notice["link"] == f"/departments/{purchasing.id}/blockers"

    # Purchasing's open blockers: its head and HR see it; a buyer there and the owner may not.
    url = f"/departments/{purchasing.id}/blockers"
    for reader in (head, hr):
        r = await stack.http.get(url, headers=reader.headers)
        assert r.status_code == 200, r.text
        (listed,) = r.json()["items"]
        assert (listed["id"], listed["text"], listed["key_result_id"], listed["week"]) == (
            blocker["id"],
            BEARINGS,
            kr.id,
            week,
        )
        assert (listed["owner_id"], listed["from_department_id"]) == (owner.id, engineering.id)
        assert listed["resolved_at"] == ""
    for other in (buyer, owner):
        r = await stack.http.get(url, headers=other.headers)
        problem(r, 403, "forbidden")

    # The meeting's outcome: the participants (here the head) record it; others may not.
    outcome_url = f"/key-results/{kr.id}/coordination/outcome"
    follow_up = (today + timedelta(days=3)).isoformat()
    good = {"outcome": "Purchasing airfreights 400 bearings from Osaka", "follow_up": follow_up}
    problem(
        await stack.http.post(outcome_url, json=good, headers=buyer.headers),
        403,
        "not_a_participant",
    )
    past = {**good, "follow_up": (today - timedelta(days=2)).isoformat()}
    problem(
        await stack.http.post(outcome_url, json=past, headers=head.headers),
        422,
        "invalid_follow_up",
    )
    r = await stack.http.post(
        outcome_url, json={**good, "follow_up": "2026-02-30"}, headers=head.headers
    )
    assert r.status_code == 422, r.text
    r = await stack.http.post(outcome_url, json=good, headers=head.headers)
    assert r.status_code == 200, r.text
    assert r.json()["follow_up"] == follow_up
    assert [(o["outcome"], o["by"]) for o in r.json()["outcomes"]] == [(good["outcome"], head.id)]
    r = await stack.http.get(f"/key-results/{kr.id}/coordination", headers=owner.headers)
    assert r.status_code == 200, r.text
    assert [(p["employee_id"], p["role"]) for p in r.json()["participants"]] == [
        (owner.id, "owner"),
        (manager.id, "manager"),
        (head.id, "blocking_head"),
    ]
    assert r.json()["open_blockers"] == [blocker["id"]]

    # Purchasing resolves the blocker: the coordination hears it and resolves.
    resolve = f"{url}/{blocker['id']}/resolve"
    problem(await stack.http.post(resolve, headers=buyer.headers), 403, "forbidden")
    r = await stack.http.post(resolve, headers=head.headers)
    assert r.status_code == 200, r.text
    assert r.json()["resolved_at"] and r.json()["resolved_by"] == head.id
    coordination = client.get_workflow_handle_for(
        CoordinationWorkflow.run, ids.coordination(kr.id, 1)
    )
    done = await coordination.result()
    assert (done.status, done.resolution) == ("resolved", "blockers_resolved")
    r = await stack.http.get(url, headers=head.headers)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await stack.http.get(f"{url}?include_resolved=true", headers=head.headers)
    assert [b["id"] for b in r.json()["items"]] == [blocker["id"]]
    # Resolving again changes nothing; the coordination takes no more outcomes.
    assert (await stack.http.post(resolve, headers=head.headers)).status_code == 200
    problem(
        await stack.http.post(outcome_url, json=good, headers=head.headers),
        409,
        "coordination_resolved",
    )
    # Nobody got a second invitation.
    for person in three:
        assert len(invitations(sink, person)) == 1
