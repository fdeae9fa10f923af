"""Every change to an objective or key result is on the outbound stream (goals over gRPC,
real database and NATS): created, updated (with ``before``), closed, and a draft deleted.
Closing the cycle closes approved objectives only: a draft is never closed (nor scored)."""

from __future__ import annotations

from services.goals import events as registry
from stride.goals.v1 import goals_pb2 as pb
from tests.integration.goals_helpers import department, employee, events
from tests.integration.test_goals_service import Q4_2025
from tests.integration.test_goals_service import stack as stack  # the fixture


async def test_objective_and_key_result_changes_are_events(stack, nats_url: str) -> None:
    identity, goals = stack
    quality = await department(identity, "Quality")
    owner = await employee(identity, quality)
    cycle = await goals.CreateCycle(
        pb.CreateCycleRequest(name="2025 Q4 events", start_date=Q4_2025[0], end_date=Q4_2025[1])
    )
    kept = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Ship right",
            owner_id=owner.id,
            key_results=[pb.NewKeyResult(title="Pass rate", target=98, weight=100)],
        )
    )
    (kr,) = (await goals.ListKeyResults(pb.ListKeyResultsRequest(objective_id=kept.id))).key_results
    await goals.UpdateObjective(pb.UpdateObjectiveRequest(id=kept.id, title="Ship right first"))
    await goals.UpdateKeyResult(pb.UpdateKeyResultRequest(id=kr.id, unit="%"))
    dropped = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Maybe",
            owner_id=owner.id,
            key_results=[pb.NewKeyResult(title="Trial", target=1, weight=100)],
        )
    )
    deleted = await goals.DeleteObjective(pb.DeleteObjectiveRequest(id=dropped.id))
    assert deleted.id == dropped.id
    someday = await goals.CreateObjective(
        pb.CreateObjectiveRequest(cycle_id=cycle.id, title="Someday", owner_id=owner.id)
    )
    hr = await employee(identity, quality)
    plan = await goals.SubmitPlan(
        pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id, objective_ids=[kept.id])
    )
    await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=plan.id, decision=pb.DECISION_APPROVE, decided_by=hr.id, override=True
        )
    )
    await goals.CloseCycle(pb.CloseCycleRequest(id=cycle.id))
    draft = await goals.GetObjective(pb.GetObjectiveRequest(id=someday.id))
    assert draft.status == pb.OBJECTIVE_STATUS_DRAFT

    ours = {kept.id, dropped.id, someday.id}
    created = await events(
        nats_url,
        registry.OBJECTIVE_CREATED.subject,
        pb.ObjectiveCreated,
        lambda e: e.objective.id in ours,
        expected=3,
    )
    assert sorted(e.objective.title for e in created) == ["Maybe", "Ship right", "Someday"]
    updated = await events(
        nats_url,
        registry.OBJECTIVE_UPDATED.subject,
        pb.ObjectiveUpdated,
        lambda e: e.objective.id == kept.id and e.before.title != e.objective.title,
        expected=1,
    )
    assert [(e.before.title, e.objective.title) for e in updated] == [
        ("Ship right", "Ship right first")
    ]
    gone = await events(
        nats_url,
        registry.OBJECTIVE_DELETED.subject,
        pb.ObjectiveDeleted,
        lambda e: e.objective.id == dropped.id,
        expected=1,
    )
    assert [k.title for e in gone for k in e.key_results] == ["Trial"]
    closed = await events(
        nats_url,
        registry.OBJECTIVE_CLOSED.subject,
        pb.ObjectiveClosed,
        lambda e: e.objective.id in ours,
        expected=1,
    )
    assert [e.objective.id for e in closed] == [kept.id]
    assert closed[0].objective.status == pb.OBJECTIVE_STATUS_CLOSED

    kr_created = await events(
        nats_url,
        registry.KR_CREATED.subject,
        pb.KeyResultCreated,
        lambda e: e.key_result.id == kr.id,
        expected=1,
    )
    assert len(kr_created) == 1
    kr_updated = await events(
        nats_url,
        registry.KR_UPDATED.subject,
        pb.KeyResultUpdated,
        lambda e: e.key_result.id == kr.id,
        expected=1,
    )
    assert [(e.before.unit, e.key_result.unit) for e in kr_updated] == [("", "%")]
    kr_closed = await events(
        nats_url,
        registry.KR_CLOSED.subject,
        pb.KeyResultClosed,
        lambda e: e.key_result.id == kr.id,
        expected=1,
    )
    assert len(kr_closed) == 1
