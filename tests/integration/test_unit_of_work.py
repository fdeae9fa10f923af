"""The unit of work (services/common/uow.py) on real SQLite and PostgreSQL: a block that fails
after writing leaves no data, no outbox row and no audit row, and does not wake the relay; a
block that succeeds commits all three and wakes it once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services import goals
from services.common import db
from services.common.outbox import new_event_meta
from services.common.settings import StrideSettings
from services.common.uow import Units
from services.goals import events
from services.goals.models import OUTBOX, Cycle
from services.goals.repository import GoalsRepository
from stride.goals.v1 import goals_pb2 as pb

MIGRATIONS = Path(goals.__file__).parent / "migrations"


class Boom(Exception):
    pass


@pytest.fixture
async def sessions(
    database_url: str | None, data_dir: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    settings = StrideSettings(
        database_url=database_url, data_dir=data_dir, schema_prefix=f"u{uuid.uuid4().hex[:6]}_"
    )
    engine = db.create_engine(settings, "goals")
    try:
        await db.migrate(engine, db.schema_name(settings, "goals"), MIGRATIONS)
        yield db.session_factory(engine)
    finally:
        if db.is_postgres(engine):
            async with engine.begin() as conn:
                await conn.execute(
                    text(f'DROP SCHEMA "{db.schema_name(settings, "goals")}" CASCADE')
                )
        await engine.dispose()


def _cycle() -> Cycle:
    return Cycle(
        id=str(uuid.uuid4()),
        name="2026 Q1",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 3, 31),
        time_zone="Asia/Shanghai",
        status="open",
        phase="planning",
        planning_deadline=date(2026, 1, 10),
        approval_deadline=date(2026, 1, 17),
        closing_deadline=date(2026, 3, 31),
    )


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    """(cycles, outbox events other than audit, audit entries)."""
    async with sessions() as session:
        cycles = await session.scalar(select(func.count()).select_from(Cycle))
        audit = await session.scalar(
            select(func.count()).select_from(OUTBOX).where(OUTBOX.c.subject.like("stride.audit.%"))
        )
        everything = await session.scalar(select(func.count()).select_from(OUTBOX))
    return int(cycles or 0), int(everything or 0) - int(audit or 0), int(audit or 0)


async def _write(units: Units[GoalsRepository], *, fail: bool) -> None:
    async with units() as uow:
        row = _cycle()
        uow.repo.add(row)
        await uow.session.flush()  # the data row is really written before the failure
        await uow.emit(pb.CycleCreated(meta=new_event_meta("goals"), cycle=pb.Cycle(id=row.id)))
        await uow.audit("cycle.create", "cycle", row.id, None, pb.Cycle(id=row.id))
        if fail:
            raise Boom


async def test_failure_after_writing_leaves_nothing_and_wakes_nobody(
    sessions: async_sessionmaker[AsyncSession],
):
    wakes: list[None] = []
    units = Units(sessions, GoalsRepository, events.EVENTS, lambda: wakes.append(None))
    with pytest.raises(Boom):
        await _write(units, fail=True)
    assert await _counts(sessions) == (0, 0, 0)
    assert wakes == []


async def test_success_commits_everything_and_wakes_the_relay_once(
    sessions: async_sessionmaker[AsyncSession],
):
    wakes: list[None] = []
    units = Units(sessions, GoalsRepository, events.EVENTS, lambda: wakes.append(None))
    await _write(units, fail=False)
    assert await _counts(sessions) == (1, 1, 1)
    assert len(wakes) == 1
    async with sessions() as session:
        subjects = (await session.scalars(select(OUTBOX.c.subject).order_by(OUTBOX.c.id))).all()
    assert subjects == [events.CYCLE_CREATED.subject, "stride.audit.v1.goals.recorded"]


async def test_a_write_refused_while_committing_leaves_nothing(
    sessions: async_sessionmaker[AsyncSession],
):
    """A data row the database refuses only when the unit of work writes at its end (a
    duplicate key, never flushed inside the block) leaves no event, no audit row, no wake."""
    wakes: list[None] = []
    units = Units(sessions, GoalsRepository, events.EVENTS, lambda: wakes.append(None))
    await _write(units, fail=False)
    async with sessions() as session:
        existing = (await session.scalars(select(Cycle.id))).one()
    with pytest.raises(IntegrityError):
        async with units() as uow:
            duplicate = _cycle()
            duplicate.id = existing
            uow.repo.add(duplicate)  # flushed only when the block ends
            await uow.emit(pb.CycleCreated(meta=new_event_meta("goals"), cycle=pb.Cycle()))
            await uow.audit("cycle.create", "cycle", existing, None, pb.Cycle())
    assert await _counts(sessions) == (1, 1, 1)
    assert len(wakes) == 1


async def test_a_check_in_write_refused_after_taking_the_events_leaves_nothing(
    sessions: async_sessionmaker[AsyncSession],
):
    """The check-in path writes its rows and, on PostgreSQL, the events it took from the unit
    of work in one statement (repository.save_check_in). When the database refuses that
    statement (here: a check-in of a key result that does not exist), it raises the same
    IntegrityError as through SQLAlchemy, and nothing of the block remains: no row, no event,
    no audit entry, no wake."""
    from datetime import UTC, datetime

    from services.goals.models import CHECK_IN_COLUMNS, VERSIONED_COLUMNS

    wakes: list[None] = []
    units = Units(sessions, GoalsRepository, events.EVENTS, lambda: wakes.append(None))
    now = datetime.now(UTC)
    check_in = dict.fromkeys(CHECK_IN_COLUMNS, 0.0) | {
        "id": str(uuid.uuid4()),
        "key_result_id": str(uuid.uuid4()),  # no such key result
        "week": "2026-W05",
        "revision": 1,
        "confidence": 5,
        "note": "",
        "risk_status": "on_track",
        "risk_behind_streak": 0,
        "risk_rule_version": 1,
        "recorded_at": now,
        "blockers": [],
        "answers": [],
        "recorded_by": "test",
    }
    version = {"check_in_id": check_in["id"]} | {c: check_in[c] for c in VERSIONED_COLUMNS}
    with pytest.raises(IntegrityError):
        async with units() as uow:
            row = _cycle()
            uow.repo.add(row)
            await uow.session.flush()
            await uow.emit(pb.CycleCreated(meta=new_event_meta("goals"), cycle=pb.Cycle(id=row.id)))
            await uow.audit("cycle.create", "cycle", row.id, None, pb.Cycle(id=row.id))
            taken = uow.take_events() if uow.repo.writes_outbox else ()
            await uow.repo.save_check_in(
                check_in,
                True,
                version,
                check_in["key_result_id"],
                {"current_value": 1.0, "updated_at": now},
                taken,
            )
    assert await _counts(sessions) == (0, 0, 0)
    assert wakes == []


@pytest.mark.parametrize("path", ["session", "driver"])
async def test_a_unit_of_work_cancelled_in_a_statement_releases_its_connection_and_locks(
    sessions: async_sessionmaker[AsyncSession], path: str
):
    """A request cancelled while its statement runs (the caller's deadline passed, the
    process is stopping) gives its connection back to the pool at once, its transaction
    rolled back and its row locks released — not when the garbage collector finds it (a
    killed worker's retries once waited minutes on such locks)."""
    import asyncio
    import gc

    engine = sessions.kw["bind"]
    if not db.is_postgres(engine):
        pytest.skip("row locks and a statement that runs for seconds: PostgreSQL")
    units = Units(sessions, GoalsRepository, events.EVENTS, lambda: None)
    await _write(units, fail=False)
    async with sessions() as session:
        cycle_id = (await session.scalars(select(Cycle.id))).one()
    locked = asyncio.Event()

    async def slow_request() -> None:
        async with units() as uow:
            if path == "driver":  # the check-in's own prepared statements (repository._pg)
                driver = await uow.repo._pg()
                await driver.fetchrow("SELECT id FROM cycles WHERE id = $1 FOR UPDATE", cycle_id)
                locked.set()
                await driver.execute("SELECT pg_sleep($1::float8)", 30.0)
            await uow.session.execute(
                text("SELECT id FROM cycles WHERE id = :id FOR UPDATE"), {"id": cycle_id}
            )
            locked.set()
            await uow.session.execute(text("SELECT pg_sleep(30)"))

    gc.disable()
    try:
        task = asyncio.create_task(slow_request())
        await locked.wait()
        await asyncio.sleep(0.2)  # inside pg_sleep
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(5):
            async with sessions() as session, session.begin():
                await session.execute(text("SET LOCAL lock_timeout = '2s'"))
                row = await session.execute(
                    text("SELECT id FROM cycles WHERE id = :id FOR UPDATE"), {"id": cycle_id}
                )
                assert row.scalar_one() == cycle_id
        assert engine.pool.checkedout() == 0
    finally:
        gc.enable()


async def test_a_transaction_left_idle_is_ended_by_postgresql_and_frees_its_locks(
    database_url: str | None, data_dir: Path
):
    """A connection left checked out inside a transaction (a bug, a request cancelled where
    nothing closed its session) blocks the rows it locked only until PostgreSQL ends the idle
    session (``db_idle_in_transaction_timeout``), not until the garbage collector runs."""
    import asyncio

    if not database_url or not database_url.startswith("postgresql"):
        pytest.skip("idle_in_transaction_session_timeout: PostgreSQL")
    settings = StrideSettings(
        database_url=database_url,
        data_dir=data_dir,
        schema_prefix=f"u{uuid.uuid4().hex[:6]}_",
    )
    # Setting up, checking and cleaning up run on an engine with the default timeout: on a
    # loaded machine a pause of half a second inside the migration's transaction would
    # otherwise end that session too. Only the leaked session uses the short one.
    engine = db.create_engine(settings, "goals")
    short = db.create_engine(
        settings.model_copy(update={"db_idle_in_transaction_timeout": 0.5}), "goals"
    )
    schema = db.schema_name(settings, "goals")
    sessions = db.session_factory(engine)
    leaked = db.session_factory(short)()
    try:
        await db.migrate(engine, schema, MIGRATIONS)
        units = Units(sessions, GoalsRepository, events.EVENTS, lambda: None)
        await _write(units, fail=False)
        async with sessions() as session:
            cycle_id = (await session.scalars(select(Cycle.id))).one()
        await leaked.begin()
        lock = text("SELECT id FROM cycles WHERE id = :id FOR UPDATE")
        await leaked.execute(lock, {"id": cycle_id})
        async with asyncio.timeout(10):
            async with sessions() as session, session.begin():
                await session.execute(text("SET LOCAL lock_timeout = '5s'"))
                assert (await session.execute(lock, {"id": cycle_id})).scalar_one() == cycle_id
        with pytest.raises(DBAPIError):  # its session was ended under it
            await leaked.execute(text("SELECT 1"))
    finally:
        await leaked.close()
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()
        await short.dispose()


async def test_a_unit_of_work_cancelled_again_while_it_winds_down_returns_its_connection(
    sessions: async_sessionmaker[AsyncSession],
):
    """Cancelled mid-request, then again while rolling back and again while closing (a
    service stopping cancels its tasks every second until they end; a slow database): the
    close still runs to its end, so the connection goes back to the pool, its transaction
    rolled back, instead of waiting in it for the garbage collector."""
    import asyncio
    import gc

    rolling, closing = asyncio.Event(), asyncio.Event()

    class SlowSession(AsyncSession):
        async def rollback(self) -> None:
            rolling.set()
            await asyncio.sleep(0.2)
            await super().rollback()

        async def close(self) -> None:
            closing.set()
            await asyncio.sleep(0.2)
            await super().close()

    engine = sessions.kw["bind"]
    slow = async_sessionmaker(engine, class_=SlowSession, expire_on_commit=False)
    units = Units(slow, GoalsRepository, events.EVENTS, lambda: None)
    writing = asyncio.Event()

    async def request() -> None:
        async with units() as uow:
            uow.repo.add(_cycle())
            await uow.session.flush()  # the connection is checked out, in its transaction
            writing.set()
            await asyncio.sleep(30)

    gc.disable()
    try:
        task = asyncio.create_task(request())
        for stage in (writing, rolling, closing):
            await stage.wait()
            task.cancel()
        await asyncio.wait({task}, timeout=10)
        assert task.cancelled()
        assert engine.pool.checkedout() == 0
    finally:
        gc.enable()
    assert await _counts(sessions) == (0, 0, 0)


async def test_a_request_cancelled_while_its_transaction_begins_loses_no_later_write(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
):
    """A request cancelled while its ``BEGIN`` was in flight (PostgreSQL ran it, the answer
    was never read) must not leave its connection inside that transaction: the next unit of
    work on it would commit only a savepoint, answer "committed", hold its row locks, and
    lose everything when the connection closes (what the chaos test met after a kill)."""
    import asyncio

    import asyncpg

    engine = sessions.kw["bind"]
    if not db.is_postgres(engine):
        pytest.skip("asyncpg's transactions: PostgreSQL")
    began = asyncio.Event()
    execute = asyncpg.Connection.execute

    async def begin_then_wait(self: asyncpg.Connection, query: str, *args: object) -> str:
        answer = await execute(self, query, *args)
        if query.startswith("BEGIN"):
            began.set()
            await asyncio.sleep(30)  # the answer "read" late: the caller is cancelled here
        return answer

    monkeypatch.setattr(asyncpg.Connection, "execute", begin_then_wait)

    async def request() -> None:  # as the check-in does: its own statements on the driver
        async with sessions() as session:
            driver = await db.driver_connection(session)
            await driver.fetchval("SELECT 1")

    task = asyncio.create_task(request())
    await began.wait()
    task.cancel()
    await asyncio.wait({task}, timeout=10)
    assert task.cancelled()
    monkeypatch.undo()
    units = Units(sessions, GoalsRepository, events.EVENTS, lambda: None)
    await _write(units, fail=False)  # acknowledged
    await engine.dispose()  # every pooled connection closed: anything uncommitted is gone
    assert await _counts(sessions) == (1, 1, 1)
