"""Organisation structure: manager chains, reports, moves, departures, department tree."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest

from services.identity import server
from stride.common.v1 import common_pb2
from stride.identity.v1 import identity_pb2 as pb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.services_fixtures import running, service_settings
from tests.integration.test_identity_service import error_code


@pytest.fixture
async def stub(database_url: str | None, data_dir: Path, nats_url: str):
    rt = server.runtime(service_settings(database_url, data_dir, nats_url))
    async with running(rt) as channel:
        yield identity_pb2_grpc.IdentityServiceStub(channel)


async def hire(stub, dept: str, number: str, manager: str = "", **extra) -> pb.Employee:
    return await stub.CreateEmployee(
        pb.CreateEmployeeRequest(
            employee_number=number,
            name=f"Person {number}",
            department_id=dept,
            manager_id=manager,
            **extra,
        )
    )


async def test_chain_reports_and_derived_manager_role(stub) -> None:
    tag = uuid.uuid4().hex[:6]
    dept = await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"Plant {tag}"))
    ceo = await hire(stub, dept.id, f"{tag}-0", roles=["executive"], hire_date="2015-03-01")
    # Four levels: ceo → 2 directors → 2 managers each → 3 operators each.
    directors = [await hire(stub, dept.id, f"{tag}-d{i}", ceo.id) for i in range(2)]
    managers = [
        await hire(stub, dept.id, f"{tag}-m{d}{i}", director.id)
        for d, director in enumerate(directors)
        for i in range(2)
    ]
    operators = [
        await hire(stub, dept.id, f"{tag}-o{m}{i}", manager.id, title="Operator")
        for m, manager in enumerate(managers)
        for i in range(3)
    ]
    assert ceo.roles == ["executive"] and ceo.hire_date == "2015-03-01"

    chain = await stub.GetManagerChain(pb.GetManagerChainRequest(employee_id=operators[0].id))
    assert [m.id for m in chain.managers] == [managers[0].id, directors[0].id, ceo.id]
    assert all(m.is_manager for m in chain.managers)

    direct = await stub.ListReports(pb.ListReportsRequest(employee_id=ceo.id))
    assert {e.id for e in direct.employees} == {d.id for d in directors}
    everyone: list[pb.Employee] = []
    token = ""
    while True:
        page = await stub.ListReports(
            pb.ListReportsRequest(
                employee_id=ceo.id,
                transitive=True,
                page=common_pb2.PageRequest(page_size=5, page_token=token),
            )
        )
        everyone += page.employees
        token = page.page.next_page_token
        if not token:
            break
    assert len(everyone) == 2 + 4 + 12
    assert {e.id for e in everyone} == {e.id for e in directors + managers + operators}
    by_id = {e.id: e for e in everyone}
    assert by_id[managers[0].id].is_manager and not by_id[operators[0].id].is_manager

    # A loop in the management chain is refused and nothing changes.
    err = await _error(
        stub.UpdateEmployee(pb.UpdateEmployeeRequest(id=ceo.id, manager_id=operators[0].id))
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and error_code(err) == "manager_cycle"
    err = await _error(stub.UpdateEmployee(pb.UpdateEmployeeRequest(id=ceo.id, manager_id=ceo.id)))
    assert error_code(err) == "manager_is_self"
    assert (await stub.GetEmployee(pb.GetEmployeeRequest(id=ceo.id))).manager_id == ""


async def test_move_and_departure_keep_history(stub) -> None:
    tag = uuid.uuid4().hex[:6]
    plant = await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"Plant {tag}"))
    quality = await stub.CreateDepartment(
        pb.CreateDepartmentRequest(name="Quality", parent_id=plant.id, stride_enabled=False)
    )
    assert quality.stride_enabled is False and plant.stride_enabled is True
    boss = await hire(stub, plant.id, f"{tag}-b")
    worker = await hire(stub, plant.id, f"{tag}-w", boss.id)

    moved = await stub.UpdateEmployee(
        pb.UpdateEmployeeRequest(id=worker.id, department_id=quality.id, title="Inspector")
    )
    assert moved.department_id == quality.id and moved.title == "Inspector"
    left = await stub.UpdateEmployee(
        pb.UpdateEmployeeRequest(id=worker.id, status=pb.EMPLOYEE_STATUS_LEFT)
    )
    assert left.status == pb.EMPLOYEE_STATUS_LEFT
    # Still readable (history), but no longer anybody's report and not a valid manager.
    assert (await stub.GetEmployee(pb.GetEmployeeRequest(id=worker.id))).name == worker.name
    reports = await stub.ListReports(pb.ListReportsRequest(employee_id=boss.id))
    assert list(reports.employees) == []
    err = await _error(hire(stub, plant.id, f"{tag}-x", worker.id))
    assert error_code(err) == "inactive_manager"

    head = await stub.UpdateDepartment(pb.UpdateDepartmentRequest(id=quality.id, head_id=boss.id))
    assert head.head_id == boss.id
    err = await _error(
        stub.UpdateDepartment(pb.UpdateDepartmentRequest(id=quality.id, head_id="x"))
    )
    assert error_code(err) == "unknown_head"
    err = await _error(
        stub.UpdateDepartment(pb.UpdateDepartmentRequest(id=plant.id, parent_id=quality.id))
    )
    assert error_code(err) == "department_cycle"
    err = await _error(hire(stub, plant.id, f"{tag}-r", roles=["superuser"]))
    assert error_code(err) == "unknown_role"

    found = await stub.LookupEmployees(
        pb.LookupEmployeesRequest(employee_numbers=[f"{tag}-b", f"{tag}-w", "nobody"])
    )
    assert sorted(e.employee_number for e in found.employees) == [f"{tag}-b", f"{tag}-w"]


async def _error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


async def test_reach_folds_whole_departments_and_lists_the_rest(stub) -> None:
    """A manager's organisation comes back as whole departments where every active member is
    theirs, the other reports one by one, and the headed departments with their children."""
    tag = uuid.uuid4().hex[:6]
    plant = await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"Plant {tag}"))
    assembly = await stub.CreateDepartment(
        pb.CreateDepartmentRequest(name="Assembly", parent_id=plant.id)
    )
    paint = await stub.CreateDepartment(
        pb.CreateDepartmentRequest(name="Paint", parent_id=plant.id)
    )
    logistics = await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"Logistics {tag}"))
    ceo = await hire(stub, plant.id, f"{tag}-ceo")
    director = await hire(stub, assembly.id, f"{tag}-dir", ceo.id)
    ops = [await hire(stub, assembly.id, f"{tag}-op{i}", director.id) for i in range(2)]
    gone = await hire(stub, assembly.id, f"{tag}-gone", director.id)
    await stub.UpdateEmployee(pb.UpdateEmployeeRequest(id=gone.id, status=pb.EMPLOYEE_STATUS_LEFT))
    painter = await hire(stub, paint.id, f"{tag}-paint", ceo.id)
    driver = await hire(stub, logistics.id, f"{tag}-drv", director.id)  # across departments
    other_boss = await hire(stub, logistics.id, f"{tag}-boss")
    await hire(stub, logistics.id, f"{tag}-out", other_boss.id)
    await stub.UpdateDepartment(pb.UpdateDepartmentRequest(id=plant.id, head_id=ceo.id))
    await stub.UpdateDepartment(pb.UpdateDepartmentRequest(id=assembly.id, head_id=director.id))

    top = await stub.GetReach(pb.GetReachRequest(employee_id=ceo.id, transitive=True))
    assert sorted(top.report_department_ids) == sorted([assembly.id, paint.id])
    assert list(top.report_ids) == [driver.id]  # Logistics has people who are not the CEO's
    assert sorted(top.headed_department_ids) == sorted([plant.id, assembly.id, paint.id])

    mid = await stub.GetReach(pb.GetReachRequest(employee_id=director.id, transitive=True))
    assert list(mid.report_department_ids) == [assembly.id]
    assert list(mid.report_ids) == [driver.id]
    assert list(mid.headed_department_ids) == [assembly.id]

    direct = await stub.GetReach(pb.GetReachRequest(employee_id=ceo.id))
    assert list(direct.report_department_ids) == [paint.id]  # ops report to the director
    assert list(direct.report_ids) == [director.id]
    assert not any(
        e in (*direct.report_ids, *top.report_ids) for e in (gone.id, ops[0].id, painter.id)
    )

    nobody = await stub.GetReach(pb.GetReachRequest(employee_id=ops[0].id, transitive=True))
    assert not (nobody.report_department_ids or nobody.report_ids or nobody.headed_department_ids)
    err = await _error(stub.GetReach(pb.GetReachRequest(employee_id="nobody", transitive=True)))
    assert err.code() == grpc.StatusCode.NOT_FOUND
