"""Blockers addressed to a department: goals stores one row per check-in blocker naming a
department (with the check-in), lists a department's open ones and resolves them with a
``blocker.resolved`` event. goals + identity over gRPC, NATS for the events."""

from __future__ import annotations

import grpc

from stride.goals.v1 import goals_pb2 as pb
from tests.integration.goals_helpers import department, employee, events
from tests.integration.test_goals_service import Q4_2025, code_of, rpc_error
from tests.integration.test_goals_service import stack as stack  # the fixture


async def test_blockers_naming_a_department_are_listed_and_resolved_once(
    stack, nats_url: str
) -> None:
    identity, goals = stack
    engineering = await department(identity, "Engineering")
    purchasing = await department(identity, "Purchasing")
    owner = await employee(identity, engineering)
    cycle = await goals.CreateCycle(
        pb.CreateCycleRequest(name="2025 Q4", start_date=Q4_2025[0], end_date=Q4_2025[1])
    )
    objective = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Line B uptime",
            owner_id=owner.id,
            key_results=[pb.NewKeyResult(title="Output", baseline=0, target=100, weight=100)],
        )
    )
    (kr,) = (
        await goals.ListKeyResults(pb.ListKeyResultsRequest(objective_id=objective.id))
    ).key_results

    def check_in(value: float, *blockers: pb.Blocker) -> pb.RecordCheckInRequest:
        return pb.RecordCheckInRequest(
            key_result_id=kr.id, value=value, confidence=5, week="2025-W46", blockers=blockers
        )

    bearings = pb.Blocker(text="Imported bearings out of stock", department_id=purchasing.id)
    unaddressed = pb.Blocker(text="Night shift short of one operator")
    first = await goals.RecordCheckIn(check_in(10, bearings, unaddressed))
    addressed, loose = first.blockers
    assert addressed.id and addressed.department_id == purchasing.id and loose.id == ""

    # Re-submitting the week with the same blocker keeps one row (same id).
    again = await goals.RecordCheckIn(check_in(12, bearings))
    assert [b.id for b in again.blockers] == [addressed.id]
    listed = await goals.ListBlockers(pb.ListBlockersRequest(department_id=purchasing.id))
    (row,) = listed.blockers
    assert (row.id, row.text, row.key_result_id, row.check_in_id, row.week) == (
        addressed.id,
        "Imported bearings out of stock",
        kr.id,
        first.id,
        "2025-W46",
    )
    assert (row.owner_id, row.from_department_id, row.cycle_id) == (
        owner.id,
        engineering.id,
        cycle.id,
    )
    assert row.resolved_at == ""
    assert (
        await goals.ListBlockers(pb.ListBlockersRequest(department_id=engineering.id))
    ).blockers == []

    # Another department cannot resolve it; purchasing can, once (a repeat changes nothing).
    err = await rpc_error(
        goals.ResolveBlocker(
            pb.ResolveBlockerRequest(department_id=engineering.id, blocker_id=row.id)
        )
    )
    assert (err.code(), code_of(err)) == (grpc.StatusCode.NOT_FOUND, "blocker_not_found")
    err = await rpc_error(goals.ResolveBlocker(pb.ResolveBlockerRequest(blocker_id=row.id)))
    assert (err.code(), code_of(err)) == (grpc.StatusCode.INVALID_ARGUMENT, "department_required")
    resolved = await goals.ResolveBlocker(
        pb.ResolveBlockerRequest(
            department_id=purchasing.id, blocker_id=row.id, resolved_by="emp-x"
        )
    )
    assert resolved.resolved_at and resolved.resolved_by == "emp-x"
    repeat = await goals.ResolveBlocker(
        pb.ResolveBlockerRequest(
            department_id=purchasing.id, blocker_id=row.id, resolved_by="emp-y"
        )
    )
    assert repeat == resolved
    assert (
        await goals.ListBlockers(pb.ListBlockersRequest(department_id=purchasing.id))
    ).blockers == []
    everything = await goals.ListBlockers(
        pb.ListBlockersRequest(department_id=purchasing.id, include_resolved=True)
    )
    assert [b.id for b in everything.blockers] == [row.id]

    (event,) = await events(
        nats_url,
        "stride.goals.v1.blocker.resolved",
        pb.BlockerResolved,
        lambda e: e.blocker.key_result_id == kr.id,
        expected=1,
    )
    assert event.blocker == resolved and event.meta.event_id
