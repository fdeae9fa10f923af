"""The seed's cross-department objective through scoring, participation and closing: goals +
identity over gRPC, real database and NATS."""

from __future__ import annotations

from functools import partial

import grpc
import pytest

from gateway.convert import to_dict
from stride.goals.v1 import goals_pb2 as pb
from tests.integration.goals_helpers import (
    department,
    employee,
    events,
    grpc_score_pages,
    settled_score_pages,
)
from tests.integration.test_goals_service import Q4_2025, code_of, rpc_error
from tests.integration.test_goals_service import stack as stack  # the fixture

WEEKS = ("2025-W46", "2025-W47", "2025-W48")


async def test_cross_department_scores_participation_and_close(stack, nats_url: str) -> None:
    identity, goals = stack
    ops = await department(identity, "Operations")
    ceo = await employee(identity, ops)
    head = await employee(identity, ops, ceo.id)
    depts, people = {}, {}
    for name in ("PMC", "Purchasing", "Quality", "Engineering"):
        depts[name] = await department(identity, name)
        people[name] = await employee(identity, depts[name], head.id)
    cycle = await goals.CreateCycle(
        pb.CreateCycleRequest(name="2025 Q4", start_date=Q4_2025[0], end_date=Q4_2025[1])
    )
    assert cycle.phase == pb.CYCLE_PHASE_PLANNING and cycle.closing_deadline == "2026-01-07"
    company = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Customers first",
            owner_id=ceo.id,
            level=pb.OBJECTIVE_LEVEL_COMPANY,
            visibility=pb.VISIBILITY_PUBLIC,
        )
    )
    delivery = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="On-time delivery >= 99 %",
            owner_id=head.id,
            level=pb.OBJECTIVE_LEVEL_DEPARTMENT,
            parent_id=company.id,
            key_results=[
                pb.NewKeyResult(
                    title="Plan changes <= 2/month",
                    owner_id=people["PMC"].id,
                    baseline=6,
                    target=2,
                    weight=25,
                ),
                pb.NewKeyResult(
                    title="Material on time >= 98 %",
                    owner_id=people["Purchasing"].id,
                    kind=pb.KEY_RESULT_KIND_PERCENTAGE,
                    baseline=90,
                    target=98,
                    unit="%",
                    weight=25,
                ),
                pb.NewKeyResult(
                    title="First-article pass >= 97 %",
                    owner_id=people["Quality"].id,
                    kind=pb.KEY_RESULT_KIND_PERCENTAGE,
                    baseline=90,
                    target=97,
                    unit="%",
                    weight=25,
                ),
                pb.NewKeyResult(
                    title="Downtime <= 4 h/week",
                    owner_id=people["Engineering"].id,
                    direction=pb.DIRECTION_STAY_WITHIN,
                    lower_bound=0,
                    upper_bound=4,
                    unit="h",
                    weight=25,
                ),
            ],
        )
    )
    # An individual objective that aligns to nothing (alignment 1 of 2 non-company objectives).
    learn = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id, title="Learn SPC", owner_id=people["Quality"].id
        )
    )
    krs = {
        k.department_id: k
        for k in (
            await goals.ListKeyResults(pb.ListKeyResultsRequest(objective_id=delivery.id))
        ).key_results
    }
    assert set(krs) == {d.id for d in depts.values()}
    approval = await goals.SubmitPlan(pb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=head.id))
    assert list(approval.approver_ids) == [ceo.id]
    await goals.DecideApproval(
        pb.DecideApprovalRequest(
            approval_id=approval.id, decision=pb.DECISION_APPROVE, decided_by=ceo.id
        )
    )
    await goals.SetCyclePhase(pb.SetCyclePhaseRequest(id=cycle.id, phase=pb.CYCLE_PHASE_EXECUTION))

    values = {
        "PMC": (5, 4, 3),  # 6 -> 2: (6 - 3) / 4 = 0.75
        "Purchasing": (92, 94, 96),  # 90 -> 98: 6 / 8 = 0.75
        "Quality": (91, 93, 93.5),  # 90 -> 97: 3.5 / 7 = 0.5
        "Engineering": (3, 5, 4),  # within [0, 4] in 2 weeks of 3
    }
    for name, series in values.items():
        kr = krs[depts[name].id]
        for week, value in zip(WEEKS, series, strict=True):
            await goals.RecordCheckIns(
                pb.RecordCheckInsRequest(
                    owner_id=people[name].id,
                    week=week,
                    check_ins=[pb.RecordCheckInRequest(key_result_id=kr.id, value=value)],
                )
            )
    # Only the PMC key result is missing a check-in in week 49.
    for name in ("Purchasing", "Quality", "Engineering"):
        kr = krs[depts[name].id]
        await goals.RecordCheckIn(
            pb.RecordCheckInRequest(key_result_id=kr.id, value=values[name][-1], week="2025-W49")
        )

    # Engineering: W46 3, W47 5, W48 4, W49 4 -> 3 of 4 weeks within the bounds.
    expected = {"PMC": 0.75, "Purchasing": 0.75, "Quality": 0.5, "Engineering": 0.75}
    scores = await goals.GetScores(pb.GetScoresRequest(cycle_id=cycle.id))
    objective_scores = {o.objective_id: o for o in scores.objectives}
    assert objective_scores[delivery.id].score == pytest.approx(sum(expected.values()) / 4)
    assert objective_scores[delivery.id].aligned
    departments = {d.department_id: d for d in scores.departments}
    for name, score in expected.items():
        assert departments[depts[name].id].score == pytest.approx(score), name
        assert departments[depts[name].id].key_result_count == 1
    assert departments[ops.id].objective_count == 2 and departments[ops.id].alignment == 1.0
    assert departments[depts["Quality"].id].alignment == 0.0
    assert scores.alignment == pytest.approx(0.5)
    assert (scores.aligned_count, scores.objective_count) == (1, 3)
    people_scores = {p.employee_id: p for p in scores.people}
    assert people_scores[people["Quality"].id].score == pytest.approx(0.5)
    only_quality = await goals.GetScores(
        pb.GetScoresRequest(cycle_id=cycle.id, department_id=depts["Quality"].id)
    )
    assert [d.department_id for d in only_quality.departments] == [depts["Quality"].id]
    assert [o.title for o in only_quality.objectives] == ["Learn SPC"]
    # A narrowed board (read with only what it needs) carries the whole board's numbers for
    # what it keeps: objectives of the department / owner, the people and departments owning
    # key results in it.
    whole = {
        "objectives": {o.objective_id: o for o in scores.objectives},
        "people": {p.employee_id: p for p in scores.people},
        "departments": {d.department_id: d for d in scores.departments},
    }
    filters = [{"department_id": d.id} for d in (ops, *depts.values())]
    filters += [{"owner_id": p.id} for p in (ceo, head, *people.values())]
    filters.append({"department_id": depts["Quality"].id, "owner_id": people["Quality"].id})
    for narrowing in filters:
        narrow = await goals.GetScores(pb.GetScoresRequest(cycle_id=cycle.id, **narrowing))
        for o in narrow.objectives:
            assert o == whole["objectives"][o.objective_id], narrowing
        for p in narrow.people:
            assert p == whole["people"][p.employee_id], narrowing
        for d in narrow.departments:
            assert d.score == whole["departments"][d.department_id].score, narrowing
            assert d.objective_count == whole["departments"][d.department_id].objective_count
        expected_objectives = {
            o.objective_id
            for o in scores.objectives
            if all(getattr(o, k) == v for k, v in narrowing.items())
        }
        assert {o.objective_id for o in narrow.objectives} == expected_objectives, narrowing
        # Paged by person: the same people, objectives and figures, a page at a time.
        for size in (1, 2):
            asked = pb.GetScoresRequest(cycle_id=cycle.id, **narrowing)
            await settled_score_pages(
                partial(grpc_score_pages, goals, asked, size), to_dict(narrow), size
            )
    for size in (1, 3, 200):
        asked = pb.GetScoresRequest(cycle_id=cycle.id)
        await settled_score_pages(
            partial(grpc_score_pages, goals, asked, size), to_dict(scores), size
        )
    by_head = await goals.GetScores(pb.GetScoresRequest(cycle_id=cycle.id, owner_id=head.id))
    assert [o.objective_id for o in by_head.objectives] == [delivery.id]
    assert by_head.objectives[0].score == pytest.approx(sum(expected.values()) / 4)

    participation = await goals.GetParticipation(
        pb.GetParticipationRequest(cycle_id=cycle.id, week="2025-W49")
    )
    assert participation.week == "2025-W49"
    seen = {p.employee_id: p for p in participation.people}
    assert set(seen) == {ceo.id, head.id, *(p.id for p in people.values())}
    assert (seen[head.id].approved_objectives, seen[head.id].key_results) == (1, 0)
    assert seen[ceo.id].draft_objectives == 1
    assert (seen[people["PMC"].id].key_results, seen[people["PMC"].id].checked_in) == (1, 0)
    assert seen[people["Quality"].id].checked_in == 1
    assert seen[people["Quality"].id].draft_objectives == 1
    # Quality is 20 % behind plan three weeks running.
    assert seen[people["Quality"].id].at_risk == 1 and seen[people["Purchasing"].id].at_risk == 0
    some = await goals.GetParticipation(
        pb.GetParticipationRequest(cycle_id=cycle.id, week="2025-W49", owner_ids=[head.id])
    )
    assert [p.employee_id for p in some.people] == [head.id]
    two = [people["PMC"].id, people["Quality"].id]
    narrowed = await goals.GetParticipation(
        pb.GetParticipationRequest(cycle_id=cycle.id, week="2025-W49", owner_ids=two)
    )
    assert list(narrowed.people) == [seen[e] for e in sorted(two)]
    # A page at a time (employee id order): everyone once, with the same counts.
    for asked in (
        pb.GetParticipationRequest(cycle_id=cycle.id, week="2025-W49"),
        pb.GetParticipationRequest(cycle_id=cycle.id, week="2025-W49", owner_ids=two),
        pb.GetParticipationRequest(
            cycle_id=cycle.id, week="2025-W49", department_ids=[ops.id, depts["Quality"].id]
        ),
    ):
        whole_part = await goals.GetParticipation(asked)
        paged: list[pb.Participation] = []
        token = "first"
        while token:
            asked.page.page_size, asked.page.page_token = 2, "" if token == "first" else token
            got = await goals.GetParticipation(asked)
            assert len(got.people) <= 2
            paged += got.people
            token = got.page.next_page_token
        assert paged == list(whole_part.people)

    # Self-scores only in the closing phase.
    pmc_kr = krs[depts["PMC"].id]
    early = await rpc_error(
        goals.SetSelfScore(pb.SetSelfScoreRequest(key_result_id=pmc_kr.id, self_score=0.8))
    )
    assert early.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(early) == "not_closing_phase"
    closing = await goals.SetCyclePhase(
        pb.SetCyclePhaseRequest(id=cycle.id, phase=pb.CYCLE_PHASE_CLOSING)
    )
    again = await goals.SetCyclePhase(
        pb.SetCyclePhaseRequest(id=cycle.id, phase=pb.CYCLE_PHASE_CLOSING)
    )
    assert closing == again and closing.phase == pb.CYCLE_PHASE_CLOSING
    scored = await goals.SetSelfScore(
        pb.SetSelfScoreRequest(key_result_id=pmc_kr.id, self_score=0.8, note="Held the line")
    )
    assert scored.HasField("self_score") and scored.self_score == pytest.approx(0.8)

    closed = await goals.CloseCycle(pb.CloseCycleRequest(id=cycle.id))
    assert closed.status == pb.CYCLE_STATUS_CLOSED and closed.phase == pb.CYCLE_PHASE_ARCHIVED
    final = await goals.GetObjective(pb.GetObjectiveRequest(id=delivery.id))
    assert final.status == pb.OBJECTIVE_STATUS_CLOSED
    assert final.score == pytest.approx(sum(expected.values()) / 4)
    late = await rpc_error(
        goals.RecordCheckIn(
            pb.RecordCheckInRequest(key_result_id=pmc_kr.id, value=1, week="2025-W49")
        )
    )
    assert code_of(late) == "cycle_closed"
    frozen = await goals.GetScores(pb.GetScoresRequest(cycle_id=cycle.id))
    # The final scores are the approved plan's: the drafts (the CEO's company objective and
    # "Learn SPC") were never agreed; they stay drafts, unscored.
    assert list(frozen.objectives) == [objective_scores[delivery.id]]
    assert (frozen.alignment, frozen.aligned_count, frozen.objective_count) == (1.0, 1, 1)
    assert [(p.employee_id, p.score) for p in frozen.people] == [
        (p.employee_id, p.score) for p in scores.people
    ]
    # Closed: the pages hold the final scores too (the drafts' owners alone are on none).
    await settled_score_pages(
        partial(grpc_score_pages, goals, pb.GetScoresRequest(cycle_id=cycle.id), 1),
        to_dict(frozen),
        1,
    )
    assert {d.department_id: d.score for d in frozen.departments} == {
        d.department_id: d.score for d in scores.departments
    }
    for draft in (company.id, learn.id):
        got = await goals.GetObjective(pb.GetObjectiveRequest(id=draft))
        assert got.status == pb.OBJECTIVE_STATUS_DRAFT

    closed_events = await events(
        nats_url,
        "stride.goals.v1.cycle.closed",
        pb.CycleClosed,
        lambda e: e.cycle.id == cycle.id,
        expected=1,
    )
    assert len(closed_events) == 1
    event = closed_events[0]
    assert event.cycle.phase == pb.CYCLE_PHASE_ARCHIVED
    assert [o.objective_id for o in event.scores.objectives] == [delivery.id]
    assert event.scores.alignment == pytest.approx(1.0)
    person = {p.employee_id: p for p in event.scores.people}[people["PMC"].id]
    assert person.self_score == pytest.approx(0.8)
    created = await events(
        nats_url,
        "stride.goals.v1.cycle.created",
        pb.CycleCreated,
        lambda e: e.cycle.id == cycle.id,
        expected=1,
    )
    assert [e.cycle.name for e in created] == ["2025 Q4"]
