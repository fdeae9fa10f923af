"""The authorization matrix: every endpoint × caller × whose object, through real HTTP.

Callers (columns): e employee, m manager (of e), h head of e's department, r HR, a admin,
x executive, k an API key with the scopes, n an API key without them, 0 nobody signed in.
Objects (rows of each endpoint): "own" (the caller's), "report" (e's, for m), "dept" (e's,
for h) and "other" (an employee's in another department); "-" for endpoints about no one's
object. Expected outcomes are written out by hand below — not derived from gateway/policy.py
— so a change of the policy shows up here:

  Y  allowed (the endpoint's own success answer)      F  403 forbidden
  4  404, exactly like a missing object (BOLA)         S  403 insufficient_scope (API keys)
  A  403 admin_required                                U  401 unauthenticated
  L  403 outside_reporting_line (key_result.assign)    .  not applicable
  N  409 no_manager (upward feedback)                  O  403 not_objective_owner
  W  403 own_round (the subject of a 360 round approving its raters)

A second test checks that this table names every route of the app, and that every route
(and every operation of the OpenAPI document) declares its rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import grpc
import httpx
import pytest
from fastapi.routing import APIRoute
from temporalio import activity
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from gateway.app import PUBLIC_DOC_ROUTES
from gateway.policy import WEB_PAGE
from gateway.security import RULE_EXTENSION, iter_routes, route_rules
from services.worker.worker import ensure_search_attributes
from stride.feedback.v1 import archive_pb2 as apb
from stride.feedback.v1 import feedback_pb2 as fpb
from stride.feedback.v1 import promotions_pb2 as ppb
from stride.feedback.v1 import rounds_pb2 as rpb
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import auth_pb2, identity_pb2, inbox_pb2, org_sync_pb2, org_sync_pb2_grpc
from stride.telemetry.v1 import telemetry_pb2 as tpb
from tests.integration.gateway_stack import (
    API,
    BASE,
    PASSWORD,
    GatewayStack,
    Person,
    bearer,
    gateway_stack,
)
from tests.unit.test_org_sync_workflow import Stand
from workflows import ids as workflow_ids
from workflows.monthly_brief import (
    COLLECT_ACTIVITY,
    BriefCollected,
    BriefCollectInput,
    MonthlyBriefWorkflow,
)
from workflows.org_sync import OrgSyncWorkflow
from workflows.vocabulary import week_of

COLUMNS = "emhraxkn0"
PEOPLE = "emhrax"
ALL_SCOPES = ["telemetry:write", "goals:read", "goals:write", "org:read", "org:write", "audit:read"]


@dataclass
class World:
    stack: GatewayStack
    people: dict[str, Person]  # e m h r a x, plus o (other department), t (target), a2, l
    headers: dict[str, dict[str, str]]  # by column
    departments: dict[str, str]  # ops, sales, hq, scratch
    cycle: str
    objectives: dict[str, str] = field(default_factory=dict)  # by owner letter
    key_results: dict[str, str] = field(default_factory=dict)
    next_cycle: str = ""  # copies go there
    approval: str = ""  # e's pending plan approval, decided by m
    # (column, target) -> (objective id, key result id) of a fresh draft made for that call
    fresh: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # 360: a template and e's rounds (nominating, collecting), made on first use
    feedback: dict[str, str] = field(default_factory=dict)

    def owner(self, column: str, target: str) -> str:
        """Letter of the person owning the object a column acts on for this row."""
        if target == "own":
            return column
        if target in ("report", "dept"):
            return "e"
        return "o"


# -- the world ----------------------------------------------------------------------------


async def _goals_of(world: World, letter: str) -> None:
    owner = world.people[letter].id
    goals = world.stack.goals
    obj = await goals.CreateObjective(
        gpb.CreateObjectiveRequest(cycle_id=world.cycle, title=f"Goal of {letter}", owner_id=owner)
    )
    kr = await goals.CreateKeyResult(
        gpb.CreateKeyResultRequest(objective_id=obj.id, title=f"KR of {letter}", target=100)
    )
    world.objectives[letter] = obj.id
    world.key_results[letter] = kr.id


@pytest.fixture(scope="module")
async def stack(
    database_url: str | None,
    nats_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    temporal_env: WorkflowEnvironment,
) -> AsyncIterator[GatewayStack]:
    async with gateway_stack(
        database_url,
        tmp_path_factory.mktemp("gw-matrix"),
        nats_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        task_queue=MATRIX_QUEUE,
        # No worker runs here: a step's workflow never starts, so waiting for it is wasted.
        workflow_start_patience=0.2,
    ) as s:
        yield s


@activity.defn(name=COLLECT_ACTIVITY)
async def _collect_nothing(input: BriefCollectInput) -> BriefCollected:
    """The brief of a month without departments: nothing to render or mail."""
    return BriefCollected()


@pytest.fixture(scope="module", autouse=True)
async def _finish_workflows(temporal_env: WorkflowEnvironment) -> AsyncIterator[None]:
    """The org syncs and the month-end brief the matrix started wait for a worker: run them to
    their end with stand-in activities. Terminating them instead leaves the shared
    time-skipping server unable to skip time (their first workflow task stays outstanding):
    every later test that waits on a timer or a retry then waits in real time (the org-sync
    outage tests took 40 s each instead of a fraction of a second)."""
    yield
    await ensure_search_attributes(temporal_env.client)
    stand = Stand(batches=0)
    async with Worker(
        temporal_env.client,
        task_queue=MATRIX_QUEUE,
        workflows=[OrgSyncWorkflow, MonthlyBriefWorkflow],
        activities=[*stand.activities(), _collect_nothing],
    ):
        started = [f"org-sync/{source}/dry-run" for source in SYNC_SOURCES.values()]
        for workflow_id in [*started, workflow_ids.monthly_brief(BRIEF_MONTH)]:
            handle = temporal_env.client.get_workflow_handle(workflow_id)
            with contextlib.suppress(RPCError):
                await asyncio.wait_for(handle.result(), 30)


@pytest.fixture(scope="module")
async def world(stack: GatewayStack) -> World:
    hq = await stack.department("HQ")
    sales = await stack.department("Sales")
    scratch = await stack.department("Scratch")
    ops = await stack.department("Operations")
    head = await stack.person(ops.id, name="Ops Head")
    await stack.admin_grpc.identity.UpdateDepartment(
        identity_pb2.UpdateDepartmentRequest(id=ops.id, head_id=head.id)
    )
    m = await stack.person(ops.id, name="Manager")
    people = {
        "e": await stack.person(ops.id, manager_id=m.id, name="Employee"),
        "m": m,
        "h": head,
        "r": await stack.person(hq.id, roles=["hr"], name="HR"),
        "a": await stack.person(hq.id, roles=["admin"], name="Admin"),
        "x": await stack.person(hq.id, roles=["executive"], name="Executive"),
        "o": await stack.person(sales.id, name="Outsider"),
        "t": await stack.person(sales.id, name="Reset Target", sign_in=False),
        "a2": await stack.person(hq.id, roles=["admin"], name="Other Admin", sign_in=False),
        "l": await stack.person(sales.id, name="Login Only", sign_in=False),
    }
    keys = {}
    for column, scopes in (("k", ALL_SCOPES), ("n", ["telemetry:write"])):
        created = await stack.admin_grpc.auth.CreateApiKey(
            auth_pb2.CreateApiKeyRequest(name=f"key {column}", scopes=scopes, created_by="test")
        )
        keys[column] = created.key
    headers = {c: people[c].headers for c in PEOPLE}
    headers["k"] = bearer(keys["k"])
    headers["n"] = {"X-API-Key": keys["n"]}
    headers["0"] = {}
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name="Matrix",
            start_date=(today - timedelta(days=40)).isoformat(),
            end_date=(today + timedelta(days=60)).isoformat(),
        )
    )
    w = World(
        stack,
        people,
        headers,
        {"ops": ops.id, "sales": sales.id, "hq": hq.id, "scratch": scratch.id},
        cycle.id,
    )
    for letter in (*PEOPLE, "o"):
        await _goals_of(w, letter)
    w.next_cycle = (
        await stack.goals.CreateCycle(
            gpb.CreateCycleRequest(
                name="Matrix next", start_date="2027-01-01", end_date="2027-03-31"
            )
        )
    ).id
    objective_id, _ = await _draft(w, "e")
    w.approval = (
        await stack.goals.SubmitPlan(
            gpb.SubmitPlanRequest(
                cycle_id=w.cycle, employee_id=people["e"].id, objective_ids=[objective_id]
            )
        )
    ).id
    return w


async def _draft(w: World, letter: str, cycle_id: str = "") -> tuple[str, str]:
    """A new draft objective of ``letter`` with one key result weighing 100."""
    obj = await w.stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle_id or w.cycle,
            title=_uniq(f"Draft of {letter}"),
            owner_id=w.people[letter].id,
        )
    )
    kr = await w.stack.goals.CreateKeyResult(
        gpb.CreateKeyResultRequest(objective_id=obj.id, title="KR", target=10, weight=100)
    )
    return obj.id, kr.id


# -- the table ----------------------------------------------------------------------------

Grid = dict[str, str]  # target → one outcome letter per column of COLUMNS
Params = Callable[[World, str, str], Awaitable[dict[str, str]]]  # (world, column, target)
Body = Callable[[World, str, str], Awaitable[Any]]


def grid(**rows: str) -> Grid:
    out = {}
    for target, cells in rows.items():
        letters = cells.replace(" ", "")
        assert len(letters) == len(COLUMNS), (target, cells)
        out["-" if target == "any" else target] = letters
    return out


# Columns:  e m h r a x k n 0
GOAL_READ = grid(
    own="Y Y Y Y Y Y . . .",
    report=". Y . . . . . . .",
    dept=". . Y . . . . . .",
    other="4 4 4 Y Y Y Y S U",
)
GOAL_WRITE = grid(
    own="Y Y Y Y Y Y . . .",
    report=". F . . . . . . .",
    dept=". . F . . . . . .",
    other="4 4 4 F Y F Y S U",
)
GOAL_CREATE = grid(  # the owner named in the body
    own="Y Y Y Y Y Y . . .",
    report=". F . . . . . . .",
    dept=". . F . . . . . .",
    other="F F F F Y F Y S U",
)
SELF_SCORE = grid(  # people only, the owner (and admin)
    own="Y Y Y Y Y Y . . .",
    report=". F . . . . . . .",
    dept=". . F . . . . . .",
    other="4 4 4 F Y F S S U",
)
# e's plan approval: e, its approver m, HR, admin (h heads e's department but is not asked).
APPROVAL_READ = grid(any="Y Y 4 Y Y 4 Y S U")
CHECKLIST_WRITE = grid(any="F F Y Y Y F Y S U")  # Operations' checklist; h heads it
BLOCKERS = grid(any="F F Y Y Y F Y S U")  # Operations' blockers; h heads it
# Operations' daily inspection: e, m and h are its members (h heads it, HR does not belong).
INSPECTION = grid(any="Y Y Y B Y B S S U")
EVERYONE = grid(any="Y Y Y Y Y Y Y S U")
PEOPLE_ONLY = grid(any="Y Y Y Y Y Y S S U")
ANY_CALLER = grid(any="Y Y Y Y Y Y Y Y U")
PUBLIC = grid(any="Y Y Y Y Y Y Y Y Y")
CYCLES_READ = EVERYONE
ORG_WRITE = grid(any="F F F Y Y F Y S U")
HR_ADMIN = grid(any="F F F Y Y F S S U")
ADMIN_ONLY = grid(any="F F F F Y F S S U")
AUDIT = grid(any="F F F Y Y F Y S U")
ADMIN_TARGET = grid(any="F F F A Y F A S U")  # changing an admin, or granting admin
RESET_ADMIN = grid(any="F F F A Y F S S U")
ORG_SYNC_READ = grid(any="F F F Y Y F Y S U")
DASHBOARD_ORG = grid(any="F F F Y Y Y Y S U")
DASHBOARD_DEPARTMENT = grid(any="F F Y Y Y Y Y S U")
MY_ORGANISATION = grid(any="4 Y Y 4 4 4 S S U")  # 4: no_organisation (nobody reports to them)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as routed, below /api/v1
    grid: Grid
    ok: tuple[int, str | None] = (200, None)
    hidden: str = ""  # the "not found" code a 4 must carry
    params: Params | None = None
    body: Body | None = None
    variant: str = ""
    query: Params | None = None  # the query string

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}{' ' + self.variant if self.variant else ''}"


def _uniq(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


async def objective(w: World, column: str, target: str) -> dict[str, str]:
    return {"objective_id": w.objectives[w.owner(column, target)]}


async def first_rules(w: World, column: str, target: str) -> dict[str, str]:
    return {"version": "1"}  # the rules the migration put in force


async def key_result(w: World, column: str, target: str) -> dict[str, str]:
    return {"key_result_id": w.key_results[w.owner(column, target)]}


async def department(w: World, column: str, target: str) -> dict[str, str]:
    return {"department_id": w.departments["scratch"]}


async def employee(w: World, column: str, target: str) -> dict[str, str]:
    return {"employee_id": w.people["t"].id}


async def other_admin(w: World, column: str, target: str) -> dict[str, str]:
    return {"employee_id": w.people["a2"].id}


async def cycle(w: World, column: str, target: str) -> dict[str, str]:
    return {"cycle_id": w.cycle}


async def fresh_cycle(w: World, column: str, target: str) -> dict[str, str]:
    c = await w.stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=_uniq("To close"), start_date="2026-01-01", end_date="2026-03-31"
        )
    )
    return {"cycle_id": c.id}


async def fresh_key(w: World, column: str, target: str) -> dict[str, str]:
    created = await w.stack.admin_grpc.auth.CreateApiKey(
        auth_pb2.CreateApiKeyRequest(name=_uniq("revoke me"), scopes=["org:read"], created_by="t")
    )
    return {"api_key_id": created.api_key.id}


# Each caller allowed to start a sync gets its own source, so none finds another's running
# (the runs wait for a worker that never comes; terminated when the module ends).
SYNC_SOURCES = {"r": "file", "a": "json", "k": "dingtalk"}
MATRIX_QUEUE = f"matrix-{uuid.uuid4()}"


ORG_FILE = b"employee_number,name,department\nM1,Matrix Person,Matrix\n"


async def sync_body(w: World, column: str, target: str) -> Any:
    source = SYNC_SOURCES.get(column, "file")
    body: dict[str, Any] = {"source": source, "dry_run": True}
    if source == "file" and column in SYNC_SOURCES:  # the file source needs an upload
        async with grpc.aio.insecure_channel(w.stack.settings.identity_addr) as channel:
            upload = await org_sync_pb2_grpc.OrgSyncServiceStub(channel).CreateOrgSyncUpload(
                org_sync_pb2.CreateOrgSyncUploadRequest(filename="org.csv", content=ORG_FILE)
            )
        body["upload_id"] = upload.upload_id
    return body


async def org_file(w: World, column: str, target: str) -> Any:
    return ORG_FILE  # sent as the raw body (text/csv)


async def sync_run(w: World, column: str, target: str) -> dict[str, str]:
    """A stored (planned, never applied) org sync run."""
    if "sync_run" not in w.departments:
        async with grpc.aio.insecure_channel(w.stack.settings.identity_addr) as channel:
            report = await org_sync_pb2_grpc.OrgSyncServiceStub(channel).PlanOrgSync(
                org_sync_pb2.PlanOrgSyncRequest(
                    source="file",
                    run_id=str(uuid.uuid4()),
                    snapshot=org_sync_pb2.OrgSnapshot(
                        departments=[org_sync_pb2.SourceDepartment(key="matrix", name="Matrix")]
                    ),
                    allow_mass_deactivation=True,
                )
            )
        w.departments["sync_run"] = report.run_id
    return {"run_id": w.departments["sync_run"]}


async def invite_body(w: World, column: str, target: str) -> Any:
    # Everyone in the world has a password: nothing to issue, the job is done at once.
    return {"employee_ids": [w.people["t"].id]}


async def invitation_job(w: World, column: str, target: str) -> dict[str, str]:
    """A finished (empty) invitation job of the caller: only they may read it."""
    job = await w.stack.admin_grpc.auth.CreateInvitationJob(
        auth_pb2.CreateInvitationJobRequest(
            employee_ids=[w.people["t"].id],
            requested_by=w.people[column].id if column in w.people else "nobody",
        )
    )
    return {"job_id": job.job_id}


def const(value: Any) -> Body:
    async def body(w: World, column: str, target: str) -> Any:
        return value

    return body


async def new_department(w: World, column: str, target: str) -> Any:
    return {"name": _uniq("Dept")}


async def new_employee(w: World, column: str, target: str) -> Any:
    n = uuid.uuid4().hex[:8]
    return {
        "employee_number": f"N{n}",
        "name": "New Hire",
        "email": f"{n}@example.com",
        "department_id": w.departments["sales"],
    }


async def new_admin(w: World, column: str, target: str) -> Any:
    return {**(await new_employee(w, column, target)), "roles": ["admin"]}


async def new_objective(w: World, column: str, target: str) -> Any:
    owner = w.people[w.owner(column, target)].id
    return {"cycle_id": w.cycle, "title": _uniq("Objective"), "owner_id": owner}


async def fresh_objective(w: World, column: str, target: str) -> dict[str, str]:
    """A fresh draft of the row's owner (so writes that change state never collide)."""
    w.fresh[(column, target)] = await _draft(w, w.owner(column, target))
    return {"objective_id": w.fresh[(column, target)][0]}


async def fresh_key_result(w: World, column: str, target: str) -> dict[str, str]:
    w.fresh[(column, target)] = await _draft(w, w.owner(column, target))
    return {"key_result_id": w.fresh[(column, target)][1]}


async def full_weight(w: World, column: str, target: str) -> Any:
    return {"weights": {w.fresh[(column, target)][1]: 100}}


async def ops(w: World, column: str, target: str) -> dict[str, str]:
    return {"department_id": w.departments["ops"]}


async def cycle_export(w: World, column: str, target: str) -> dict[str, str]:
    return {"cycle_id": w.cycle, "kind": "key_results"}


async def cycle_and_ops(w: World, column: str, target: str) -> dict[str, str]:
    return {"cycle_id": w.cycle, "department_id": w.departments["ops"]}


async def ops_blocker(w: World, column: str, target: str) -> dict[str, str]:
    return {"department_id": w.departments["ops"], "blocker_id": "no-such-blocker"}


async def fresh_robot(w: World, column: str, target: str) -> dict[str, str]:
    """The scratch department with a DingTalk robot (a DELETE that succeeds removes it)."""
    await w.stack.admin_grpc.identity.PutDepartmentRobot(
        identity_pb2.PutDepartmentRobotRequest(
            department_id=w.departments["scratch"],
            kind="dingtalk",
            webhook_url="https://oapi.dingtalk.com/robot/send?access_token=matrix",
        )
    )
    return {"department_id": w.departments["scratch"], "kind": "dingtalk"}


async def robot_kind(w: World, column: str, target: str) -> dict[str, str]:
    return {"department_id": w.departments["scratch"], "kind": "wecom"}


async def calendar_year(w: World, column: str, target: str) -> dict[str, str]:
    return {"year": "2031"}


async def approval(w: World, column: str, target: str) -> dict[str, str]:
    return {"approval_id": w.approval}


def _acting_for(w: World, column: str, target: str) -> dict[str, str]:
    """Name the owner unless it is the caller (API keys always name one)."""
    owner = w.people[w.owner(column, target)].id
    return {} if target == "own" else {"owner_id": owner}


async def plan_cycle(w: World, column: str, target: str) -> dict[str, str]:
    """A cycle of its own per call (one pending plan per person and cycle), with a draft."""
    c = await w.stack.goals.CreateCycle(
        gpb.CreateCycleRequest(name=_uniq("Plan"), start_date="2027-04-01", end_date="2027-06-30")
    )
    w.fresh[(column, target)] = await _draft(w, w.owner(column, target), c.id)
    return {"cycle_id": c.id}


async def plan_body(w: World, column: str, target: str) -> Any:
    objective_id, _ = w.fresh[(column, target)]
    body: dict[str, Any] = {"objective_ids": [objective_id]}
    if target != "own":
        body["employee_id"] = w.people[w.owner(column, target)].id
    return body


async def copy_body(w: World, column: str, target: str) -> Any:
    objective_id, _ = await _draft(w, w.owner(column, target))
    return {
        "source_cycle_id": w.cycle,
        "target_cycle_id": w.next_cycle,
        "objective_ids": [objective_id],
        **_acting_for(w, column, target),
    }


async def bulk_body(w: World, column: str, target: str) -> Any:
    kr = w.key_results[w.owner(column, target)]
    entry = {"key_result_id": kr, "value": 20, "confidence": 6}
    return {"check_ins": [entry], **_acting_for(w, column, target)}


@dataclass(frozen=True)
class Upload:
    """A body sent as a file (not JSON)."""

    content: bytes
    media: str = "text/csv"


async def import_file(w: World, column: str, target: str) -> Upload:
    """A check-in of e's key result last week, to import (as a dry run: nothing changes)."""
    week = week_of(date.today() - timedelta(days=7))
    kr = w.key_results["e"]
    return Upload(f"key_result_id,week,value,confidence\n{kr},{week},5,6\n".encode())


CHECKLIST = {"items": [{"id": "records", "label_zh": "记录完整", "label_en": "Records complete"}]}


async def inspection(w: World, column: str, target: str) -> Any:
    """Operations has its checklist (whatever ran before), and the inspection ticks it."""
    await w.stack.goals.SetChecklist(
        gpb.SetChecklistRequest(
            department_id=w.departments["ops"],
            items=[gpb.ChecklistItem(**item) for item in CHECKLIST["items"]],
        )
    )
    return {"checked": ["records"]}


async def refresh_token(w: World, column: str, target: str) -> Any:
    tokens = await w.stack.login(w.people["l"].login, PASSWORD)
    return {"refresh_token": tokens["refresh_token"]}


async def login_body(w: World, column: str, target: str) -> Any:
    return {"login": w.people["l"].login, "password": PASSWORD}


MATRIX_PIN = "2580"


async def pin_login_body(w: World, column: str, target: str) -> Any:
    """l's employee number and PIN (set the first time: every right PIN clears the count)."""
    person = w.people["l"]
    await w.stack.admin_grpc.auth.SetPin(
        auth_pb2.SetPinRequest(employee_id=person.id, current_password=PASSWORD, pin=MATRIX_PIN)
    )
    return {"employee_number": person.login, "pin": MATRIX_PIN}


ENDPOINTS: list[Endpoint] = [
    # sign-in
    Endpoint("POST", "/auth/login", PUBLIC, body=login_body),
    Endpoint("POST", "/auth/pin", PUBLIC, body=pin_login_body),
    Endpoint("POST", "/auth/refresh", PUBLIC, body=refresh_token),
    Endpoint("GET", "/auth/me", ANY_CALLER),
    Endpoint(
        "POST",
        "/auth/password",
        PEOPLE_ONLY,
        # Reaches identity, which refuses the weak password: nothing changes.
        ok=(422, "weak_password"),
        body=const({"current_password": "whatever", "new_password": "short"}),
    ),
    Endpoint(
        "POST", "/auth/logout", PEOPLE_ONLY, ok=(204, None), body=const({"refresh_token": "x"})
    ),
    Endpoint(
        "PUT",
        "/me/pin",
        PEOPLE_ONLY,
        # Reaches identity, which refuses the easy PIN: nothing changes.
        ok=(422, "weak_pin"),
        body=const({"current_password": PASSWORD, "pin": "1111"}),
    ),
    # organisation
    Endpoint("GET", "/departments", EVERYONE),
    Endpoint("GET", "/departments/{department_id}", EVERYONE, params=department),
    Endpoint("POST", "/departments", ORG_WRITE, ok=(201, None), body=new_department),
    Endpoint(
        "PATCH", "/departments/{department_id}", ORG_WRITE, params=department, body=new_department
    ),
    Endpoint("GET", "/employees", EVERYONE),
    Endpoint("GET", "/employees/{employee_id}", EVERYONE, params=employee),
    Endpoint("POST", "/employees", ORG_WRITE, ok=(201, None), body=new_employee),
    Endpoint("POST", "/employees", ADMIN_TARGET, ok=(201, None), body=new_admin, variant="(admin)"),
    Endpoint(
        "PATCH",
        "/employees/{employee_id}",
        ORG_WRITE,
        params=employee,
        body=const({"title": "Line lead"}),
    ),
    Endpoint(
        "PATCH",
        "/employees/{employee_id}",
        ADMIN_TARGET,
        params=other_admin,
        body=const({"title": "Admin"}),
        variant="(an admin)",
    ),
    Endpoint(
        "POST", "/employees/{employee_id}/password-reset", HR_ADMIN, params=employee, body=const({})
    ),
    Endpoint(
        "POST",
        "/employees/{employee_id}/password-reset",
        RESET_ADMIN,
        params=other_admin,
        body=const({}),
        variant="(an admin)",
    ),
    Endpoint("DELETE", "/employees/{employee_id}/pin", HR_ADMIN, ok=(204, None), params=employee),
    Endpoint(
        "DELETE",
        "/employees/{employee_id}/pin",
        RESET_ADMIN,
        ok=(204, None),
        params=other_admin,
        variant="(an admin)",
    ),
    # API keys and audit
    Endpoint(
        "POST",
        "/api-keys",
        ADMIN_ONLY,
        ok=(201, None),
        body=const({"name": "matrix", "scopes": ["org:read"]}),
    ),
    Endpoint("GET", "/api-keys", ADMIN_ONLY),
    Endpoint("POST", "/api-keys/{api_key_id}/revoke", ADMIN_ONLY, params=fresh_key),
    Endpoint("GET", "/audit", AUDIT),
    Endpoint("GET", "/audit/verify", AUDIT),
    Endpoint("GET", "/audit/export", AUDIT),
    # org sync and invitations
    Endpoint("POST", "/org/sync", ORG_WRITE, ok=(202, None), body=sync_body),
    Endpoint("POST", "/org/sync/uploads", ORG_WRITE, ok=(201, None), body=org_file),
    Endpoint("GET", "/org/sync/runs", ORG_SYNC_READ),
    Endpoint("GET", "/org/sync/runs/{run_id}", ORG_SYNC_READ, params=sync_run),
    Endpoint("POST", "/org/invitations", HR_ADMIN, ok=(202, None), body=invite_body),
    Endpoint("GET", "/org/invitations/jobs/{job_id}", HR_ADMIN, params=invitation_job),
    Endpoint("GET", "/org/invitations/jobs/{job_id}/slips", HR_ADMIN, params=invitation_job),
    # cycles
    Endpoint("GET", "/cycles", CYCLES_READ),
    Endpoint("GET", "/cycles/{cycle_id}", CYCLES_READ, params=cycle),
    Endpoint(
        "POST",
        "/cycles",
        HR_ADMIN,
        ok=(201, None),
        body=const({"name": "Q", "start_date": "2026-04-01", "end_date": "2026-06-30"}),
    ),
    Endpoint("POST", "/cycles/{cycle_id}/close", HR_ADMIN, params=fresh_cycle),
    Endpoint(
        "POST", "/cycles/{cycle_id}/check-ins/import", HR_ADMIN, params=cycle, body=import_file
    ),
    # goals: scores are everyone's (filters decide what they show), participation HR's
    Endpoint("GET", "/cycles/{cycle_id}/scores", EVERYONE, params=cycle),
    Endpoint("GET", "/cycles/{cycle_id}/participation", HR_ADMIN, params=cycle),
    # dashboards: the organisation's (HR, admin, executives), a department's (h heads ops),
    # one's own organisation (m manages e, h heads ops; people only)
    Endpoint("GET", "/cycles/{cycle_id}/exports/{kind}", HR_ADMIN, params=cycle_export),
    Endpoint("GET", "/dashboards/{cycle_id}/organisation", DASHBOARD_ORG, params=cycle),
    Endpoint(
        "GET",
        "/dashboards/{cycle_id}/departments/{department_id}",
        DASHBOARD_DEPARTMENT,
        params=cycle_and_ops,
    ),
    Endpoint(
        "GET",
        "/dashboards/{cycle_id}/my-organisation",
        MY_ORGANISATION,
        hidden="no_organisation",
        params=cycle,
    ),
    Endpoint(
        "GET",
        "/dashboards/{cycle_id}/my-organisation/at-risk",
        MY_ORGANISATION,
        hidden="no_organisation",
        params=cycle,
    ),
    Endpoint(
        "POST",
        "/cycles/{cycle_id}/plan/submit",
        GOAL_CREATE,
        ok=(201, None),
        params=plan_cycle,
        body=plan_body,
    ),
    Endpoint("POST", "/objectives/copy", GOAL_CREATE, ok=(201, None), body=copy_body),
    Endpoint(
        "DELETE",
        "/objectives/{objective_id}",
        GOAL_WRITE,
        ok=(204, None),
        hidden="objective_not_found",
        params=fresh_objective,
    ),
    Endpoint(
        "PATCH",
        "/objectives/{objective_id}",
        GOAL_WRITE,
        hidden="objective_not_found",
        params=objective,
        body=const({"description": "Updated"}),
    ),
    Endpoint(
        "PUT",
        "/objectives/{objective_id}/weights",
        GOAL_WRITE,
        hidden="objective_not_found",
        params=fresh_objective,
        body=full_weight,
    ),
    Endpoint("GET", "/key-results", EVERYONE),
    Endpoint(
        "PATCH",
        "/key-results/{key_result_id}",
        GOAL_WRITE,
        hidden="key_result_not_found",
        params=key_result,
        body=const({"unit": "pcs"}),
    ),
    Endpoint(
        "POST",
        "/key-results/{key_result_id}/self-score",
        SELF_SCORE,
        # Allowed, and the cycle is not in its closing phase (the service answers).
        ok=(409, "not_closing_phase"),
        hidden="key_result_not_found",
        params=key_result,
        body=const({"self_score": 0.8}),
    ),
    Endpoint(
        "GET",
        "/key-results/{key_result_id}/check-ins/history",
        GOAL_READ,
        hidden="key_result_not_found",
        params=key_result,
    ),
    Endpoint("POST", "/check-ins", GOAL_CREATE, ok=(201, None), body=bulk_body),
    Endpoint(
        "POST",
        "/key-results/{key_result_id}/revisions",
        GOAL_WRITE,
        # Allowed, and the objective is a draft: nothing to revise yet (the service answers).
        ok=(409, "objective_not_approved"),
        hidden="key_result_not_found",
        params=key_result,
        body=const({"new_target": 50, "reason": "Customer cut the forecast"}),
    ),
    Endpoint(
        "GET",
        "/key-results/{key_result_id}/revisions",
        GOAL_READ,
        hidden="key_result_not_found",
        params=key_result,
    ),
    Endpoint("PUT", "/me/preferences", PEOPLE_ONLY, body=const({"locale": "en"})),
    Endpoint("GET", "/risk-rules", EVERYONE),
    Endpoint("GET", "/risk-rules/versions", EVERYONE),
    Endpoint("GET", "/risk-rules/versions/{version}", EVERYONE, params=first_rules),
    Endpoint(
        "PUT",
        "/risk-rules",
        HR_ADMIN,
        body=const({"rule": {"threshold": 0.2, "weeks": 2}, "note": "unchanged numbers"}),
    ),
    Endpoint("GET", "/departments/{department_id}/checklist", EVERYONE, params=ops),
    # notification channels and the org calendar
    Endpoint("GET", "/departments/{department_id}/robots", HR_ADMIN, params=department),
    Endpoint(
        "PUT",
        "/departments/{department_id}/robots/{kind}",
        HR_ADMIN,
        params=robot_kind,
        body=const({"webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=m"}),
    ),
    Endpoint(
        "DELETE",
        "/departments/{department_id}/robots/{kind}",
        HR_ADMIN,
        ok=(204, None),
        params=fresh_robot,
    ),
    Endpoint("GET", "/org/calendar/{year}", EVERYONE, params=calendar_year),
    Endpoint(
        "PUT",
        "/org/calendar/{year}",
        HR_ADMIN,
        params=calendar_year,
        body=const({"holidays": [{"date": "2031-01-01", "name": "元旦"}]}),
    ),
    Endpoint("GET", "/org/notification-policy", EVERYONE),
    Endpoint("GET", "/training/courses", EVERYONE),
    Endpoint(
        "PUT",
        "/training/courses",
        HR_ADMIN,
        body=const(
            {
                "courses": [
                    {
                        "id": "sales-forecasting",
                        "title_zh": "销售预测",
                        "title_en": "Sales forecasting",
                        "topics": ["number"],
                        "url": "https://learn.example.com/forecasting",
                    }
                ]
            }
        ),
    ),
    Endpoint(
        "PUT",
        "/org/notification-policy",
        HR_ADMIN,
        body=const({"time_zone": "Asia/Shanghai", "quiet_start": "22:00", "quiet_end": "08:00"}),
    ),
    Endpoint(
        "PUT",
        "/departments/{department_id}/checklist",
        CHECKLIST_WRITE,
        params=ops,
        body=const(CHECKLIST),
    ),
    Endpoint(
        "POST",
        "/departments/{department_id}/inspections",
        INSPECTION,
        ok=(201, None),
        params=ops,
        body=inspection,
    ),
    Endpoint("GET", "/approvals", EVERYONE),
    Endpoint(
        "GET",
        "/approvals/{approval_id}",
        APPROVAL_READ,
        hidden="approval_not_found",
        params=approval,
    ),
    # goals
    Endpoint("GET", "/objectives", EVERYONE),
    Endpoint("POST", "/objectives", GOAL_CREATE, ok=(201, None), body=new_objective),
    Endpoint(
        "GET",
        "/objectives/{objective_id}",
        GOAL_READ,
        hidden="objective_not_found",
        params=objective,
    ),
    Endpoint(
        "GET",
        "/objectives/{objective_id}/key-results",
        GOAL_READ,
        hidden="objective_not_found",
        params=objective,
    ),
    Endpoint(
        "POST",
        "/objectives/{objective_id}/key-results",
        GOAL_WRITE,
        ok=(201, None),
        hidden="objective_not_found",
        params=objective,
        body=const({"title": "More", "baseline": 0, "target": 5}),
    ),
    Endpoint(
        "GET",
        "/key-results/{key_result_id}",
        GOAL_READ,
        hidden="key_result_not_found",
        params=key_result,
    ),
    Endpoint(
        "GET",
        "/key-results/{key_result_id}/check-ins",
        GOAL_READ,
        hidden="key_result_not_found",
        params=key_result,
    ),
    Endpoint(
        "POST",
        "/key-results/{key_result_id}/check-ins",
        GOAL_WRITE,
        ok=(201, None),
        hidden="key_result_not_found",
        params=key_result,
        body=const({"value": 10, "confidence": 7}),
    ),
    Endpoint(
        "GET",
        "/key-results/{key_result_id}/escalation",
        GOAL_READ,
        # Allowed, and there is no escalation workflow for it (Temporal answers).
        ok=(404, "escalation_not_found"),
        hidden="key_result_not_found",
        params=key_result,
    ),
    # A department's blockers: its heads, HR, admin, keys with the scope. Resolving one that
    # does not exist: allowed, then goals answers 404.
    Endpoint("GET", "/departments/{department_id}/blockers", BLOCKERS, params=ops),
    Endpoint(
        "POST",
        "/departments/{department_id}/blockers/{blocker_id}/resolve",
        BLOCKERS,
        ok=(404, "blocker_not_found"),
        params=ops_blocker,
    ),
    # A key result's coordination meeting: people only; who took part is decided on the
    # workflow's participants (tests/integration/test_escalation_red_flow.py: 403
    # not_a_participant). No escalation runs for these key results: 404.
    Endpoint(
        "GET",
        "/key-results/{key_result_id}/coordination",
        PEOPLE_ONLY,
        ok=(404, "coordination_not_found"),
        params=key_result,
    ),
    Endpoint(
        "POST",
        "/key-results/{key_result_id}/coordination/outcome",
        PEOPLE_ONLY,
        ok=(404, "coordination_not_found"),
        params=key_result,
        body=const({"outcome": "Airfreight the bearings", "follow_up": "2099-01-05"}),
    ),
]

# -- workflows and the inbox --
# e's plan approval: its approver m, HR and admin may decide; e may read it (403), h and x
# may not (404). Allowed, the matrix stack has no approval workflow running for it: 503.
APPROVAL_DECIDE = grid(any="F Y 4 Y Y 4 S S U")
INBOX_ITEM = grid(own="Y Y Y Y Y Y . . .", other="4 4 4 4 4 4 S S U")


async def inbox_item(w: World, column: str, target: str) -> dict[str, str]:
    """A fresh inbox item of the row's owner (o's for "other")."""
    owner = w.people[w.owner(column, target) if column in PEOPLE else "o"].id
    delivered = await w.stack.deps.inbox.Deliver(
        inbox_pb2.DeliverRequest(
            key=f"matrix/{uuid.uuid4().hex}",
            recipient_id=owner,
            template="cycle.midpoint",
            title_zh="中期回顾",
            title_en="Mid-cycle review",
        )
    )
    return {"item_id": delivered.item.id}


WORKFLOW_ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/me/inbox", PEOPLE_ONLY),
    Endpoint(
        "POST",
        "/me/inbox/{item_id}/read",
        INBOX_ITEM,
        hidden="inbox_item_not_found",
        params=inbox_item,
    ),
    Endpoint(
        "POST",
        "/approvals/{approval_id}/decision",
        APPROVAL_DECIDE,
        ok=(503, "approval_workflow_unavailable"),
        hidden="approval_not_found",
        params=approval,
        body=const({"decision": "approve", "comment": "ok"}),
    ),
]
ENDPOINTS += WORKFLOW_ENDPOINTS


# -- giving a key result to someone else: down one's reporting line ---------------------------
# The caller gives from a fresh draft objective of their own (API keys and nobody: x's) a key
# result owned by the row's person: themselves, e (m's report; in h's department, but h does
# not manage e) or o (another department, nobody's report). Only m reaches e; admins and
# goals:write keys reach anyone.
GIVE = grid(
    own="Y Y Y Y Y Y . . .",
    report=". Y . . . . . . .",
    dept=". . L . . . . . .",
    other="L L L L Y L Y S U",
)


def _giver(column: str) -> str:
    return column if column in PEOPLE else "x"


async def giver_objective(w: World, column: str, target: str) -> dict[str, str]:
    w.fresh[(column, target)] = await _draft(w, _giver(column))
    return {"objective_id": w.fresh[(column, target)][0]}


async def giver_key_result(w: World, column: str, target: str) -> dict[str, str]:
    w.fresh[(column, target)] = await _draft(w, _giver(column))
    return {"key_result_id": w.fresh[(column, target)][1]}


def _assignee(w: World, column: str, target: str) -> str:
    return w.people[w.owner(column, target)].id


async def given_key_result(w: World, column: str, target: str) -> Any:
    owner = _assignee(w, column, target)
    return {"title": _uniq("Given"), "baseline": 0, "target": 5, "owner_id": owner}


async def objective_giving(w: World, column: str, target: str) -> Any:
    return {
        "cycle_id": w.cycle,
        "title": _uniq("Objective"),
        "owner_id": w.people[_giver(column)].id,
        "key_results": [await given_key_result(w, column, target)],
    }


async def handed_over(w: World, column: str, target: str) -> Any:
    return {"owner_id": _assignee(w, column, target)}


ENDPOINTS += [
    Endpoint(
        "POST",
        "/objectives",
        GIVE,
        ok=(201, None),
        body=objective_giving,
        variant="(a key result given to someone)",
    ),
    Endpoint(
        "POST",
        "/objectives/{objective_id}/key-results",
        GIVE,
        ok=(201, None),
        hidden="objective_not_found",
        params=giver_objective,
        body=given_key_result,
        variant="(given to someone)",
    ),
    Endpoint(
        "PATCH",
        "/key-results/{key_result_id}",
        GIVE,
        hidden="key_result_not_found",
        params=giver_key_result,
        body=handed_over,
        variant="(handed over to someone)",
    ),
]

# -- feedback --
# Items made straight through the feedback service's gRPC API (o is in Sales, t never signs in):
# private feedback by o about e shared with e's manager m; private feedback by o about h (e's
# colleague: a peer gets 404); praise by o about e; a request by o to e; o's challenge of e's
# objective. The service decides who reads each one.
_FEEDBACK: dict[str, str] = {}
PRIVATE_SHARED = grid(any="Y Y 4 4 4 4 S S U")  # about e, shared with e's manager m
PRIVATE_PEER = grid(any="4 4 Y 4 4 4 S S U")  # about h: e is a peer of h, m is not h's manager
PRAISE_READ = grid(any="Y Y Y Y Y Y S S U")  # e's department, its head, HR, admin, executive
DECLINE = grid(any="Y 4 4 4 4 4 S S U")  # only e was asked
UPWARD_GIVE = grid(any="Y N N N N N S S U")  # only e has a manager in the matrix's world
FREQUENCY = grid(any="F F Y Y Y Y S S U")  # h heads Operations
CHALLENGE_RAISE = grid(  # one's own objective cannot be challenged (422): no "own" row
    report=". Y . . . . . . .",
    dept=". . Y . . . . . .",
    other="4 4 4 Y Y Y S S U",
)
CHALLENGE_LIST = grid(
    own="Y Y Y Y Y Y . . .",
    report=". Y . . . . . . .",
    dept=". . Y . . . . . .",
    other="4 4 4 Y Y Y S S U",
)
# o's challenge of e's objective: e owns it, m manages e; h heads e's department but is not in
# e's manager chain.
CHALLENGE_READ = grid(any="Y Y 4 Y Y Y S S U")
CHALLENGE_CLOSE = grid(any="Y O 4 O O O S S U")  # only the owner answers or resolves


async def _feedback_item(w: World, key: str, **fields: Any) -> str:
    if key not in _FEEDBACK:
        given = await w.stack.feedback.GiveFeedback(
            fpb.GiveFeedbackRequest(author_id=w.people["o"].id, text=f"Matrix {key}", **fields)
        )
        _FEEDBACK[key] = given.id
    return _FEEDBACK[key]


async def private_shared(w: World, column: str, target: str) -> dict[str, str]:
    item = await _feedback_item(w, "shared", subject_id=w.people["e"].id, share_with_manager=True)
    return {"feedback_id": item}


async def private_peer(w: World, column: str, target: str) -> dict[str, str]:
    return {"feedback_id": await _feedback_item(w, "peer", subject_id=w.people["h"].id)}


async def praise_item(w: World, column: str, target: str) -> dict[str, str]:
    if "badge" not in _FEEDBACK:
        badge = await w.stack.feedback.PutBadge(
            fpb.PutBadgeRequest(
                code="matrix-pioneer", name_zh="数字先锋奖", name_en="Digital pioneer", active=True
            )
        )
        _FEEDBACK["badge"] = badge.id
    item = await _feedback_item(
        w, "praise", subject_id=w.people["e"].id, visibility="praise", badge_id=_FEEDBACK["badge"]
    )
    return {"feedback_id": item}


async def feedback_request(w: World, column: str, target: str) -> dict[str, str]:
    if "request" not in _FEEDBACK:
        ask = await w.stack.feedback.RequestFeedback(
            fpb.RequestFeedbackRequest(requester_id=w.people["o"].id, responder_id=w.people["e"].id)
        )
        _FEEDBACK["request"] = ask.id
    return {"request_id": _FEEDBACK["request"]}


async def new_challenge(w: World) -> str:
    raised = await w.stack.feedback.RaiseChallenge(
        fpb.RaiseChallengeRequest(
            objective_id=w.objectives["e"], challenger_id=w.people["o"].id, text="Why 100?"
        )
    )
    return str(raised.id)


async def challenge(w: World, column: str, target: str) -> dict[str, str]:
    if "challenge" not in _FEEDBACK:
        _FEEDBACK["challenge"] = await new_challenge(w)
    return {"challenge_id": _FEEDBACK["challenge"]}


async def fresh_challenge(w: World, column: str, target: str) -> dict[str, str]:
    return {"challenge_id": await new_challenge(w)}


async def feedback_about_t(w: World, column: str, target: str) -> Any:
    return {"subject_id": w.people["t"].id, "text": "Thanks for the handover"}


async def ask_t(w: World, column: str, target: str) -> Any:
    return {"responder_id": w.people["t"].id, "message": "How did my report read?"}


async def badge_code(w: World, column: str, target: str) -> dict[str, str]:
    return {"code": "matrix-badge"}


FEEDBACK_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST",
        "/feedback",
        PEOPLE_ONLY,
        ok=(201, None),
        body=feedback_about_t,
    ),
    Endpoint("GET", "/feedback", PEOPLE_ONLY),
    Endpoint(
        "GET",
        "/feedback/{feedback_id}",
        PRIVATE_SHARED,
        hidden="feedback_not_found",
        params=private_shared,
        variant="(private, shared with the manager)",
    ),
    Endpoint(
        "GET",
        "/feedback/{feedback_id}",
        PRIVATE_PEER,
        hidden="feedback_not_found",
        params=private_peer,
        variant="(private, about a peer)",
    ),
    Endpoint(
        "GET",
        "/feedback/{feedback_id}",
        PRAISE_READ,
        hidden="feedback_not_found",
        params=praise_item,
        variant="(praise)",
    ),
    Endpoint(
        "POST",
        "/feedback/requests",
        PEOPLE_ONLY,
        ok=(201, None),
        body=ask_t,
    ),
    Endpoint("GET", "/feedback/requests", PEOPLE_ONLY),
    Endpoint(
        "POST",
        "/feedback/requests/{request_id}/decline",
        DECLINE,
        hidden="feedback_request_not_found",
        params=feedback_request,
    ),
    Endpoint("GET", "/feedback/frequency", FREQUENCY),
    Endpoint("GET", "/feedback/settings", PEOPLE_ONLY),
    Endpoint("PUT", "/feedback/settings", HR_ADMIN, body=const({"anonymity_threshold": 3})),
    Endpoint("GET", "/praise", PEOPLE_ONLY),
    Endpoint("GET", "/badges", PEOPLE_ONLY),
    Endpoint(
        "PUT",
        "/badges/{code}",
        HR_ADMIN,
        params=badge_code,
        body=const({"name_zh": "质量之星", "name_en": "Quality star"}),
    ),
    Endpoint(
        "POST",
        "/me/upward-feedback",
        UPWARD_GIVE,
        ok=(201, None),
        body=const({"text": "Share the plan earlier", "anonymous": True}),
    ),
    Endpoint("GET", "/me/upward-feedback", PEOPLE_ONLY),
    Endpoint(
        "POST",
        "/objectives/{objective_id}/challenges",
        CHALLENGE_RAISE,
        ok=(201, None),
        hidden="objective_not_found",
        params=objective,
        body=const({"text": "Is this reachable?"}),
    ),
    Endpoint(
        "GET",
        "/objectives/{objective_id}/challenges",
        CHALLENGE_LIST,
        hidden="objective_not_found",
        params=objective,
    ),
    Endpoint("GET", "/challenges", PEOPLE_ONLY),
    Endpoint(
        "GET",
        "/challenges/{challenge_id}",
        CHALLENGE_READ,
        hidden="challenge_not_found",
        params=challenge,
    ),
    Endpoint(
        "POST",
        "/challenges/{challenge_id}/answer",
        CHALLENGE_CLOSE,
        hidden="challenge_not_found",
        params=fresh_challenge,
        body=const({"text": "Yes, with the new dies"}),
    ),
    Endpoint(
        "POST",
        "/challenges/{challenge_id}/resolve",
        CHALLENGE_CLOSE,
        hidden="challenge_not_found",
        params=fresh_challenge,
        body=const({}),
    ),
]
ENDPOINTS += FEEDBACK_ENDPOINTS

# -- 360 feedback rounds ---------------------------------------------------------------------
# Templates and starting rounds: HR and admin. e's round: e (subject), m (manager) and HR
# read it, anyone else reads "not found"; only e nominates; e and m (self, manager) answer as
# raters; results go to e, m and HR only. People only: no API key.
ROUND_READ = grid(any="Y Y 4 Y 4 4 S S U")
ROUND_NOMINATE = grid(any="Y J J J J J S S U")
ROUND_ANSWER = grid(any="Y Y V V V V S S U")
ROUND_RESULTS = grid(any="Y Y R Y R R S S U")
QUESTIONS = [
    {"id": "teamwork", "kind": "rating", "text_zh": "团队合作", "text_en": "Teamwork"},
    {"kind": "text", "text_zh": "建议", "text_en": "Advice"},
]


async def _template(w: World) -> str:
    if "template" not in w.feedback:
        made = await w.stack.rounds.CreateTemplate(
            rpb.CreateTemplateRequest(
                name="Matrix 360",
                questions=[rpb.Question(**{"anonymous": True, **q}) for q in QUESTIONS],
            )
        )
        w.feedback["template"] = made.id
    return w.feedback["template"]


async def feedback_template(w: World, column: str, target: str) -> dict[str, str]:
    return {"template_id": await _template(w)}


async def fresh_template(w: World, column: str, target: str) -> dict[str, str]:
    made = await w.stack.rounds.CreateTemplate(
        rpb.CreateTemplateRequest(
            name=_uniq("360"), questions=[rpb.Question(kind="rating", text_zh="好", text_en="Good")]
        )
    )
    return {"template_id": made.id}


def _round_dates() -> tuple[str, str]:
    today = date.today()
    return (today + timedelta(days=30)).isoformat(), (today + timedelta(days=7)).isoformat()


async def _round_of_e(w: World, phase: str) -> str:
    """e's round in a cycle of its own per phase ("nominating" or "collecting")."""
    if phase not in w.feedback:
        deadline, due = _round_dates()
        started = await w.stack.rounds.StartRounds(
            rpb.StartRoundsRequest(
                cycle_id=_uniq("matrix-360").replace(" ", "-"),
                template_id=await _template(w),
                department_id=w.departments["ops"],
                deadline=deadline,
                nominations_due=due,
            )
        )
        (mine,) = [r for r in started.rounds if r.subject_id == w.people["e"].id]
        if phase == "collecting":
            raters = [w.people["e"].id, w.people["m"].id]
            await w.stack.rounds.ApproveNominations(
                rpb.ApproveNominationsRequest(
                    round_id=mine.id, approver_id=w.people["m"].id, rater_ids=raters
                )
            )
            await w.stack.rounds.MarkInvited(rpb.MarkInvitedRequest(round_id=mine.id))
        w.feedback[phase] = mine.id
    return w.feedback[phase]


async def nominating_round(w: World, column: str, target: str) -> dict[str, str]:
    return {"round_id": await _round_of_e(w, "nominating")}


async def collecting_round(w: World, column: str, target: str) -> dict[str, str]:
    return {"round_id": await _round_of_e(w, "collecting")}


async def start_rounds_body(w: World, column: str, target: str) -> Any:
    deadline, due = _round_dates()
    return {
        "cycle_id": _uniq("matrix-start").replace(" ", "-"),
        "template_id": await _template(w),
        "department_id": w.departments["scratch"],  # nobody works there: no rounds
        "deadline": deadline,
        "nominations_due": due,
    }


ENDPOINTS += [
    Endpoint("GET", "/feedback-templates", HR_ADMIN),
    Endpoint(
        "POST",
        "/feedback-templates",
        HR_ADMIN,
        ok=(201, None),
        body=const({"name": "360", "questions": QUESTIONS}),
    ),
    Endpoint("GET", "/feedback-templates/{template_id}", HR_ADMIN, params=feedback_template),
    Endpoint(
        "PUT",
        "/feedback-templates/{template_id}",
        HR_ADMIN,
        params=fresh_template,
        body=const({"name": "360 v2", "questions": QUESTIONS}),
    ),
    Endpoint("DELETE", "/feedback-templates/{template_id}", HR_ADMIN, params=fresh_template),
    Endpoint("POST", "/feedback-rounds", HR_ADMIN, body=start_rounds_body),
    Endpoint(
        "GET",
        "/feedback-rounds/{round_id}",
        ROUND_READ,
        hidden="round_not_found",
        params=nominating_round,
    ),
    Endpoint(
        "PUT",
        "/feedback-rounds/{round_id}/nominations",
        ROUND_NOMINATE,
        params=nominating_round,
        body=const({"peer_ids": [], "report_ids": []}),
    ),
    Endpoint(
        "PUT",
        "/feedback-rounds/{round_id}/answers",
        ROUND_ANSWER,
        ok=(204, None),
        params=collecting_round,
        body=const({"answers": [{"question_id": "teamwork", "rating": 4}]}),
    ),
    Endpoint("GET", "/feedback-rounds/{round_id}/results", ROUND_RESULTS, params=collecting_round),
    Endpoint("GET", "/me/feedback-rounds", PEOPLE_ONLY),
]

# e's 360 round: only the subject's manager m and HR approve its rater list; e is the subject
# (403 own_round); who may not see the round (h, admin, x) gets 404. Allowed, the matrix stack
# has no round workflow running for it: 503.
ROUND_APPROVE = grid(any="W Y 4 Y 4 4 S S U")


async def e_and_m(w: World, column: str, target: str) -> Any:
    return {"rater_ids": [w.people["e"].id, w.people["m"].id]}


ENDPOINTS.append(
    Endpoint(
        "POST",
        "/feedback-rounds/{round_id}/nominations/approve",
        ROUND_APPROVE,
        ok=(503, "round_workflow_unavailable"),
        hidden="round_not_found",
        params=nominating_round,
        body=e_and_m,
    )
)

# Promotion reviews: a case of a fresh report of m, applied for by m. Who may not read it (e, h,
# admin, x) gets 404; the steps reach the workflow, which the matrix stack does not run: 503
# (objections do not read the case first: 404 for the missing workflow). Naming the panel,
# resolving and deciding are HR's (admin passes the gate and meets the 404).
PROMOTION_READ = grid(any="4 Y 4 Y 4 4 S S U")
PROMOTION_HR = grid(any="F F F Y 4 F S S U")
PROMOTION_STEP = (503, "promotion_workflow_unavailable")


async def promotion_case(w: World, column: str, target: str) -> dict[str, str]:
    if "promotion" not in w.feedback:
        m = w.people["m"]
        report = await w.stack.person(w.departments["ops"], manager_id=m.id, sign_in=False)
        case = await w.stack.promotions.Apply(
            ppb.ApplyRequest(
                applicant_id=m.id,
                candidate_id=report.id,
                current_grade="P3",
                target_grade="P4",
            )
        )
        w.feedback["promotion"] = case.id
    return {"case_id": w.feedback["promotion"]}


async def promotion_objection(w: World, column: str, target: str) -> dict[str, str]:
    return {**await promotion_case(w, column, target), "number": "1"}


ENDPOINTS += [
    Endpoint(
        "POST",
        "/promotions",
        grid(any="Y Y Y Y Y Y S S U"),
        ok=(201, None),
        body=const({"current_grade": "P1", "target_grade": "P2"}),
    ),
    Endpoint("GET", "/promotions", PEOPLE_ONLY),
    Endpoint(
        "GET",
        "/promotions/{case_id}",
        PROMOTION_READ,
        hidden="promotion_not_found",
        params=promotion_case,
    ),
    Endpoint(
        "POST",
        "/promotions/{case_id}/endorsement",
        PROMOTION_READ,
        ok=PROMOTION_STEP,
        hidden="promotion_not_found",
        params=promotion_case,
        body=const({"endorse": True}),
    ),
    Endpoint(
        "PUT",
        "/promotions/{case_id}/panel",
        PROMOTION_HR,
        ok=PROMOTION_STEP,
        hidden="promotion_not_found",
        params=promotion_case,
        body=const({"member_ids": ["emp-1", "emp-2", "emp-3"]}),
    ),
    Endpoint(
        "POST",
        "/promotions/{case_id}/scores",
        PROMOTION_READ,
        ok=PROMOTION_STEP,
        hidden="promotion_not_found",
        params=promotion_case,
        body=const({"score": 4}),
    ),
    Endpoint(
        "POST",
        "/promotions/{case_id}/objections",
        PEOPLE_ONLY,
        ok=(404, "promotion_not_found"),
        params=promotion_case,
        body=const({"reason": "not the best candidate"}),
    ),
    Endpoint(
        "POST",
        "/promotions/{case_id}/objections/{number}/resolution",
        PROMOTION_HR,
        ok=PROMOTION_STEP,
        hidden="promotion_not_found",
        params=promotion_objection,
        body=const({"uphold": False}),
    ),
    Endpoint(
        "POST",
        "/promotions/{case_id}/decision",
        PROMOTION_HR,
        ok=PROMOTION_STEP,
        hidden="promotion_not_found",
        params=promotion_case,
        body=const({"approve": True}),
    ),
    Endpoint(
        "POST",
        "/promotions/{case_id}/withdrawal",
        PROMOTION_READ,
        ok=PROMOTION_STEP,
        hidden="promotion_not_found",
        params=promotion_case,
        body=const({}),
    ),
    Endpoint("GET", "/promotion-rules", HR_ADMIN),
    Endpoint(
        "PUT",
        "/promotion-rules",
        HR_ADMIN,
        body=const({"min_rating": "B", "ratings_count": 2, "min_tenure_months": 12}),
    ),
]

# -- performance archive and calibration ---------------------------------------------------
# Reads: the employee, the managers in their reporting line, HR and admin (the feedback
# service decides; anyone else 404 archive_not_found). h heads e's department but is not in
# e's reporting line. Only the direct manager rates (404 for anyone else). HR/admin archive
# by hand, export and calibrate.
ARCHIVE_READ = grid(
    own="Y Y Y Y Y Y . . .",
    report=". Y . . . . . . .",
    dept=". . 4 . . . . . .",
    other="4 4 4 Y Y 4 S S U",
)
MANAGER_RATING = grid(
    own="4 4 4 4 4 4 . . .",
    report=". Y . . . . . . .",
    dept=". . 4 . . . . . .",
    other="4 4 4 4 4 4 S S U",
)


async def archive_of(w: World, column: str, target: str) -> dict[str, str]:
    return {"employee_id": w.people[w.owner(column, target)].id}


async def archive_rating(w: World, column: str, target: str) -> dict[str, str]:
    return {"employee_id": w.people[w.owner(column, target)].id, "cycle_id": w.cycle}


async def calibration_session(w: World, column: str, target: str) -> dict[str, str]:
    """Operations' calibration session in the matrix cycle (its records archived first)."""
    if "calibration" not in w.feedback:
        await w.stack.archive.ArchiveCycle(apb.ArchiveCycleRequest(cycle_id=w.cycle))
        opened = await w.stack.archive.OpenCalibration(
            apb.OpenCalibrationRequest(
                actor_id=w.people["r"].id, department_id=w.departments["ops"], cycle_id=w.cycle
            )
        )
        w.feedback["calibration"] = opened.id
    return {"calibration_id": w.feedback["calibration"]}


async def open_calibration_body(w: World, column: str, target: str) -> Any:
    return {"department_id": w.departments["ops"], "cycle_id": w.cycle}


async def calibration_change_body(w: World, column: str, target: str) -> Any:
    return {
        "employee_id": w.people["e"].id,
        "field": "potential",
        "value": "medium",
        "reason": "Matrix check",
    }


ENDPOINTS += [
    Endpoint("POST", "/cycles/{cycle_id}/archive", HR_ADMIN, params=cycle),
    Endpoint("GET", "/archive/export", HR_ADMIN),
    Endpoint("GET", "/me/archive", PEOPLE_ONLY),
    Endpoint(
        "GET", "/archive/{employee_id}", ARCHIVE_READ, hidden="archive_not_found", params=archive_of
    ),
    Endpoint(
        "PUT",
        "/me/archive/{cycle_id}/self-assessment",
        PEOPLE_ONLY,
        params=cycle,
        body=const({"rating": "B", "comment": "Matrix"}),
    ),
    Endpoint(
        "PUT",
        "/archive/{employee_id}/{cycle_id}/manager-rating",
        MANAGER_RATING,
        hidden="archive_not_found",
        params=archive_rating,
        body=const({"rating": "B"}),
    ),
    Endpoint("POST", "/calibrations", HR_ADMIN, ok=(201, None), body=open_calibration_body),
    Endpoint("GET", "/calibrations", HR_ADMIN),
    Endpoint("GET", "/calibrations/{calibration_id}", HR_ADMIN, params=calibration_session),
    Endpoint(
        "PUT",
        "/calibrations/{calibration_id}/guidance",
        HR_ADMIN,
        params=calibration_session,
        body=const({"shares": {"A": 0.2, "B": 0.5}}),
    ),
    Endpoint(
        "POST",
        "/calibrations/{calibration_id}/changes",
        HR_ADMIN,
        params=calibration_session,
        body=calibration_change_body,
    ),
]

# Talent (docs/talent.md): suggestions are HR's and admin's (a missing suggestion answers the
# allowed callers 404 suggestion_not_found); a manager's dimensions are read by the manager
# themselves, the heads of their department, HR and admin.
MANAGER_DIMENSIONS = grid(
    own="Y Y Y Y Y Y . . .",
    report=". F . . . . . . .",
    dept=". . Y . . . . . .",
    other="F F F Y Y F S S U",
)


async def talent_cycle(w: World, column: str, target: str) -> dict[str, str]:
    return {"cycle_id": w.cycle}


async def missing_suggestion(w: World, column: str, target: str) -> dict[str, str]:
    return {"suggestion_id": "no-such-suggestion"}


async def dimensions_of(w: World, column: str, target: str) -> dict[str, str]:
    return {"cycle_id": w.cycle, "employee_id": w.people[w.owner(column, target)].id}


async def scratch_department(w: World, column: str, target: str) -> Any:
    return {"department_id": w.departments["scratch"]}  # nobody works there: quick


ENDPOINTS += [
    Endpoint(
        "POST",
        "/cycles/{cycle_id}/talent-suggestions/compute",
        HR_ADMIN,
        params=talent_cycle,
        body=scratch_department,
    ),
    Endpoint("GET", "/cycles/{cycle_id}/talent-suggestions", HR_ADMIN, params=talent_cycle),
    Endpoint(
        "POST",
        "/talent-suggestions/{suggestion_id}/confirm",
        HR_ADMIN,
        ok=(404, "suggestion_not_found"),
        params=missing_suggestion,
        body=const({"reason": "Ready for more"}),
    ),
    Endpoint(
        "POST",
        "/talent-suggestions/{suggestion_id}/dismiss",
        HR_ADMIN,
        ok=(404, "suggestion_not_found"),
        params=missing_suggestion,
        body=const({"reason": "Not yet"}),
    ),
    Endpoint(
        "GET",
        "/cycles/{cycle_id}/managers/{employee_id}/dimensions",
        MANAGER_DIMENSIONS,
        params=dimensions_of,
    ),
]

# Telemetry (docs/telemetry.md): samples from keys with telemetry:write (and admin); metrics,
# bindings, windows and dead letters defined and read by HR and admin (metrics also by
# goals:read keys); a binding is read by whoever may read its key result (others: 404
# binding_not_found, and listing a key result's bindings 404 key_result_not_found).
SAMPLES_POST = grid(any="F F F F Y F Y Y U")
METRICS_READ = grid(any="F F F Y Y F Y S U")
MATRIX_METRIC = "matrix_yield_pct"


async def _defined(w: World) -> None:
    if not w.feedback.get("metric"):
        await w.stack.telemetry.DefineMetric(
            tpb.DefineMetricRequest(name=MATRIX_METRIC, unit="%", defined_by="test")
        )
        w.feedback["metric"] = MATRIX_METRIC


async def _machine_fed(w: World, letter: str) -> tuple[str, str]:
    """A machine-fed key result of ``letter`` bound to the matrix metric: (kr id, binding id)."""
    await _defined(w)
    kr = await w.stack.goals.CreateKeyResult(
        gpb.CreateKeyResultRequest(
            objective_id=w.objectives[letter],
            title=_uniq(f"Machine KR of {letter}"),
            target=98,
            data_source=gpb.DATA_SOURCE_TELEMETRY,
        )
    )
    binding = await w.stack.telemetry.CreateBinding(
        tpb.CreateBindingRequest(
            key_result_id=kr.id,
            metric=MATRIX_METRIC,
            aggregation=tpb.AGGREGATION_AVG,
            window=tpb.WINDOW_KIND_DAY,
            created_by="test",
        )
    )
    return kr.id, binding.id


async def bound(w: World, column: str, target: str) -> dict[str, str]:
    letter = w.owner(column, target)
    key = f"binding:{letter}"
    if key not in w.feedback:
        w.feedback[key] = (await _machine_fed(w, letter))[1]
    return {"binding_id": w.feedback[key]}


async def fresh_binding(w: World, column: str, target: str) -> dict[str, str]:
    return {"binding_id": (await _machine_fed(w, "o"))[1]}


async def key_result_query(w: World, column: str, target: str) -> dict[str, str]:
    return {"key_result_id": w.key_results[w.owner(column, target)]}


async def matrix_metric(w: World, column: str, target: str) -> dict[str, str]:
    await _defined(w)
    return {"name": MATRIX_METRIC}


async def window_query(w: World, column: str, target: str) -> dict[str, str]:
    await matrix_metric(w, column, target)
    return {"metric": MATRIX_METRIC, "aggregation": "avg", "window": "day"}


async def samples_body(w: World, column: str, target: str) -> Any:
    sample = {
        "source": "matrix",
        "metric": "not_defined",  # rejected unknown_metric: the batch is still 202
        "value": 1.0,
        "unit": "",
        "event_time": "2026-01-01T00:00:00Z",
        "sample_id": _uniq("s").replace(" ", "-"),
    }
    return {"samples": [sample]}


async def new_binding_body(w: World, column: str, target: str) -> Any:
    await matrix_metric(w, column, target)
    kr = await w.stack.goals.CreateKeyResult(
        gpb.CreateKeyResultRequest(
            objective_id=w.objectives["o"],
            title=_uniq("Machine KR to bind"),
            target=98,
            data_source=gpb.DATA_SOURCE_TELEMETRY,
        )
    )
    return {"key_result_id": kr.id, "metric": MATRIX_METRIC, "aggregation": "max", "window": "week"}


ENDPOINTS += [
    Endpoint("POST", "/telemetry/samples", SAMPLES_POST, ok=(202, None), body=samples_body),
    Endpoint(
        "POST",
        "/telemetry/metrics",
        HR_ADMIN,
        ok=(201, None),
        body=const({"name": "matrix_defined", "unit": "min"}),
    ),
    Endpoint("GET", "/telemetry/metrics", METRICS_READ),
    Endpoint("GET", "/telemetry/metrics/{name}", METRICS_READ, params=matrix_metric),
    Endpoint("POST", "/telemetry/bindings", HR_ADMIN, ok=(201, None), body=new_binding_body),
    Endpoint(
        "GET",
        "/telemetry/bindings",
        GOAL_READ,
        hidden="key_result_not_found",
        query=key_result_query,
    ),
    Endpoint(
        "GET",
        "/telemetry/bindings/{binding_id}",
        GOAL_READ,
        hidden="binding_not_found",
        params=bound,
    ),
    Endpoint("DELETE", "/telemetry/bindings/{binding_id}", HR_ADMIN, params=fresh_binding),
    Endpoint("GET", "/telemetry/windows", HR_ADMIN, query=window_query),
    Endpoint("GET", "/telemetry/dead-letters", HR_ADMIN),
]

# Month-end department briefs: the list for HR, admin, executives (and keys with goals:read)
# and for department heads (their departments' briefs only); a department's brief for its
# heads too. No month is briefed in this world: 404.
BRIEF_LIST = grid(any="F F Y Y Y Y Y S U")
BRIEF_READ = grid(any="F F Y Y Y Y Y S U")  # Operations' brief; h heads it


BRIEF_MONTH = "2019-01"


async def brief_month(w: World, column: str, target: str) -> dict[str, str]:
    return {"month": BRIEF_MONTH}


async def ops_brief(w: World, column: str, target: str) -> dict[str, str]:
    return {"month": "2019-01", "department_id": w.departments["ops"]}


ENDPOINTS += [
    Endpoint(
        "GET",
        "/reports/monthly/{month}",
        BRIEF_LIST,
        ok=(404, "monthly_brief_not_found"),
        params=brief_month,
    ),
    Endpoint(
        "GET",
        "/reports/monthly/{month}/{department_id}.pdf",
        BRIEF_READ,
        ok=(404, "monthly_brief_not_found"),
        params=ops_brief,
    ),
    Endpoint(
        "GET",
        "/reports/monthly/{month}/{department_id}.html",
        BRIEF_READ,
        ok=(404, "monthly_brief_not_found"),
        params=ops_brief,
    ),
    Endpoint("POST", "/reports/monthly/{month}/run", HR_ADMIN, ok=(202, None), params=brief_month),
]

EXPECTED: dict[str, tuple[int, str | None]] = {
    "F": (403, "forbidden"),
    # 360 rounds: the feedback service's own refusals
    "J": (403, "not_subject"),
    "V": (403, "not_a_rater"),
    "R": (403, "not_a_results_reader"),
    "L": (403, "outside_reporting_line"),
    "S": (403, "insufficient_scope"),
    "A": (403, "admin_required"),
    "U": (401, "unauthenticated"),
    "N": (409, "no_manager"),
    "O": (403, "not_objective_owner"),
    "W": (403, "own_round"),
    "B": (403, "not_a_member"),
}


def _expected(endpoint: Endpoint, letter: str) -> tuple[int, str | None]:
    if letter == "Y":
        return endpoint.ok
    if letter == "4":
        assert endpoint.hidden, endpoint.name
        return 404, endpoint.hidden
    return EXPECTED[letter]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
async def test_matrix(world: World, endpoint: Endpoint) -> None:
    mismatches = []
    checked = 0
    for target, cells in endpoint.grid.items():
        for column, letter in zip(COLUMNS, cells, strict=True):
            if letter == ".":
                continue
            path = endpoint.path
            if endpoint.params is not None:
                path = path.format(**(await endpoint.params(world, column, target)))
            kwargs: dict[str, Any] = {"headers": world.headers[column]}
            if endpoint.query is not None:
                kwargs["params"] = await endpoint.query(world, column, target)
            if endpoint.body is not None:
                body = await endpoint.body(world, column, target)
                if isinstance(body, Upload):  # a file as the body
                    kwargs["content"] = body.content
                    kwargs["headers"] = {**kwargs["headers"], "Content-Type": body.media}
                elif isinstance(body, bytes):  # a file, as the raw body
                    kwargs["content"] = body
                    kwargs["headers"] = {**kwargs["headers"], "Content-Type": "text/csv"}
                else:
                    kwargs["json"] = body
            r = await world.stack.http.request(endpoint.method, path, **kwargs)
            status, code = _expected(endpoint, letter)
            got_code = None
            if r.headers.get("content-type", "").startswith("application/problem+json"):
                got_code = r.json().get("code")
            checked += 1
            if r.status_code != status or (code is not None and got_code != code):
                mismatches.append(
                    f"{column} on {target}: expected {status} {code or ''}, "
                    f"got {r.status_code} {got_code or r.text[:120]}"
                )
            elif status == 401:
                assert r.headers["www-authenticate"].startswith("Bearer"), endpoint.name
    assert checked > 0
    assert not mismatches, f"{endpoint.name}:\n  " + "\n  ".join(mismatches)


# -- coverage -----------------------------------------------------------------------------


def test_every_route_declares_a_rule_and_is_in_the_matrix(stack: GatewayStack) -> None:
    routed: set[tuple[str, str]] = set()
    pages = 0
    for info in iter_routes(stack.app):
        if not isinstance(info.route, APIRoute):
            assert info.path in PUBLIC_DOC_ROUTES, f"{info.path} has no rule"
            continue
        rules = route_rules(info.route)
        assert len(rules) == 1, f"{info.path} {sorted(info.methods)}: rules {rules}"
        if rules == [WEB_PAGE]:
            # The web app's pages: outside the API and its document; they call the API
            # (tests/integration/test_web_pages.py), whose routes this matrix covers.
            assert not info.path.startswith(API) and not info.route.include_in_schema, info.path
            pages += 1
            continue
        for method in info.methods:
            routed.add((method, info.path))
    tabled = {(e.method, API + e.path) for e in ENDPOINTS}
    health = {("GET", "/healthz"), ("GET", "/readyz")}
    assert len(routed) > 30 and pages > 10
    assert routed - health == tabled, (
        f"not in the matrix: {sorted(routed - health - tabled)}; "
        f"not routed: {sorted(tabled - routed)}"
    )


async def test_every_openapi_operation_names_its_rule(world: World) -> None:
    r = await world.stack.http.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    public = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert RULE_EXTENSION in op, f"{method.upper()} {path} declares no rule"
            if not op.get("security"):
                public.add((method.upper(), path, op[RULE_EXTENSION]))
    assert public == {
        ("GET", "/healthz", "health"),
        ("GET", "/readyz", "health"),
        ("POST", f"{API}/auth/login", "auth.login"),
        ("POST", f"{API}/auth/pin", "auth.pin_login"),
        ("POST", f"{API}/auth/refresh", "auth.refresh"),
    }
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["apiKey"]["name"] == "X-API-Key"
    # Probes and the API description need no credentials.
    for url in (f"{BASE}/healthz", f"{BASE}/readyz", f"{BASE}{API}/docs"):
        assert (await world.stack.http.get(url)).status_code in (200, 503), url


# -- lists and BOLA -----------------------------------------------------------------------


async def test_lists_show_only_what_the_caller_may_read(world: World) -> None:
    ids = {letter: p.id for letter, p in world.people.items()}
    everyone = {ids[c] for c in (*PEOPLE, "o")}
    expected = {
        "e": {ids["e"]},
        "m": {ids["m"], ids["e"]},
        "h": {ids["h"], ids["m"], ids["e"]},  # everyone in Operations
        "r": everyone,
        "a": everyone,
        "x": everyone,
        "k": everyone,
    }
    for column, owners in expected.items():
        r = await world.stack.http.get(
            "/objectives",
            params={"cycle_id": world.cycle, "page_size": 200},
            headers=world.headers[column],
        )
        assert r.status_code == 200, r.text
        got = {o["owner_id"] for o in r.json()["items"]}
        assert got == owners, column
    # A filter cannot widen the view: e asking for o's objectives sees none of them.
    r = await world.stack.http.get(
        "/objectives", params={"owner_id": ids["o"]}, headers=world.headers["e"]
    )
    assert r.status_code == 200 and r.json()["items"] == []
    r = await world.stack.http.get(
        "/objectives", params={"owner_id": ids["e"]}, headers=world.headers["m"]
    )
    assert {o["owner_id"] for o in r.json()["items"]} == {ids["e"]}


def _comparable(r: httpx.Response) -> tuple[int, dict[str, Any]]:
    body = dict(r.json())
    body.pop("request_id", None)
    body.pop("instance", None)
    return r.status_code, body


async def test_a_hidden_object_reads_exactly_like_a_missing_one(world: World) -> None:
    headers = world.headers["e"]
    other_objective = world.objectives["o"]
    other_kr = world.key_results["o"]
    for template, real in [
        ("/objectives/{}", other_objective),
        ("/objectives/{}/key-results", other_objective),
        ("/key-results/{}", other_kr),
        ("/key-results/{}/check-ins", other_kr),
        ("/key-results/{}/escalation", other_kr),
        ("/key-results/{}/check-ins/history", other_kr),
        ("/key-results/{}/revisions", other_kr),
    ]:
        hidden = await world.stack.http.get(template.format(real), headers=headers)
        missing = await world.stack.http.get(
            template.format(f"no-such-{uuid.uuid4().hex}"), headers=headers
        )
        assert _comparable(hidden) == _comparable(missing), template
        assert hidden.status_code == 404
    write = await world.stack.http.post(
        f"/key-results/{other_kr}/check-ins", json={"value": 1, "confidence": 1}, headers=headers
    )
    missing = await world.stack.http.post(
        "/key-results/nope/check-ins", json={"value": 1, "confidence": 1}, headers=headers
    )
    assert _comparable(write) == _comparable(missing)


async def test_the_author_of_anonymous_upward_feedback_is_never_returned(world: World) -> None:
    """e writes anonymously to m; nothing any caller can read names e as its author."""
    e = world.people["e"]
    r = await world.stack.http.post(
        "/me/upward-feedback",
        json={"text": "Anonymous matrix note", "anonymous": True},
        headers=world.headers["e"],
    )
    assert r.status_code == 201, r.text
    assert e.id not in r.text
    for column in PEOPLE.replace("e", ""):  # e's own summary names e as its manager
        r = await world.stack.http.get("/me/upward-feedback", headers=world.headers[column])
        assert r.status_code == 200, r.text
        assert e.id not in r.text, column
        if column == "m":
            assert r.json()["named"] == []
            assert not r.json()["anonymous"]["released"]  # one author: below the threshold
    for column in ("r", "a"):
        r = await world.stack.http.get("/audit", headers=world.headers[column])
        if r.status_code == 200:
            assert "upward" not in r.text, column
