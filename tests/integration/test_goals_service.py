"""Goals service through its real gRPC API, with the real identity service, database and NATS."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import DecodeError

from services.common.errors import ERROR_CODE_KEY
from services.common.nats import GOALS_STREAM, connect
from services.goals import server as goals_server
from services.identity import server as identity_server
from stride.goals.v1 import goals_pb2 as pb
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.services_fixtures import running, service_settings

# A past quarter, so every week of it may be checked in.
Q4_2025 = ("2025-10-01", "2025-12-31")


@pytest.fixture
async def stack(database_url: str | None, data_dir: Path, nats_url: str):
    identity_rt = identity_server.runtime(service_settings(database_url, data_dir, nats_url))
    async with running(identity_rt) as identity_channel:
        goals_rt = goals_server.runtime(
            service_settings(
                database_url, data_dir, nats_url, identity_addr=f"127.0.0.1:{identity_rt.port}"
            )
        )
        async with running(goals_rt) as goals_channel:
            yield (
                identity_pb2_grpc.IdentityServiceStub(identity_channel),
                goals_pb2_grpc.GoalsServiceStub(goals_channel),
            )


async def make_kr(identity, goals, baseline: float = 0, target: float = 100):
    tag = uuid.uuid4().hex[:6]
    dept = await identity.CreateDepartment(ipb.CreateDepartmentRequest(name=f"Quality {tag}"))
    owner = await identity.CreateEmployee(
        ipb.CreateEmployeeRequest(employee_number=f"Q{tag}", name="Chen Jie", department_id=dept.id)
    )
    cycle = await goals.CreateCycle(
        pb.CreateCycleRequest(name=f"2025 Q4 {tag}", start_date=Q4_2025[0], end_date=Q4_2025[1])
    )
    objective = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id, title="Ship right first time", owner_id=owner.id
        )
    )
    kr = await goals.CreateKeyResult(
        pb.CreateKeyResultRequest(
            objective_id=objective.id,
            title="First-article pass rate",
            baseline=baseline,
            target=target,
            unit="%",
        )
    )
    return dept, owner, cycle, objective, kr


async def rpc_error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get(ERROR_CODE_KEY, "")


async def drain_checkin_events(
    nats_url: str, kr_id: str, expected: int
) -> list[pb.CheckInRecorded]:
    nc = await connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(
            "stride.goals.v1.checkin.recorded", durable=None, stream=GOALS_STREAM
        )
        found: list[pb.CheckInRecorded] = []
        empty_fetches = 0
        # Until the expected events arrived (bounded), then one more fetch to catch extras.
        while empty_fetches < (1 if len(found) >= expected else 10):
            try:
                msgs = await sub.fetch(100, timeout=1)
            except TimeoutError:
                empty_fetches += 1
                continue
            for m in msgs:
                await m.ack()
                try:
                    event = pb.CheckInRecorded.FromString(m.data)
                except DecodeError:  # another test's deliberately broken message
                    continue
                if event.key_result.id == kr_id:
                    assert m.headers and m.headers["Nats-Msg-Id"] == event.meta.event_id
                    found.append(event)
        return found
    finally:
        await nc.close()


async def test_two_lagging_weeks_put_the_key_result_at_risk(stack, nats_url: str) -> None:
    identity, goals = stack
    dept, owner, cycle, _objective, kr = await make_kr(identity, goals)
    assert kr.owner_id == owner.id and kr.department_id == dept.id
    assert kr.risk.status == pb.RISK_STATUS_NO_DATA and kr.current_value == 0

    # End of 2025-W46 (16 Nov) is day 47 of 92: the plan expects ~51 %.
    first = await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=kr.id, value=20, confidence=6, week="2025-W46")
    )
    assert first.risk.status == pb.RISK_STATUS_BEHIND and first.risk.behind_streak == 1
    second = await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=kr.id, value=25, confidence=4, week="2025-W47")
    )
    assert second.risk.status == pb.RISK_STATUS_AT_RISK and second.risk.behind_streak == 2
    assert second.risk.expected_value == pytest.approx(100 * 54 / 92)

    # Re-submitting the same week replaces it and keeps one check-in per week.
    again = await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=kr.id, value=26, confidence=4, week="2025-W47")
    )
    assert again.id == second.id and again.revision == 2
    listed = await goals.ListCheckIns(pb.ListCheckInsRequest(key_result_id=kr.id))
    assert [(c.week, c.value) for c in listed.check_ins] == [("2025-W46", 20), ("2025-W47", 26)]
    current = await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))
    assert current.current_value == 26 and current.risk.status == pb.RISK_STATUS_AT_RISK

    events = await drain_checkin_events(nats_url, kr.id, expected=3)
    assert [e.check_in.week for e in events] == ["2025-W46", "2025-W47", "2025-W47"]
    assert [e.check_in.risk.status for e in events] == [
        pb.RISK_STATUS_BEHIND,
        pb.RISK_STATUS_AT_RISK,
        pb.RISK_STATUS_AT_RISK,
    ]
    assert events[-1].cycle_id == cycle.id and events[-1].cycle_end_date == "2025-12-31"
    assert events[-1].time_zone == "Asia/Shanghai"
    assert len({e.meta.event_id for e in events}) == 3


async def test_bad_input_writes_nothing(stack) -> None:
    identity, goals = stack
    _, _owner, cycle, objective, kr = await make_kr(identity, goals)
    bad_checkins = [
        (pb.RecordCheckInRequest(key_result_id=kr.id, value=-1, week="2025-W46"), "negative_value"),
        (
            pb.RecordCheckInRequest(key_result_id=kr.id, value=float("nan"), week="2025-W46"),
            "invalid_value",
        ),
        (
            pb.RecordCheckInRequest(key_result_id=kr.id, value=1, confidence=11, week="2025-W46"),
            "invalid_confidence",
        ),
        (
            pb.RecordCheckInRequest(key_result_id=kr.id, value=1, week="2025-W30"),
            "week_outside_cycle",
        ),
        (pb.RecordCheckInRequest(key_result_id=kr.id, value=1, week="2099-W01"), "week_in_future"),
        (pb.RecordCheckInRequest(key_result_id=kr.id, value=1, week="46"), "invalid_week"),
        (pb.RecordCheckInRequest(key_result_id="nope", value=1), "key_result_not_found"),
    ]
    for request, code in bad_checkins:
        assert code_of(await rpc_error(goals.RecordCheckIn(request))) == code
    assert (
        code_of(
            await rpc_error(
                goals.CreateKeyResult(
                    pb.CreateKeyResultRequest(
                        objective_id=objective.id, title="x", baseline=5, target=5
                    )
                )
            )
        )
        == "target_equals_baseline"
    )
    assert (
        code_of(
            await rpc_error(
                goals.CreateObjective(
                    pb.CreateObjectiveRequest(cycle_id=cycle.id, title="x", owner_id="ghost")
                )
            )
        )
        == "unknown_owner"
    )
    assert (
        code_of(
            await rpc_error(
                goals.CreateCycle(
                    pb.CreateCycleRequest(name="x", start_date="2026-01-31", end_date="2026-01-01")
                )
            )
        )
        == "invalid_cycle_dates"
    )
    assert (
        code_of(
            await rpc_error(
                goals.CreateCycle(
                    pb.CreateCycleRequest(
                        name="x",
                        start_date="2026-01-01",
                        end_date="2026-03-31",
                        time_zone="Mars/Base",
                    )
                )
            )
        )
        == "invalid_time_zone"
    )

    closed = await goals.CloseCycle(pb.CloseCycleRequest(id=cycle.id))
    assert closed.status == pb.CYCLE_STATUS_CLOSED
    err = await rpc_error(
        goals.RecordCheckIn(pb.RecordCheckInRequest(key_result_id=kr.id, value=1, week="2025-W46"))
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and code_of(err) == "cycle_closed"
    listed = await goals.ListCheckIns(pb.ListCheckInsRequest(key_result_id=kr.id))
    assert list(listed.check_ins) == []
    unchanged = await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))
    assert unchanged.risk.status == pb.RISK_STATUS_NO_DATA
