"""OrgSyncService against the real identity runtime (PostgreSQL or SQLite, NATS)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from sqlalchemy import func, select

from services.common import db
from services.common.nats import IDENTITY_STREAM, connect
from services.common.runtime import ServiceRuntime
from services.identity import server
from services.identity.models import OUTBOX, Department, Employee
from services.identity.sync.client import OrgSyncClient
from services.identity.sync.data import Snapshot, SourceDepartment, SourcePerson
from services.identity.sync.tables import OrgSyncBatch, OrgSyncRun
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc, org_sync_pb2
from tests.integration.services_fixtures import running, service_settings
from tests.integration.test_identity_service import error_code


class Identity:
    def __init__(self, rt: ServiceRuntime, channel: grpc.aio.Channel) -> None:
        self.rt = rt
        self.address = f"127.0.0.1:{rt.port}"
        self.stub = identity_pb2_grpc.IdentityServiceStub(channel)

    async def count(self, what: object) -> int:
        assert self.rt.engine is not None
        async with db.session_factory(self.rt.engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]

    async def employees(self) -> dict[str, Employee]:
        assert self.rt.engine is not None
        async with db.session_factory(self.rt.engine)() as session:
            return {e.employee_number: e for e in (await session.scalars(select(Employee))).all()}


@pytest.fixture
async def identity(
    database_url: str | None, data_dir: Path, nats_url: str
) -> AsyncIterator[Identity]:
    # Own schema: a sync deactivates everyone the source does not list.
    prefix = f"os{uuid.uuid4().hex[:8]}_"
    rt = server.runtime(service_settings(database_url, data_dir, nats_url, schema_prefix=prefix))
    async with running(rt) as channel:
        yield Identity(rt, channel)


def org(n_workers: int = 6, *, tag: str = "") -> Snapshot:
    depts = (
        SourceDepartment("Acme", "Acme", "", 1),
        SourceDepartment("Acme/Plant", "Plant", "Acme", 2),
        SourceDepartment("Acme/Plant/Quality", "Quality", "Acme/Plant", 3),
    )
    people = [
        SourcePerson(1, "E001", "Boss", "Acme", hire_date="2015-03-01", external_id=f"u1{tag}"),
        SourcePerson(2, "E002", "Plant Head", "Acme/Plant", "E001", title="Director"),
    ]
    for i in range(n_workers):
        people.append(
            SourcePerson(
                3 + i,
                f"E1{i:02d}",
                f"Worker {i}",
                "Acme/Plant/Quality",
                "E002",
                email=f"w{i}@acme.example",
                title="Inspector",
            )
        )
    return Snapshot(departments=depts, people=tuple(people))


async def test_plan_apply_replay_and_events(identity: Identity, nats_url: str) -> None:
    async with OrgSyncClient(identity.address, source="file") as client:
        planned = await client.plan(org(6), batch_size=4)
        assert planned.status == "planned"
        assert (planned.counts.created, planned.counts.departments_created) == (8, 3)
        assert planned.operation_count == 11 and planned.batch_count == 3
        # Batches apply in order; out of order is refused and writes nothing.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.apply_batch(planned.run_id, 1)
        assert error_code(err.value) == "previous_batch_not_applied"
        first = await client.apply_batch(planned.run_id, 0)
        assert (first.replayed, first.batches_applied, first.status) == (False, 1, "applying")
        again = await client.apply_batch(planned.run_id, 0)  # a retry after a lost answer
        assert again.replayed and again.batches_applied == 1
        # Two concurrent attempts at the same batch: one applies, the other replays.
        results = await asyncio.gather(
            client.apply_batch(planned.run_id, 1), client.apply_batch(planned.run_id, 1)
        )
        assert sorted(r.replayed for r in results) == [False, True]
        last = await client.apply_batch(planned.run_id, 2)
        assert last.status == "applied"
        report = await client.report(planned.run_id)
        assert report.status == "applied" and report.batches_applied == 3
        assert {r.key for r in report.rows if r.action == "created"} >= {"E001", "E100"}
        # Planning the same run id again returns the stored plan (a retried activity).
        retry = await client.plan(org(6), run_id=planned.run_id)
        assert retry.run_id == planned.run_id and retry.status == "applied"
    people = await identity.employees()
    assert len(people) == 8 and await identity.count(Department) == 3
    assert people["E100"].manager_id == people["E002"].id
    assert people["E001"].external_id == "u1" and str(people["E001"].hire_date) == "2015-03-01"

    # The events went through the outbox to JetStream, once each.
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe("stride.identity.v1.employee.created", stream=IDENTITY_STREAM)
        ids = {e.id for e in people.values()}
        seen: list[str] = []
        for _ in range(40):
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except TimeoutError:
                if set(seen) >= ids:
                    break
                continue
            for m in msgs:
                event = ipb.EmployeeCreated.FromString(m.data)
                if event.employee.id in ids:
                    seen.append(event.employee.id)
                await m.ack()
        assert sorted(seen) == sorted(ids)
    finally:
        await nc.close()

    # Unchanged source: nothing to apply. A changed one: moves, updates, deactivations.
    async with OrgSyncClient(identity.address, source="file") as client:
        same = await client.plan(org(6))
        assert same.operation_count == 0 and same.status == "applied"
        assert same.counts.unchanged == 8
        changed = Snapshot(
            departments=org().departments,
            people=(
                *org(4).people[:-1],  # E103 and E104, E105 are gone
                SourcePerson(9, "E103", "Worker 3", "Acme/Plant", "E001", title="Inspector"),
                SourcePerson(10, "E200", "New", "Acme/Plant/Quality", "E103"),
            ),
        )
        # 2 of 8 active people leave: more than the default share (20 %), so it is allowed
        # explicitly (the guard itself: test_the_mass_deactivation_guard_is_a_share).
        report = await client.sync(changed, allow_mass_deactivation=True)
    c = report.counts
    # E200 new; E103 moved (department, manager, email cleared); E104, E105 missing; the rest
    # as before.
    assert (c.created, c.updated, c.moved, c.deactivated, c.unchanged, c.rejected) == (
        1,
        0,
        1,
        2,
        5,
        0,
    )
    moved = next(r for r in report.rows if r.key == "E103")
    assert moved.action == "moved"
    assert set(moved.changed_fields) == {"email", "department_id", "manager_id"}
    people = await identity.employees()
    assert people["E104"].status == "left" and people["E105"].status == "left"
    assert people["E103"].department_id != people["E100"].department_id
    assert people["E200"].manager_id == people["E103"].id


async def test_dry_run_changes_nothing_and_is_in_the_runs_list(identity: Identity) -> None:
    async with OrgSyncClient(identity.address, source="file") as client:
        report = await client.plan(org(3), dry_run=True)
        assert report.status == "dry_run" and report.dry_run and report.counts.created == 5
        assert report.batch_count == 1 and len(report.rows) == 8
        for table in (Department, Employee, OrgSyncBatch, OUTBOX):
            assert await identity.count(table) == 0, table
        # Recorded with its report (and nothing to apply), so the runs list shows it.
        assert await identity.count(OrgSyncRun) == 1
        stored = await client.report(report.run_id)
        assert stored.status == "dry_run" and stored.dry_run and len(stored.rows) == 8
        runs = await client.stub.ListOrgSyncRuns(org_sync_pb2.ListOrgSyncRunsRequest())
        assert [(r.run_id, r.status) for r in runs.runs] == [(report.run_id, "dry_run")]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.apply_batch(report.run_id, 0)
        assert error_code(err.value) == "invalid_batch"


async def test_superseded_runs_bad_requests_and_the_mass_deactivation_guard(
    identity: Identity,
) -> None:
    async with OrgSyncClient(identity.address, source="file") as client:
        old = await client.plan(org(3))
        new = await client.plan(org(3))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.apply_batch(old.run_id, 0)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_code(err.value) == "org_sync_run_superseded"
        assert (await client.report(old.run_id)).status == "superseded"
        await client.apply_batch(new.run_id, 0)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.apply_batch(str(uuid.uuid4()), 0)
        assert error_code(err.value) == "org_sync_run_not_found"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.apply_batch(new.run_id, 7)
        assert error_code(err.value) == "invalid_batch"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.plan(org(3), run_id="not-a-uuid")
        assert error_code(err.value) == "invalid_run_id"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.plan(org(3), batch_size=-1)
        assert error_code(err.value) == "invalid_batch_size"

    async with OrgSyncClient(identity.address, source="file") as client:
        await client.sync(org(20))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.plan(Snapshot(departments=org().departments))
        assert error_code(err.value) == "mass_deactivation"
        allowed = await client.plan(
            Snapshot(departments=org().departments), allow_mass_deactivation=True, dry_run=True
        )
        assert allowed.counts.deactivated == 22
    async with OrgSyncClient(identity.address, source="BAD NAME") as client:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.plan(org(1))
        assert error_code(err.value) == "invalid_source"


async def test_org_changed_since_plan_refuses_the_whole_batch(identity: Identity) -> None:
    async with OrgSyncClient(identity.address, source="file") as client:
        planned = await client.plan(org(3))
        # Someone creates a department and a person with a planned number by hand.
        dept = await identity.stub.CreateDepartment(ipb.CreateDepartmentRequest(name="Elsewhere"))
        await identity.stub.CreateEmployee(
            ipb.CreateEmployeeRequest(employee_number="E101", name="Hand", department_id=dept.id)
        )
        outbox_before = await identity.count(OUTBOX)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.apply_batch(planned.run_id, 0)
        assert error_code(err.value) == "org_changed_since_plan"
        assert "E101" not in (err.value.details() or "")  # no personal data in errors
        assert await identity.count(Employee) == 1 and await identity.count(Department) == 1
        assert await identity.count(OUTBOX) == outbox_before
        # The next sync plans from the new state; E101 is now known and gets updated.
        report = await client.sync(org(3))
        assert report.status == "applied" and report.counts.created == 4
        assert report.counts.moved == 1  # E101: department and manager from the source
    people = await identity.employees()
    assert people["E101"].name == "Worker 1" and people["E101"].manager_id == people["E002"].id


async def test_logins_and_emails_stay_unique_without_case_in_an_import(
    identity: Identity,
) -> None:
    """Duplicates that differ only in case (or width) are reported row by row, never a 500;
    a number in other case is the same person; an e-mail taken by hand meanwhile refuses the
    batch like any other change since the plan."""
    base = org(2)
    async with OrgSyncClient(identity.address, source="file") as client:
        await client.sync(base)
        dept = next(p for p in base.people if p.employee_number == "E100").department_key
        messy = Snapshot(
            departments=base.departments,
            people=(
                *[replace(p, employee_number=p.employee_number.lower()) for p in base.people],
                SourcePerson(10, "N-1", "One", dept, "E002", email="n1@acme.example"),
                SourcePerson(11, "n-1", "One again", dept, "E002", email="n1b@acme.example"),
                SourcePerson(12, "N-2", "Two", dept, "E002", email="dup@acme.example"),
                SourcePerson(13, "N-3", "Three", dept, "E002", email="DUP@acme.example"),
                # Full-width Ｗ: E100's w0@acme.example
                SourcePerson(14, "N-4", "Four", dept, "E002", email="Ｗ0@acme.example"),
                SourcePerson(15, "N-5", "Five", dept, "E002", email="n5@acme.example"),
            ),
        )
        report = await client.sync(messy)
        assert report.status == "applied"
        rejected = {r.key: r.reason_code for r in report.rows if r.action == "rejected"}
        assert rejected == {
            "N-1": "duplicate_employee_number",
            "N-2": "duplicate_email",
            "N-3": "duplicate_email",
            "N-4": "duplicate_email",
            "E100": "duplicate_email",  # every row with the address
        }
        assert report.counts.deactivated == 0 and report.counts.created == 1
        # Planned, then the address is taken by hand before the batch is applied.
        planned = await client.plan(
            Snapshot(
                departments=base.departments,
                people=(
                    *base.people,
                    SourcePerson(16, "N-6", "Six", dept, "E002", email="six@acme.example"),
                ),
            )
        )
        hand = await identity.stub.CreateDepartment(ipb.CreateDepartmentRequest(name="Hand"))
        await identity.stub.CreateEmployee(
            ipb.CreateEmployeeRequest(
                employee_number="H-1", name="Hand", email="SIX@acme.example", department_id=hand.id
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.apply_batch(planned.run_id, 0)
        assert error_code(err.value) == "org_changed_since_plan"
    people = await identity.employees()
    assert "N-5" in people and "N-6" not in people
    assert not {"e001", "e002", "e100", "n-1", "N-1", "N-2", "N-3", "N-4"} & set(people)
    assert all(p.status == "active" for n, p in people.items() if n.startswith("E"))


async def test_the_mass_deactivation_guard_is_a_share(identity: Identity) -> None:
    """20 % of the active people by default: 5 of 22 leaving is refused (the old guard, "more
    than 10 and more than half", let it through), 4 of 22 is not. A refused run is in the runs
    list as failed, with who it would have deactivated; a dry run only reports it."""
    async with OrgSyncClient(identity.address, source="file") as client:
        await client.sync(org(20))
        five_leave = Snapshot(departments=org().departments, people=org(15).people)
        dry = await client.plan(five_leave, dry_run=True)
        assert dry.status == "dry_run" and dry.mass_deactivation
        assert sorted(r.key for r in dry.deactivations) == [f"E1{i}" for i in range(15, 20)]
        assert {r.name for r in dry.deactivations} == {f"Worker {i}" for i in range(15, 20)}
        run_id = str(uuid.uuid4())
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.plan(five_leave, run_id=run_id)
        assert error_code(err.value) == "mass_deactivation"
        assert "5 of 22" in (err.value.details() or "")
        refused = await client.report(run_id)
        assert refused.status == "failed" and "would deactivate 5 of 22" in refused.error
        assert len(refused.deactivations) == 5 and refused.batch_count == 0
        # Retried (an activity that lost the answer): refused again, nothing applied.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.plan(five_leave, run_id=run_id)
        assert error_code(err.value) == "org_sync_run_failed"
        people = await identity.employees()
        assert len(people) == 22 and all(e.status == "active" for e in people.values())

        four_leave = Snapshot(departments=org().departments, people=org(16).people)
        report = await client.sync(four_leave)
        assert report.status == "applied" and report.counts.deactivated == 4
