"""Check-in throughput through the gateway against a bare FastAPI + asyncpg ceiling.

What runs (all in one run, on one machine):

- PostgreSQL: a fresh database on the server of ``STRIDE_BENCH_POSTGRES_URL`` (else
  ``STRIDE_TEST_DATABASE_URL``, else postgres@127.0.0.1:5432), dropped afterwards;
- a private nats-server (the goals outbox relay publishes every check-in event to it);
- identity, goals and the gateway as real processes, started by ``stride up``'s supervisor
  with ``stride serve <name>`` (uvicorn, one worker), so each has its own CPU and RSS as in
  a deployment; no Temporal and no worker (the check-in path does not touch them);
- the ceiling: ``bench/bare_app.py`` as a fourth process, under the gateway's uvicorn
  settings, inserting one row per request through an asyncpg pool.

Seeding: a generated organisation (teams of 20 under divisions of 10 teams) as a CSV,
imported through identity's OrgSync path (what ``stride org import`` does); one cycle; per
person one objective and ``krs`` key results (weights 40/30/30 for three) through goals
gRPC, ``seed_concurrency`` people at a time. Access tokens are minted with the gateway's
own token code (gateway/tokens.py) and the JWT secret the stack was started with: this
skips the sign-in path (argon2 for every person would dominate the run) on purpose.

Load: one check-in per key result, in a shuffled order, each request authenticated as the
key result's owner, ``concurrency`` requests in flight from one httpx client pool (closed
loop). The same requests then go to the bare app. Where the time goes: the same check-ins
for the previous week sent straight to goals' RecordCheckIn over gRPC (a sample), and the
CPU seconds every process used during each phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console

from bench.engines import postgres_server_url, private_nats
from bench.load import LoadResult, run_load
from gateway.policy import Principal
from gateway.tokens import AccessTokens
from services.cli.stack import StackConfig
from services.cli.supervisor import HttpCheck, ProcessSpec, Supervisor
from services.cli_org import import_file
from services.common.audit import ACTOR_KEY
from services.common.binaries import free_port, fresh_postgres_database
from services.common.channels import channel
from services.goals.calendar import local_today, week_of
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc

REPO = Path(__file__).resolve().parent.parent
TIME_ZONE = "Asia/Shanghai"
TEAM_SIZE = 20
TEAMS_PER_DIVISION = 10
ROOT_DEPARTMENT = "Bench Co"
SEED_ACTOR = ((ACTOR_KEY, "bench-seed"),)
GRPC_TIMEOUT = 60.0
# The value every check-in of the gateway and bare phases reports (goals phase: GOALS_VALUE).
GATEWAY_VALUE = 55.0
GOALS_VALUE = 40.0


@dataclass(frozen=True)
class Options:
    employees: int = 10_000
    krs: int = 3
    concurrency: int = 64
    # Stop starting requests of a load phase after this many seconds (None: all check-ins).
    duration: float | None = None
    seed_concurrency: int = 32
    # Check-ins sent straight to goals over gRPC (where the time goes); 0 skips that phase.
    goals_sample: int = 2_000
    # Log level of every process (uvicorn's access log is INFO: WARNING keeps it quiet in
    # the gateway and the bare app alike).
    log_level: str = "WARNING"


# -- the generated organisation (pure) --------------------------------------------------------


@dataclass(frozen=True)
class OrgRow:
    number: str
    name: str
    department: str
    manager: str


def generate_org(employees: int) -> list[OrgRow]:
    """A head of the company, then teams of TEAM_SIZE (the first member leads the team and
    reports to the head, the others to the lead), TEAMS_PER_DIVISION teams per division:
    departments ``Bench Co/Division NN/Team NNN``."""
    rows = [OrgRow("B000000", "Bench Head", ROOT_DEPARTMENT, "")] if employees > 0 else []
    lead = ""
    for i in range(1, employees):
        team = (i - 1) // TEAM_SIZE
        division = team // TEAMS_PER_DIVISION
        number = f"B{i:06d}"
        first = (i - 1) % TEAM_SIZE == 0
        if first:
            lead = number
        rows.append(
            OrgRow(
                number,
                f"Bench Person {i:06d}",
                f"{ROOT_DEPARTMENT}/Division {division + 1:02d}/Team {team + 1:03d}",
                rows[0].number if first else lead,
            )
        )
    return rows


def write_org_csv(rows: Sequence[OrgRow], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["employee_number", "name", "department", "manager"])
        for r in rows:
            writer.writerow([r.number, r.name, r.department, r.manager])


def kr_weights(krs: int) -> list[int]:
    """Weights of an objective's ``krs`` key results, totalling 100 (three: 40/30/30)."""
    if krs == 3:
        return [40, 30, 30]
    base, rest = divmod(100, krs)
    return [base + rest] + [base] * (krs - 1)


# -- process statistics from /proc (Linux) ----------------------------------------------------


def _clock_ticks() -> int:
    return int(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _clock_ticks()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident set size (``VmRSS``) or its peak (``VmHWM``) of ``pid`` in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# -- the stack --------------------------------------------------------------------------------


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
    work: Path, dsn: str, nats_url: str, log_level: str
) -> AsyncIterator[Stack]:
    """identity, goals, the gateway and the bare app as processes on free ports."""
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
    bare_url = f"http://127.0.0.1:{bare_port}"
    bare = ProcessSpec(
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
    services = [
        dataclasses.replace(config.service_spec(name), cwd=REPO, start_timeout=120.0)
        for name in ("identity", "goals")
    ]
    async with Supervisor(config.log_dir) as sup:
        # identity first: goals and the gateway call it while they start.
        await sup.start(services[0])
        await sup.start(services[1], dataclasses.replace(gateway, start_timeout=120.0), bare)
        tokens = AccessTokens(secret.encode(), timedelta(hours=6))
        yield Stack(sup, config, dsn, bare_url, tokens)


# -- seeding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: str
    number: str
    name: str
    department_id: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class SeededKr:
    id: str
    owner: Person


@dataclass
class Seeded:
    cycle_id: str
    people: list[Person]
    krs: list[SeededKr]
    import_seconds: float
    goals_seconds: float
    seed_result: LoadResult | None = None


async def list_people(identity_addr: str) -> list[Person]:
    people: list[Person] = []
    async with channel(identity_addr) as ch:
        stub = identity_pb2_grpc.IdentityServiceStub(ch)
        token = ""
        while True:
            page = await stub.ListEmployees(
                identity_pb2.ListEmployeesRequest(
                    page=common_pb2.PageRequest(page_size=200, page_token=token)
                ),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            for e in page.employees:
                roles = [*e.roles, *(["manager"] if e.is_manager else [])]
                people.append(
                    Person(e.id, e.employee_number, e.name, e.department_id, tuple(roles))
                )
            token = page.page.next_page_token
            if not token:
                return people


async def seed(stack: Stack, opts: Options, work: Path, console: Console) -> Seeded:
    rows = generate_org(opts.employees)
    csv_path = work / "org.csv"
    write_org_csv(rows, csv_path)
    t0 = time.perf_counter()
    report = await import_file(
        csv_path, stack.addr("identity"), batch_size=500, console=Console(quiet=True)
    )
    if report.counts.created != len(rows):
        raise RuntimeError(f"org import created {report.counts.created} of {len(rows)} people")
    people = await list_people(stack.addr("identity"))
    import_seconds = time.perf_counter() - t0
    console.print(f"  org import: {len(people):,} people in {import_seconds:.1f} s")

    today = local_today(datetime.now(UTC), TIME_ZONE)
    weights = kr_weights(opts.krs)
    krs: list[SeededKr] = []
    t0 = time.perf_counter()
    async with channel(stack.addr("goals")) as ch:
        goals = goals_pb2_grpc.GoalsServiceStub(ch)
        cycle = await goals.CreateCycle(
            goals_pb2.CreateCycleRequest(
                name="Bench cycle",
                start_date=(today - timedelta(weeks=8)).isoformat(),
                end_date=(today + timedelta(weeks=5)).isoformat(),
                time_zone=TIME_ZONE,
            ),
            timeout=GRPC_TIMEOUT,
            metadata=SEED_ACTOR,
        )

        async def objective_with_krs(person: Person) -> str:
            objective = await goals.CreateObjective(
                goals_pb2.CreateObjectiveRequest(
                    cycle_id=cycle.id,
                    title=f"Deliver the quarter ({person.number})",
                    owner_id=person.id,
                    level=goals_pb2.OBJECTIVE_LEVEL_INDIVIDUAL,
                ),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            for n, weight in enumerate(weights, 1):
                kr = await goals.CreateKeyResult(
                    goals_pb2.CreateKeyResultRequest(
                        objective_id=objective.id,
                        title=f"Key result {n}",
                        owner_id=person.id,
                        baseline=0,
                        target=100,
                        unit="%",
                        weight=weight,
                    ),
                    timeout=GRPC_TIMEOUT,
                    metadata=SEED_ACTOR,
                )
                krs.append(SeededKr(kr.id, person))
            return "ok"

        result = await run_load(people, [objective_with_krs] * opts.seed_concurrency)
    goals_seconds = time.perf_counter() - t0
    if result.ok != len(people):
        raise RuntimeError(f"seeding goals failed: {result.errors}")
    console.print(
        f"  goals: {len(people):,} objectives + {len(krs):,} key results in {goals_seconds:.1f} s"
    )
    return Seeded(cycle.id, people, krs, import_seconds, goals_seconds, result)


def token_for(stack: Stack, person: Person) -> str:
    """An access token as POST /auth/login would issue it (no password check: see above)."""
    return stack.tokens.issue(
        Principal(
            id=person.id,
            roles=frozenset(person.roles),
            department_id=person.department_id,
            name=person.name,
            employee_number=person.number,
        )
    ).token


# -- the phases -------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    load: LoadResult
    cpu: dict[str, float]  # process → CPU seconds during the phase
    rss: dict[str, float]  # process → RSS (MB) at the end of the phase
    # PostgreSQL sessions opened during the phase (pool connections that were not reused).
    pg_sessions: int = 0


@dataclass
class Result:
    options: Options
    seeded: Seeded
    phases: dict[str, Phase] = field(default_factory=dict)
    peak_rss: dict[str, float] = field(default_factory=dict)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)
    week: str = ""

    @property
    def ratio(self) -> float:
        gw, bare = self.phases["gateway"].load, self.phases["bare"].load
        return gw.per_second / bare.per_second if bare.per_second else 0.0


async def _measured(stack: Stack, name: str, load: Awaitable[LoadResult]) -> Phase:
    """Run ``load`` while accounting the CPU of every process involved."""
    sampler = CpuSampler(stack)
    result, cpu = await sampler.measure(load)
    cpu["load generator"] = result.client_cpu_seconds
    rss = {n: rss_mb(p) for n, p in stack.pids().items()}
    return Phase(name, result, cpu, rss, sampler.sessions)


async def _http_phase(
    base_url: str, items: Sequence[tuple[str, str]], body: dict[str, Any], opts: Options
) -> LoadResult:
    """``opts.concurrency`` httpx clients with one keep-alive connection each (one shared
    pool of that many connections costs the client several times more CPU per request)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0)
            )
            for _ in range(opts.concurrency)
        ]

        def poster(client: httpx.AsyncClient) -> Callable[[tuple[str, str]], Awaitable[str]]:
            async def post(item: tuple[str, str]) -> str:
                kr_id, token = item
                resp = await client.post(
                    f"/key-results/{kr_id}/check-ins",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
                return "ok" if resp.status_code == 201 else f"HTTP {resp.status_code}"

            return post

        return await run_load(items, [poster(c) for c in clients], deadline=opts.duration)


async def _goals_phase(
    stack: Stack, krs: Sequence[SeededKr], week: str, opts: Options
) -> LoadResult:
    async with channel(stack.addr("goals")) as ch:
        goals = goals_pb2_grpc.GoalsServiceStub(ch)

        async def record(kr: SeededKr) -> str:
            await goals.RecordCheckIn(
                goals_pb2.RecordCheckInRequest(
                    key_result_id=kr.id, value=GOALS_VALUE, confidence=7, note="bench", week=week
                ),
                timeout=GRPC_TIMEOUT,
                metadata=((ACTOR_KEY, kr.owner.id),),
            )
            return "ok"

        return await run_load(krs, [record] * opts.concurrency, deadline=opts.duration)


async def run_phases(stack: Stack, seeded: Seeded, opts: Options, console: Console) -> Result:
    result = Result(opts, seeded, load_average=os.getloadavg())
    today = local_today(datetime.now(UTC), TIME_ZONE)
    result.week = week_of(today)
    tokens = {p.id: token_for(stack, p) for p in seeded.people}
    order = list(seeded.krs)
    random.Random(4).shuffle(order)
    items = [(kr.id, tokens[kr.owner.id]) for kr in order]
    body = {"value": GATEWAY_VALUE, "confidence": 7, "note": "on plan", "week": result.week}

    console.print(f"  gateway: {len(items):,} check-ins, {opts.concurrency} in flight …")
    result.phases["gateway"] = await _measured(
        stack, "gateway", _http_phase(stack.api_url, items, body, opts)
    )
    console.print(f"  bare FastAPI + asyncpg: {len(items):,} inserts …")
    result.phases["bare"] = await _measured(
        stack, "bare", _http_phase(stack.bare_url, items, body, opts)
    )
    if opts.goals_sample > 0:
        sample = order[: opts.goals_sample]
        previous = week_of(today - timedelta(weeks=1))
        console.print(f"  goals gRPC directly: {len(sample):,} check-ins for {previous} …")
        result.phases["goals"] = await _measured(
            stack, "goals", _goals_phase(stack, sample, previous, opts)
        )
    result.peak_rss = {n: rss_mb(p, "VmHWM") for n, p in stack.pids().items()}
    return result


@asynccontextmanager
async def benchmark_stack(work: Path, log_level: str) -> AsyncIterator[Stack]:
    """A fresh database, a private NATS and the processes; everything removed afterwards."""
    async with fresh_postgres_database(postgres_server_url(), prefix="stride_bench") as dsn:
        with private_nats() as nats_url:
            async with running_stack(work, dsn, nats_url, log_level) as stack:
                yield stack


async def run(opts: Options, console: Console | None = None) -> Result:
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="stride-bench-") as tmp:
        work = Path(tmp)
        async with benchmark_stack(work, opts.log_level) as stack:
            console.print("  seeding …")
            seeded = await seed(stack, opts, work, console)
            return await run_phases(stack, seeded, opts, console)


# -- the report -------------------------------------------------------------------------------

PROCESS_ORDER = ("gateway", "goals", "identity", "bare", "postgres", "load generator")


def print_result(console: Console, result: Result) -> None:
    from rich.table import Table

    opts, seeded = result.options, result.seeded
    load1, load5, _ = result.load_average
    console.print(
        f"[bold]Check-ins[/bold]: {len(seeded.people):,} employees × {opts.krs} KRs, "
        f"{opts.concurrency} in flight, week {result.week}; "
        f"{os.cpu_count()} CPUs, load average {load1:.1f} / {load5:.1f} at the start"
    )
    seed = seeded.seed_result
    console.print(
        f"seeding: org import {seeded.import_seconds:.1f} s; objectives + KRs through goals "
        f"gRPC {seeded.goals_seconds:.1f} s"
        + (f" ({seed.per_second * (1 + opts.krs):,.0f} calls/s)" if seed else "")
    )
    labels = {
        "gateway": "gateway POST /key-results/{id}/check-ins",
        "bare": "bare FastAPI + asyncpg INSERT (ceiling)",
        "goals": "goals RecordCheckIn over gRPC (no gateway)",
    }
    table = Table(title="Check-in throughput (same load generator, same run)")
    for column in ("phase", "ok", "errors", "per s", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column in ("phase", "errors") else "right")
    for name, phase in result.phases.items():
        r = phase.load
        errors = ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "-"
        table.add_row(
            labels[name],
            f"{r.ok:,}",
            errors,
            f"{r.per_second:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.max_ms:.0f}",
        )
    console.print(table)
    console.print(f"[bold]gateway / bare ratio: {result.ratio:.3f}[/bold]")

    cpu = Table(title="Where the time goes: CPU seconds per check-in (ms), by process")
    cpu.add_column("process")
    for name in result.phases:
        cpu.add_column(name, justify="right")
    cpu.add_column("peak RSS MB", justify="right")
    for proc in PROCESS_ORDER:
        cells = []
        for phase in result.phases.values():
            seconds = phase.cpu.get(proc)
            ok = max(phase.load.ok, 1)
            cells.append("-" if not seconds else f"{seconds / ok * 1000:.2f}")
        if all(c == "-" for c in cells):
            continue
        peak = result.peak_rss.get(proc)
        cpu.add_row(proc, *cells, f"{peak:.0f}" if peak else "-")
    cpu.add_row(
        "new PostgreSQL sessions / 1,000",
        *(f"{p.pg_sessions / max(p.load.ok, 1) * 1000:.0f}" for p in result.phases.values()),
        "",
    )
    console.print(cpu)
