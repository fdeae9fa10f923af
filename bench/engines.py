"""Private engines for benchmarks: a nats-server, a fresh PostgreSQL database."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from services.common.binaries import private_nats_server

# A server (any database on it) where the benchmark may CREATE and DROP its own database.
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def private_nats() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as store, private_nats_server(Path(store)) as url:
        yield url


def postgres_server_url() -> str:
    """``STRIDE_BENCH_POSTGRES_URL``, else ``STRIDE_TEST_DATABASE_URL``, else the local server."""
    url = (
        os.environ.get("STRIDE_BENCH_POSTGRES_URL")
        or os.environ.get("STRIDE_TEST_DATABASE_URL")
        or DEFAULT_POSTGRES
    )
    return url.replace("postgresql+asyncpg://", "postgresql://")


@asynccontextmanager
async def fresh_postgres_database(
    server_url: str, prefix: str = "stride_bench"
) -> AsyncIterator[str]:
    """A new database on ``server_url``'s server, dropped afterwards (connections and all).

    Yields its asyncpg DSN (``postgresql://...``).
    """
    import asyncpg

    base, _, admin_db = server_url.rpartition("/")
    admin_dsn = f"{base}/{admin_db.split('?')[0]}"
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
