"""Done when: a generated 680-person CSV through `stride org import`, then a changed copy from
the fake DingTalk server through the org-sync workflow, gives exact counts. Also: a dry run
writes nothing, a DingTalk outage fails the run cleanly and the next run catches up, and a
crash between batches resumes without duplicates.

Real engines: identity on PostgreSQL (STRIDE_TEST_DATABASE_URL) or SQLite, a private NATS,
Temporal's time-skipping server; DingTalk is the fake HTTP server from tests/fakes.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from activities.audit import AuditActivities
from activities.org_sync import OrgSyncActivities
from services.cli.org import org_app
from services.common import db
from services.common.runtime import ServiceRuntime
from services.common.settings import WorkerSettings
from services.identity import server
from services.identity.models import OUTBOX, Department, Employee
from services.identity.sync.schedules import start_org_sync
from services.identity.sync.tables import OrgSyncRun
from services.worker.worker import ensure_search_attributes
from tests.fakes.dingtalk import APP_KEY, APP_SECRET, FakeDingTalk, FakeUser, serve
from tests.integration.services_fixtures import running, service_settings
from workflows.org_sync import (
    APPLY_ACTIVITY,
    PHASE_DONE,
    QUERY_REPORT,
    ApplyInput,
    ApplyResult,
    OrgSyncReport,
    OrgSyncWorkflow,
)
from workflows.search_attributes import STRIDE_PHASE

ROOT = "Acme Auto Parts"
DIVISIONS = {
    "Plant A": ["Stamping", "Welding"],
    "Plant B": ["Assembly", "Painting"],
    "Quality": ["Incoming", "Lab"],
    "Engineering": ["Tooling"],
    "Sales": ["Export"],
    "Supply Chain": [],
}


@dataclass
class Person:
    number: str
    name: str
    dept: str  # path from the root, "/"-separated
    manager: str = ""
    title: str = ""
    email: str = ""
    mobile: str = ""
    grade: str = ""
    hired: date | None = None
    userid: str = ""
    reports: list[str] = field(default_factory=list)


def generate_org() -> dict[str, Person]:
    """680 people in 15 departments, four levels: CEO → 6 directors → 34 managers → 639 staff."""
    people: dict[str, Person] = {}
    serial = iter(range(1, 10_000))

    def add(dept: str, manager: str, title: str, grade: str) -> Person:
        n = next(serial)
        p = Person(
            number=f"E{n:04d}",
            name=f"Person {n:04d}",
            dept=dept,
            manager=manager,
            title=title,
            email=f"p{n:04d}@acme.example",
            mobile=f"1380000{n:04d}",
            grade=grade,
            hired=date(2010, 1, 1) + timedelta(days=n * 5),
            userid=f"u{n:04d}",
        )
        people[p.number] = p
        if manager:
            people[manager].reports.append(p.number)
        return p

    ceo = add(ROOT, "", "General Manager", "M5")
    units: list[str] = []
    directors: list[Person] = []
    for division, subs in DIVISIONS.items():
        path = f"{ROOT}/{division}"
        directors.append(add(path, ceo.number, "Director", "M4"))
        units += [f"{path}/{s}" for s in subs] or [path]
    # 34 managers spread over the units, under the director of their division.
    managers: list[Person] = []
    for i in range(34):
        unit = units[i % len(units)]
        director = next(d for d in directors if unit.startswith(d.dept))
        managers.append(add(unit, director.number, "Manager", "M2"))
    while len(people) < 680:
        m = managers[len(people) % len(managers)]
        add(m.dept, m.number, "Operator", "P1")
    return people


def write_csv(people: dict[str, Person], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            [
                *("employee_number", "name", "department", "manager", "email", "mobile"),
                *("title", "grade", "hire_date"),
            ]
        )
        for p in people.values():
            out.writerow(
                [
                    *(p.number, p.name, p.dept, p.manager, p.email, p.mobile, p.title),
                    *(p.grade, p.hired.isoformat() if p.hired else ""),
                ]
            )


def hired_ms(day: date) -> int:
    """Midnight in Beijing (UTC+8), as DingTalk stores hire dates."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=8)
    return int(midnight.timestamp() * 1000)


def to_dingtalk(
    people: dict[str, Person], extra_departments: Sequence[str] = ()
) -> tuple[dict[int, tuple[str, int | None]], list[FakeUser]]:
    paths = sorted({p.dept for p in people.values()} | set(extra_departments), key=len)
    ids = {path: (1 if path == ROOT else 100 + i) for i, path in enumerate(paths)}
    departments: dict[int, tuple[str, int | None]] = {}
    for path, dept_id in ids.items():
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        departments[dept_id] = (path.rsplit("/", 1)[-1], ids[parent] if parent else None)
    by_number = {p.number: p for p in people.values()}
    users = [
        FakeUser(
            userid=p.userid,
            name=p.name,
            job_number=p.number,
            dept_ids=[ids[p.dept]],
            manager_userid=by_number[p.manager].userid
            if p.manager in by_number
            else (p.manager and f"u-ghost-{p.manager}"),
            org_email=p.email,
            mobile=p.mobile,
            title=p.title,
            hired_date=hired_ms(p.hired) if p.hired else 0,
        )
        for p in people.values()
    ]
    return departments, users


@dataclass
class Change:
    """The changed copy in DingTalk and the counts it must produce."""

    departments: dict[int, tuple[str, int | None]]
    users: list[FakeUser]
    expected: dict[str, int]
    # Employee numbers whose row changed (or was made invalid) in the copy.
    touched: set[str]


def change_org(people: dict[str, Person]) -> Change:
    staff = [p for p in people.values() if p.title == "Operator"]
    managers = [p for p in people.values() if p.title == "Manager"]
    changed = {n: replace(p, reports=list(p.reports)) for n, p in people.items()}
    picked = iter(staff)
    touched: set[str] = set()

    def take(n: int) -> list[Person]:
        chosen = [next(picked) for _ in range(n)]
        touched.update(p.number for p in chosen)
        return chosen

    leavers = take(9)
    for p in leavers:
        del changed[p.number]
    for p in take(20):  # profile updates: title or mobile
        changed[p.number].title = "Senior Operator" if int(p.number[1:]) % 2 else p.title
        if int(p.number[1:]) % 2 == 0:
            changed[p.number].mobile = "13900000000"
    for i, p in enumerate(take(10)):  # moves: another manager
        others = [m for m in managers if m.number != p.manager]
        changed[p.number].manager = others[i].number
        changed[p.number].dept = others[i].dept
    metrology = f"{ROOT}/Quality/Metrology"
    for p in take(5):  # moves: the new department, same manager
        changed[p.number].dept = metrology
    hires = []
    for i in range(12):
        m = managers[i]
        hires.append(
            Person(
                number=f"N{i:03d}",
                name=f"New {i}",
                dept=m.dept,
                manager=m.number,
                title="Operator",
                email=f"n{i}@acme.example",
                mobile=f"1370000{i:04d}",
                hired=date(2026, 11, 2),
                userid=f"new-{i}",
            )
        )
    for h in hires:
        changed[h.number] = h
    # Invalid rows.
    bad_email_manager = managers[20]
    changed[bad_email_manager.number].email = "not-an-email"  # rejected; reports keep them
    s1, s2 = take(2)  # a loop: they manage each other
    changed[s1.number].manager, changed[s2.number].manager = s2.number, s1.number
    dup_victim = next(picked)
    departments, users = to_dingtalk(changed, [metrology])
    root_id = 1
    users += [
        FakeUser("u-nonum", "No Number", "", [root_id], people["E0001"].userid),
        FakeUser("u-outside", "Outside", "N900", [root_id], "u-not-in-dingtalk"),
        FakeUser("u-dup", "Duplicate", dup_victim.number, [root_id], people["E0001"].userid),
    ]
    rows = len(users)
    assert rows == 680 - 9 + 12 + 3
    expected = {
        "created": 12,
        "updated": 20,
        "moved": 15,
        "deactivated": 9,
        # everyone else who is still there (minus the 4 existing rejected people)
        "unchanged": 680 - 9 - 20 - 15 - 1 - 2 - 1,
        "rejected": 7,  # no number, unknown manager, duplicate ×2, bad email, loop ×2
        "departments_created": 1,
        "departments_rejected": 0,
    }
    return Change(departments, users, expected, touched)


# --- fixtures ------------------------------------------------------------------------------
@dataclass
class Stack:
    identity: ServiceRuntime
    address: str
    client: Client
    settings: WorkerSettings
    fake: FakeDingTalk


@pytest.fixture
async def stack(
    database_url: str | None, data_dir: Path, nats_url: str, temporal_env: WorkflowEnvironment
) -> AsyncIterator[Stack]:
    prefix = f"oe{uuid.uuid4().hex[:8]}_"
    rt = server.runtime(service_settings(database_url, data_dir, nats_url, schema_prefix=prefix))
    fake = FakeDingTalk()
    await ensure_search_attributes(temporal_env.client)
    async with running(rt), serve(fake) as base_url:
        settings = WorkerSettings(
            identity_addr=f"127.0.0.1:{rt.port}",
            task_queue=f"org-sync-{uuid.uuid4()}",
            dingtalk_app_key=APP_KEY,
            dingtalk_app_secret=APP_SECRET,
            dingtalk_base_url=base_url,
            dingtalk_retry_backoff_seconds=0.01,
            org_sync_batch_size=200,
        )
        yield Stack(rt, settings.identity_addr, temporal_env.client, settings, fake)


class CrashOnce:
    """The apply activity, except that the first call for ``batch`` fails *after* identity
    committed the batch: as if the worker died before reporting the result."""

    def __init__(self, real: OrgSyncActivities, batch: int) -> None:
        self.real = real
        self.batch = batch
        self.crashed = 0

    @activity.defn(name=APPLY_ACTIVITY)
    async def apply_batch(self, input: ApplyInput) -> ApplyResult:
        result = await self.real.apply_batch(input)
        if input.batch_no == self.batch and not self.crashed:
            self.crashed += 1
            raise RuntimeError("worker lost after the batch committed")
        return result


async def digest(rt: ServiceRuntime) -> tuple[str, int, int, int]:
    """Fingerprint of everything a sync may write: employees, departments, outbox, runs."""
    assert rt.engine is not None
    async with db.session_factory(rt.engine)() as session:
        rows = (
            await session.execute(
                select(
                    Employee.employee_number,
                    Employee.status,
                    Employee.department_id,
                    Employee.manager_id,
                    Employee.title,
                    Employee.mobile,
                    Employee.email,
                    Employee.external_id,
                ).order_by(Employee.employee_number)
            )
        ).all()
        departments = await session.scalar(select(func.count()).select_from(Department))
        # Audit entries aside: the workflow records its runs (dry ones too) in the trail.
        outbox = await session.scalar(
            select(func.count())
            .select_from(OUTBOX)
            .where(~OUTBOX.c.subject.startswith("stride.audit."))
        )
        runs = await session.scalar(select(func.count()).select_from(OrgSyncRun))
    text = "\n".join("|".join(str(v) for v in r) for r in rows)
    return (
        hashlib.sha256(text.encode()).hexdigest(),
        int(departments or 0),
        int(outbox or 0),
        int(runs or 0),
    )


async def latest_run(rt: ServiceRuntime) -> OrgSyncRun:
    assert rt.engine is not None
    async with db.session_factory(rt.engine)() as session:
        query = select(OrgSyncRun).order_by(OrgSyncRun.created_at.desc()).limit(1)
        return (await session.scalars(query)).one()


async def employees(rt: ServiceRuntime) -> dict[str, Employee]:
    assert rt.engine is not None
    async with db.session_factory(rt.engine)() as session:
        return {e.employee_number: e for e in (await session.scalars(select(Employee))).all()}


def counts_of(report: OrgSyncReport) -> dict[str, int]:
    c = report.counts
    return {
        "created": c.created,
        "updated": c.updated,
        "moved": c.moved,
        "deactivated": c.deactivated,
        "unchanged": c.unchanged,
        "rejected": c.rejected,
        "departments_created": c.departments_created,
        "departments_rejected": c.departments_rejected,
    }


async def test_import_680_then_sync_changes_from_dingtalk(stack: Stack, tmp_path: Path) -> None:
    people = generate_org()
    assert len(people) == 680
    assert len({p.dept for p in people.values()}) == 15
    levels = {p.title for p in people.values()}
    assert levels == {"General Manager", "Director", "Manager", "Operator"}  # 4 levels

    # 1. `stride org import people.csv`, the real CLI (in a thread: it runs its own loop).
    path = tmp_path / "people.csv"
    write_csv(people, path)
    result = await asyncio.to_thread(
        CliRunner().invoke, org_app, ["import", str(path), "--identity", stack.address]
    )
    assert result.exit_code == 0, result.output
    assert "680 people, 15 departments" in result.output
    assert "created" in result.output and "680" in result.output
    imported = await employees(stack.identity)
    assert len(imported) == 680
    ceo, worker = imported["E0001"], imported["E0100"]
    assert ceo.manager_id is None and worker.manager_id is not None
    assert imported[people["E0100"].manager].id == worker.manager_id
    assert worker.grade == "P1" and worker.hire_date == people["E0100"].hired

    # 2. The changed copy in DingTalk.
    change = change_org(people)
    stack.fake.set_org(change.departments, change.users)
    before = await digest(stack.identity)
    crash = CrashOnce(OrgSyncActivities(stack.settings), batch=1)
    async with Worker(
        stack.client,
        task_queue=stack.settings.task_queue,
        workflows=[OrgSyncWorkflow],
        activities=[
            OrgSyncActivities(stack.settings).begin,
            OrgSyncActivities(stack.settings).plan,
            crash.apply_batch,
            OrgSyncActivities(stack.settings).fail,
            AuditActivities(stack.settings).record_decision,
        ],
    ):
        # A dry run reports the same numbers and writes nothing.
        dry = await start_org_sync(
            stack.client, "dingtalk", task_queue=stack.settings.task_queue, dry_run=True
        )
        assert dry.id == "org-sync/dingtalk/dry-run"
        dry_report = await dry.result()
        assert dry_report.status == "dry_run" and dry_report.run_id
        assert counts_of(dry_report) == change.expected
        # Nothing changed but the dry run, recorded as a run of its own.
        assert await digest(stack.identity) == (*before[:3], before[3] + 1)

        # The real run, through the workflow; batch 1 "crashes" after committing.
        handle = await start_org_sync(
            stack.client, "dingtalk", task_queue=stack.settings.task_queue
        )
        assert handle.id == "org-sync/dingtalk"
        report = await handle.result()
        # The report is also a query (answered by a worker, from the history).
        queried = await handle.query(QUERY_REPORT, result_type=OrgSyncReport)
    assert queried == report
    assert report.status == "applied", report.error
    assert counts_of(report) == change.expected
    assert report.counts.linked == 680 - 9 - 4 + 12  # DingTalk userids recorded
    assert report.counts.departments_linked == 15
    assert report.rejected_reasons == {
        "duplicate_employee_number": 2,
        "invalid_email": 1,
        "invalid_row": 1,
        "manager_cycle": 2,
        "unknown_manager": 1,
    }
    assert report.batch_count >= 3 and report.batches_applied == report.batch_count
    assert crash.crashed == 1 and report.replayed_batches == 1  # resumed, nothing twice
    description = await handle.describe()
    assert description.typed_search_attributes.get(STRIDE_PHASE) == PHASE_DONE

    after = await employees(stack.identity)
    assert len(after) == 680 + 12  # nobody deleted, nobody twice
    assert sum(e.status == "left" for e in after.values()) == 9
    new = after["N000"]
    assert new.external_id == "new-0" and new.manager_id == after[people["E0008"].number].id
    bad = [p for p in people.values() if p.title == "Manager"][20]
    assert after[bad.number].email == bad.email  # its row was rejected: untouched
    kept = [r for r in bad.reports if r not in change.touched]
    assert kept and all(after[r].manager_id == after[bad.number].id for r in kept)

    # Same DingTalk content again: nothing left to do.
    async with Worker(
        stack.client,
        task_queue=stack.settings.task_queue,
        workflows=[OrgSyncWorkflow],
        activities=[
            *OrgSyncActivities(stack.settings).all(),
            *AuditActivities(stack.settings).all(),
        ],
    ):
        again = await (
            await start_org_sync(stack.client, "dingtalk", task_queue=stack.settings.task_queue)
        ).result()
    assert again.operation_count == 0 and again.batch_count == 0
    assert again.counts.rejected == 7 and again.counts.unchanged == 680 - 9 - 4 + 12


async def test_dingtalk_outage_fails_cleanly_and_the_next_run_catches_up(stack: Stack) -> None:
    people = {p.number: p for p in list(generate_org().values())[:40]}
    departments, users = to_dingtalk(people)
    stack.fake.set_org(departments, users)
    async with Worker(
        stack.client,
        task_queue=stack.settings.task_queue,
        workflows=[OrgSyncWorkflow],
        activities=[
            *OrgSyncActivities(stack.settings).all(),
            *AuditActivities(stack.settings).all(),
        ],
    ):
        first = await (
            await start_org_sync(stack.client, "dingtalk", task_queue=stack.settings.task_queue)
        ).result()
        assert first.counts.created == 40
        before = await digest(stack.identity)

        # DingTalk is down (HTTP 500) while two people join.
        stack.fake.outage_status = 500
        extra = to_dingtalk(
            {
                **people,
                "X1": Person("X1", "Joiner 1", ROOT, "E0001", userid="x1"),
                "X2": Person("X2", "Joiner 2", ROOT, "E0001", userid="x2"),
            }
        )
        stack.fake.set_org(*extra)
        handle = await start_org_sync(
            stack.client, "dingtalk", task_queue=stack.settings.task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        message = str(failed.value.cause)
        assert "fetching or planning failed" in message and "HTTP 500" in message
        report = await handle.query(QUERY_REPORT, result_type=OrgSyncReport)
        assert report.status == "failed" and report.run_id == "" and report.operation_count == 0
        assert stack.fake.calls["/gettoken"] >= 3 * 3  # 3 activity attempts × 3 tries
        # Nothing written, nothing half-applied; the run is recorded as failed, with why.
        assert await digest(stack.identity) == (*before[:3], before[3] + 1)
        failed_run = await latest_run(stack.identity)
        assert failed_run.status == "failed" and "HTTP 500" in failed_run.error

        # Back up: the next run catches up.
        stack.fake.outage_status = None
        caught_up = await (
            await start_org_sync(stack.client, "dingtalk", task_queue=stack.settings.task_queue)
        ).result()
    assert caught_up.status == "applied"
    assert (caught_up.counts.created, caught_up.counts.unchanged) == (2, 40)
    assert {"X1", "X2"} <= set(await employees(stack.identity))
