"""Stretch objectives and GetPeopleStats (what talent tags and manager dimensions read):
goals + identity over gRPC, real database."""

from __future__ import annotations

import grpc
import pytest

from stride.goals.v1 import goals_pb2 as pb
from tests.integration.goals_helpers import department, employee
from tests.integration.test_goals_service import Q4_2025, code_of, rpc_error
from tests.integration.test_goals_service import stack as stack  # the fixture


async def test_stretch_flag_and_people_stats(stack) -> None:
    identity, goals = stack
    dept = await department(identity, "Stamping")
    lead = await employee(identity, dept)
    worker = await employee(identity, dept, lead.id)
    idle = await employee(identity, dept, lead.id)
    cycle = await goals.CreateCycle(
        pb.CreateCycleRequest(name="2025 Q4", start_date=Q4_2025[0], end_date=Q4_2025[1])
    )
    bold = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Output +20 %",
            owner_id=worker.id,
            stretch=True,
            key_results=[
                pb.NewKeyResult(title="Parts per shift", baseline=100, target=120, weight=100)
            ],
        )
    )
    assert bold.stretch
    plain = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Less scrap",
            owner_id=worker.id,
            key_results=[pb.NewKeyResult(title="Scrap %", baseline=4, target=2, weight=100)],
        )
    )
    assert not plain.stretch
    flipped = await goals.UpdateObjective(pb.UpdateObjectiveRequest(id=plain.id, stretch=True))
    assert flipped.stretch
    unflipped = await goals.UpdateObjective(pb.UpdateObjectiveRequest(id=plain.id, stretch=False))
    assert not unflipped.stretch
    assert (await goals.GetObjective(pb.GetObjectiveRequest(id=bold.id))).stretch
    kr = (await goals.ListKeyResults(pb.ListKeyResultsRequest(objective_id=bold.id))).key_results[0]
    await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=kr.id, value=118, week="2025-W48")
    )

    stats = await goals.GetPeopleStats(
        pb.GetPeopleStatsRequest(cycle_id=cycle.id, employee_ids=[worker.id, idle.id, worker.id])
    )
    assert not stats.closed
    by_id = {p.employee_id: p for p in stats.people}
    assert list(by_id) == [worker.id, idle.id]
    w = by_id[worker.id]
    assert {(o.objective_id, o.stretch) for o in w.objectives} == {
        (bold.id, True),
        (plain.id, False),
    }
    scores = {o.objective_id: o.score for o in w.objectives}
    assert scores[bold.id] == pytest.approx(0.9) and scores[plain.id] == 0.0
    assert sorted((k.baseline, k.target) for k in w.key_results) == [(4, 2), (100, 120)]
    assert w.key_result_count == 2 and w.score == pytest.approx(0.45)
    # 2 key results x 14 finished ISO weeks (2025-W40 .. 2026-W01); the one check-in was
    # recorded now, long after its week: late.
    assert (w.expected_check_ins, w.on_time_check_ins) == (28, 0)
    i = by_id[idle.id]
    assert (len(i.objectives), i.expected_check_ins, i.score) == (0, 0, 0.0)

    unknown = await rpc_error(goals.GetPeopleStats(pb.GetPeopleStatsRequest(cycle_id="nope")))
    assert unknown.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    too_many = await rpc_error(
        goals.GetPeopleStats(
            pb.GetPeopleStatsRequest(cycle_id=cycle.id, employee_ids=[str(n) for n in range(1001)])
        )
    )
    assert code_of(too_many) == "too_many_people"
