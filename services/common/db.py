"""Database engine per service and Alembic migrations applied at start.

Each service owns its tables: in PostgreSQL a schema named after the service (selected through
``search_path``, so models and migrations stay schema-agnostic); in the embedded mode its own
SQLite file under ``data_dir``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.schema import MetaData

from services.common.settings import StrideSettings
from services.common.telemetry import instrument_engine

# Any 64-bit number works; one lock for every service's migrations in a database.
_MIGRATION_LOCK = 0x5374726964650001


def schema_name(settings: StrideSettings, service: str) -> str:
    """The service's PostgreSQL schema (or SQLite file stem): ``<schema_prefix><service>``."""
    return f"{settings.schema_prefix}{service}"


def service_database_url(settings: StrideSettings, service: str) -> str:
    if settings.database_url:
        return settings.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / f"{schema_name(settings, service)}.db"
    return f"sqlite+aiosqlite:///{path.resolve()}"


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def create_engine(settings: StrideSettings, service: str, **kwargs: Any) -> AsyncEngine:
    """An async engine whose unqualified tables are the service's own."""
    url = service_database_url(settings, service)
    if url.startswith("postgresql"):
        # Pool settings: see StrideSettings.db_pool_* for why these defaults.
        engine = create_async_engine(
            url,
            pool_pre_ping=kwargs.pop("pool_pre_ping", settings.db_pool_pre_ping),
            pool_size=kwargs.pop("pool_size", settings.db_pool_size),
            max_overflow=kwargs.pop("max_overflow", settings.db_max_overflow),
            pool_timeout=kwargs.pop("pool_timeout", settings.db_pool_timeout),
            pool_recycle=kwargs.pop("pool_recycle", settings.db_pool_recycle),
            connect_args={"server_settings": {"search_path": schema_name(settings, service)}},
            **kwargs,
        )
    else:
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    instrument_engine(engine)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _upgrade(conn: Connection, script_location: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine, schema: str, migrations: Path) -> None:
    """Create the service's schema (PostgreSQL) and apply its Alembic migrations to head.

    Safe when several replicas start at once: PostgreSQL serialises them with an advisory lock.
    """
    async with engine.connect() as conn:
        if is_postgres(engine):
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.commit()
        try:
            await conn.run_sync(_upgrade, str(migrations))
            await conn.commit()
        finally:
            if is_postgres(engine):
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                await conn.commit()


def run_alembic_env(target_metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py``: run online against the given connection."""
    from alembic import context

    conn = context.config.attributes.get("connection")
    if conn is None:
        raise RuntimeError("Stride migrations run through services.common.db.migrate()")
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on any error."""
    async with factory() as session, session.begin():
        yield session
