"""An outbox table in a scratch schema/file, for relay tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import db
from services.common.outbox import add_event, new_event_meta, outbox_table
from services.common.settings import StrideSettings
from stride.identity.v1 import identity_pb2 as pb


@asynccontextmanager
async def scratch_outbox(
    database_url: str | None, data_dir: Path, schema: str = "relaytest"
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], Table, bool]]:
    settings = StrideSettings(database_url=database_url, data_dir=data_dir)
    engine = db.create_engine(settings, schema)
    metadata = MetaData()
    table = outbox_table(metadata)
    async with engine.begin() as conn:
        if db.is_postgres(engine):
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
    try:
        yield db.session_factory(engine), table, db.is_postgres(engine)
    finally:
        await engine.dispose()


async def write_events(
    sessions: async_sessionmaker[AsyncSession], table: Table, n: int, subject: str
) -> list[str]:
    ids: list[str] = []
    async with sessions() as session, session.begin():
        for i in range(n):
            event = pb.DepartmentCreated(
                meta=new_event_meta("test"), department=pb.Department(id=str(i), name=f"D{i}")
            )
            ids.append(await add_event(session, table, subject, event))
    return ids
