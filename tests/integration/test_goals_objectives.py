"""Editing drafts, alignment and list filters: goals + identity over gRPC, real database."""

from __future__ import annotations

import pytest

from stride.goals.v1 import goals_pb2 as pb
from tests.integration.goals_helpers import department, employee
from tests.integration.test_goals_service import Q4_2025, code_of, rpc_error
from tests.integration.test_goals_service import stack as stack  # the fixture


async def test_drafts_change_alignment_stays_a_tree_and_lists_filter(stack) -> None:
    identity, goals = stack
    quality, pmc = await department(identity, "Quality"), await department(identity, "PMC")
    boss = await employee(identity, quality)
    owner = await employee(identity, quality, boss.id)
    planner = await employee(identity, pmc)
    cycle = await goals.CreateCycle(
        pb.CreateCycleRequest(name="2025 Q4", start_date=Q4_2025[0], end_date=Q4_2025[1])
    )
    top = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Quality first",
            owner_id=boss.id,
            level=pb.OBJECTIVE_LEVEL_DEPARTMENT,
            visibility=pb.VISIBILITY_PUBLIC,
        )
    )
    mine = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Ship right first time",
            owner_id=owner.id,
            parent_id=top.id,
            project="P-7",
            start_date="2025-10-15",
        )
    )
    assert (mine.parent_id, mine.project, mine.start_date) == (top.id, "P-7", "2025-10-15")
    planners = await goals.CreateObjective(
        pb.CreateObjectiveRequest(cycle_id=cycle.id, title="Stable plan", owner_id=planner.id)
    )
    bad_dates = await rpc_error(
        goals.CreateObjective(
            pb.CreateObjectiveRequest(
                cycle_id=cycle.id, title="x", owner_id=owner.id, end_date="2026-02-01"
            )
        )
    )
    assert code_of(bad_dates) == "objective_dates_outside_cycle"
    unknown = await rpc_error(
        goals.UpdateObjective(pb.UpdateObjectiveRequest(id=mine.id, parent_id="nope"))
    )
    assert code_of(unknown) == "unknown_parent"
    loop = await rpc_error(
        goals.UpdateObjective(pb.UpdateObjectiveRequest(id=top.id, parent_id=mine.id))
    )
    assert code_of(loop) == "alignment_cycle"
    assert (await goals.GetObjective(pb.GetObjectiveRequest(id=top.id))).parent_id == ""
    updated = await goals.UpdateObjective(
        pb.UpdateObjectiveRequest(
            id=mine.id, title="Right first time", visibility=pb.VISIBILITY_PUBLIC, parent_id=""
        )
    )
    assert (updated.title, updated.visibility, updated.parent_id) == (
        "Right first time",
        pb.VISIBILITY_PUBLIC,
        "",
    )
    assert updated.project == "P-7"  # fields not sent stay
    await goals.UpdateObjective(pb.UpdateObjectiveRequest(id=mine.id, parent_id=top.id))

    # Key results of a draft change; their score follows.
    kr = await goals.CreateKeyResult(
        pb.CreateKeyResultRequest(
            objective_id=mine.id, title="Pass rate", baseline=90, target=98, weight=100
        )
    )
    await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=kr.id, value=94, week="2025-W46")
    )
    assert (await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))).score == pytest.approx(0.5)
    changed = await goals.UpdateKeyResult(
        pb.UpdateKeyResultRequest(
            id=kr.id,
            target=96,
            owner_id=planner.id,
            set_plan=True,
            plan=[pb.PlanPoint(date="2025-11-30", progress=0.8)],
        )
    )
    assert changed.target == 96 and changed.score == pytest.approx(4 / 6)
    assert (changed.owner_id, changed.department_id) == (planner.id, pmc.id)
    assert [(p.date, p.progress) for p in changed.plan] == [("2025-11-30", 0.8)]
    refused = await rpc_error(goals.UpdateKeyResult(pb.UpdateKeyResultRequest(id=kr.id, target=90)))
    assert code_of(refused) == "target_equals_baseline"
    assert (await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))).target == 96
    steps = await goals.CreateKeyResult(
        pb.CreateKeyResultRequest(
            objective_id=mine.id,
            title="8D",
            kind=pb.KEY_RESULT_KIND_MILESTONE,
            milestones=["Template", "Training"],
        )
    )
    more = await goals.UpdateKeyResult(
        pb.UpdateKeyResultRequest(
            id=steps.id, set_milestones=True, milestones=["Template", "Training", "Audit"]
        )
    )
    assert more.target == 3 and list(more.milestones) == ["Template", "Training", "Audit"]

    # Lists: visibility, then filters.
    def titles(response) -> list[str]:
        return [o.title for o in response.objectives]

    everyone = await goals.ListObjectives(
        pb.ListObjectivesRequest(cycle_id=cycle.id, include_public=True)
    )
    assert titles(everyone) == ["Quality first", "Right first time"]  # public only
    planner_view = await goals.ListObjectives(
        pb.ListObjectivesRequest(
            cycle_id=cycle.id, visible_owner_ids=[planner.id], include_public=True
        )
    )
    assert titles(planner_view) == ["Quality first", "Right first time", "Stable plan"]
    dept_view = await goals.ListObjectives(
        pb.ListObjectivesRequest(cycle_id=cycle.id, visible_department_ids=[pmc.id])
    )
    assert titles(dept_view) == ["Stable plan"]
    children = await goals.ListObjectives(
        pb.ListObjectivesRequest(cycle_id=cycle.id, parent_id=top.id)
    )
    assert titles(children) == ["Right first time"]
    departmental = await goals.ListObjectives(
        pb.ListObjectivesRequest(cycle_id=cycle.id, level=pb.OBJECTIVE_LEVEL_DEPARTMENT)
    )
    assert titles(departmental) == ["Quality first"]
    drafts = await goals.ListObjectives(
        pb.ListObjectivesRequest(
            cycle_id=cycle.id, status=pb.OBJECTIVE_STATUS_DRAFT, department_id=pmc.id
        )
    )
    assert [o.id for o in drafts.objectives] == [planners.id]
    by_owner = await goals.ListKeyResults(
        pb.ListKeyResultsRequest(cycle_id=cycle.id, owner_id=planner.id)
    )
    assert [k.id for k in by_owner.key_results] == [kr.id]
    assert by_owner.key_results[0].objective_status == pb.OBJECTIVE_STATUS_DRAFT
    by_dept = await goals.ListKeyResults(
        pb.ListKeyResultsRequest(cycle_id=cycle.id, department_id=quality.id)
    )
    assert [k.id for k in by_dept.key_results] == [steps.id]
    no_data = await goals.ListKeyResults(
        pb.ListKeyResultsRequest(cycle_id=cycle.id, risk_status=pb.RISK_STATUS_NO_DATA)
    )
    assert [k.id for k in no_data.key_results] == [steps.id]

    # Submitted objectives no longer change directly, nor get new key results.
    await goals.SetKeyResultWeights(
        pb.SetKeyResultWeightsRequest(objective_id=mine.id, weights={kr.id: 70, steps.id: 30})
    )
    await goals.SubmitPlan(pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner.id))
    late = await rpc_error(
        goals.CreateKeyResult(
            pb.CreateKeyResultRequest(objective_id=mine.id, title="x", baseline=0, target=1)
        )
    )
    assert code_of(late) == "objective_not_draft"
    weights = await rpc_error(
        goals.SetKeyResultWeights(
            pb.SetKeyResultWeightsRequest(objective_id=mine.id, weights={kr.id: 50, steps.id: 50})
        )
    )
    assert code_of(weights) == "objective_not_draft"
