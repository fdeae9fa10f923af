"""An approval end to end through the real engines.

goals ``SubmitPlan`` → outbox → NATS JetStream → the event bridge → ``cycle/<c>/plan/<e>``
(Temporal dev server, the real activities) → the manager is notified (inbox + mail to a real
aiosmtpd server) → the manager approves over HTTP (``POST /approvals/{id}/decision``, the
workflow's Update) → goals shows the objectives approved → the owner gets the mail.
Also: the cycle.created event starts ``cycle/<c>``, which moves the cycle to PLANNING in goals.

A private nats-server, so that the bridge's consumer sees only this test's events.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from email.message import EmailMessage

import grpc
import nats
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.approvals import ApprovalActivities
from activities.cycle import CycleActivities
from services.common.binaries import private_nats_server
from services.common.mail_sink import MailSink
from services.common.nats import GOALS_STREAM
from services.common.settings import WorkerSettings
from services.goals.events import APPROVAL_REQUESTED
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, gateway_stack
from tests.integration.worker_stack import running_worker
from tests.waiting import eventually
from workflows import ids
from workflows.cycle import AudienceInput, CycleWorkflow
from workflows.plan_approval import EscalateActivityInput, PlanApprovalWorkflow


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_nats_server(tmp_path_factory.mktemp("flow-nats")) as url:
        yield url


@pytest.fixture(scope="module")
def sink() -> Iterator[MailSink]:
    with MailSink() as s:
        yield s


@pytest.fixture(scope="module")
async def stack(
    database_url: str | None,
    own_nats: str,
    tmp_path_factory: pytest.TempPathFactory,
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[GatewayStack]:
    async with gateway_stack(
        database_url,
        tmp_path_factory.mktemp("flow"),
        own_nats,
        temporal_address=temporal_dev_env.client.service_client.config.target_host,
    ) as s:
        yield s


@pytest.fixture(scope="module")
async def worker(
    stack: GatewayStack,
    own_nats: str,
    sink: MailSink,
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[str]:
    """The worker process's parts: real activities on this stack, and the event bridge."""
    async with running_worker(
        stack, own_nats, temporal_dev_env.client, consumer="flow", smtp_port=sink.port
    ) as task_queue:
        yield task_queue


def mails_to(sink: MailSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.received() if m["To"] == address]


async def test_a_plan_is_approved_end_to_end(
    stack: GatewayStack,
    worker: str,
    sink: MailSink,
    temporal_dev_env: WorkflowEnvironment,
    own_nats: str,
) -> None:
    client = temporal_dev_env.client
    dep = await stack.department("Quality")
    manager = await stack.person(dep.id, name="Li Manager")
    employee = await stack.person(dep.id, manager_id=manager.id, name="Zhang Engineer")
    outsider = await stack.person(dep.id, name="Someone Else")
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Flow {uuid.uuid4().hex[:6]}",
            start_date=(today - timedelta(days=2)).isoformat(),
            end_date=(today + timedelta(days=80)).isoformat(),
        )
    )

    # cycle.created → bridge → cycle/<c>, which sets the phase in goals.
    async def cycle_in_planning() -> None:
        desc = await client.get_workflow_handle(ids.cycle(cycle.id)).describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING
        got = await stack.goals.GetCycle(gpb.GetCycleRequest(id=cycle.id))
        assert got.phase == gpb.CYCLE_PHASE_PLANNING

    await eventually(cycle_in_planning)

    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="First-article pass rate ≥ 97 %",
            owner_id=employee.id,
            key_results=[
                gpb.NewKeyResult(title="Pass rate", baseline=90, target=97, unit="%", weight=100)
            ],
        )
    )
    approval = await stack.goals.SubmitPlan(
        gpb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=employee.id)
    )
    assert list(approval.approver_ids) == [manager.id]

    # approval.requested → bridge → the approval workflow → the manager is told.
    handle = client.get_workflow_handle_for(PlanApprovalWorkflow.run, approval.workflow_id)

    async def manager_notified() -> None:
        state = await handle.query(PlanApprovalWorkflow.state)
        assert [a.approval_id for a in state.approvals] == [approval.id]
        assert mails_to(sink, manager.employee.email)

    await eventually(manager_notified)
    (request_mail,) = mails_to(sink, manager.employee.email)
    assert "Approval needed" in request_mail["Subject"] and "待审批" in request_mail["Subject"]
    inbox = await stack.http.get("/me/inbox", headers=manager.headers)
    assert inbox.status_code == 200, inbox.text
    assert [i["title_en"] for i in inbox.json()["items"]] == ["Approval needed: goal plan"]
    assert inbox.json()["unread_count"] == 1

    # Neither the owner nor a stranger may decide; nothing changes.
    url = f"/approvals/{approval.id}/decision"
    r = await stack.http.post(url, json={"decision": "approve"}, headers=employee.headers)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = await stack.http.post(url, json={"decision": "approve"}, headers=outsider.headers)
    assert (r.status_code, r.json()["code"]) == (404, "approval_not_found")
    r = await stack.http.post(url, json={"decision": "maybe"}, headers=manager.headers)
    assert r.status_code == 422

    # The manager approves over HTTP: the workflow's Update → goals DecideApproval.
    r = await stack.http.post(
        url, json={"decision": "approve", "comment": "Good targets"}, headers=manager.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["decided_by"], body["overridden"]) == (
        "approved",
        manager.id,
        False,
    )
    got = await stack.goals.GetObjective(gpb.GetObjectiveRequest(id=objective.id))
    assert got.status == gpb.OBJECTIVE_STATUS_APPROVED
    decided = await stack.goals.GetApproval(gpb.GetApprovalRequest(id=approval.id))
    assert (decided.status, decided.decided_by, decided.comment) == (
        gpb.APPROVAL_STATUS_APPROVED,
        manager.id,
        "Good targets",
    )

    # Twice: refused (the workflow has ended; the gateway checks goals first).
    r = await stack.http.post(url, json={"decision": "reject"}, headers=manager.headers)
    assert (r.status_code, r.json()["code"]) == (409, "approval_not_pending")

    # The owner hears about it: inbox and mail, in both languages.
    async def owner_notified() -> None:
        assert mails_to(sink, employee.employee.email)

    await eventually(owner_notified)
    (decision_mail,) = mails_to(sink, employee.employee.email)
    assert "approved" in decision_mail["Subject"] and "已批准" in decision_mail["Subject"]
    text = decision_mail.get_body(preferencelist=("plain",))
    assert text is not None and "Good targets" in text.get_content()
    result = await handle.result()
    assert [a.status for a in result.approvals] == ["approved"]

    # The request event again (a replay after the dedupe window, or a new consumer reading
    # the stream from the start): goals says it is settled, so no new run reminds anyone.
    finished = await handle.describe()
    nc = await nats.connect(own_nats)
    try:
        js = nc.jetstream()
        original = await js.get_last_msg(GOALS_STREAM, APPROVAL_REQUESTED.subject)
        await js.publish(
            APPROVAL_REQUESTED.subject,
            original.data or b"",
            headers={"Nats-Msg-Id": f"replayed-{uuid.uuid4()}"},
        )

        async def consumed() -> None:
            info = await js.consumer_info(GOALS_STREAM, "flow")
            assert info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(consumed)
    finally:
        await nc.drain()
    latest = await client.get_workflow_handle(approval.workflow_id).describe()
    assert (latest.run_id, latest.status) == (finished.run_id, WorkflowExecutionStatus.COMPLETED)
    mine = (await stack.http.get("/me/inbox", headers=employee.headers)).json()
    assert mine["unread_count"] == 1
    item = mine["items"][0]
    r = await stack.http.post(f"/me/inbox/{item['id']}/read", headers=employee.headers)
    assert r.status_code == 200 and r.json()["read_at"]
    # Someone else's item reads like a missing one.
    r = await stack.http.post(f"/me/inbox/{item['id']}/read", headers=manager.headers)
    assert (r.status_code, r.json()["code"]) == (404, "inbox_item_not_found")
    unread = await stack.http.get(
        "/me/inbox", params={"unread_only": "true"}, headers=employee.headers
    )
    assert unread.json()["items"] == [] and unread.json()["unread_count"] == 0
    # Exactly one mail each: nothing was sent twice.
    assert len(mails_to(sink, manager.employee.email)) == 1
    assert len(mails_to(sink, employee.employee.email)) == 1
    # Who the cycle's Monday reminders and digests go to, from the real services.
    settings = WorkerSettings(
        identity_addr=stack.settings.identity_addr, goals_addr=stack.settings.goals_addr
    )
    env = ActivityEnvironment()
    cycles = CycleActivities(settings)

    async def who(audience: str) -> dict[str, dict[str, str]]:
        out = await env.run(cycles.audience, AudienceInput(cycle.id, audience))
        return {o.recipient_id: o.params for o in out}

    assert employee.id in await who("not_checked_in")
    assert (await who("not_checked_in"))[employee.id]["pending"] == "1"
    not_submitted = await who("not_submitted")
    assert employee.id not in not_submitted and outsider.id in not_submitted
    digest = (await who("managers"))[manager.id]
    assert (digest["reports"], digest["checked_in"], digest["missing"]) == ("1", "0", "1")

    # A revision later: the same workflow id (a new run), decided by HR as an override.
    (kr,) = (
        await stack.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
    ).key_results
    revision = await stack.goals.RequestRevision(
        gpb.RequestRevisionRequest(
            key_result_id=kr.id, new_target=98, reason="Supplier fixed", requested_by=employee.id
        )
    )

    async def revision_announced() -> None:
        state = await handle.query(PlanApprovalWorkflow.state)
        assert [a.approval_id for a in state.approvals] == [revision.approval_id]
        assert len(mails_to(sink, manager.employee.email)) == 2

    await eventually(revision_announced)
    hr = await stack.person(dep.id, roles=["hr"], name="HR Partner")
    r = await stack.http.post(
        f"/approvals/{revision.approval_id}/decision",
        json={"decision": "reject", "comment": "Keep 97 %"},
        headers=hr.headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["overridden"]) == ("rejected", True)
    revisions = await stack.goals.ListRevisions(gpb.ListRevisionsRequest(key_result_id=kr.id))
    assert [v.status for v in revisions.revisions] == [gpb.REVISION_STATUS_REJECTED]
    assert (await stack.goals.GetKeyResult(gpb.GetKeyResultRequest(id=kr.id))).target == 97

    # A cycle closed early by hand: nobody is chased any more.
    await stack.goals.CloseCycle(gpb.CloseCycleRequest(id=cycle.id))
    assert await who("not_checked_in") == {} and await who("managers") == {}

    cycle_handle = client.get_workflow_handle_for(CycleWorkflow.run, ids.cycle(cycle.id))
    state = await cycle_handle.query(CycleWorkflow.state)
    assert state.phase == "planning" and state.last_step == "phase/planning"
    await cycle_handle.terminate("test over")


async def test_escalation_skips_a_skip_level_manager_who_has_left(
    stack: GatewayStack, worker: str
) -> None:
    """The skip-level is found the way goals found the approver: managers who left are passed."""
    dep = await stack.department("Stamping")
    top = await stack.person(dep.id, name="Plant Director", sign_in=False)
    gone = await stack.person(dep.id, manager_id=top.id, name="Former Head", sign_in=False)
    manager = await stack.person(dep.id, manager_id=gone.id, name="Line Lead", sign_in=False)
    employee = await stack.person(dep.id, manager_id=manager.id, sign_in=False)
    await stack.admin_grpc.identity.UpdateEmployee(
        identity_pb2.UpdateEmployeeRequest(id=gone.id, status=identity_pb2.EMPLOYEE_STATUS_LEFT)
    )
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Skip {uuid.uuid4().hex[:6]}",
            start_date=(today - timedelta(days=2)).isoformat(),
            end_date=(today + timedelta(days=80)).isoformat(),
        )
    )
    await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Die changes under 20 min",
            owner_id=employee.id,
            key_results=[gpb.NewKeyResult(title="SMED", baseline=45, target=20, weight=100)],
        )
    )
    approval = await stack.goals.SubmitPlan(
        gpb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=employee.id)
    )
    assert list(approval.approver_ids) == [manager.id]
    settings = WorkerSettings(
        identity_addr=stack.settings.identity_addr, goals_addr=stack.settings.goals_addr
    )
    result = await ActivityEnvironment().run(
        ApprovalActivities(settings).escalate, EscalateActivityInput(approval.id, employee.id)
    )
    assert result.added == [top.id]
    assert result.approver_ids == [manager.id, top.id]


async def test_nobody_decides_on_their_own_plan_or_revision(
    stack: GatewayStack, worker: str, temporal_dev_env: WorkflowEnvironment
) -> None:
    """Four eyes: HR may override any approval but their own (plan or target revision), and
    an admin likewise; another HR person decides instead. Nothing changes on a refusal."""
    client = temporal_dev_env.client
    dep = await stack.department("People")
    boss = await stack.person(dep.id, name="Boss")
    hr = await stack.person(dep.id, manager_id=boss.id, roles=["hr"], name="HR Self")
    other_hr = await stack.person(dep.id, manager_id=boss.id, roles=["hr"], name="HR Other")
    admin = await stack.person(dep.id, manager_id=boss.id, roles=["admin"], name="Admin Self")
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Four eyes {uuid.uuid4().hex[:6]}",
            start_date=(today - timedelta(days=2)).isoformat(),
            end_date=(today + timedelta(days=80)).isoformat(),
        )
    )

    async def submitted(person_id: str) -> tuple[gpb.Approval, str]:
        objective = await stack.goals.CreateObjective(
            gpb.CreateObjectiveRequest(
                cycle_id=cycle.id,
                title="Attrition ≤ 5 %",
                owner_id=person_id,
                key_results=[
                    gpb.NewKeyResult(title="Attrition", baseline=9, target=5, unit="%", weight=100)
                ],
            )
        )
        approval = await stack.goals.SubmitPlan(
            gpb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=person_id)
        )
        handle = client.get_workflow_handle_for(PlanApprovalWorkflow.run, approval.workflow_id)

        async def known() -> None:
            state = await handle.query(PlanApprovalWorkflow.state)
            assert approval.id in [a.approval_id for a in state.approvals]

        await eventually(known)
        return approval, objective.id

    async def decide(approval_id: str, headers: dict[str, str]) -> tuple[int, str]:
        r = await stack.http.post(
            f"/approvals/{approval_id}/decision", json={"decision": "approve"}, headers=headers
        )
        return r.status_code, r.json().get("code", r.json().get("status", ""))

    plan, objective_id = await submitted(hr.id)
    assert await decide(plan.id, hr.headers) == (403, "own_approval")
    pending = await stack.goals.GetApproval(gpb.GetApprovalRequest(id=plan.id))
    assert pending.status == gpb.APPROVAL_STATUS_PENDING
    assert await decide(plan.id, other_hr.headers) == (200, "approved")

    # A target revision of one's own: the same.
    (kr,) = (
        await stack.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective_id))
    ).key_results
    revision = await stack.goals.RequestRevision(
        gpb.RequestRevisionRequest(
            key_result_id=kr.id, new_target=1, reason="Easier", requested_by=hr.id
        )
    )
    handle = client.get_workflow_handle_for(PlanApprovalWorkflow.run, plan.workflow_id)

    async def revision_known() -> None:
        state = await handle.query(PlanApprovalWorkflow.state)
        assert revision.approval_id in [a.approval_id for a in state.approvals]

    await eventually(revision_known)
    assert await decide(revision.approval_id, hr.headers) == (403, "own_approval")
    got = await stack.goals.GetKeyResult(gpb.GetKeyResultRequest(id=kr.id))
    assert got.target == 5

    # Nor an admin on their own plan; goals refuses it too, whoever asks it directly.
    admin_plan, _ = await submitted(admin.id)
    assert await decide(admin_plan.id, admin.headers) == (403, "own_approval")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.goals.DecideApproval(
            gpb.DecideApprovalRequest(
                approval_id=admin_plan.id,
                decision=gpb.DECISION_APPROVE,
                decided_by=admin.id,
                override=True,
            )
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await decide(admin_plan.id, boss.headers) == (200, "approved")
