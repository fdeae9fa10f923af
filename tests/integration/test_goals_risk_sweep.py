"""The weekly risk sweep (SweepRisk) through the real goals service, database and NATS."""

from __future__ import annotations

import grpc
import pytest

from stride.goals.v1 import goals_pb2 as pb
from tests.integration.goals_helpers import events
from tests.integration.test_goals_service import code_of, make_kr, rpc_error
from tests.integration.test_goals_service import stack as stack  # the fixture


async def _sweep_all(goals, cycle_id: str, week: str, batch: int) -> list[pb.SweepRiskResponse]:
    """Every batch of a sweep, following the page tokens."""
    out: list[pb.SweepRiskResponse] = []
    token = ""
    while True:
        resp = await goals.SweepRisk(
            pb.SweepRiskRequest(cycle_id=cycle_id, week=week, batch_size=batch, page_token=token)
        )
        out.append(resp)
        token = resp.next_page_token
        if not token:
            return out


def _total(batches: list[pb.SweepRiskResponse], field: str) -> int:
    return sum(getattr(b, field) for b in batches)


async def test_a_silent_week_is_swept_once_in_batches(stack, nats_url: str) -> None:
    identity, goals = stack
    _dept, _owner, cycle, objective, silent = await make_kr(identity, goals)

    async def another() -> pb.KeyResult:
        return await goals.CreateKeyResult(
            pb.CreateKeyResultRequest(
                objective_id=objective.id, title="Scrap rate", baseline=0, target=100, unit="%"
            )
        )

    never, checked = await another(), await another()
    # W46: 20 % of the ~51 % expected — behind. The owner then falls silent for W47.
    behind = await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=silent.id, value=20, confidence=5, week="2025-W46")
    )
    assert behind.risk.status == pb.RISK_STATUS_BEHIND
    # Checked in for W47 on plan: not silent.
    await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=checked.id, value=60, confidence=7, week="2025-W47")
    )

    first = await _sweep_all(goals, cycle.id, "2025-W47", batch=2)
    assert len(first) == 2  # three key results, two per batch
    assert _total(first, "examined") == 3
    assert _total(first, "swept") == 1 and _total(first, "at_risk") == 1
    assert _total(first, "skipped") == 2  # never checked in; checked in for the week

    swept = await goals.GetKeyResult(pb.GetKeyResultRequest(id=silent.id))
    assert swept.risk.status == pb.RISK_STATUS_AT_RISK and swept.risk.behind_streak == 2
    assert swept.risk.rule_version == 1
    assert swept.risk.expected_value == pytest.approx(100 * 54 / 92)
    # Not a check-in: the value, the latest week and the check-ins are as they were.
    assert swept.current_value == 20 and swept.last_check_in_week == "2025-W46"
    listed = await goals.ListCheckIns(pb.ListCheckInsRequest(key_result_id=silent.id))
    assert [c.week for c in listed.check_ins] == ["2025-W46"]
    untouched = await goals.GetKeyResult(pb.GetKeyResultRequest(id=never.id))
    assert untouched.risk.status == pb.RISK_STATUS_NO_DATA

    # Sweeping the same week again changes nothing and emits nothing.
    second = await _sweep_all(goals, cycle.id, "2025-W47", batch=500)
    assert _total(second, "swept") == 0 and _total(second, "already_swept") == 1
    again = await goals.GetKeyResult(pb.GetKeyResultRequest(id=silent.id))
    assert again.risk == swept.risk and again.updated_at == swept.updated_at

    found = await events(
        nats_url,
        "stride.goals.v1.kr.risk_swept",
        pb.KeyResultRiskSwept,
        lambda e: e.cycle_id == cycle.id,
        expected=1,
    )
    assert len(found) == 1
    event = found[0]
    assert event.key_result.id == silent.id and event.week == "2025-W47"
    assert event.last_check_in_week == "2025-W46" and event.key_result.current_value == 20
    assert event.key_result.risk.status == pb.RISK_STATUS_AT_RISK
    assert event.cycle_end_date == "2025-12-31" and event.time_zone


async def test_sweep_refuses_bad_input(stack) -> None:
    identity, goals = stack
    _dept, _owner, cycle, _objective, _kr = await make_kr(identity, goals)

    async def refused(
        request: pb.SweepRiskRequest, code: str, status=grpc.StatusCode.INVALID_ARGUMENT
    ):
        err = await rpc_error(goals.SweepRisk(request))
        assert err.code() == status and code_of(err) == code

    await refused(pb.SweepRiskRequest(cycle_id=cycle.id, week="2025-47"), "invalid_week")
    await refused(pb.SweepRiskRequest(cycle_id=cycle.id, batch_size=5000), "invalid_batch_size")
    await refused(pb.SweepRiskRequest(cycle_id=cycle.id, page_token="x" * 80), "invalid_page_token")
    await refused(
        pb.SweepRiskRequest(cycle_id="no-such-cycle"), "cycle_not_found", grpc.StatusCode.NOT_FOUND
    )
    # A week that is not over yet is never swept.
    await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=_kr.id, value=20, confidence=5, week="2025-W46")
    )
    await refused(pb.SweepRiskRequest(cycle_id=cycle.id, week="2999-W01"), "week_not_over")


async def test_a_late_check_in_replaces_the_swept_assessment_and_closed_cycles_are_left(
    stack,
) -> None:
    identity, goals = stack
    _dept, _owner, cycle, _objective, kr = await make_kr(identity, goals)
    await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=kr.id, value=50, confidence=7, week="2025-W46")
    )
    # On plan in W46; silent for W47..W49 while the plan climbs: at risk after the third.
    (w47,) = await _sweep_all(goals, cycle.id, "2025-W47", batch=10)
    assert (w47.swept, w47.on_track) == (1, 1)
    (w49,) = await _sweep_all(goals, cycle.id, "2025-W49", batch=10)
    assert (w49.swept, w49.at_risk) == (1, 1)
    swept = await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))
    assert swept.risk.status == pb.RISK_STATUS_AT_RISK and swept.risk.behind_streak >= 2
    # An earlier week after a later one was swept: nothing to do.
    (w48,) = await _sweep_all(goals, cycle.id, "2025-W48", batch=10)
    assert (w48.swept, w48.already_swept) == (0, 1)

    # The owner checks in late for W49, on plan: the real check-in decides again.
    await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=kr.id, value=80, confidence=8, week="2025-W49")
    )
    now = await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))
    assert now.risk.status == pb.RISK_STATUS_ON_TRACK and now.last_check_in_week == "2025-W49"
    (again,) = await _sweep_all(goals, cycle.id, "2025-W49", batch=10)
    assert again.swept == 0 and again.skipped == 1  # checked in for the week

    # A closed cycle is no longer swept.
    await goals.CloseCycle(pb.CloseCycleRequest(id=cycle.id))
    (closed,) = await _sweep_all(goals, cycle.id, "2025-W50", batch=10)
    assert closed.examined == 0 and closed.next_page_token == ""
