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

Longer than ~400 lines: one benchmark's seeding, its four phases and their report.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.load import LoadResult, run_load
from bench.procstats import rss_mb
from bench.stack import TIME_ZONE, CpuSampler, Stack, benchmark_stack
from gateway.policy import Principal
from services.cli.org import import_file
from services.common.channels import channel
from services.common.request_context import ACTOR_KEY
from services.goals.calendar import local_today
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.vocabulary import week_of

__all__ = ["Options", "Result", "benchmark_stack", "run", "run_phases", "seed", "token_for"]

TEAM_SIZE = 20
TEAMS_PER_DIVISION = 10
ROOT_DEPARTMENT = "Bench Co"
SEED_ACTOR = ((ACTOR_KEY, "bench-seed"),)
GRPC_TIMEOUT = 60.0
# The value every check-in of the gateway and bare phases reports (goals phase: GOALS_VALUE).
GATEWAY_VALUE = 55.0
GOALS_VALUE = 40.0
# The bulk phase checks in on the current week as well, with another value: each of its
# check-ins moves its key result's value, as the gateway phase's do.
BULK_VALUE = 60.0
# Reads per connection in flight before the measured phases.
WARM_UP_ROUNDS = 3


@dataclass(frozen=True)
class Options:
    employees: int = 2_000
    krs: int = 3
    concurrency: int = 64
    # Stop starting requests of a load phase after this many seconds (None: all check-ins).
    # Keeps `make bench` short at 10,000 employees; the rates are per second either way.
    duration: float | None = 30.0
    seed_concurrency: int = 32
    # Check-ins sent straight to goals over gRPC (where the time goes); 0 skips that phase.
    goals_sample: int = 2_000
    # The phone screen's request (POST /check-ins: all of one person's key results at once)
    # for this many people; 0 skips that phase.
    bulk_sample: int = 1_000
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
    objective_id: str = ""


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
                krs.append(SeededKr(kr.id, person, objective.id))
            return "ok"

        result = await run_load(people, [objective_with_krs] * opts.seed_concurrency)
    goals_seconds = time.perf_counter() - t0
    if result.ok != len(people):
        raise RuntimeError(f"seeding goals failed: {result.errors}")
    console.print(
        f"  goals: {len(people):,} objectives + {len(krs):,} key results in {goals_seconds:.1f} s"
    )
    await stack.analyze()
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
    # Check-ins each request records (the bulk phase: every key result of one person).
    per_request: int = 1

    @property
    def check_ins(self) -> int:
        return self.load.ok * self.per_request

    @property
    def check_ins_per_second(self) -> float:
        return self.load.per_second * self.per_request


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


async def _measured(
    stack: Stack, name: str, load: Awaitable[LoadResult], per_request: int = 1
) -> Phase:
    """Run ``load`` while accounting the CPU of every process involved."""
    sampler = CpuSampler(stack)
    result, cpu = await sampler.measure(load)
    cpu["load generator"] = result.client_cpu_seconds
    rss = {n: rss_mb(p) for n, p in stack.pids().items()}
    return Phase(name, result, cpu, rss, sampler.sessions, per_request)


async def _http_phase(
    base_url: str,
    items: Sequence[tuple[str, str]],
    body: dict[str, Any] | None,
    opts: Options,
) -> LoadResult:
    """``opts.concurrency`` httpx clients with one keep-alive connection each (one shared
    pool of that many connections costs the client several times more CPU per request).
    Each item is a check-in POSTed with ``body``; ``body`` None reads the key result's
    check-ins instead (the warm-up)."""
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
                path = f"/key-results/{kr_id}/check-ins"
                headers = {"Authorization": f"Bearer {token}"}
                if body is None:
                    resp = await client.get(path, headers=headers)
                    return "ok" if resp.status_code == 200 else f"HTTP {resp.status_code}"
                resp = await client.post(path, json=body, headers=headers)
                return "ok" if resp.status_code == 201 else f"HTTP {resp.status_code}"

            return post

        return await run_load(items, [poster(c) for c in clients], deadline=opts.duration)


async def _bulk_phase(
    base_url: str, items: Sequence[tuple[list[str], str]], week: str, opts: Options
) -> LoadResult:
    """``POST /check-ins`` once per person with all of their key results (the phone
    screen's one submit), ``opts.concurrency`` in flight as in :func:`_http_phase`."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0)
            )
            for _ in range(opts.concurrency)
        ]

        def poster(client: httpx.AsyncClient) -> Callable[[tuple[list[str], str]], Awaitable[str]]:
            async def post(item: tuple[list[str], str]) -> str:
                kr_ids, token = item
                entries = [
                    {"key_result_id": k, "value": BULK_VALUE, "confidence": 7} for k in kr_ids
                ]
                resp = await client.post(
                    "/check-ins",
                    json={"week": week, "check_ins": entries},
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


async def _settled(stack: Stack, console: Console) -> None:
    """Each phase starts on an idle stack: what the one before queued is done first."""
    waited = await stack.settle()
    console.print(f"  {waited:.1f} s for the stack to go idle")


async def run_phases(stack: Stack, seeded: Seeded, opts: Options, console: Console) -> Result:
    result = Result(opts, seeded, load_average=os.getloadavg())
    today = local_today(datetime.now(UTC), TIME_ZONE)
    result.week = week_of(today)
    tokens = {p.id: token_for(stack, p) for p in seeded.people}
    order = list(seeded.krs)
    random.Random(4).shuffle(order)
    items = [(kr.id, tokens[kr.owner.id]) for kr in order]
    body = {"value": GATEWAY_VALUE, "confidence": 7, "note": "on plan", "week": result.week}

    # Warm-up: every process' connection pools filled at this concurrency, so the phases
    # measure the steady state (no PostgreSQL session should open during them).
    warm_up = items[: opts.concurrency * WARM_UP_ROUNDS]
    console.print(f"  warm-up: {len(warm_up):,} reads through the gateway …")
    await _http_phase(stack.api_url, warm_up, None, opts)
    await _settled(stack, console)
    console.print(f"  gateway: {len(items):,} check-ins, {opts.concurrency} in flight …")
    result.phases["gateway"] = await _measured(
        stack, "gateway", _http_phase(stack.api_url, items, body, opts)
    )
    await _settled(stack, console)
    console.print(f"  bare FastAPI + asyncpg: {len(items):,} inserts …")
    result.phases["bare"] = await _measured(
        stack, "bare", _http_phase(stack.bare_url, items, body, opts)
    )
    if opts.goals_sample > 0:
        sample = order[: opts.goals_sample]
        previous = week_of(today - timedelta(weeks=1))
        await _settled(stack, console)
        console.print(f"  goals gRPC directly: {len(sample):,} check-ins for {previous} …")
        result.phases["goals"] = await _measured(
            stack, "goals", _goals_phase(stack, sample, previous, opts)
        )
    if opts.bulk_sample > 0:
        owners: dict[str, list[str]] = {}
        for kr in order:
            owners.setdefault(kr.owner.id, []).append(kr.id)
        people = list(owners.items())[: opts.bulk_sample]
        await _settled(stack, console)
        console.print(f"  gateway bulk: {len(people):,} people's check-ins, one request each …")
        result.phases["bulk"] = await _measured(
            stack,
            "bulk",
            _bulk_phase(stack.api_url, [(krs, tokens[o]) for o, krs in people], result.week, opts),
            per_request=opts.krs,
        )
    result.peak_rss = {n: rss_mb(p, "VmHWM") for n, p in stack.pids().items()}
    return result


async def run(opts: Options, console: Console | None = None) -> Result:
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="stride-bench-") as tmp:
        work = Path(tmp)
        async with benchmark_stack(work, opts.log_level) as stack:
            console.print("  seeding …")
            seeded = await seed(stack, opts, work, console)
            return await run_phases(stack, seeded, opts, console)
