"""The web app's server-side render time for every GET page at 680 people (the web app's
target: ≤ 300 ms p95), next to the API read every page makes first (``GET /auth/me``).

What runs: the check-in benchmark's stack (a fresh PostgreSQL database, a private
nats-server; identity, goals, feedback and the gateway as processes, no Temporal) and its
seeding (the generated organisation, one objective with three key results per person; see
bench/checkin.py), then :func:`seed_pages`: what the pages that show one thing need (an HR
person, department heads, checklists, monthly briefs, submitted plans, feedback requests,
challenges, blockers, promotion cases, 360 rounds). Each page of :data:`PAGES` is then fetched
``requests`` times, one request at a time (the time a page takes to render, not queueing), by
people it suits: employees for their own pages, team leads for their team's, the person each
seeded thing is for, HR for the HR console; the sign-in pages signed out. The session is the
access-token cookie a sign-in sets (tokens minted like the check-in benchmark's). Every answer
must be 200 (``BENCH_WEB_DEBUG=1`` prints the end of any other answer). :data:`NOT_MEASURED`
names the GET pages left out, with the reason (tests/unit/test_bench_web_pages.py holds the
two lists against the app's routes).

A page's time is the sum of the API calls it makes in process (each one a full pass through
the gateway: authentication, the rule, gRPC) and the template: the ``GET /auth/me`` row is the
price of one such call.

Longer than ~400 lines: the seeding each page needs for content and the table of pages with
who opens them belong together.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
from rich.console import Console
from rich.table import Table

from bench.checkin import GRPC_TIMEOUT, SEED_ACTOR, Person, Seeded, seed, token_for
from bench.checkin import Options as CheckinOptions
from bench.load import LoadResult, run_load
from bench.report import Target
from bench.stack import TIME_ZONE, Stack, benchmark_stack
from gateway.policy import HR
from gateway.web.session import ACCESS_COOKIE
from services.common.channels import channel
from services.goals.calendar import local_today
from stride.feedback.v1 import promotions_pb2, promotions_pb2_grpc, rounds_pb2, rounds_pb2_grpc
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.brief_figures import DepartmentFigures, brief_json
from workflows.vocabulary import SUBJECT_PERSON

# The web app's target: every page rendered within 300 ms at the 95th percentile.
TARGET_P95_MS = 300.0
# Fetches of each page before the measured ones (templates compiled, connections warm).
WARM_UP = 3
API_ME = "GET /api/v1/auth/me"
T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    employees: int = 680
    # Measured fetches of each page.
    requests: int = 100
    seed_concurrency: int = 16
    log_level: str = "WARNING"


@dataclass
class Result:
    options: Options
    people: int
    seed_seconds: float
    pages: dict[str, LoadResult] = field(default_factory=dict)


# GET routes of the web app (rule ``web.page``) the benchmark does not fetch, and why. A new page
# must be measured or named here (tests/unit/test_bench_web_pages.py).
NOT_MEASURED = {
    "/": "a redirect to /okrs (no API call, no template)",
    "/language": "a redirect that sets the language cookie (no API call, no template)",
    "/static/{name}": "the app's CSS and JavaScript, read once from disk and cached",
    "/hr/invitations/{job_id}/slips": "a one-time download of an invitation job's slips; "
    "the job runs as a Temporal workflow, which this stack does not start",
    "/key-results/{key_result_id}/coordination": "its state is a query to the key result's "
    "coordination workflow: Temporal, which this stack does not start (the page answers 503 "
    "without it)",
    "/hr/org-sync/runs/{run_id}": "an org sync run's report: runs are Temporal workflows, "
    "which this stack does not start",
    "/reports/monthly/{month}/{department_id}.pdf": "a stored brief document streamed as it "
    "is (no template); this stack seeds the briefs' figures, not their rendered documents",
    "/reports/monthly/{month}/{department_id}.html": "the same, as HTML",
}

# The pages measured, as the app's routes name them (the table's rows, in this order).
PAGES = (
    "/sign-in",
    "/pin-sign-in",
    "/password",
    "/pin",
    "/okrs",
    "/objectives",
    "/objectives/{objective_id}",
    "/objectives/{objective_id}/challenges",
    "/check-in",
    "/check-ins",
    "/key-results/{key_result_id}",
    "/scores",
    "/inbox",
    "/feedback",
    "/feedback/requests",
    "/feedback/requests/{request_id}",
    "/praise",
    "/challenges",
    "/challenges/{challenge_id}",
    "/upward-feedback",
    "/feedback-rounds",
    "/feedback-rounds/{round_id}",
    "/feedback-rounds/{round_id}/answers",
    "/feedback-rounds/{round_id}/results",
    "/inspection",
    "/promotions/{case_id}",
    "/approvals",
    "/approvals/{approval_id}",
    "/team",
    "/departments/{department_id}/blockers",
    "/dashboards",
    "/board",
    "/board/{objective_id}",
    "/qr",
    "/reports/monthly/{month}",
    "/hr",
    "/hr/cycles",
    "/hr/risk-rules",
    "/hr/pilot",
    "/hr/org-sync",
    "/hr/invitations",
    "/hr/audit",
    "/hr/exports",
    "/hr/exports/{cycle_id}/{kind}",
)
# Seeded content (bench/web.py seed_pages): how many of each.
APPROVALS = 10
FEEDBACK_REQUESTS = 20
CHALLENGES = 20
PROMOTIONS = 5
BLOCKERS_PER_TEAM = 3
CHECKLIST_ITEMS = 8
ROUND_QUESTIONS = [
    rounds_pb2.Question(id=i, kind=k, text_zh=zh, text_en=en, anonymous=True)
    for i, k, zh, en in (
        ("teamwork", "rating", "团队合作", "Teamwork"),
        ("advice", "text", "建议", "Advice"),
    )
]


@dataclass
class Content:
    """What :func:`seed_pages` adds for the pages that show one thing (ids with the person who
    would open each)."""

    hr: Person
    month: str
    approvals: list[tuple[str, Person]] = field(default_factory=list)  # id, approver
    requests: list[tuple[str, Person]] = field(default_factory=list)  # id, responder
    challenges: list[tuple[str, str, Person]] = field(default_factory=list)  # id, objective, owner
    promotions: list[tuple[str, Person]] = field(default_factory=list)  # id, applicant
    rounds: list[tuple[str, Person, Person]] = field(default_factory=list)  # open: subject, rater
    closed_rounds: list[tuple[str, Person]] = field(default_factory=list)  # id, subject


def _some(rng: random.Random, items: list[T], n: int) -> list[T]:
    return rng.sample(items, min(n, len(items)))


async def seed_pages(stack: Stack, seeded: Seeded) -> Content:
    """Content for the pages that would otherwise be empty or have nothing to open: an HR
    person, each team's inspection checklist and monthly brief, submitted plans waiting for
    their lead, feedback requests, challenges, promotion applications and one team's 360
    rounds (some closed).
    Through gRPC as the services' own callers do, or the API as the person would."""
    people = seeded.people
    by_id = {p.id: p for p in people}
    leads = [p for p in people if "manager" in p.roles]
    lead_of = {p.department_id: p for p in leads if p.department_id}
    employees = [p for p in people if p not in leads]
    objective_of = {kr.owner.id: kr.objective_id for kr in seeded.krs}
    rng = random.Random(1616)
    today = local_today(datetime.now(UTC), TIME_ZONE)

    # HR: the last employee, granted the role in identity (the token carries it too).
    hr_person = employees[-1]
    async with channel(stack.addr("identity")) as ch:
        identity = identity_pb2_grpc.IdentityServiceStub(ch)
        await identity.UpdateEmployee(
            identity_pb2.UpdateEmployeeRequest(
                id=hr_person.id, roles=[*hr_person.roles, HR], replace_roles=True
            ),
            timeout=GRPC_TIMEOUT,
            metadata=SEED_ACTOR,
        )
        # Each team's lead heads its department (its blockers page is theirs).
        for department, lead in lead_of.items():
            await identity.UpdateDepartment(
                identity_pb2.UpdateDepartmentRequest(id=department, head_id=lead.id),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
    hr = dataclasses.replace(hr_person, roles=(*hr_person.roles, HR))
    by_id[hr.id] = hr
    content = Content(hr=hr, month=today.strftime("%Y-%m"))
    employees = [p for p in employees if p.id != hr.id]

    async with channel(stack.addr("goals")) as ch:
        goals = goals_pb2_grpc.GoalsServiceStub(ch)
        items = [
            goals_pb2.ChecklistItem(id=f"item-{n}", label_zh=f"检查项 {n}", label_en=f"Item {n}")
            for n in range(1, CHECKLIST_ITEMS + 1)
        ]
        for department in sorted({p.department_id for p in employees}):
            await goals.SetChecklist(
                goals_pb2.SetChecklistRequest(department_id=department, items=items),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
        # The month's briefs of every team (figures only; the monthly workflow renders them).
        for n, department in enumerate(sorted({p.department_id for p in employees}), 1):
            figures = DepartmentFigures(
                department_id=department,
                department_name=f"Team {n:03d}",
                month=content.month,
                key_results=60,
                completion=0.25,
                mean_score=0.5,
                distribution={},
                at_risk=3,
                red=1,
                risks=[],
                participation={},
                alignment=0.5,
                feedback_per_person=1.0,
                trend="new",
                completion_change=0.0,
                mean_score_change=0.0,
            )
            await goals.PutMonthlyBrief(
                goals_pb2.PutMonthlyBriefRequest(
                    month=content.month,
                    department_id=department,
                    department_name=figures.department_name,
                    figures_json=brief_json(figures, []),
                ),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
        submitted: set[str] = set()
        # Plans submitted for approval: employees with a lead (their approver).
        for person in _some(rng, [p for p in employees if p.department_id in lead_of], APPROVALS):
            approval = await goals.SubmitPlan(
                goals_pb2.SubmitPlanRequest(cycle_id=seeded.cycle_id, employee_id=person.id),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            content.approvals.append((approval.id, lead_of[person.department_id]))
            submitted.add(person.id)

    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:

        async def post(person: Person, path: str, body: Mapping[str, object]) -> dict[str, str]:
            auth = {"Authorization": f"Bearer {token_for(stack, person)}"}
            r = await http.post(path, json=body, headers=auth)
            if r.status_code not in (200, 201):
                raise RuntimeError(f"seeding POST {path}: {r.status_code} {r.text}")
            found: dict[str, str] = r.json()
            return found

        # Feedback requests to a teammate; challenges by one's lead to one's objective.
        team: dict[str, list[Person]] = {}
        for p in employees:
            team.setdefault(p.department_id, []).append(p)
        for asker in _some(rng, employees, FEEDBACK_REQUESTS):
            responder = rng.choice([p for p in team[asker.department_id] if p != asker])
            body = {
                "responder_id": responder.id,
                "message": "How did the line changeover go?",
                "subject_kind": SUBJECT_PERSON,
                "subject_id": "",
            }
            found = await post(asker, "/feedback/requests", body)
            content.requests.append((found["id"], responder))
        # (A teammate may not read another's individual objective: the owner's lead asks.)
        for owner in _some(rng, [p for p in employees if p.department_id in lead_of], CHALLENGES):
            challenger = lead_of[owner.department_id]
            objective = objective_of[owner.id]
            text = {"text": "The scrap target leaves out the night shift."}
            found = await post(challenger, f"/objectives/{objective}/challenges", text)
            content.challenges.append((found["id"], objective, owner))
        # Check-ins naming a blocker in the next team (its blockers page has rows), by people
        # whose plan is not waiting for approval.
        kr_of = {kr.owner.id: kr.id for kr in seeded.krs}
        teams = sorted(team)
        for n, department in enumerate(teams):
            blocked = teams[(n + 1) % len(teams)]
            members = [p for p in team[department] if p.id not in submitted]
            for person in _some(rng, members, BLOCKERS_PER_TEAM):
                check_in = {
                    "value": 40,
                    "confidence": 5,
                    "note": "Waiting for the fixtures",
                    "blockers": [{"text": "Fixtures not delivered", "department_id": blocked}],
                }
                await post(person, f"/key-results/{kr_of[person.id]}/check-ins", check_in)

    async with channel(stack.addr("feedback")) as ch:
        promotions = promotions_pb2_grpc.PromotionServiceStub(ch)
        for person in _some(rng, employees, PROMOTIONS):
            case = await promotions.Apply(
                promotions_pb2.ApplyRequest(
                    applicant_id=person.id,
                    candidate_id=person.id,
                    current_grade="G3",
                    target_grade="G4",
                ),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            content.promotions.append((case.id, person))

        # One team's 360 rounds: nominated, approved and open for answers; half closed.
        rounds = rounds_pb2_grpc.RoundServiceStub(ch)
        template = await rounds.CreateTemplate(
            rounds_pb2.CreateTemplateRequest(name="Bench web 360", questions=ROUND_QUESTIONS),
            timeout=GRPC_TIMEOUT,
            metadata=SEED_ACTOR,
        )
        department = employees[0].department_id
        started = await rounds.StartRounds(
            rounds_pb2.StartRoundsRequest(
                cycle_id=seeded.cycle_id,
                template_id=template.id,
                department_id=department,
                deadline=(today + timedelta(days=30)).isoformat(),
                nominations_due=(today + timedelta(days=7)).isoformat(),
            ),
            timeout=GRPC_TIMEOUT,
            metadata=SEED_ACTOR,
        )
        for n, r in enumerate(x for x in started.rounds if x.manager_id):
            peers = [p.id for p in team[department] if p.id not in (r.subject_id, r.manager_id)]
            nominated = await rounds.Nominate(
                rounds_pb2.NominateRequest(
                    round_id=r.id, actor_id=r.subject_id, peer_ids=_some(rng, peers, 3)
                ),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            raters = [x.employee_id for x in nominated.raters]
            await rounds.ApproveNominations(
                rounds_pb2.ApproveNominationsRequest(
                    round_id=r.id, approver_id=r.manager_id, rater_ids=raters
                ),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            await rounds.MarkInvited(
                rounds_pb2.MarkInvitedRequest(round_id=r.id),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            subject = by_id[r.subject_id]
            if n % 2:
                await rounds.CloseRound(
                    rounds_pb2.CloseRoundRequest(round_id=r.id),
                    timeout=GRPC_TIMEOUT,
                    metadata=SEED_ACTOR,
                )
                content.closed_rounds.append((r.id, subject))
            else:
                content.rounds.append((r.id, subject, by_id[raters[0]]))
    await stack.analyze()
    return content


Viewer = tuple[str, Person | None]  # path (with its query), the person (None: signed out)


def _page_viewers(seeded: Seeded, content: Content) -> dict[str, list[Viewer]]:
    """page → (path, viewer) pairs it is fetched with (:data:`PAGES` and the API's read)."""
    people = seeded.people
    leads = [p for p in people if "manager" in p.roles]
    own_kr = {kr.owner.id: kr.id for kr in seeded.krs}
    own_objective = {kr.owner.id: kr.objective_id for kr in seeded.krs}
    employees = [p for p in people if p not in leads and p.id != content.hr.id]
    hr = [content.hr]
    cycle = f"?cycle={seeded.cycle_id}"

    def each(people: list[Person], path: str) -> list[Viewer]:
        return [(path, p) for p in people]

    departments = sorted({p.department_id for p in employees})
    teams = set(departments)
    pages: dict[str, list[Viewer]] = {
        API_ME: each(employees, "/api/v1/auth/me"),
        "/sign-in": [("/sign-in?next=/okrs", None)],
        "/pin-sign-in": [(f"/pin-sign-in?department={d}", None) for d in departments],
        "/password": each(employees, "/password"),
        "/pin": each(employees, "/pin"),
        "/okrs": each(employees, "/okrs"),
        "/objectives": each(employees, "/objectives"),
        "/objectives/{objective_id}": [
            (f"/objectives/{own_objective[p.id]}", p) for p in employees
        ],
        "/objectives/{objective_id}/challenges": [
            (f"/objectives/{objective}/challenges", owner)
            for _, objective, owner in content.challenges
        ],
        "/check-in": each(employees, "/check-in"),
        "/check-ins": each(employees, "/check-ins"),
        "/key-results/{key_result_id}": [(f"/key-results/{own_kr[p.id]}", p) for p in employees],
        "/scores": each(employees, f"/scores{cycle}"),
        "/inbox": each(employees, "/inbox"),
        "/feedback": each(employees, "/feedback"),
        "/feedback/requests": [("/feedback/requests", p) for _, p in content.requests],
        "/feedback/requests/{request_id}": [
            (f"/feedback/requests/{id_}", p) for id_, p in content.requests
        ],
        "/praise": each(employees, "/praise"),
        "/challenges": [("/challenges", owner) for _, _, owner in content.challenges],
        "/challenges/{challenge_id}": [
            (f"/challenges/{id_}", owner) for id_, _, owner in content.challenges
        ],
        "/upward-feedback": each(employees, "/upward-feedback"),
        "/feedback-rounds": [("/feedback-rounds", rater) for _, _, rater in content.rounds],
        "/feedback-rounds/{round_id}": [
            (f"/feedback-rounds/{id_}", subject) for id_, subject, _ in content.rounds
        ],
        "/feedback-rounds/{round_id}/answers": [
            (f"/feedback-rounds/{id_}/answers", rater) for id_, _, rater in content.rounds
        ],
        "/feedback-rounds/{round_id}/results": [
            (f"/feedback-rounds/{id_}/results", subject) for id_, subject in content.closed_rounds
        ],
        "/inspection": each(employees, "/inspection"),
        "/promotions/{case_id}": [(f"/promotions/{id_}", p) for id_, p in content.promotions],
        "/approvals": each(leads, "/approvals"),
        "/approvals/{approval_id}": [(f"/approvals/{id_}", p) for id_, p in content.approvals],
        "/team": each(leads, f"/team{cycle}"),
        # A department's blockers, opened by its head (each team's lead: see seed_pages).
        "/departments/{department_id}/blockers": [
            (f"/departments/{p.department_id}/blockers", p)
            for p in leads
            if p.department_id in teams
        ],
        "/dashboards": each(leads, f"/dashboards{cycle}"),
        # A lead's cross-department objectives: their own, their team's and the public ones
        # read one objective at a time (only HR, admin and executives list the whole cycle).
        "/board": each(leads, f"/board{cycle}"),
        "/board/{objective_id}": [(f"/board/{own_objective[p.id]}", p) for p in leads],
        "/qr": each(hr, "/qr"),
        "/reports/monthly/{month}": each(hr, f"/reports/monthly/{content.month}"),
        "/hr": each(hr, "/hr"),
        "/hr/cycles": each(hr, "/hr/cycles"),
        "/hr/risk-rules": each(hr, "/hr/risk-rules"),
        "/hr/pilot": each(hr, "/hr/pilot"),
        "/hr/org-sync": each(hr, "/hr/org-sync"),
        "/hr/invitations": each(hr, "/hr/invitations"),
        "/hr/audit": each(hr, "/hr/audit"),
        "/hr/exports": each(hr, "/hr/exports"),
        "/hr/exports/{cycle_id}/{kind}": each(
            hr, f"/hr/exports/{seeded.cycle_id}/check_ins?format=csv"
        ),
    }
    assert list(pages)[1:] == list(PAGES), "PAGES and the viewers disagree"
    return pages


async def measure_pages(
    stack: Stack, seeded: Seeded, content: Content, opts: Options
) -> dict[str, LoadResult]:
    rng = random.Random(16)
    tokens: dict[Person, str] = {}

    def token(person: Person) -> str:
        if person not in tokens:
            tokens[person] = token_for(stack, person)
        return tokens[person]

    results: dict[str, LoadResult] = {}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as http:

        async def fetch(item: Viewer) -> str:
            path, person = item
            if person is None:
                r = await http.get(path)
            elif path.startswith("/api/"):
                headers = {"Authorization": f"Bearer {token(person)}"}
                r = await http.get(path, headers=headers)
            else:
                # The session cookie as a header: per-request cookies= is deprecated in httpx.
                cookie = {"Cookie": f"{ACCESS_COOKIE}={token(person)}"}
                r = await http.get(path, headers=cookie)
            if r.status_code != 200 and os.environ.get("BENCH_WEB_DEBUG"):
                print(path, r.status_code, r.text[-600:])
            return "ok" if r.status_code == 200 else str(r.status_code)

        for page, candidates in _page_viewers(seeded, content).items():
            items = [rng.choice(candidates) for _ in range(opts.requests + WARM_UP)]
            for item in items[:WARM_UP]:
                await fetch(item)
            results[page] = await run_load(items[WARM_UP:], [fetch])
    return results


async def run(opts: Options, console: Console | None = None) -> Result:
    console = console or Console(quiet=True)
    seed_opts = CheckinOptions(
        employees=opts.employees, seed_concurrency=opts.seed_concurrency, log_level=opts.log_level
    )
    with tempfile.TemporaryDirectory(prefix="stride-bench-web-") as tmp:
        work = Path(tmp)
        async with benchmark_stack(work, opts.log_level, services=("goals", "feedback")) as stack:
            t0 = time.perf_counter()
            seeded = await seed(stack, seed_opts, work, console)
            content = await seed_pages(stack, seeded)
            result = Result(opts, len(seeded.people), time.perf_counter() - t0)
            result.pages = await measure_pages(stack, seeded, content, opts)
    return result


# -- report -----------------------------------------------------------------------------------


def print_web(console: Console, result: Result) -> None:
    console.print(
        f"[bold]Web pages[/bold]: {result.people:,} people, {result.options.requests} fetches "
        f"per page one at a time; seeding {result.seed_seconds:.1f} s"
    )
    table = Table(title="Server-side render time (the page's API calls in process + template)")
    for column in ("page", "ok", "errors", "p50 ms", "p95 ms", "p99 ms", "p95 / auth/me"):
        table.add_column(column, justify="left" if column in ("page", "errors") else "right")
    me = result.pages.get(API_ME)
    for name, r in result.pages.items():
        table.add_row(
            name,
            f"{r.ok:,}",
            ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "-",
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.p95_ms / me.p95_ms:.1f}" if me and me.p95_ms else "-",
        )
    console.print(table)


def web_targets(result: Result) -> list[Target]:
    """Each page's p95 within 300 ms (the web app's target), failed fetches counted as missed."""
    targets = []
    for name, r in result.pages.items():
        if name == API_ME:
            continue
        failed = sum(r.errors.values())
        targets.append(
            Target(
                f"web page {name} p95 ({result.people:,} people)",
                r.p95_ms if not failed else float("inf"),
                TARGET_P95_MS,
                at_most=True,
                unit="ms",
                note=f"{failed} failed fetches" if failed else f"p50 {r.p50_ms:.0f} ms",
            )
        )
    return targets


def main_run(console: Console, opts: Options) -> list[Target]:
    console.print(f"[bold]Web pages[/bold] at {opts.employees:,} people …")
    result = asyncio.run(run(opts, console))
    print_web(console, result)
    return web_targets(result)
