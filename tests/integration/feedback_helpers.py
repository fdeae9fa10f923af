"""A small plant for the feedback tests, made through the real identity and goals services.

Plant (head: director)
  └─ Line 3 (head: lead): lead manages alice, bob, carol, dave
Quality: eve (manager: director)
HR: hr (role hr)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import grpc

from services.common.errors import ERROR_CODE_KEY
from stride.goals.v1 import goals_pb2 as gpb
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc


def code_of(err: grpc.aio.AioRpcError) -> str:
    return str(dict(err.trailing_metadata() or ()).get(ERROR_CODE_KEY, ""))


@dataclass
class Plant:
    plant: str
    line: str
    quality: str
    director: str
    lead: str
    alice: str
    bob: str
    carol: str
    dave: str
    eve: str
    frank: str
    hr: str
    # alice's objective and its key result (current cycle).
    objective: str
    key_result: str


async def make_plant(identity_channel: Any, goals_channel: Any) -> Plant:
    identity = identity_pb2_grpc.IdentityServiceStub(identity_channel)
    goals = goals_pb2_grpc.GoalsServiceStub(goals_channel)
    tag = uuid.uuid4().hex[:6]

    async def dept(name: str, parent: str = "") -> str:
        d = await identity.CreateDepartment(
            ipb.CreateDepartmentRequest(name=f"{name} {tag}", parent_id=parent)
        )
        return str(d.id)

    async def person(dept_id: str, manager: str = "", roles: tuple[str, ...] = ()) -> str:
        e = await identity.CreateEmployee(
            ipb.CreateEmployeeRequest(
                employee_number=f"F{uuid.uuid4().hex[:8]}",
                name="Test Person",
                department_id=dept_id,
                manager_id=manager,
                roles=list(roles),
            )
        )
        return str(e.id)

    plant = await dept("Plant")
    line = await dept("Line 3", plant)
    quality = await dept("Quality")
    hr_dept = await dept("HR")
    director = await person(plant)
    lead = await person(line, director)
    alice, bob, carol, dave = [await person(line, lead) for _ in range(4)]
    eve = await person(quality, director)
    frank = await person(quality, director)
    hr = await person(hr_dept, roles=("hr",))
    await identity.UpdateDepartment(ipb.UpdateDepartmentRequest(id=plant, head_id=director))
    await identity.UpdateDepartment(ipb.UpdateDepartmentRequest(id=line, head_id=lead))
    cycle = await goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Feedback {tag}", start_date="2026-10-01", end_date="2026-12-31"
        )
    )
    objective = await goals.CreateObjective(
        gpb.CreateObjectiveRequest(cycle_id=cycle.id, title="Scrap below 1 %", owner_id=alice)
    )
    kr = await goals.CreateKeyResult(
        gpb.CreateKeyResultRequest(
            objective_id=objective.id, title="Lines audited", baseline=0, target=100
        )
    )
    return Plant(
        plant,
        line,
        quality,
        director,
        lead,
        alice,
        bob,
        carol,
        dave,
        eve,
        frank,
        hr,
        objective.id,
        kr.id,
    )
