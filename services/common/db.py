"""Database engine per service and Alembic migrations applied at start.

Each service owns its tables: in PostgreSQL a schema named after the service (selected through
``search_path``, so models and migrations stay schema-agnostic); in the embedded mode its own
SQLite file under ``data_dir``.

A service whose database is already at its scripts' head does not import Alembic at start
(``migrate`` compares the recorded revision with ``script_heads`` first): importing Alembic
costs a process ~10 MB it keeps until it exits, and only a start that has something to apply
needs it. ``stride up`` and the Kubernetes Job run ``stride migrate`` before the services.
"""

from __future__ import annotations

import ast
import errno
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import asyncpg.exceptions
from opentelemetry import trace
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.schema import MetaData

from services.common.settings import StrideSettings
from services.common.tasks import to_completion
from services.common.telemetry import instrument_engine, recording

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


def _server_settings(settings: StrideSettings, service: str) -> dict[str, str]:
    """PostgreSQL session settings of every connection: the service's schema first on the
    search path, and how long a session may sit idle inside a transaction."""
    found = {"search_path": schema_name(settings, service)}
    if settings.db_idle_in_transaction_timeout > 0:
        millis = max(1, round(settings.db_idle_in_transaction_timeout * 1000))
        found["idle_in_transaction_session_timeout"] = str(millis)
    return found


def _refuse_open_transaction(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection still inside a transaction is discarded (the pool closes it, which
    rolls that back, and hands out another) instead of being used.

    How one gets there: a request cancelled while its first statement's ``BEGIN`` was in
    flight (the caller gave up, a process stopped). PostgreSQL ran the ``BEGIN``; asyncpg
    keeps the failed transaction as the connection's outermost one and SQLAlchemy, which
    tracks a transaction only once ``BEGIN`` returned, has nothing to roll back when the
    connection comes back. Every later transaction on it would then be a savepoint inside
    that one: answered as committed (``RELEASE SAVEPOINT``) while nothing is, holding every
    row lock it took, until the connection dies and all of it is rolled back. Checked here
    at no cost (the driver's state, no round trip)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is None:
        return
    if driver.is_in_transaction() or getattr(driver, "_top_xact", None) is not None:
        raise sa_exc.DisconnectionError("pooled connection left inside a transaction")


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
            connect_args={"server_settings": _server_settings(settings, service)},
            **kwargs,
        )
        event.listen(engine.sync_engine, "checkout", _refuse_open_transaction)
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


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session`` (PostgreSQL only), inside the session's
    transaction: for a hot path that runs its own prepared statements (asyncpg's statement
    cache) without SQLAlchemy's execution layer, in the same transaction as everything the
    session does before and after.

    SQLAlchemy's asyncpg adapter begins its transaction lazily, at the first statement it
    runs; a statement sent straight to the driver would run outside it. So the transaction is
    begun here through the adapter, which then commits or rolls it back as usual."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    if adapted._transaction is None:  # the adapter's own lazy begin (SQLAlchemy 2.x)
        try:
            await adapted._start_transaction()
        except BaseException:
            # Cancelled or failed with the BEGIN perhaps run by the server: unlike a statement
            # run through the session, this is outside SQLAlchemy's handling, so the
            # connection is discarded here (see _refuse_open_transaction).
            await to_completion(conn.invalidate())
            raise
    driver: asyncpg.Connection = raw.driver_connection
    return driver


@asynccontextmanager
async def driver_errors(statement: str) -> AsyncIterator[None]:
    """A statement sent straight to asyncpg: its database span when something records spans
    (as SQLAlchemy's instrumentation makes for the session's statements), and constraint
    violations raised as SQLAlchemy's ``IntegrityError``, as the same statement through the
    session would raise them (callers map that one exception)."""
    span = None
    if recording():
        span = trace.get_tracer("stride.db").start_span(
            statement.split(None, 1)[0].upper() if statement.strip() else "SQL",
            kind=trace.SpanKind.CLIENT,
            attributes={"db.system": "postgresql", "db.statement": statement.strip()},
        )
    try:
        yield
    except asyncpg.exceptions.IntegrityConstraintViolationError as exc:
        raise sa_exc.IntegrityError(statement, None, exc) from exc
    finally:
        if span is not None:
            span.end()


def _upgrade(conn: Connection, script_location: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _literal_assignments(path: Path, names: frozenset[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(value)
    return found


def script_heads(migrations: Path) -> frozenset[str] | None:
    """The head revisions of the Alembic scripts in ``migrations/versions``, read from each
    script's ``revision`` and ``down_revision`` literals (None when a script does not state
    them as literals: then only Alembic can say)."""
    parents: set[str] = set()
    revisions: set[str] = set()
    for path in sorted((migrations / "versions").glob("*.py")):
        try:
            found = _literal_assignments(path, frozenset({"revision", "down_revision"}))
        except (SyntaxError, ValueError):
            return None
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, (tuple, list)):
            parents.update(str(d) for d in down)
        elif down is not None:
            return None
    return frozenset(revisions - parents) or None


async def applied_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revisions Alembic recorded in the service's database (empty before the first)."""
    async with engine.connect() as conn:
        try:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except sa_exc.DBAPIError:  # no schema or no version table yet
            return frozenset()
        return frozenset(str(row[0]) for row in rows)


async def migrate(engine: AsyncEngine, schema: str, migrations: Path) -> None:
    """Create the service's schema (PostgreSQL) and apply its Alembic migrations to head;
    nothing (and no Alembic import) when the database is at head already.

    Safe when several replicas start at once: PostgreSQL serialises them with an advisory lock.
    """
    heads = script_heads(migrations)
    if heads is not None and heads == await applied_revisions(engine):
        return
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


# A database that cannot be reached now (gone, restarting, refusing connections): the call
# may succeed when retried. The gRPC layer answers these with UNAVAILABLE.
_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
}
_UNREACHABLE_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # connecting timed out
    socket.gaierror,  # the host name does not resolve
    asyncpg.exceptions.PostgresConnectionError,  # lost, rejected, failed to connect
    asyncpg.exceptions.CannotConnectNowError,  # starting up or shutting down
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) means the database cannot be reached right now.

    Covers a connection refused or reset (raised as such while connecting), a connection
    SQLAlchemy found broken (``connection_invalidated``: the pool has dropped the connections
    opened before, so the next attempt connects afresh), PostgreSQL refusing connections, and
    a pool with no connection free in time. Bad SQL, constraint violations and the like are not.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, sa_exc.TimeoutError):  # no pooled connection free in time
            return True
        if isinstance(e, sa_exc.DBAPIError):
            if e.connection_invalidated:
                return True
            todo.append(e.orig)
        if isinstance(e, _UNREACHABLE_TYPES):
            return True
        if isinstance(e, OSError) and e.errno in _UNREACHABLE_ERRNOS:
            return True
        todo += [e.__cause__, e.__context__]
    return False


# PostgreSQL refusing a character of a text: NUL (22021 character_not_in_repertoire) or one
# the database encoding cannot hold (22P05 untranslatable_character).
_UNSTORABLE_TYPES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
    UnicodeEncodeError,  # an unpaired surrogate on its way to the database driver
)


def unstorable_text(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the database refusing a character of a text.

    The gateway and the domains refuse such input first; this is the net under them, so a
    caller that slipped one through (another gRPC client, a field nobody checked) gets an
    invalid-argument answer instead of an internal error.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, _UNSTORABLE_TYPES):
            return True
        if isinstance(e, sa_exc.DBAPIError):
            todo.append(e.orig)
        todo += [e.__cause__, e.__context__]
    return False


class SessionRepository:
    """What every service's repository starts with: the unit of work's session, ``add`` and
    ``flush`` (its queries are its own)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()
