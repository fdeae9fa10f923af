"""The ladder's activities through real identity and goals (SQLite and PostgreSQL): the
skip-level manager from the manager chain, HR by role, and the training courses recommended
when the owner was at risk on a comparable key result in an earlier cycle."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.escalation import EscalationActivities
from services.common.settings import WorkerSettings
from services.goals import server as goals_server
from services.identity import server as identity_server
from stride.goals.v1 import goals_pb2 as pb
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.services_fixtures import running, service_settings
from workflows.ladder import Course, HrNoticeInput, LadderPolicy, SkipLevelInput


@dataclass
class Services:
    identity: identity_pb2_grpc.IdentityServiceStub
    goals: goals_pb2_grpc.GoalsServiceStub
    activities: EscalationActivities


@pytest.fixture
async def services(
    database_url: str | None, data_dir: Path, nats_url: str
) -> AsyncIterator[Services]:
    prefix = f"ld{uuid.uuid4().hex[:6]}_"
    identity_rt = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
    )
    async with running(identity_rt) as identity_channel:
        identity_addr = f"127.0.0.1:{identity_rt.port}"
        goals_rt = goals_server.runtime(
            service_settings(
                database_url, data_dir, nats_url, schema_prefix=prefix, identity_addr=identity_addr
            )
        )
        async with running(goals_rt) as goals_channel:
            settings = WorkerSettings(
                identity_addr=identity_addr,
                goals_addr=f"127.0.0.1:{goals_rt.port}",
                escalation_skip_level_days=4,
            )
            yield Services(
                identity_pb2_grpc.IdentityServiceStub(identity_channel),
                goals_pb2_grpc.GoalsServiceStub(goals_channel),
                EscalationActivities(settings),
            )


async def _person(
    s: Services, dept: str, name: str, manager: str = "", roles: tuple[str, ...] = ()
) -> ipb.Employee:
    return await s.identity.CreateEmployee(
        ipb.CreateEmployeeRequest(
            employee_number=f"L{uuid.uuid4().hex[:8]}",
            name=name,
            department_id=dept,
            manager_id=manager,
            roles=list(roles),
        )
    )


async def _key_result(
    s: Services, owner: str, quarter: tuple[str, str], unit: str, tag: str
) -> pb.KeyResult:
    cycle = await s.goals.CreateCycle(
        pb.CreateCycleRequest(
            name=f"{quarter[0]} {tag}", start_date=quarter[0], end_date=quarter[1]
        )
    )
    objective = await s.goals.CreateObjective(
        pb.CreateObjectiveRequest(cycle_id=cycle.id, title="Sell more", owner_id=owner)
    )
    return await s.goals.CreateKeyResult(
        pb.CreateKeyResultRequest(
            objective_id=objective.id, title="Units sold", baseline=0, target=100, unit=unit
        )
    )


async def test_skip_level_hr_and_courses_from_identity_and_goals(services: Services) -> None:
    s = services
    tag = uuid.uuid4().hex[:6]
    sales = (await s.identity.CreateDepartment(ipb.CreateDepartmentRequest(name=f"S {tag}"))).id
    people = (await s.identity.CreateDepartment(ipb.CreateDepartmentRequest(name=f"P {tag}"))).id
    director = await _person(s, sales, "Director")
    manager = await _person(s, sales, "Manager", director.id)
    owner = await _person(s, sales, "Owner", manager.id)
    hr = await _person(s, people, "HR partner", roles=("hr",))
    await s.identity.PutTrainingCourses(
        ipb.PutTrainingCoursesRequest(
            courses=[
                ipb.TrainingCourse(
                    id="milestones", title_zh="里程碑", title_en="Milestones", topics=["milestone"]
                ),
                ipb.TrainingCourse(
                    id="forecasting",
                    title_zh="销售预测",
                    title_en="Sales forecasting",
                    topics=["pcs"],
                    url="https://learn.example.com/forecasting",
                ),
            ]
        )
    )
    env = ActivityEnvironment()

    assert await env.run(s.activities.ladder_policy) == LadderPolicy(4, 5)
    found = await env.run(s.activities.skip_level_manager, SkipLevelInput(owner.id))
    assert found.skip_level_id == director.id
    # The manager's chain has one manager above: no skip-level manager.
    assert (
        await env.run(s.activities.skip_level_manager, SkipLevelInput(manager.id))
    ).skip_level_id == ""

    # The owner's key result this quarter, and one of last quarter in the same unit.
    current = await _key_result(s, owner.id, ("2025-10-01", "2025-12-31"), "pcs", tag)
    earlier = await _key_result(s, owner.id, ("2025-07-01", "2025-09-30"), "PCS", tag)
    notice_input = HrNoticeInput(owner.id, current.id, current.cycle_id, sales, "pcs")

    # Not behind before (no check-ins last quarter): HR is told, no course recommended.
    notice = await env.run(s.activities.hr_notice_recipients, notice_input)
    assert hr.id in notice.hr_ids and owner.id not in notice.hr_ids
    assert (notice.behind_before, notice.courses) == ([], [])

    # Two lagging weeks last quarter put that key result at risk.
    for week, value in (("2025-W36", 20), ("2025-W37", 25)):
        checked = await s.goals.RecordCheckIn(
            pb.RecordCheckInRequest(key_result_id=earlier.id, value=value, confidence=4, week=week)
        )
    assert checked.risk.status == pb.RISK_STATUS_AT_RISK
    notice = await env.run(s.activities.hr_notice_recipients, notice_input)
    assert notice.behind_before == [earlier.id]
    assert notice.courses == [
        Course(
            "forecasting",
            "销售预测",
            "Sales forecasting",
            "https://learn.example.com/forecasting",
            ["pcs"],
        )
    ]
