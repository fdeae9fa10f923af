"""Identity's write handlers on the unit of work: events by type, nothing left by a failure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import db
from services.common.audit import audit_subject
from services.common.errors import InvalidArgument
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.common.uow import Units
from services.identity.events import EVENTS
from services.identity.handlers.departments import Departments
from services.identity.messages import department_pb
from services.identity.models import OUTBOX, Department
from services.identity.repository import IdentityRepository
from stride.identity.v1 import identity_pb2 as pb
from tests.integration.services_fixtures import service_settings


@pytest.fixture
async def sessions(
    database_url: str | None, data_dir: Path, nats_url: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    settings = service_settings(database_url, data_dir, nats_url)
    engine = db.create_engine(settings, "identity")
    migrations = Path(__file__).parents[2] / "services" / "identity" / "migrations"
    await db.migrate(engine, db.schema_name(settings, "identity"), migrations)
    try:
        yield db.session_factory(engine)
    finally:
        await engine.dispose()


async def _count(sessions: async_sessionmaker[AsyncSession], table: object) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def test_a_handler_emits_by_type_and_wakes_the_relay_after_commit(sessions) -> None:
    woken: list[int] = []
    units = Units(sessions, IdentityRepository, EVENTS, lambda: woken.append(1))
    before = await _count(sessions, OUTBOX)
    created = await Departments(units).create(pb.CreateDepartmentRequest(name=f"QA {new_id()}"))
    async with sessions() as session:
        subjects = (
            await session.scalars(select(OUTBOX.c.subject).order_by(OUTBOX.c.id).offset(before))
        ).all()
    assert subjects == ["stride.identity.v1.department.created", audit_subject("identity")]
    assert woken == [1] and created.id
    # Refused before writing: nothing queued, the relay is not woken.
    with pytest.raises(InvalidArgument):
        await Departments(units).create(pb.CreateDepartmentRequest(name="X", parent_id="nope"))
    assert await _count(sessions, OUTBOX) == before + 2 and woken == [1]


async def test_a_unit_of_work_that_fails_after_writing_leaves_no_row_event_or_audit(
    sessions,
) -> None:
    woken: list[int] = []
    units = Units(sessions, IdentityRepository, EVENTS, lambda: woken.append(1))
    outbox, departments = await _count(sessions, OUTBOX), await _count(sessions, Department)
    with pytest.raises(RuntimeError):
        async with units() as uow:
            row = Department(id=new_id(), name="Gone", stride_enabled=True, created_at=utcnow())
            uow.repo.add(row)
            await uow.repo.flush()
            msg = department_pb(row)
            await uow.emit(pb.DepartmentCreated(meta=new_event_meta("identity"), department=msg))
            await uow.audit("department.create", "department", row.id, None, msg)
            raise RuntimeError("after writing")
    assert await _count(sessions, OUTBOX) == outbox
    assert await _count(sessions, Department) == departments
    assert woken == []
