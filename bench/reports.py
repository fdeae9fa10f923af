"""Reports and dashboards: the read requests of the reports work through the gateway at p50 / p95,
next to a PostgreSQL point select measured in the same run.

What runs (one machine, like the check-in benchmark): a fresh PostgreSQL database, a private
nats-server, identity, goals, feedback and the gateway as processes (``stride serve``,
bench/stack.py); no Temporal (no read here touches it). The services create their tables
with their own migrations when they start.

Seeding goes straight into PostgreSQL with COPY (the API would take hours at 100,000
people), in the services' own tables and with the rows their code would write:

- identity: a company department with the top manager (head) and one HR person; divisions
  of ``DEPARTMENTS_PER_DIVISION`` departments of ``TEAMS_PER_DEPARTMENT`` teams of
  ``TEAM_SIZE`` people. Each division and department has a head (its only own member, who
  reports to the head above); a team's first member leads it (its head) and the others
  report to them;
- goals: one cycle (created over gRPC) in execution, 12 ISO weeks up to this one; per person
  one approved objective (the top manager's at company level, everyone else's aligned to
  their manager's) with three key results (0 → 100 %, weights 40/30/30) and a check-in per
  key result and week (with its version row). Each key result follows one of a few value
  paths (on track, slipping in the last week, short all along); its risk, score and current
  value, and each check-in's risk, come from goals' own rules (services/goals/evaluation.py
  ``rescore`` and ``assess``), computed once per path;
- the dashboard read models (goals migration 0009) are rebuilt from those tables by goals
  itself (``RebuildDashboards``, the code the dashboard feed runs for a new consumer), after
  ``ANALYZE``.

Then every request of :func:`requests` is sent sequentially through the gateway as the
person the issue names (tokens minted with the gateway's own code, as the check-in
benchmark does): a few warm-up calls, then ``repeats`` calls or as many as fit in
``budget`` seconds. HR's scores and participation are paged by person: what is measured is
their first page at the gateway's default page size (the scores' first page also carries the
whole cycle's department figures and alignment). The CPU each process spent per call shows
where the time goes. The ceiling: a prepared asyncpg primary-key select on the key results
table, sequential.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import math
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.table import Table as RichTable
from sqlalchemy import JSON, Table

from bench.checkin import Person, kr_weights, token_for
from bench.load import LoadResult, run_load
from bench.report import Target
from bench.stack import TIME_ZONE, CpuSampler, Stack, benchmark_stack
from services.common.channels import channel
from services.common.db import schema_name
from services.common.request_context import ACTOR_KEY
from services.common.settings import StrideSettings
from services.goals.calendar import local_today
from services.goals.evaluation import assess, rescore, score_of, store_assessment
from services.goals.models import (
    CHECK_IN_VERSIONS,
    CHECK_INS,
    KEY_RESULTS,
    RISK_COLUMNS,
    Cycle,
    KeyResult,
)
from services.goals.models import Objective as ObjectiveRow
from services.goals.risk_rules import DEFAULT_RULES
from services.identity.domain import login_key
from services.identity.models import Department, Employee
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from workflows.vocabulary import Level, ObjectiveStatus, Risk, week_of

__all__ = ["Options", "Result", "generate_org", "main_run", "run", "seed"]

TEAM_SIZE = 20
TEAMS_PER_DEPARTMENT = 10
DEPARTMENTS_PER_DIVISION = 10
WEEKS = 12
KRS = 3
SEED_ACTOR = ((ACTOR_KEY, "bench-seed"),)
GRPC_TIMEOUT = 600.0
# The services besides identity (no bare ceiling app: the ceiling here is a point select).
SERVICES = ("goals", "feedback")
COPY_CHUNK = 50_000
# The figure every request is held to at 10,000 people (the reports target), and the growth bound.
TARGET_P95_MS = 50.0
TARGET_SIZE = 10_000


@dataclass(frozen=True)
class Options:
    employees: int = 680
    # Sequential calls per request (fewer when ``budget`` runs out; at least one).
    repeats: int = 30
    budget: float = 20.0
    warm_up: int = 2
    # Sequential point selects of the ceiling.
    selects: int = 2_000
    log_level: str = "WARNING"


# -- the generated organisation (pure) --------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    parent_id: str | None
    head_id: str
    kind: str  # company | division | department | team


@dataclass
class Org:
    units: list[Unit] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    managers: dict[str, str | None] = field(default_factory=dict)  # person → manager

    def unit(self, kind: str) -> Unit:
        return next(u for u in self.units if u.kind == kind)

    def person(self, person_id: str) -> Person:
        return next(p for p in self.people if p.id == person_id)


def generate_org(employees: int, seed: int = 15) -> Org:
    """``employees`` people (at least 2: the top manager and HR) in the tree described in the
    module docstring, filled division by division; ids are random but reproducible."""
    if employees < 2:
        raise ValueError("the organisation needs at least the top manager and HR")
    rng = random.Random(seed)
    org = Org()

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def add_person(unit_id: str, manager: str | None, roles: tuple[str, ...] = ()) -> str:
        n = len(org.people)
        person = Person(new_id(), f"R{n:06d}", f"Report Person {n:06d}", unit_id, roles)
        org.people.append(person)
        org.managers[person.id] = manager
        return person.id

    def add_unit(kind: str, name: str, parent: Unit | None, head: str | None) -> Unit:
        unit_id = new_id()
        head_id = head or add_person(unit_id, parent.head_id if parent else None)
        unit = Unit(unit_id, name, parent.id if parent else None, head_id, kind)
        org.units.append(unit)
        return unit

    company = add_unit("company", "Reports Co", None, None)
    add_person(company.id, company.head_id, ("hr",))
    left = lambda: employees - len(org.people)  # noqa: E731
    division_no = 0
    while left() > 0:
        division_no += 1
        division = add_unit("division", f"Division {division_no:02d}", company, None)
        for d in range(1, DEPARTMENTS_PER_DIVISION + 1):
            if left() <= 0:
                break
            department = add_unit(
                "department", f"Department {division_no:02d}.{d:02d}", division, None
            )
            for t in range(1, TEAMS_PER_DEPARTMENT + 1):
                if left() <= 0:
                    break
                team_id = new_id()
                lead = add_person(team_id, department.head_id)
                org.units.append(
                    Unit(
                        team_id,
                        f"Team {division_no:02d}.{d:02d}.{t:02d}",
                        department.id,
                        lead,
                        "team",
                    )
                )
                for _ in range(min(TEAM_SIZE - 1, left())):
                    add_person(team_id, lead)
    # Roles as the token carries them: "manager" for everyone with reports.
    has_reports = {m for m in org.managers.values() if m}
    org.people = [
        Person(p.id, p.number, p.name, p.department_id, (*p.roles, "manager"))
        if p.id in has_reports
        else p
        for p in org.people
    ]
    return org


# -- value paths of the key results (goals' own rules decide risk and score) ------------------

# Progress per week relative to the linear plan: (name, share of key results, factor(week)).
PATHS: tuple[tuple[str, int, Callable[[int], float]], ...] = (
    ("on plan", 70, lambda w: 1.05),
    ("slipped last week", 15, lambda w: 1.0 if w < WEEKS - 1 else 0.6),
    ("short all along", 15, lambda w: 0.5),
)


@dataclass(frozen=True)
class PathRows:
    """What one value path writes: the key result's computed columns and, per week, the
    check-in's value and risk columns."""

    key_result: dict[str, Any]
    check_ins: list[dict[str, Any]]


def path_rows(cycle: Cycle, weeks: Sequence[str], factor: Callable[[int], float]) -> PathRows:
    span = (cycle.end_date - cycle.start_date).days + 1
    checks: list[tuple[str, float]] = []
    check_ins: list[dict[str, Any]] = []
    template = KeyResult(
        baseline=0.0,
        target=100.0,
        kind="number",
        direction="increase",
        plan=[],
        milestones=[],
        lower_bound=0.0,
        upper_bound=0.0,
        department_id="",
    )
    for w, week in enumerate(weeks):
        elapsed = min(span, 7 * (w + 1))
        value = round(min(100.0, 100.0 * elapsed / span * factor(w)), 1)
        checks.append((week, value))
        row = KeyResult()
        store_assessment(row, assess(template, cycle, checks, DEFAULT_RULES), DEFAULT_RULES.version)
        check_ins.append(
            {
                "week": week,
                "value": value,
                **{c: getattr(row, c) for c in RISK_COLUMNS},
                "score": score_of(template, checks),
            }
        )
    rescore(template, cycle, checks, DEFAULT_RULES)
    computed = {c: getattr(template, c) for c in (*RISK_COLUMNS, "score", "current_value")}
    return PathRows({**computed, "last_check_in_week": weeks[-1]}, check_ins)


def path_of(index: int) -> int:
    """Which value path key result ``index`` follows (deterministic, spread over people)."""
    slot = (index * 37) % 100
    for n, (_, share, _) in enumerate(PATHS):
        if slot < share:
            return n
        slot -= share
    return 0


# -- rows in the services' own tables ---------------------------------------------------------


class Rows:
    """Records for COPY into ``table``: every column in table order, the model's defaults
    where a row does not say (the values an ORM insert would write), JSON as text."""

    def __init__(self, table: Table, **fixed: Any) -> None:
        self.table = table
        self.columns = [c.name for c in table.columns]
        self.json = {c.name for c in table.columns if isinstance(c.type, JSON)}
        base: dict[str, Any] = {}
        for c in table.columns:
            default = c.default
            if default is None:
                base[c.name] = None
            elif getattr(default, "is_callable", False):
                base[c.name] = default.arg(None)  # type: ignore[attr-defined]
            else:
                base[c.name] = getattr(default, "arg", None)
        self.base = self._encoded({**base, **fixed})

    def _encoded(self, values: dict[str, Any]) -> dict[str, Any]:
        return {
            k: json.dumps(v) if k in self.json and v is not None else v for k, v in values.items()
        }

    def part(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values made ready once, for many records (:meth:`record_of`)."""
        return self._encoded(values)

    def record(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return self.record_of(self._encoded(values))

    def record_of(self, *parts: dict[str, Any]) -> tuple[Any, ...]:
        merged = self.base.copy()
        for part in parts:
            merged.update(part)
        return tuple(merged[c] for c in self.columns)


def chunks(
    items: Iterable[tuple[Any, ...]], size: int = COPY_CHUNK
) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def copy_rows(
    conn: asyncpg.Connection, schema: str, rows: Rows, records: Iterable[tuple[Any, ...]]
) -> int:
    written = 0
    for batch in chunks(records):
        await conn.copy_records_to_table(
            rows.table.name, records=batch, columns=rows.columns, schema_name=schema
        )
        written += len(batch)
    return written


def identity_records(org: Org) -> tuple[Rows, list[tuple[Any, ...]], Rows, list[tuple[Any, ...]]]:
    departments = Rows(Department.__table__)  # type: ignore[arg-type]
    employees = Rows(Employee.__table__, status="active")  # type: ignore[arg-type]
    dep_records = [
        departments.record(
            {"id": u.id, "name": u.name, "parent_id": u.parent_id, "head_id": u.head_id}
        )
        for u in org.units
    ]
    emp_records = [
        employees.record(
            {
                "id": p.id,
                "employee_number": p.number,
                "employee_number_key": login_key(p.number),
                "name": p.name,
                "department_id": p.department_id,
                "manager_id": org.managers[p.id],
                "roles": " ".join(r for r in p.roles if r != "manager"),
            }
        )
        for p in org.people
    ]
    return departments, dep_records, employees, emp_records


@dataclass
class Seeded:
    org: Org
    cycle_id: str
    weeks: list[str]
    key_results: int = 0
    check_ins: int = 0
    at_risk: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


async def seed(stack: Stack, opts: Options, console: Console) -> Seeded:
    """The organisation, its goals and check-ins (COPY), then the dashboards' read models."""
    t0 = time.perf_counter()
    org = generate_org(opts.employees)
    today = local_today(datetime.now(UTC), TIME_ZONE)
    monday = today - timedelta(days=today.weekday())
    start = monday - timedelta(weeks=WEEKS - 1)
    weeks = [week_of(start + timedelta(weeks=w)) for w in range(WEEKS)]
    settings = StrideSettings()
    identity_schema, goals_schema = (
        schema_name(settings, "identity"),
        schema_name(settings, "goals"),
    )
    conn = await asyncpg.connect(stack.dsn)
    try:
        departments, dep_records, employees, emp_records = identity_records(org)
        async with conn.transaction():
            await copy_rows(conn, identity_schema, departments, dep_records)
            await copy_rows(conn, identity_schema, employees, emp_records)
            # COPY bypasses the ORM: count the org tree's version up ourselves, last
            # (services/identity/org_version.py), so no cached reach outlives the load.
            await conn.execute(
                f'UPDATE "{identity_schema}".org_version SET version = version + 1 WHERE id = 1'
            )
        seconds = {"identity": time.perf_counter() - t0}

        t0 = time.perf_counter()
        async with channel(stack.addr("goals")) as ch:
            goals = goals_pb2_grpc.GoalsServiceStub(ch)
            cycle_pb = await goals.CreateCycle(
                goals_pb2.CreateCycleRequest(
                    name="Reports bench cycle",
                    start_date=start.isoformat(),
                    end_date=(start + timedelta(weeks=WEEKS + 1, days=-1)).isoformat(),
                    time_zone=TIME_ZONE,
                ),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            await conn.execute(
                f'UPDATE "{goals_schema}".cycles SET phase = $1 WHERE id = $2',
                "execution",
                cycle_pb.id,
            )
            cycle = Cycle(
                id=cycle_pb.id,
                start_date=date.fromisoformat(cycle_pb.start_date),
                end_date=date.fromisoformat(cycle_pb.end_date),
            )
            seeded = Seeded(org, cycle.id, weeks)
            async with conn.transaction():
                await _copy_goals(conn, goals_schema, org, cycle, weeks, seeded)
            for table in ("objectives", "key_results", "check_ins", "check_in_versions"):
                await conn.execute(f'ANALYZE "{goals_schema}".{table}')
            for table in ("departments", "employees"):
                await conn.execute(f'ANALYZE "{identity_schema}".{table}')
            seconds["goals"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            await goals.RebuildDashboards(
                goals_pb2.RebuildDashboardsRequest(cycle_id=cycle.id),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            await conn.execute(f'ANALYZE "{goals_schema}".dashboard_departments')
            await conn.execute(f'ANALYZE "{goals_schema}".dashboard_weeks')
            seconds["read models"] = time.perf_counter() - t0
    finally:
        await conn.close()
    seeded.seconds = seconds
    console.print(
        f"  seeded {len(org.people):,} people in {len(org.units):,} departments "
        f"({seconds['identity']:.1f} s), {seeded.key_results:,} key results and "
        f"{seeded.check_ins:,} check-ins ({seconds['goals']:.1f} s), dashboards rebuilt "
        f"({seconds['read models']:.1f} s)"
    )
    return seeded


async def _copy_goals(
    conn: asyncpg.Connection, schema: str, org: Org, cycle: Cycle, weeks: list[str], seeded: Seeded
) -> None:
    paths = [path_rows(cycle, weeks, factor) for _, _, factor in PATHS]
    rng = random.Random(16)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    objective_of = {p.id: new_id() for p in org.people}
    created = datetime.now(UTC)
    objectives = Rows(
        ObjectiveRow.__table__,  # type: ignore[arg-type]
        cycle_id=cycle.id,
        status=ObjectiveStatus.APPROVED.value,
        start_date=cycle.start_date,
        end_date=cycle.end_date,
        created_at=created,
        updated_at=created,
    )
    await copy_rows(
        conn,
        schema,
        objectives,
        (
            objectives.record(
                {
                    "id": objective_of[p.id],
                    "title": f"Deliver the quarter ({p.number})",
                    "owner_id": p.id,
                    "department_id": p.department_id,
                    "level": (Level.INDIVIDUAL if org.managers[p.id] else Level.COMPANY).value,
                    "parent_id": objective_of.get(org.managers[p.id] or ""),
                }
            )
            for p in org.people
        ),
    )
    key_results = Rows(
        KEY_RESULTS,
        cycle_id=cycle.id,
        baseline=0.0,
        target=100.0,
        unit="%",
        created_at=created,
        updated_at=created,
    )
    check_ins = Rows(CHECK_INS, recorded_by="bench-seed", revision=1, confidence=7)
    versions = Rows(CHECK_IN_VERSIONS, recorded_by="bench-seed", revision=1, confidence=7)
    kr_records: list[tuple[Any, ...]] = []
    ci_records: list[tuple[Any, ...]] = []
    version_records: list[tuple[Any, ...]] = []
    batches = [(key_results, kr_records), (check_ins, ci_records), (versions, version_records)]
    # Per path and week, what its check-ins say (recorded on the week's Friday, at-risk ones
    # with a blocker), encoded once.
    weekly = [
        [
            check_ins.part(
                {
                    **values,
                    "recorded_at": datetime.combine(
                        cycle.start_date + timedelta(weeks=w, days=4), datetime.min.time(), UTC
                    ),
                    "blockers": [{"text": "waiting for parts", "department_id": ""}]
                    if values["risk_status"] == Risk.AT_RISK
                    else [],
                }
            )
            for w, values in enumerate(path.check_ins)
        ]
        for path in paths
    ]
    index = 0
    for p in org.people:
        for n, weight in enumerate(kr_weights(KRS), 1):
            which = path_of(index)
            path = paths[which]
            index += 1
            kr_id = new_id()
            kr_records.append(
                key_results.record(
                    {
                        "id": kr_id,
                        "objective_id": objective_of[p.id],
                        "title": f"Key result {n}",
                        "owner_id": p.id,
                        "department_id": p.department_id,
                        "weight": weight,
                        **path.key_result,
                    }
                )
            )
            seeded.at_risk += path.key_result["risk_status"] == Risk.AT_RISK
            for week in weekly[which]:
                check_in_id = new_id()
                ci_records.append(
                    check_ins.record_of(week, {"id": check_in_id, "key_result_id": kr_id})
                )
                version_records.append(
                    versions.record_of(week, {"check_in_id": check_in_id, "key_result_id": kr_id})
                )
        if len(ci_records) >= COPY_CHUNK:
            await _flush(conn, schema, batches)
    await _flush(conn, schema, batches)
    seeded.key_results = index
    seeded.check_ins = index * WEEKS


async def _flush(
    conn: asyncpg.Connection, schema: str, batches: Sequence[tuple[Rows, list[tuple[Any, ...]]]]
) -> None:
    """COPY what was gathered, parents first (key results, check-ins, versions)."""
    for rows, records in batches:
        await copy_rows(conn, schema, rows, records)
        records.clear()


# -- the requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    name: str
    who: Person
    path: str
    params: tuple[tuple[str, str], ...] = ()


def requests(seeded: Seeded) -> list[Request]:
    """The issue's table (scores, participation, objective and key-result lists) and every
    dashboard route (gateway/routers/dashboards.py), each as the person who would ask; the
    paged ones (scores, participation, lists, dashboards) read their first page at the
    default page size, what a user gets (a dashboard's first 50 departments with the whole
    dashboard's totals)."""
    org, cycle = seeded.org, seeded.cycle_id
    company = org.unit("company")
    top = org.person(company.head_id)
    hr = next(p for p in org.people if "hr" in p.roles)
    team = org.unit("team")
    lead = org.person(team.head_id)
    division = org.unit("division")
    department = org.unit("department")
    head = org.person(department.head_id)
    at_risk = (("risk_status", "at_risk"), ("cycle_id", cycle))
    return [
        Request("HR /cycles/{id}/scores", hr, f"/cycles/{cycle}/scores"),
        Request("HR /cycles/{id}/participation", hr, f"/cycles/{cycle}/participation"),
        Request(
            "team head: their team's scores",
            lead,
            f"/cycles/{cycle}/scores",
            (("department_id", team.id),),
        ),
        Request("top manager: own scores", top, f"/cycles/{cycle}/scores"),
        Request("top manager: objectives, page 1", top, "/objectives", (("cycle_id", cycle),)),
        Request("HR: objectives, page 1", hr, "/objectives", (("cycle_id", cycle),)),
        Request("HR: at-risk key results, page 1", hr, "/key-results", at_risk),
        Request("dashboard: organisation (HR)", hr, f"/dashboards/{cycle}/organisation"),
        Request(
            "dashboard: a division and below (HR)",
            hr,
            f"/dashboards/{cycle}/departments/{division.id}",
        ),
        Request(
            "dashboard: my organisation (top manager)", top, f"/dashboards/{cycle}/my-organisation"
        ),
        Request(
            "dashboard: my organisation (department head)",
            head,
            f"/dashboards/{cycle}/my-organisation",
        ),
        Request(
            "dashboard: my organisation at risk, page 1 (top manager)",
            top,
            f"/dashboards/{cycle}/my-organisation/at-risk",
        ),
    ]


@dataclass
class Measured:
    request: Request
    load: LoadResult
    cpu_ms: dict[str, float]  # process → CPU ms per call
    status: int
    body_bytes: int
    body: Any


@dataclass
class Result:
    options: Options
    seeded: Seeded
    measured: list[Measured] = field(default_factory=list)
    ceiling: LoadResult | None = None
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def people(self) -> int:
        return len(self.seeded.org.people)

    def by_name(self) -> dict[str, Measured]:
        return {m.request.name: m for m in self.measured}


async def _measure(
    stack: Stack, client: httpx.AsyncClient, request: Request, token: str, opts: Options
) -> Measured:
    headers = {"Authorization": f"Bearer {token}"}
    last: list[httpx.Response] = []

    async def call(_: int) -> str:
        resp = await client.get(request.path, params=request.params, headers=headers)
        last[:] = [resp]
        return "ok" if resp.status_code == 200 else f"HTTP {resp.status_code}"

    for _ in range(opts.warm_up):
        await call(0)
    sampler = CpuSampler(stack)
    load, cpu = await sampler.measure(run_load(range(opts.repeats), [call], deadline=opts.budget))
    calls = max(load.requests, 1)
    resp = last[0]
    body = resp.json() if resp.headers.get("content-type", "").endswith("json") else None
    return Measured(
        request,
        load,
        {name: seconds / calls * 1000 for name, seconds in cpu.items()},
        resp.status_code,
        len(resp.content),
        body,
    )


async def point_selects(dsn: str, ids: Sequence[str], opts: Options) -> LoadResult:
    """The engine's ceiling: a prepared primary-key select of a key result, one at a time."""
    settings = StrideSettings()
    conn = await asyncpg.connect(dsn)
    try:
        statement = await conn.prepare(
            f'SELECT * FROM "{schema_name(settings, "goals")}".key_results WHERE id = $1'
        )

        async def select(kr_id: str) -> str:
            return "ok" if await statement.fetchrow(kr_id) is not None else "missing"

        pick = random.Random(17)
        return await run_load([pick.choice(ids) for _ in range(opts.selects)], [select])
    finally:
        await conn.close()


async def run_requests(stack: Stack, seeded: Seeded, opts: Options, console: Console) -> Result:
    result = Result(opts, seeded, load_average=os.getloadavg())
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=600.0) as client:
        for request in requests(seeded):
            console.print(f"  {request.name} …")
            token = token_for(stack, request.who)
            result.measured.append(await _measure(stack, client, request, token, opts))
    settings = StrideSettings()
    conn = await asyncpg.connect(stack.dsn)
    try:
        ids = [
            r["id"]
            for r in await conn.fetch(
                f'SELECT id FROM "{schema_name(settings, "goals")}".key_results LIMIT 5000'
            )
        ]
    finally:
        await conn.close()
    console.print(f"  ceiling: {opts.selects:,} prepared point selects …")
    result.ceiling = await point_selects(stack.dsn, ids, opts)
    return result


async def run(opts: Options, console: Console | None = None) -> Result:
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="stride-bench-reports-") as tmp:
        async with benchmark_stack(Path(tmp), opts.log_level, SERVICES, bare=False) as stack:
            seeded = await seed(stack, opts, console)
            return await run_requests(stack, seeded, opts, console)


# -- report -----------------------------------------------------------------------------------

# CPU columns: process → heading.
PROCESSES = {
    "gateway": "gw",
    "goals": "goals",
    "identity": "ident",
    "feedback": "fb",
    "postgres": "pg",
}


def print_reports(console: Console, result: Result) -> None:
    seeded, ceiling = result.seeded, result.ceiling
    assert ceiling is not None
    console.print(
        f"[bold]Reports and dashboards[/bold]: {result.people:,} people, "
        f"{len(seeded.org.units):,} departments, {seeded.key_results:,} key results "
        f"({seeded.at_risk:,} at risk), {seeded.check_ins:,} check-ins over {WEEKS} weeks; "
        f"sequential requests; {os.cpu_count()} CPUs, load average "
        f"{result.load_average[0]:.1f} at the start; ceiling: prepared point select "
        f"p50 {ceiling.p50_ms:.2f} ms, p95 {ceiling.p95_ms:.2f} ms"
    )
    table = RichTable(
        title=f"Reads through the gateway at {result.people:,} people",
        caption="× select: p95 / point-select p95; gw … pg: CPU ms per call by process",
    )
    columns = ("request", "calls", "status", "KB", "p50 ms", "p95 ms", "× select")
    for column in (*columns, *PROCESSES.values()):
        table.add_column(column, justify="left" if column == "request" else "right")
    for m in result.measured:
        r = m.load
        errors = ", ".join(f"{k}: {v}" for k, v in r.errors.items())
        table.add_row(
            m.request.name,
            f"{r.requests}",
            errors or str(m.status),
            f"{m.body_bytes / 1024:,.0f}",
            f"{r.p50_ms:,.1f}",
            f"{r.p95_ms:,.1f}",
            f"{r.p95_ms / ceiling.p95_ms:,.0f}" if ceiling.p95_ms else "-",
            *(f"{m.cpu_ms.get(p, 0.0):,.1f}" for p in PROCESSES),
        )
    console.print(table)


def p95(m: Measured) -> float:
    """The request's p95; infinite when any call failed (a failure is no latency to meet)."""
    return math.inf if m.load.errors else m.load.p95_ms


def failures(m: Measured) -> str:
    return "".join(f"; {outcome} × {n}" for outcome, n in m.load.errors.items())


def reports_targets(results: Sequence[Result]) -> list[Target]:
    """p95 ≤ 50 ms at 10,000 people for every request; from one size to the next, p95 grows
    no faster than the organisation (linear)."""
    targets: list[Target] = []
    for result in results:
        if result.people != TARGET_SIZE:
            continue
        assert result.ceiling is not None
        for m in result.measured:
            targets.append(
                Target(
                    f"{m.request.name} p95 ({result.people:,} people)",
                    p95(m),
                    TARGET_P95_MS,
                    at_most=True,
                    unit="ms",
                    note=f"p50 {m.load.p50_ms:,.1f} ms; point select p95 "
                    f"{result.ceiling.p95_ms:.2f} ms" + failures(m),
                )
            )
    ordered = sorted(results, key=lambda r: r.people)
    for small, large in itertools.pairwise(ordered):
        bound = large.people / small.people
        before = small.by_name()
        for m in large.measured:
            was = p95(before[m.request.name])
            targets.append(
                Target(
                    f"{m.request.name} p95 growth {small.people:,} → {large.people:,}",
                    p95(m) / was if was else 0.0,
                    bound,
                    at_most=True,
                    unit="×",
                    note=f"{was:,.1f} → {m.load.p95_ms:,.1f} ms; linear: × {bound:,.1f}"
                    + failures(m),
                )
            )
    return targets


def main_run(console: Console, sizes: Sequence[int], opts: Options) -> list[Target]:
    """One run per size (each on its own fresh database), then the targets over all of them."""
    results = []
    for size in sizes:
        console.print(f"[bold]Reports and dashboards[/bold] at {size:,} people …")
        result = asyncio.run(run(dataclasses.replace(opts, employees=size), console))
        print_reports(console, result)
        results.append(result)
    return reports_targets(results)
