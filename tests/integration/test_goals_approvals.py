"""Plans and revisions through approval: the goals + identity services over gRPC, real
database and NATS."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from stride.goals.v1 import goals_pb2 as pb
from tests.integration.goals_helpers import department, employee, events
from tests.integration.test_goals_service import Q4_2025, code_of, rpc_error
from tests.integration.test_goals_service import stack as stack  # the fixture


def kr(title: str, weight: int, owner: str = "", baseline: float = 0, target: float = 100):
    return pb.NewKeyResult(
        title=title, owner_id=owner, baseline=baseline, target=target, weight=weight
    )


async def org(identity):
    dept = await department(identity, "Quality")
    skip = await employee(identity, dept)
    manager = await employee(identity, dept, skip.id)
    owner = await employee(identity, dept, manager.id)
    return dept, skip, manager, owner


async def new_cycle(goals, name: str = "2025 Q4") -> pb.Cycle:
    return await goals.CreateCycle(
        pb.CreateCycleRequest(name=name, start_date=Q4_2025[0], end_date=Q4_2025[1])
    )


async def test_weights_must_total_100_and_nothing_is_written(stack) -> None:
    identity, goals = stack
    _dept, _skip, _manager, owner = await org(identity)
    cycle = await new_cycle(goals)
    err = await rpc_error(
        goals.CreateObjective(
            pb.CreateObjectiveRequest(
                cycle_id=cycle.id,
                title="Ship right first time",
                owner_id=owner.id,
                key_results=[kr("Pass rate", 60), kr("Scrap", 30)],
            )
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and code_of(err) == "weights_not_100"
    listed = await goals.ListObjectives(
        pb.ListObjectivesRequest(cycle_id=cycle.id, owner_id=owner.id)
    )
    assert list(listed.objectives) == []

    objective = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Ship right first time",
            owner_id=owner.id,
            key_results=[kr("Pass rate", 60), kr("Scrap", 40, baseline=10, target=4)],
        )
    )
    assert objective.status == pb.OBJECTIVE_STATUS_DRAFT
    assert objective.key_result_count == 2 and objective.weight_total == 100
    assert objective.start_date == Q4_2025[0] and objective.level == pb.OBJECTIVE_LEVEL_INDIVIDUAL
    krs = (
        await goals.ListKeyResults(pb.ListKeyResultsRequest(objective_id=objective.id))
    ).key_results
    assert [k.direction for k in krs] == [pb.DIRECTION_INCREASE, pb.DIRECTION_DECREASE]

    bad = await rpc_error(
        goals.SetKeyResultWeights(
            pb.SetKeyResultWeightsRequest(
                objective_id=objective.id, weights={krs[0].id: 50, krs[1].id: 40}
            )
        )
    )
    assert code_of(bad) == "weights_not_100"
    missing = await rpc_error(
        goals.SetKeyResultWeights(
            pb.SetKeyResultWeightsRequest(objective_id=objective.id, weights={krs[0].id: 100})
        )
    )
    assert code_of(missing) == "weights_incomplete"
    same = await goals.GetObjective(pb.GetObjectiveRequest(id=objective.id))
    assert same.weight_total == 100
    rebalanced = await goals.SetKeyResultWeights(
        pb.SetKeyResultWeightsRequest(
            objective_id=objective.id, weights={krs[0].id: 70, krs[1].id: 30}
        )
    )
    assert rebalanced.weight_total == 100
    assert (await goals.GetKeyResult(pb.GetKeyResultRequest(id=krs[0].id))).weight == 70


async def test_submit_escalate_and_decide(stack, nats_url: str) -> None:
    identity, goals = stack
    dept, skip, manager, owner = await org(identity)
    cycle = await new_cycle(goals)
    complete = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Ship right first time",
            owner_id=owner.id,
            key_results=[kr("Pass rate", 100)],
        )
    )
    partial = await goals.CreateObjective(
        pb.CreateObjectiveRequest(cycle_id=cycle.id, title="Cut scrap", owner_id=owner.id)
    )
    scrap = await goals.CreateKeyResult(
        pb.CreateKeyResultRequest(
            objective_id=partial.id, title="Scrap", baseline=10, target=4, weight=50
        )
    )
    err = await rpc_error(
        goals.SubmitPlan(pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id))
    )
    assert code_of(err) == "weights_not_100" and "Cut scrap" in (err.details() or "")
    untouched = await goals.GetObjective(pb.GetObjectiveRequest(id=complete.id))
    assert untouched.status == pb.OBJECTIVE_STATUS_DRAFT  # nothing changed
    await goals.SetKeyResultWeights(
        pb.SetKeyResultWeightsRequest(objective_id=partial.id, weights={scrap.id: 100})
    )

    approval = await goals.SubmitPlan(pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id))
    assert approval.status == pb.APPROVAL_STATUS_PENDING and approval.kind == pb.APPROVAL_KIND_PLAN
    assert list(approval.approver_ids) == [manager.id]
    assert approval.workflow_id == f"cycle/{cycle.id}/plan/{owner.id}"
    assert sorted(approval.objective_ids) == sorted([complete.id, partial.id])
    assert approval.department_id == dept.id
    for oid in (complete.id, partial.id):
        o = await goals.GetObjective(pb.GetObjectiveRequest(id=oid))
        assert o.status == pb.OBJECTIVE_STATUS_PENDING_APPROVAL
    again = await rpc_error(
        goals.SubmitPlan(pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id))
    )
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(again) == "approval_pending"
    # A pending objective does not change directly.
    locked = await rpc_error(
        goals.UpdateObjective(pb.UpdateObjectiveRequest(id=complete.id, title="Other"))
    )
    assert code_of(locked) == "objective_not_draft"

    requested = await events(
        nats_url,
        "stride.goals.v1.approval.requested",
        pb.ApprovalRequested,
        lambda e: e.approval.id == approval.id,
        expected=1,
    )
    assert len(requested) == 1
    assert requested[0].time_zone == "Asia/Shanghai"
    assert requested[0].approval_deadline == cycle.approval_deadline == "2025-10-15"
    assert requested[0].title == "Plan approval 2025 Q4"
    assert requested[0].approval.workflow_id == approval.workflow_id

    # The skip-level manager may not decide before the escalation...
    wrong = await rpc_error(
        goals.DecideApproval(
            pb.DecideApprovalRequest(
                approval_id=approval.id, decision=pb.DECISION_APPROVE, decided_by=skip.id
            )
        )
    )
    assert wrong.code() == grpc.StatusCode.PERMISSION_DENIED and code_of(wrong) == "not_approver"
    escalated = await goals.EscalateApproval(
        pb.EscalateApprovalRequest(approval_id=approval.id, add_approver_ids=[skip.id])
    )
    assert list(escalated.approver_ids) == [manager.id, skip.id] and escalated.escalated
    retried = await goals.EscalateApproval(
        pb.EscalateApprovalRequest(approval_id=approval.id, add_approver_ids=[skip.id])
    )
    assert list(retried.approver_ids) == [manager.id, skip.id]
    mine = await goals.ListApprovals(
        pb.ListApprovalsRequest(approver_id=skip.id, status=pb.APPROVAL_STATUS_PENDING)
    )
    assert [a.id for a in mine.approvals] == [approval.id]

    # ... and may afterwards.
    decided = await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=approval.id,
            decision=pb.DECISION_APPROVE,
            decided_by=skip.id,
            comment="Good plan",
        )
    )
    assert decided.status == pb.APPROVAL_STATUS_APPROVED and decided.decided_by == skip.id
    for oid in (complete.id, partial.id):
        o = await goals.GetObjective(pb.GetObjectiveRequest(id=oid))
        assert o.status == pb.OBJECTIVE_STATUS_APPROVED
    # The same decision again (an activity retry) changes nothing; another one is refused.
    repeat = await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=approval.id, decision=pb.DECISION_APPROVE, decided_by=skip.id
        )
    )
    assert repeat == decided
    twice = await rpc_error(
        goals.DecideApproval(
            pb.DecideApprovalRequest(
                approval_id=approval.id, decision=pb.DECISION_REJECT, decided_by=skip.id
            )
        )
    )
    assert code_of(twice) == "approval_not_pending"
    late = await rpc_error(
        goals.EscalateApproval(
            pb.EscalateApprovalRequest(approval_id=approval.id, add_approver_ids=[owner.id])
        )
    )
    assert code_of(late) == "approval_not_pending"
    assert not (
        await goals.ListApprovals(
            pb.ListApprovalsRequest(approver_id=skip.id, status=pb.APPROVAL_STATUS_PENDING)
        )
    ).approvals

    decided_events = await events(
        nats_url,
        "stride.goals.v1.approval.decided",
        pb.ApprovalDecided,
        lambda e: e.approval.id == approval.id,
        expected=1,
    )
    assert [e.approval.status for e in decided_events] == [pb.APPROVAL_STATUS_APPROVED]


async def test_reject_back_to_draft_then_hr_override(stack) -> None:
    identity, goals = stack
    _dept, _skip, manager, owner = await org(identity)
    cycle = await new_cycle(goals)
    objective = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Ship right first time",
            owner_id=owner.id,
            key_results=[kr("Pass rate", 100)],
        )
    )
    first = await goals.SubmitPlan(pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id))
    rejected = await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=first.id,
            decision=pb.DECISION_REJECT,
            decided_by=manager.id,
            comment="Target too low",
        )
    )
    assert rejected.status == pb.APPROVAL_STATUS_REJECTED and rejected.comment == "Target too low"
    back = await goals.GetObjective(pb.GetObjectiveRequest(id=objective.id))
    assert back.status == pb.OBJECTIVE_STATUS_DRAFT
    await goals.UpdateObjective(pb.UpdateObjectiveRequest(id=objective.id, title="Ship right"))

    second = await goals.SubmitPlan(
        pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id, objective_ids=[objective.id])
    )
    assert second.id != first.id
    overridden = await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=second.id, decision=pb.DECISION_APPROVE, decided_by="hr-1", override=True
        )
    )
    assert overridden.overridden and overridden.decided_by == "hr-1"
    history = await goals.ListApprovals(
        pb.ListApprovalsRequest(employee_id=owner.id, cycle_id=cycle.id)
    )
    assert [(a.id, a.status) for a in history.approvals] == [
        (first.id, pb.APPROVAL_STATUS_REJECTED),
        (second.id, pb.APPROVAL_STATUS_APPROVED),
    ]
    assert (await goals.GetApproval(pb.GetApprovalRequest(id=first.id))).comment == (
        "Target too low"
    )

    # Someone without a manager: no approvers (HR decides).
    top = await employee(identity, await department(identity, "Board"))
    await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id, title="Grow", owner_id=top.id, key_results=[kr("Revenue", 100)]
        )
    )
    alone = await goals.SubmitPlan(pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=top.id))
    assert list(alone.approver_ids) == []


async def test_revision_keeps_both_targets(stack, nats_url: str) -> None:
    identity, goals = stack
    _dept, _skip, manager, owner = await org(identity)
    cycle = await new_cycle(goals)
    objective = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Ship right first time",
            owner_id=owner.id,
            key_results=[kr("Pass rate", 100, baseline=90, target=97)],
        )
    )
    (key_result,) = (
        await goals.ListKeyResults(pb.ListKeyResultsRequest(objective_id=objective.id))
    ).key_results
    draft = await rpc_error(
        goals.RequestRevision(
            pb.RequestRevisionRequest(key_result_id=key_result.id, new_target=95, reason="x")
        )
    )
    assert code_of(draft) == "objective_not_approved"
    plan = await goals.SubmitPlan(pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id))
    await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=plan.id, decision=pb.DECISION_APPROVE, decided_by=manager.id
        )
    )
    # Approved key results change through a revision only.
    locked = await rpc_error(
        goals.UpdateKeyResult(pb.UpdateKeyResultRequest(id=key_result.id, target=95))
    )
    assert code_of(locked) == "objective_not_draft"
    await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=key_result.id, value=94, week="2025-W46")
    )
    unchanged = await rpc_error(
        goals.RequestRevision(
            pb.RequestRevisionRequest(key_result_id=key_result.id, new_target=97, reason="x")
        )
    )
    assert code_of(unchanged) == "target_unchanged"
    no_reason = await rpc_error(
        goals.RequestRevision(pb.RequestRevisionRequest(key_result_id=key_result.id, new_target=95))
    )
    assert code_of(no_reason) == "reason_required"

    revision = await goals.RequestRevision(
        pb.RequestRevisionRequest(
            key_result_id=key_result.id,
            new_target=95,
            reason="New supplier needs a quarter to ramp up",
            requested_by=owner.id,
        )
    )
    assert revision.status == pb.REVISION_STATUS_PENDING
    assert (revision.old_target, revision.new_target) == (97, 95)
    pending = await rpc_error(
        goals.RequestRevision(
            pb.RequestRevisionRequest(key_result_id=key_result.id, new_target=96, reason="again")
        )
    )
    assert code_of(pending) == "revision_pending"
    approval = await goals.GetApproval(pb.GetApprovalRequest(id=revision.approval_id))
    assert approval.kind == pb.APPROVAL_KIND_REVISION and approval.revision_id == revision.id
    assert list(approval.approver_ids) == [manager.id]
    before = await goals.GetKeyResult(pb.GetKeyResultRequest(id=key_result.id))
    assert before.target == 97 and before.score == pytest.approx(4 / 7)

    await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=approval.id, decision=pb.DECISION_APPROVE, decided_by=manager.id
        )
    )
    after = await goals.GetKeyResult(pb.GetKeyResultRequest(id=key_result.id))
    assert after.target == 95 and after.revision == 1
    assert after.score == pytest.approx(4 / 5)  # rescored against the new target
    revisions = await goals.ListRevisions(pb.ListRevisionsRequest(key_result_id=key_result.id))
    assert [(r.status, r.old_target, r.new_target) for r in revisions.revisions] == [
        (pb.REVISION_STATUS_APPROVED, 97, 95)
    ]
    assert revisions.revisions[0].decided_by == manager.id

    # A rejected revision leaves the target alone.
    second = await goals.RequestRevision(
        pb.RequestRevisionRequest(key_result_id=key_result.id, new_target=99, reason="stretch")
    )
    await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=second.approval_id, decision=pb.DECISION_REJECT, decided_by=manager.id
        )
    )
    final = await goals.GetKeyResult(pb.GetKeyResultRequest(id=key_result.id))
    assert final.target == 95 and final.revision == 1
    listed = await goals.ListRevisions(pb.ListRevisionsRequest(key_result_id=key_result.id))
    assert [r.status for r in listed.revisions] == [
        pb.REVISION_STATUS_APPROVED,
        pb.REVISION_STATUS_REJECTED,
    ]
    changed = await events(
        nats_url,
        "stride.goals.v1.kr.progress_changed",
        pb.KeyResultProgressChanged,
        lambda e: e.key_result.id == key_result.id,
        expected=2,
    )
    # The check-in (0 -> 4/7), then the approved revision (4/7 -> 4/5).
    assert [round(e.key_result.score, 4) for e in changed] == [round(4 / 7, 4), 0.8]
    assert changed[-1].previous_score == pytest.approx(4 / 7)
    assert changed[-1].objective_score == pytest.approx(0.8)


async def test_concurrent_submits_create_one_approval(stack) -> None:
    identity, goals = stack
    _dept, _skip, _manager, owner = await org(identity)
    cycle = await new_cycle(goals)
    await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Ship right first time",
            owner_id=owner.id,
            key_results=[kr("Pass rate", 100)],
        )
    )
    request = pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id)
    results = await asyncio.gather(
        *(goals.SubmitPlan(request) for _ in range(4)), return_exceptions=True
    )
    approvals = [r for r in results if isinstance(r, pb.Approval)]
    errors = [r for r in results if not isinstance(r, pb.Approval)]
    assert len(approvals) == 1
    assert {(e.code(), code_of(e)) for e in errors} == {
        (grpc.StatusCode.FAILED_PRECONDITION, "approval_pending")
    }
    listed = await goals.ListApprovals(pb.ListApprovalsRequest(employee_id=owner.id))
    assert [a.id for a in listed.approvals] == [approvals[0].id]
