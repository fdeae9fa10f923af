"""Private engines for benchmarks: a nats-server, a fresh PostgreSQL database."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
