"""The check-in benchmark's stack: identity, goals, the gateway and the bare ceiling app as
processes on a fresh PostgreSQL database and a private NATS, and the sampler that accounts
every process' CPU (PostgreSQL backends included) during a load phase."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg

from bench.engines import postgres_server_url, private_nats
from bench.load import LoadResult
from bench.procstats import cpu_seconds
from gateway.tokens import AccessTokens
from services.cli.probes import HttpCheck
from services.cli.stack import StackConfig
from services.cli.supervisor import ProcessSpec, Supervisor
from services.common.binaries import free_port, fresh_postgres_database

REPO = Path(__file__).resolve().parent.parent
TIME_ZONE = "Asia/Shanghai"
# The services started besides identity (the check-in benchmark's: goals).
SERVICES = ("goals",)


@dataclass
class Stack:
    sup: Supervisor
    config: StackConfig
    dsn: str  # asyncpg DSN of the run's database
    bare_url: str
    tokens: AccessTokens

    @property
    def gateway_url(self) -> str:
        return self.config.gateway_url

    @property
    def api_url(self) -> str:
        return f"{self.config.gateway_url}/api/v1"

    def addr(self, service: str) -> str:
        return self.config.service_addr(service)

    def pids(self) -> dict[str, int]:
        return self.sup.pids()

    async def settle(
        self, idle_share: float = 0.05, window: float = 1.0, limit: float = 60.0
    ) -> float:
        """Wait until the stack's processes together use less than ``idle_share`` of one CPU
        over ``window`` seconds, at most ``limit`` seconds; returns the seconds waited. The
        work a phase (or the seeding) leaves queued — outbox events still to publish, audit
        entries to append, the dashboard feed's refresh — is then done, instead of being
        counted against the next phase's rate and CPU."""
        started = loop_time = asyncio.get_running_loop().time()

        def used() -> float:
            return sum(cpu_seconds(pid) or 0.0 for pid in self.pids().values())

        before = used()
        while loop_time - started < limit:
            await asyncio.sleep(window)
            loop_time = asyncio.get_running_loop().time()
            now = used()
            if now - before < idle_share * window:
                break
            before = now
        return loop_time - started

    async def analyze(self) -> None:
        """``ANALYZE`` the run's database after seeding, as autovacuum does on a production
        server within a minute of a bulk load. The PostgreSQL here runs with autovacuum off:
        without statistics the planner took thousands of rows for one (the dashboard feed's
        refresh joined key results to check-ins by nested loops: 0.8 s a refresh, more
        PostgreSQL CPU than the check-ins themselves)."""
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()


class CpuSampler:
    """CPU seconds each process used during a phase: the stack's processes and the
    PostgreSQL backends of the run's database, sampled every ``interval`` seconds so that
    backends opened and closed during the phase (pool overflow connections) count too (up
    to their last sample). Also counts the sessions PostgreSQL opened (pg_stat_database)."""

    def __init__(self, stack: Stack, interval: float = 0.5) -> None:
        self.stack = stack
        self.interval = interval
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self.sessions = 0

    async def _pg_pids(self, conn: asyncpg.Connection) -> list[int]:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [int(r["pid"]) for r in rows]

    async def _sessions(self, conn: asyncpg.Connection) -> int:
        value = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(value or 0)

    def _sample(self, pids: dict[int, str], started: bool) -> None:
        for pid, name in pids.items():
            now = cpu_seconds(pid)
            if now is None:
                continue
            if pid not in self.first:
                # A backend that appeared during the phase: all its CPU belongs to it.
                self.first[pid] = 0.0 if started and name == "postgres" else now
                self.names[pid] = name
            self.last[pid] = now

    async def _pids(self, conn: asyncpg.Connection) -> dict[int, str]:
        pids = {pid: name for name, pid in self.stack.pids().items()}
        pids.update(dict.fromkeys(await self._pg_pids(conn), "postgres"))
        return pids

    async def measure(self, load: Awaitable[LoadResult]) -> tuple[LoadResult, dict[str, float]]:
        conn = await asyncpg.connect(self.stack.dsn)
        try:
            sessions = await self._sessions(conn)
            self._sample(await self._pids(conn), started=False)
            task = asyncio.ensure_future(load)
            while not task.done():
                await asyncio.wait([task], timeout=self.interval)
                self._sample(await self._pids(conn), started=True)
            result = task.result()
            self.sessions = await self._sessions(conn) - sessions
        finally:
            await conn.close()
        cpu: dict[str, float] = {}
        for pid, name in self.names.items():
            cpu[name] = cpu.get(name, 0.0) + max(0.0, self.last[pid] - self.first[pid])
        return result, cpu


@asynccontextmanager
async def running_stack(
    work: Path,
    dsn: str,
    nats_url: str,
    log_level: str,
    services: Sequence[str] = SERVICES,
    *,
    bare: bool = True,
) -> AsyncIterator[Stack]:
    """identity, ``services`` (goals by default), the gateway and (``bare``) the bare app as
    processes on free ports; without the bare app ``Stack.bare_url`` is empty."""
    secret = secrets.token_urlsafe(48)
    config = StackConfig.on_free_ports(
        work,
        database_url=dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
        nats_external=nats_url,
        # Nothing listens there: the check-in path never calls Temporal.
        temporal_external=f"127.0.0.1:{free_port()}",
        env={
            "STRIDE_JWT_SECRET": secret,
            "STRIDE_LOG_LEVEL": log_level,
            "STRIDE_TIME_ZONE": TIME_ZONE,
        },
    )
    gateway = dataclasses.replace(
        config.gateway_spec(),
        # /readyz would wait for Temporal, which this stack does not run.
        health=HttpCheck(f"{config.gateway_url}/healthz"),
        cwd=REPO,
    )
    bare_port = free_port()
    bare_url = f"http://127.0.0.1:{bare_port}" if bare else ""
    bare_spec = ProcessSpec(
        name="bare",
        argv=[sys.executable, "-m", "bench.bare_app"],
        env={
            "BENCH_BARE_DSN": dsn,
            "BENCH_BARE_PORT": str(bare_port),
            "STRIDE_LOG_LEVEL": log_level,
            "PYTHONUNBUFFERED": "1",
        },
        health=HttpCheck(f"{bare_url}/healthz"),
        ports=[("127.0.0.1", bare_port)],
        cwd=REPO,
        start_timeout=120.0,
    )
    specs = [
        dataclasses.replace(config.service_spec(name), cwd=REPO, start_timeout=120.0)
        for name in ("identity", *services)
    ]
    async with Supervisor(config.log_dir) as sup:
        # identity first: the other services and the gateway call it while they start.
        await sup.start(specs[0])
        extra = [bare_spec] if bare else []
        await sup.start(*specs[1:], dataclasses.replace(gateway, start_timeout=120.0), *extra)
        tokens = AccessTokens(secret.encode(), timedelta(hours=6))
        yield Stack(sup, config, dsn, bare_url, tokens)


@asynccontextmanager
async def benchmark_stack(
    work: Path, log_level: str, services: Sequence[str] = SERVICES, *, bare: bool = True
) -> AsyncIterator[Stack]:
    """A fresh database, a private NATS and the processes; everything removed afterwards."""
    async with fresh_postgres_database(postgres_server_url(), prefix="stride_bench") as dsn:
        with private_nats() as nats_url:
            async with running_stack(work, dsn, nats_url, log_level, services, bare=bare) as stack:
                yield stack
