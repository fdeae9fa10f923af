"""Identity service through its real gRPC API, database and NATS."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy

from services.common.errors import ERROR_CODE_KEY
from services.common.nats import IDENTITY_STREAM, connect
from services.identity import server
from stride.common.v1 import common_pb2
from stride.identity.v1 import identity_pb2 as pb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.services_fixtures import running, service_settings


def error_code(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get(ERROR_CODE_KEY, "")


@pytest.fixture
async def identity(database_url: str | None, data_dir: Path, nats_url: str):
    settings = service_settings(database_url, data_dir, nats_url)
    rt = server.runtime(settings)
    async with running(rt) as channel:
        yield identity_pb2_grpc.IdentityServiceStub(channel), rt


async def test_departments_and_employees_with_events(identity, nats_url: str) -> None:
    stub, _rt = identity
    # Only this test's events: the stream holds those of every test of the session before.
    nc: Client = await connect(nats_url)
    js = nc.jetstream()
    first = (await js.stream_info(IDENTITY_STREAM)).state.last_seq + 1
    tag = uuid.uuid4().hex[:6]
    dept = await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"Quality {tag}"))
    boss = await stub.CreateEmployee(
        pb.CreateEmployeeRequest(employee_number=f"B{tag}", name="Wang Fang", department_id=dept.id)
    )
    worker = await stub.CreateEmployee(
        pb.CreateEmployeeRequest(
            employee_number=f"W{tag}", name=" Li  Lei ", department_id=dept.id, manager_id=boss.id
        )
    )
    assert worker.name == "Li Lei" and worker.manager_id == boss.id
    assert worker.status == pb.EMPLOYEE_STATUS_ACTIVE
    reports = await stub.ListEmployees(pb.ListEmployeesRequest(manager_id=boss.id))
    assert [e.id for e in reports.employees] == [worker.id]
    assert (await stub.GetEmployee(pb.GetEmployeeRequest(id=boss.id))).name == "Wang Fang"

    # Events reach JetStream through the outbox relay.
    try:
        sub = await js.pull_subscribe(
            "stride.identity.v1.employee.created",
            durable=None,
            stream=IDENTITY_STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=first
            ),
        )
        seen: set[str] = set()
        for _ in range(50):
            try:
                msgs = await sub.fetch(10, timeout=1)
            except TimeoutError:
                continue
            for m in msgs:
                ev = pb.EmployeeCreated.FromString(m.data)
                assert m.headers and m.headers["Nats-Msg-Id"] == ev.meta.event_id
                seen.add(ev.employee.id)
                await m.ack()
            if {boss.id, worker.id} <= seen:
                break
        assert {boss.id, worker.id} <= seen
    finally:
        await nc.close()


async def test_bad_input_is_rejected_and_writes_nothing(identity) -> None:
    stub, _ = identity
    tag = uuid.uuid4().hex[:6]
    dept = await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"PMC {tag}"))
    await stub.CreateEmployee(
        pb.CreateEmployeeRequest(employee_number=f"E{tag}", name="Zhao", department_id=dept.id)
    )
    cases = [
        (
            pb.CreateEmployeeRequest(employee_number=f"E{tag}", name="Dup", department_id=dept.id),
            grpc.StatusCode.ALREADY_EXISTS,
            "employee_number_taken",
        ),
        (
            pb.CreateEmployeeRequest(employee_number=f"X{tag}", name="A", department_id="nope"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown_department",
        ),
        (
            pb.CreateEmployeeRequest(
                employee_number=f"Y{tag}", name="B", department_id=dept.id, manager_id="nope"
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown_manager",
        ),
        (
            pb.CreateEmployeeRequest(employee_number=f"Z{tag}", name="  ", department_id=dept.id),
            grpc.StatusCode.INVALID_ARGUMENT,
            "name_required",
        ),
    ]
    for request, status, code in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateEmployee(request)
        assert err.value.code() == status
        assert error_code(err.value) == code
    listed = await stub.ListEmployees(pb.ListEmployeesRequest(department_id=dept.id))
    assert [e.employee_number for e in listed.employees] == [f"E{tag}"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"PMC {tag}"))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetDepartment(pb.GetDepartmentRequest(id="missing"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_code(err.value) == "department_not_found"


async def test_paging(identity) -> None:
    stub, _ = identity
    tag = uuid.uuid4().hex[:6]
    parent = await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"Plant {tag}"))
    for i in range(5):
        await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"L{i}", parent_id=parent.id))
    names: list[str] = []
    token = ""
    while True:
        page = await stub.ListDepartments(
            pb.ListDepartmentsRequest(page=common_pb2.PageRequest(page_size=2, page_token=token))
        )
        # Only this test's departments (others of the session share the database).
        names += [d.name for d in page.departments if d.parent_id == parent.id]
        token = page.page.next_page_token
        if not token:
            break
    assert names == [f"L{i}" for i in range(5)]


async def test_departments_below_one(identity) -> None:
    stub, _ = identity
    tag = uuid.uuid4().hex[:6]
    plant = await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"Plant {tag}"))
    line = await stub.CreateDepartment(pb.CreateDepartmentRequest(name="Line", parent_id=plant.id))
    cell = await stub.CreateDepartment(pb.CreateDepartmentRequest(name="Cell", parent_id=line.id))
    await stub.CreateDepartment(pb.CreateDepartmentRequest(name=f"Office {tag}"))

    async def below(root_id: str, page_size: int = 200) -> list[str]:
        names: list[str] = []
        token = ""
        while True:
            page = await stub.ListDepartments(
                pb.ListDepartmentsRequest(
                    page=common_pb2.PageRequest(page_size=page_size, page_token=token),
                    root_id=root_id,
                )
            )
            names += [d.name for d in page.departments]
            token = page.page.next_page_token
            if not token:
                return names

    assert await below(plant.id) == [f"Plant {tag}", "Line", "Cell"]
    assert await below(plant.id, page_size=2) == [f"Plant {tag}", "Line", "Cell"]
    assert await below(line.id) == ["Line", "Cell"]
    assert await below(cell.id) == ["Cell"]
    assert await below("missing") == []
