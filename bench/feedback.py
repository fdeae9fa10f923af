"""360 rounds: answers submitted per second through the gateway and the results query's p95,
each next to the PostgreSQL ceiling it leans on, measured in the same run.

What runs (one machine, like the check-in benchmark): a fresh PostgreSQL database, a private
nats-server, identity, feedback and the gateway as processes (``stride serve``); no Temporal
(the round workflow's steps — approval, invitations, close — are its RoundService calls, made
here over gRPC).

Seeding: the generated organisation of the check-in benchmark (teams of 20, their leads under
the head), imported through identity's org sync; one template (two anonymous ratings, one
anonymous text); ``StartRounds`` for the whole organisation (one round per person); each
subject nominates up to ``peers`` colleagues with the same manager, the manager's approval
and the invitations. The head has no manager to approve their list: their round stays
nominating and out of the phases.

Phases:

- **answers**: every invited rater's ``PUT /feedback-rounds/{id}/answers`` (shuffled, each
  authenticated as the rater, ``concurrency`` in flight). Ceiling: single-row INSERT
  transactions through an asyncpg pool of the same size (one answer submission is one
  transaction writing a few rows, the rater's status and an audit entry);
- **close**: ``CloseRound`` over gRPC for every round (the aggregates computed and frozen);
- **results**: every subject's ``GET /feedback-rounds/{id}/results``, p50/p95. Ceiling:
  primary-key point selects through the same asyncpg pool (a results read is two of them
  behind authentication and one gRPC hop).
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console

from bench.checkin import Person, generate_org, list_people, token_for, write_org_csv
from bench.load import LoadResult, run_load
from bench.stack import TIME_ZONE, Stack, benchmark_stack
from services.cli.org import import_file
from services.common.channels import channel
from services.common.request_context import ACTOR_KEY
from services.common.settings import StrideSettings
from services.goals.calendar import local_today
from stride.feedback.v1 import rounds_pb2, rounds_pb2_grpc

SEED_ACTOR = ((ACTOR_KEY, "bench-seed"),)
GRPC_TIMEOUT = 60.0
QUESTIONS = [
    rounds_pb2.Question(id=i, kind=k, text_zh=zh, text_en=en, anonymous=True)
    for i, k, zh, en in (
        ("teamwork", "rating", "团队合作", "Teamwork"),
        ("quality", "rating", "质量意识", "Quality"),
        ("advice", "text", "建议", "Advice"),
    )
]
CEILING_TABLE = "bench_feedback_ceiling"


@dataclass(frozen=True)
class Options:
    employees: int = 680
    peers: int = 4
    concurrency: int = 32
    # Stop starting requests of a phase after this many seconds (None: all of them).
    duration: float | None = 30.0
    seed_concurrency: int = 16
    log_level: str = "WARNING"


@dataclass
class Result:
    options: Options
    people: int
    rounds: int
    seed_seconds: float
    phases: dict[str, LoadResult]

    def ratio(self, phase: str, ceiling: str) -> float:
        bare = self.phases[ceiling].per_second
        return self.phases[phase].per_second / bare if bare else 0.0


@dataclass(frozen=True)
class OpenRound:
    id: str
    subject: Person
    raters: tuple[str, ...]


# -- seeding ----------------------------------------------------------------------------------


def _peers(people: Sequence[Person], managers: dict[str, str], n: int) -> dict[str, list[str]]:
    """Up to ``n`` colleagues with the same manager per person (a fixed random choice)."""
    by_manager: dict[str, list[str]] = {}
    for p in people:
        by_manager.setdefault(managers[p.id], []).append(p.id)
    pick = random.Random(360)
    out = {}
    for p in people:
        siblings = [s for s in by_manager[managers[p.id]] if s != p.id]
        out[p.id] = pick.sample(siblings, min(n, len(siblings)))
    return out


async def seed(stack: Stack, opts: Options, work: Path, console: Console) -> list[OpenRound]:
    """The organisation, one round each, nominations, approvals and invitations."""
    t0 = time.perf_counter()
    rows = generate_org(opts.employees)
    write_org_csv(rows, work / "org.csv")
    await import_file(
        work / "org.csv", stack.addr("identity"), batch_size=500, console=Console(quiet=True)
    )
    people = await list_people(stack.addr("identity"))
    by_id = {p.id: p for p in people}
    today = local_today(datetime.now(UTC), TIME_ZONE)
    async with channel(stack.addr("feedback")) as ch:
        rounds = rounds_pb2_grpc.RoundServiceStub(ch)
        template = await rounds.CreateTemplate(
            rounds_pb2.CreateTemplateRequest(name="Bench 360", questions=QUESTIONS),
            timeout=GRPC_TIMEOUT,
            metadata=SEED_ACTOR,
        )
        started = await rounds.StartRounds(
            rounds_pb2.StartRoundsRequest(
                cycle_id="bench-cycle",
                template_id=template.id,
                deadline=(today + timedelta(days=30)).isoformat(),
                nominations_due=(today + timedelta(days=7)).isoformat(),
            ),
            timeout=GRPC_TIMEOUT,
            metadata=SEED_ACTOR,
        )
        managers = {r.subject_id: r.manager_id for r in started.rounds}
        peers = _peers(people, managers, opts.peers)
        opened: list[OpenRound] = []

        async def open_round(r: rounds_pb2.Round) -> str:
            reports = [x.employee_id for x in r.raters if x.relation == "report"]
            nominated = await rounds.Nominate(
                rounds_pb2.NominateRequest(
                    round_id=r.id,
                    actor_id=r.subject_id,
                    peer_ids=[p for p in peers[r.subject_id] if p != r.manager_id],
                    report_ids=reports,
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
            opened.append(OpenRound(r.id, by_id[r.subject_id], tuple(raters)))
            return "ok"

        with_manager = [r for r in started.rounds if r.manager_id]
        seeded = await run_load(with_manager, [open_round] * opts.seed_concurrency)
    if seeded.ok != len(with_manager):
        raise RuntimeError(f"opening rounds failed: {seeded.errors}")
    console.print(
        f"  seeded {len(people):,} people, {len(opened):,} rounds with "
        f"{sum(len(r.raters) for r in opened):,} raters in {time.perf_counter() - t0:.1f} s"
    )
    return opened


# -- phases -----------------------------------------------------------------------------------


async def _http(
    base_url: str,
    items: Sequence[Any],
    call: Callable[[httpx.AsyncClient, Any], Awaitable[str]],
    opts: Options,
) -> LoadResult:
    """``opts.concurrency`` clients with one keep-alive connection each (as the check-in
    benchmark: one shared pool costs the client several times more CPU per request)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0)
            )
            for _ in range(opts.concurrency)
        ]

        def bound(client: httpx.AsyncClient) -> Callable[[Any], Awaitable[str]]:
            async def go(item: Any) -> str:
                return await call(client, item)

            return go

        return await run_load(items, [bound(c) for c in clients], deadline=opts.duration)


async def _answer(client: httpx.AsyncClient, item: tuple[str, str, int]) -> str:
    round_id, token, rating = item
    body = {
        "answers": [
            {"question_id": "teamwork", "rating": rating},
            {"question_id": "quality", "rating": 6 - rating},
            {"question_id": "advice", "text": "keep the line's 5S boards current"},
        ]
    }
    r = await client.put(
        f"/feedback-rounds/{round_id}/answers",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    return "ok" if r.status_code == 204 else f"HTTP {r.status_code}"


async def _invitations(client: httpx.AsyncClient, token: str) -> str:
    r = await client.get("/me/feedback-rounds", headers={"Authorization": f"Bearer {token}"})
    return "ok" if r.status_code == 200 else f"HTTP {r.status_code}"


async def _results(client: httpx.AsyncClient, item: tuple[str, str]) -> str:
    round_id, token = item
    r = await client.get(
        f"/feedback-rounds/{round_id}/results", headers={"Authorization": f"Bearer {token}"}
    )
    return (
        "ok" if r.status_code == 200 and r.json()["phase"] == "closed" else f"HTTP {r.status_code}"
    )


async def _close_all(stack: Stack, rounds: Sequence[OpenRound], opts: Options) -> LoadResult:
    async with channel(stack.addr("feedback")) as ch:
        stub = rounds_pb2_grpc.RoundServiceStub(ch)

        async def close(r: OpenRound) -> str:
            await stub.CloseRound(
                rounds_pb2.CloseRoundRequest(round_id=r.id),
                timeout=GRPC_TIMEOUT,
                metadata=SEED_ACTOR,
            )
            return "ok"

        return await run_load(rounds, [close] * opts.concurrency)


async def _ceilings(dsn: str, inserts: int, selects: int, opts: Options) -> dict[str, LoadResult]:
    """Single-row INSERT transactions and primary-key selects through an asyncpg pool as large
    as the feedback service's (``StrideSettings.db_pool_size``, like the check-in benchmark's
    bare app), sent ``concurrency`` at a time like the phases they stand beside."""
    size = StrideSettings.model_fields["db_pool_size"].default
    pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size)
    assert pool is not None
    try:
        await pool.execute(
            f"CREATE TABLE IF NOT EXISTS {CEILING_TABLE}"
            " (id bigint PRIMARY KEY, round_id text NOT NULL, body text NOT NULL)"
        )

        async def insert(n: int) -> str:
            await pool.execute(
                f"INSERT INTO {CEILING_TABLE} VALUES ($1, $2, $3)", n, f"round-{n}", "x" * 200
            )
            return "ok"

        async def select(n: int) -> str:
            row = await pool.fetchrow(f"SELECT * FROM {CEILING_TABLE} WHERE id = $1", n)
            return "ok" if row is not None else "missing"

        workers = opts.concurrency
        out = {"insert": await run_load(range(inserts), [insert] * workers, deadline=opts.duration)}
        written = out["insert"].ok
        keys = [random.Random(5).randrange(written) for _ in range(selects)] if written else []
        out["select"] = await run_load(keys, [select] * workers, deadline=opts.duration)
        return out
    finally:
        await pool.close()


async def run_phases(
    stack: Stack, rounds: Sequence[OpenRound], opts: Options, console: Console
) -> dict[str, LoadResult]:
    tokens: dict[str, str] = {}

    def token(person_id: str, person: Person | None = None) -> str:
        if person_id not in tokens:
            who = person or Person(person_id, "", "", "", ())
            tokens[person_id] = token_for(stack, who)
        return tokens[person_id]

    # Warm-up: every connection pool filled at this concurrency (one's invitations, read by
    # as many raters as there are clients, a few times), so the phases measure steady state.
    warm = [token(r.raters[-1]) for r in rounds[: opts.concurrency * 3]]
    await _http(stack.api_url, warm, _invitations, opts)
    pick = random.Random(7)
    answers = [(r.id, token(rater), pick.randint(1, 5)) for r in rounds for rater in r.raters]
    pick.shuffle(answers)
    phases: dict[str, LoadResult] = {}
    console.print(
        f"  answers: {len(answers):,} through the gateway, {opts.concurrency} in flight …"
    )
    phases["answers"] = await _http(stack.api_url, answers, _answer, opts)
    console.print(f"  close: {len(rounds):,} rounds over gRPC …")
    phases["close"] = await _close_all(stack, rounds, opts)
    reads = [(r.id, token(r.subject.id, r.subject)) for r in rounds]
    await _http(stack.api_url, reads[: opts.concurrency * 3], _results, opts)  # warm-up
    console.print(f"  results: {len(reads):,} reads through the gateway …")
    phases["results"] = await _http(stack.api_url, reads, _results, opts)
    console.print("  ceilings: asyncpg single-row INSERT transactions, point selects …")
    phases.update(await _ceilings(stack.dsn, len(answers), len(reads) * 4, opts))
    return phases


async def run(opts: Options, console: Console | None = None) -> Result:
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="stride-bench-feedback-") as tmp:
        work = Path(tmp)
        async with benchmark_stack(work, opts.log_level, services=("feedback",)) as stack:
            t0 = time.perf_counter()
            rounds = await seed(stack, opts, work, console)
            seconds = time.perf_counter() - t0
            phases = await run_phases(stack, rounds, opts, console)
            return Result(opts, opts.employees, len(rounds), seconds, phases)
