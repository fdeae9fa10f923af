"""Pilot mode through the real engines: a key result at risk in a department without Stride
(here: a workshop under a plant switched off) sends nothing, the same in an enabled department
warns the owner and the manager.

The owner checks in over HTTP → goals → outbox → NATS JetStream → the event bridge →
``kr-escalation/<kr>`` on the Temporal dev server with the real activities (identity's
manager chain and inbox, a real SMTP server on aiosmtpd). Shares test_approval_flow.py's
module fixtures.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from services.common.mail_sink import MailSink
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import inbox_pb2
from tests.integration.gateway_stack import GatewayStack, Person
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
from workflows.kr_escalation import KrEscalationWorkflow


async def at_risk_key_result(
    stack: GatewayStack,  # noqa: F811
    env: WorkflowEnvironment,
    owner: Person,
) -> tuple[str, WorkflowHandle[Any, Any]]:
    """A key result of ``owner`` checked in behind plan two weeks running (at risk)."""
    today = date.today()
    start = today - timedelta(days=42)
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Pilot {uuid.uuid4().hex[:6]}",
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
                gpb.NewKeyResult(title="Bearings", baseline=0, target=910, unit="pcs", weight=100)
            ],
        )
    )
    (kr,) = (
        await stack.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
    ).key_results
    for days, value in ((14, 10), (7, 20)):
        r = await stack.http.post(
            f"/key-results/{kr.id}/check-ins",
            json={"value": value, "confidence": 3, "week": iso_week(today - timedelta(days=days))},
            headers=owner.headers,
        )
        assert r.status_code == 201, r.text
    assert r.json()["risk"]["status"] == "at_risk"
    handle = env.client.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr.id))
    return kr.id, handle


def inbox_stub(stack: GatewayStack) -> Any:  # noqa: F811
    """identity's InboxService, as the worker's notify activity calls it."""
    assert stack.deps.inbox is not None
    return stack.deps.inbox


def escalation_mails(sink: MailSink, person: Person) -> list[Any]:  # noqa: F811
    return [m for m in mails_to(sink, person.employee.email) if "kr-escalation" in m["Message-ID"]]


async def inbox(stack: GatewayStack, person: Person) -> list[dict[str, Any]]:  # noqa: F811
    r = await stack.http.get("/me/inbox", headers=person.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_an_at_risk_key_result_out_of_the_pilot_sends_nothing(
    stack: GatewayStack,  # noqa: F811
    worker: str,  # noqa: F811
    sink: MailSink,  # noqa: F811
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    # The plant is switched off: its workshop is out of the pilot whatever its own switch.
    plant = await stack.department(f"Plant {uuid.uuid4().hex[:6]}")
    workshop = await stack.department("Workshop", parent_id=plant.id)
    await stack.admin_grpc.identity.UpdateDepartment(
        ipb.UpdateDepartmentRequest(id=plant.id, stride_enabled=False)
    )
    office = await stack.department(f"Office {uuid.uuid4().hex[:6]}")
    out_manager = await stack.person(workshop.id, name="Out Manager")
    out_owner = await stack.person(workshop.id, manager_id=out_manager.id, name="Out Owner")
    in_manager = await stack.person(office.id, name="In Manager")
    in_owner = await stack.person(office.id, manager_id=in_manager.id, name="In Owner")

    out_kr, out_escalation = await at_risk_key_result(stack, temporal_dev_env, out_owner)
    in_kr, in_escalation = await at_risk_key_result(stack, temporal_dev_env, in_owner)

    async def in_pilot_warned() -> None:
        assert escalation_mails(sink, in_owner) and escalation_mails(sink, in_manager)

    await eventually(in_pilot_warned)

    async def out_of_pilot_handled() -> None:
        # The escalation ran its warning step (the notify activity finished) ...
        state = await out_escalation.query(KrEscalationWorkflow.state)
        assert state.level_name == "warning" and state.told

    await eventually(out_of_pilot_handled)
    state = await out_escalation.query(KrEscalationWorkflow.state)
    # ... with nobody to tell: no manager was looked up for an owner out of the pilot,
    assert [t.recipient_id for t in state.told] == [out_owner.id]
    # and identity delivered nothing to the owner: no e-mail, no inbox item, for either.
    for person in (out_owner, out_manager):
        assert escalation_mails(sink, person) == []
        assert await inbox(stack, person) == []
    # The enabled department's people got theirs, once each.
    for person in (in_owner, in_manager):
        assert len(escalation_mails(sink, person)) == 1
        assert [i["template"] for i in await inbox(stack, person)] == ["kr.warning"]
    in_state = await in_escalation.query(KrEscalationWorkflow.state)
    assert {t.recipient_id for t in in_state.told} == {in_owner.id, in_manager.id}
    assert out_kr != in_kr

    # Switched on (the plant; the workshop's own switch was never off): identity delivers.
    await stack.admin_grpc.identity.UpdateDepartment(
        ipb.UpdateDepartmentRequest(id=plant.id, stride_enabled=True)
    )
    delivered = await inbox_stub(stack).Deliver(
        inbox_pb2.DeliverRequest(
            key=f"pilot-test/{uuid.uuid4()}", recipient_id=out_owner.id, title_en="Hello"
        )
    )
    assert delivered.created and not delivered.out_of_pilot


async def test_identity_delivers_nothing_and_posts_to_no_robot_out_of_the_pilot(
    stack: GatewayStack,  # noqa: F811
) -> None:
    dep = await stack.department(f"Off {uuid.uuid4().hex[:6]}")
    person = await stack.person(dep.id, name="Off Person")
    await stack.admin_grpc.identity.UpdateDepartment(
        ipb.UpdateDepartmentRequest(id=dep.id, stride_enabled=False)
    )
    key = f"pilot-test/{uuid.uuid4()}"
    answer = await inbox_stub(stack).Deliver(
        inbox_pb2.DeliverRequest(key=key, recipient_id=person.id, title_en="Reminder")
    )
    assert answer.out_of_pilot and not answer.created and not answer.email
    assert await inbox(stack, person) == []
    await stack.admin_grpc.identity.PutDepartmentRobot(
        ipb.PutDepartmentRobotRequest(
            department_id=dep.id, kind="wecom", webhook_url="https://example.com/hook"
        )
    )
    targets = await stack.admin_grpc.identity.GetRobotTargets(
        ipb.GetRobotTargetsRequest(employee_ids=[person.id])
    )
    assert list(targets.targets) == []
