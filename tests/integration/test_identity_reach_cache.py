"""Identity's reach cache on the real engines: an answer from the cache is the one a fresh
computation gives, every change of the org tree shows in the next GetReach (also when another
process made it: the version is read from the database), a rollback bumps nothing, and the
bump, taken last, does not deadlock an HR edit against an org-sync batch on PostgreSQL.

The plant:

    Plant (head ceo) ── Assembly (head dir): dir, op1, op2 (ceo ── dir ── op1, op2)
                     └─ Paint: painter (ceo)
    Sales: s1
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common import db
from services.common.uow import Units
from services.identity import org_version
from services.identity.events import EVENTS
from services.identity.handlers.departments import Departments
from services.identity.handlers.employees import Employees
from services.identity.models import Employee
from services.identity.reach_cache import ReachCache
from services.identity.repository import IdentityRepository
from services.identity.sync.apply import BatchApplier
from services.identity.sync.data import EMPLOYEE_UPDATE, Operation
from services.identity.sync.repository import OrgSyncRepository
from stride.identity.v1 import identity_pb2 as pb
from tests.integration.services_fixtures import service_settings

MIGRATIONS = Path(__file__).parents[2] / "services" / "identity" / "migrations"


@dataclass
class Replica:
    """One identity process: its own engine, handlers and cache."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def units(self) -> Units[IdentityRepository]:
        return Units(self.sessions, IdentityRepository, EVENTS, lambda: None)

    def employees(self, cache: ReachCache | None = None) -> Employees:
        return Employees(self.units, cache)

    def departments(self) -> Departments:
        return Departments(self.units)

    async def version(self) -> int | None:
        async with self.sessions() as session:
            return await org_version.current(session)


@pytest.fixture
async def replicas(
    database_url: str | None, data_dir: Path, nats_url: str
) -> AsyncIterator[tuple[Replica, Replica]]:
    settings = service_settings(database_url, data_dir, nats_url)
    engines = [db.create_engine(settings, "identity") for _ in range(2)]
    await db.migrate(engines[0], db.schema_name(settings, "identity"), MIGRATIONS)
    try:
        yield (
            Replica(engines[0], db.session_factory(engines[0])),
            Replica(engines[1], db.session_factory(engines[1])),
        )
    finally:
        for engine in engines:
            await engine.dispose()


@dataclass
class Plant:
    ids: dict[str, str]


async def _plant(r: Replica) -> Plant:
    tag = uuid.uuid4().hex[:6]
    deps, emps = r.departments(), r.employees()
    ids: dict[str, str] = {}

    async def dept(key: str, name: str, parent: str = "") -> None:
        ids[key] = (
            await deps.create(pb.CreateDepartmentRequest(name=f"{name} {tag}", parent_id=parent))
        ).id

    async def hire(key: str, dept_key: str, manager_key: str = "") -> None:
        request = pb.CreateEmployeeRequest(
            employee_number=f"{tag}-{key}",
            name=f"Person {key}",
            department_id=ids[dept_key],
            manager_id=ids.get(manager_key, ""),
        )
        ids[key] = (await emps.create(request)).id

    await dept("plant", "Plant")
    await dept("assembly", "Assembly", ids["plant"])
    await dept("paint", "Paint", ids["plant"])
    await dept("sales", "Sales")
    await hire("ceo", "plant")
    await hire("dir", "assembly", "ceo")
    await hire("op1", "assembly", "dir")
    await hire("op2", "assembly", "dir")
    await hire("painter", "paint", "ceo")
    await hire("s1", "sales")
    for dept_key, head in (("plant", "ceo"), ("assembly", "dir")):
        await deps.update(pb.UpdateDepartmentRequest(id=ids[dept_key], head_id=ids[head]))
    return Plant(ids)


def _count_statements(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    return seen


async def test_a_cached_reach_is_a_fresh_one_and_costs_one_select(replicas) -> None:
    first, _ = replicas
    plant = await _plant(first)
    reader = first.employees()
    for who in ("ceo", "dir", "op1"):
        for transitive in (True, False):
            cached = await reader.reach(plant.ids[who], transitive=transitive)
            again = await reader.reach(plant.ids[who], transitive=transitive)
            fresh = await first.employees().reach(plant.ids[who], transitive=transitive)
            assert cached == again == fresh
    assert len(reader.reaches) == 6
    top = await reader.reach(plant.ids["ceo"], transitive=True)
    i = plant.ids
    assert sorted(top.headed_department_ids) == sorted([i["plant"], i["assembly"], i["paint"]])
    assert not top.whole_organisation  # Sales is not below Plant
    seen = _count_statements(first.engine)
    await reader.reach(plant.ids["ceo"], transitive=True)
    assert len(seen) == 1 and "org_version" in seen[0]  # the version, nothing else


async def test_every_change_of_the_tree_shows_in_the_next_reach_of_another_replica(
    replicas,
) -> None:
    """The reader (replica 1) caches; the writer (replica 2, its own engine and process
    state) changes the tree; each change is in the reader's next answer."""
    first, second = replicas
    plant = await _plant(first)
    i = plant.ids
    reader = first.employees()
    emps, deps = second.employees(), second.departments()
    watched = [(i[w], t) for w in ("ceo", "dir", "s1") for t in (True, False)]

    async def reaches() -> dict[tuple[str, bool], pb.OrganisationReach]:
        found = {}
        for who, transitive in watched:
            cached = await reader.reach(who, transitive=transitive)
            assert cached == await first.employees().reach(who, transitive=transitive)
            found[(who, transitive)] = cached
        return found

    before = await reaches()
    assert list(before[(i["dir"], True)].report_department_ids) == [i["assembly"]]

    # Moving a person to another manager: Assembly is no longer wholly dir's.
    await emps.update(pb.UpdateEmployeeRequest(id=i["op2"], manager_id=i["s1"]))
    now = await reaches()
    assert list(now[(i["dir"], True)].report_ids) == [i["op1"]]
    assert list(now[(i["s1"], False)].report_ids) == [i["op2"]]

    # Moving a person to another department: op1 works in Sales now.
    await emps.update(pb.UpdateEmployeeRequest(id=i["op1"], department_id=i["sales"]))
    now = await reaches()
    assert list(now[(i["dir"], True)].report_ids) == [i["op1"]]
    assert i["op1"] in now[(i["ceo"], True)].report_ids

    # A department's parent: Paint moves below Sales and out of the ceo's headed tree.
    await deps.update(pb.UpdateDepartmentRequest(id=i["paint"], parent_id=i["sales"]))
    now = await reaches()
    assert i["paint"] not in now[(i["ceo"], True)].headed_department_ids

    # A department's head: s1 heads Sales (and Paint below it).
    await deps.update(pb.UpdateDepartmentRequest(id=i["sales"], head_id=i["s1"]))
    now = await reaches()
    assert sorted(now[(i["s1"], True)].headed_department_ids) == sorted([i["sales"], i["paint"]])

    # Deactivating a person: op1 has left and is nobody's report.
    await emps.update(pb.UpdateEmployeeRequest(id=i["op1"], status=pb.EMPLOYEE_STATUS_LEFT))
    now = await reaches()
    assert i["op1"] not in now[(i["dir"], True)].report_ids
    assert i["op1"] not in now[(i["ceo"], True)].report_ids

    # An org-sync batch: op2 back under dir.
    async with Units(second.sessions, OrgSyncRepository, EVENTS, lambda: None)() as uow:
        operation = Operation(EMPLOYEE_UPDATE, i["op2"], "op2", {"manager_id": i["dir"]})
        await BatchApplier(uow, 1).apply([operation])
    now = await reaches()
    assert list(now[(i["dir"], True)].report_department_ids) == [i["assembly"]]
    assert not now[(i["s1"], False)].report_ids

    # A new person is in the next answer too.
    await emps.create(
        pb.CreateEmployeeRequest(
            employee_number=f"new-{uuid.uuid4().hex[:6]}",
            name="New",
            department_id=i["paint"],
            manager_id=i["dir"],
        )
    )
    now = await reaches()
    assert len(now[(i["dir"], False)].report_ids) == 1


async def test_only_committed_tree_changes_bump_the_version(replicas) -> None:
    first, _ = replicas
    plant = await _plant(first)
    i = plant.ids
    start = await first.version()
    assert start is not None

    # Rolled back: nothing bumped.
    with pytest.raises(RuntimeError):
        async with first.units() as uow:
            row = await uow.repo.get_employee(i["op1"])
            assert row is not None
            row.manager_id = i["ceo"]
            await uow.repo.flush()
            raise RuntimeError("after writing")
    assert await first.version() == start

    # A profile change is not a tree change.
    await first.employees().update(pb.UpdateEmployeeRequest(id=i["op1"], title="Welder"))
    assert await first.version() == start

    # A tree change bumps once, in its own commit.
    await first.employees().update(pb.UpdateEmployeeRequest(id=i["op1"], manager_id=i["ceo"]))
    assert await first.version() == start + 1

    # A DML statement through a session (no unit of work) bumps too.
    async with first.sessions() as session, session.begin():
        await session.execute(
            update(Employee).where(Employee.id == i["op1"]).values(manager_id=i["dir"])
        )
    assert await first.version() == start + 2
    assert list((await first.employees().reach(i["dir"], transitive=True)).report_ids) == []


async def test_an_hr_edit_and_an_org_sync_batch_on_the_same_person_both_complete(
    replicas, database_url: str | None
) -> None:
    """The batch changes another person first, then the one HR is editing: with the counter
    taken mid-transaction (a trigger) HR would wait for the batch's counter row while the
    batch waits for HR's person row. Taken last, HR commits and the batch follows."""
    if database_url is None:
        pytest.skip("row locks and deadlocks: PostgreSQL")
    first, second = replicas
    plant = await _plant(first)
    i = plant.ids
    start = await first.version()
    assert start is not None
    batch_started, hr_flushed = asyncio.Event(), asyncio.Event()

    async def hr_edit() -> None:
        await batch_started.wait()
        async with first.units() as uow:
            row = await uow.repo.get_employee(i["op1"])
            assert row is not None
            row.department_id = i["paint"]
            await uow.repo.flush()  # holds op1's row
            hr_flushed.set()
            await asyncio.sleep(0.3)  # the batch now waits for op1

    async def sync_batch() -> None:
        async with Units(second.sessions, OrgSyncRepository, EVENTS, lambda: None)() as uow:
            first_op = Operation(EMPLOYEE_UPDATE, i["op2"], "op2", {"manager_id": i["ceo"]})
            await BatchApplier(uow, 1).apply([first_op])
            batch_started.set()
            await hr_flushed.wait()
            same = Operation(EMPLOYEE_UPDATE, i["op1"], "op1", {"manager_id": i["ceo"]})
            await BatchApplier(uow, 2).apply([same])

    await asyncio.wait_for(asyncio.gather(hr_edit(), sync_batch()), timeout=20)
    assert await first.version() == start + 2
    op1 = await first.employees().get(i["op1"])
    assert (op1.department_id, op1.manager_id) == (i["paint"], i["ceo"])  # both writes kept
    reach = await first.employees().reach(i["ceo"], transitive=False)
    # ceo's direct reports now fill Assembly (dir, op2) and Paint (painter, op1).
    assert sorted(reach.report_department_ids) == sorted([i["assembly"], i["paint"]])
