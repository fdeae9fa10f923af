"""The reports benchmark (bench/reports.py) at a tiny size: the organisation it COPYs into the
services' tables reads back through the gateway as generated, every request it measures
answers 200 with figures that match the generated data, and the timings are sane.

Real engines: a fresh PostgreSQL database (the benchmark's ceiling is asyncpg, so it always
runs on PostgreSQL: STRIDE_BENCH_POSTGRES_URL, else STRIDE_TEST_DATABASE_URL's server, else
127.0.0.1:5432), a private nats-server, identity / goals / feedback / gateway as processes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench import reports
from bench.checkin import token_for
from bench.stack import Stack, benchmark_stack
from services.common.paging import DEFAULT_PAGE_SIZE

# The top manager, HR, a division head, a department head and two teams (20 + 11).
EMPLOYEES = 35


async def test_the_reports_bench_measures_what_it_generated(tmp_path: Path) -> None:
    opts = reports.Options(employees=EMPLOYEES, repeats=2, warm_up=1, selects=50)
    quiet = Console(quiet=True)
    async with benchmark_stack(tmp_path, opts.log_level, reports.SERVICES, bare=False) as stack:
        seeded = await reports.seed(stack, opts, quiet)
        result = await reports.run_requests(stack, seeded, opts, quiet)
        hr = next(p for p in seeded.org.people if "hr" in p.roles)
        cycle = seeded.cycle_id
        # Following next_page_token a few people at a time yields everyone exactly once.
        score_pages = await all_pages(stack, hr, f"/cycles/{cycle}/scores")
        participation_pages = await all_pages(stack, hr, f"/cycles/{cycle}/participation")

    org = seeded.org
    assert len(org.people) == EMPLOYEES
    assert Counter(u.kind for u in org.units) == {
        "company": 1,
        "division": 1,
        "department": 1,
        "team": 2,
    }
    krs = EMPLOYEES * reports.KRS
    assert (seeded.key_results, seeded.check_ins) == (krs, krs * reports.WEEKS)
    assert 0 < seeded.at_risk < krs

    measured = result.by_name()
    assert len(measured) == len(reports.requests(seeded))
    for name, m in measured.items():
        assert (m.status, m.load.errors, m.load.ok) == (200, {}, opts.repeats), name
        assert 0 < m.load.p50_ms <= m.load.p95_ms, name
        # The sampler followed every process (a few calls may cost less than a clock tick).
        assert set(reports.PROCESSES) <= set(m.cpu_ms), name

    def body(name: str) -> dict:
        found = measured[name].body
        assert isinstance(found, dict)
        return found

    # The measured requests are first pages (the default page size).
    first = body("HR /cycles/{id}/scores")
    assert len(first["people"]) == min(EMPLOYEES, DEFAULT_PAGE_SIZE)
    assert (first["objective_count"], first["aligned_count"]) == (EMPLOYEES, EMPLOYEES - 1)
    assert sum(d["key_result_count"] for d in first["departments"]) == krs
    everyone = sorted(p.id for p in org.people)
    for pages in (score_pages, participation_pages):
        assert len(pages) == -(-EMPLOYEES // PAGE)
        ids = [p["employee_id"] for page in pages for p in page["people"]]
        assert ids == everyone
    objectives = [o for page in score_pages for o in page["objectives"]]
    assert len(objectives) == len({o["objective_id"] for o in objectives}) == EMPLOYEES
    for page in score_pages:
        assert {o["owner_id"] for o in page["objectives"]} == {
            p["employee_id"] for p in page["people"]
        }
    assert [bool(p["departments"]) for p in score_pages] == [True] + [False] * (
        len(score_pages) - 1
    )
    team = org.unit("team")
    members = sum(p.department_id == team.id for p in org.people)
    assert len(body("team head: their team's scores")["people"]) == members == reports.TEAM_SIZE
    top = org.unit("company").head_id
    own = body("top manager: own scores")["people"]
    assert [(p["employee_id"], p["key_result_count"]) for p in own] == [(top, reports.KRS)]

    participation = body("HR /cycles/{id}/participation")
    assert participation["week"] == seeded.weeks[-1]
    assert len(participation["people"]) == min(EMPLOYEES, DEFAULT_PAGE_SIZE)
    assert {(p["key_results"], p["checked_in"]) for p in participation["people"]} == {
        (reports.KRS, reports.KRS)
    }
    assert sum(p["at_risk"] for p in participation["people"]) == seeded.at_risk

    organisation = body("dashboard: organisation (HR)")
    assert organisation["total"]["key_results"] == krs
    assert organisation["total"]["at_risk"] == seeded.at_risk
    # Everyone's objective but the top manager's is aligned to their manager's.
    assert organisation["total"]["aligned_objectives"] == EMPLOYEES - 1
    assert [(w["week"], w["check_ins"]) for w in organisation["weeks"]] == [
        (week, krs) for week in seeded.weeks
    ]
    mine = body("dashboard: my organisation (top manager)")
    assert mine["total"]["key_results"] == krs
    # The dashboards' first page: at most a page of departments, by id, the whole totals.
    for dashboard in (organisation, mine):
        ids = [d["department_id"] for d in dashboard["departments"]]
        assert 0 < len(ids) <= DEFAULT_PAGE_SIZE and ids == sorted(ids)
        assert dashboard["next_page_token"] == "" or len(ids) == DEFAULT_PAGE_SIZE

    at_risk = body("HR: at-risk key results, page 1")["items"]
    assert len(at_risk) == seeded.at_risk
    assert {k["risk"]["status"] for k in at_risk} == {"at_risk"}
    risks = body("dashboard: my organisation at risk, page 1 (top manager)")["items"]
    assert len(risks) == seeded.at_risk
    assert {b["text"] for r in risks for b in r["blockers"]} == {"waiting for parts"}

    ceiling = result.ceiling
    assert ceiling is not None
    assert (ceiling.ok, ceiling.errors) == (opts.selects, {})
    assert 0 < ceiling.p50_ms <= ceiling.p95_ms


PAGE = 8


async def all_pages(stack: Stack, who: Any, path: str) -> list[dict[str, Any]]:
    """Every page of a paged report, ``PAGE`` people a page, following next_page_token."""
    headers = {"Authorization": f"Bearer {token_for(stack, who)}"}
    pages: list[dict[str, Any]] = []
    token = ""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60.0) as client:
        while True:
            params = {"page_size": str(PAGE), **({"page_token": token} if token else {})}
            resp = await client.get(path, params=params, headers=headers)
            assert resp.status_code == 200, resp.text
            pages.append(resp.json())
            token = pages[-1]["next_page_token"]
            if not token:
                return pages
