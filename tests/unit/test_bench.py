"""Pure parts of the benchmarks: the generated organisation, KR weights, percentiles."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bench import __main__ as bench_main
from bench.checkin import TEAM_SIZE, generate_org, kr_weights
from bench.load import percentile, summarize
from bench.report import Target


def test_generated_org_has_one_head_and_teams_led_by_their_first_member() -> None:
    rows = generate_org(1 + 2 * TEAM_SIZE + 1)
    numbers = [r.number for r in rows]
    assert len(set(numbers)) == len(rows)
    head = rows[0]
    assert head.manager == "" and head.department == "Bench Co"
    teams = Counter(r.department for r in rows[1:])
    assert list(teams.values()) == [TEAM_SIZE, TEAM_SIZE, 1]
    assert all(d.startswith("Bench Co/Division 01/Team ") for d in teams)
    lead = rows[1]
    assert lead.manager == head.number
    assert {r.manager for r in rows[2 : TEAM_SIZE + 1]} == {lead.number}
    # Every manager is someone in the file, listed before the people reporting to them.
    seen: set[str] = set()
    for r in rows:
        assert r.manager == "" or r.manager in seen
        seen.add(r.number)


def test_generated_org_sizes() -> None:
    assert generate_org(0) == []
    assert len(generate_org(10_000)) == 10_000
    assert len({r.department for r in generate_org(10_000)}) == 501  # head + 500 teams


def test_kr_weights_total_100() -> None:
    assert kr_weights(3) == [40, 30, 30]
    for n in range(1, 8):
        assert sum(kr_weights(n)) == 100 and len(kr_weights(n)) == n


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


def test_summary_counts_failures_apart_from_successes() -> None:
    result = summarize([0.01, 0.02, 0.03, 0.04], Counter({"ok": 3, "HTTP 500": 1}), 2.0, 0.5)
    assert (result.requests, result.ok, result.errors) == (4, 3, {"HTTP 500": 1})
    assert result.per_second == 1.5
    assert result.p50_ms == 20.0 and result.max_ms == 40.0


def test_no_arguments_means_every_benchmark_at_both_sizes() -> None:
    args = bench_main.parser().parse_args([])
    assert args.benchmarks == []
    assert args.employees == [2_000, 10_000]
    assert bench_main.parser().parse_args(["relay", "--employees", "20,1_000"]).employees == [
        20,
        1_000,
    ]
    with pytest.raises(SystemExit):
        bench_main.main(["nope"])


def test_targets_know_which_way_is_better() -> None:
    assert Target("ratio", 0.4, 0.35).met
    assert not Target("ratio", 0.3, 0.35).met
    assert Target("p99", 390, 400, at_most=True).met
    assert not Target("sessions", 1, 0, at_most=True).met


def test_reports_sizes_default_to_680_and_10000() -> None:
    assert bench_main.parser().parse_args([]).reports_sizes == [680, 10_000]
    args = bench_main.parser().parse_args(["reports", "--reports-sizes", "680,10000,100000"])
    assert args.reports_sizes == [680, 10_000, 100_000]


def test_reports_org_is_a_tree_of_divisions_departments_and_teams() -> None:
    from bench import reports

    org = reports.generate_org(10_000)
    assert len(org.people) == len({p.id for p in org.people}) == 10_000
    kinds = Counter(u.kind for u in org.units)
    assert (kinds["company"], kinds["division"]) == (1, 5)
    units = {u.id: u for u in org.units}
    members = Counter(p.department_id for p in org.people)
    for u in org.units:
        parent = units.get(u.parent_id or "")
        expected = {"company": None, "division": "company", "department": "division"}
        assert (parent.kind if parent else None) == expected.get(u.kind, "department")
        head = org.person(u.head_id)
        assert head.department_id == u.id and "manager" in head.roles
        # A head reports to the head of the unit above; a team's members to its lead.
        assert org.managers[head.id] == (parent.head_id if parent else None)
        if u.kind == "team":
            assert 1 <= members[u.id] <= reports.TEAM_SIZE
    top = org.unit("company").head_id
    assert [p.id for p in org.people if org.managers[p.id] is None] == [top]
    assert [p.roles for p in org.people if "hr" in p.roles] == [("hr",)]
    # Managers come before their reports (COPY order of the foreign key).
    seen: set[str] = set()
    for p in org.people:
        assert org.managers[p.id] is None or org.managers[p.id] in seen
        seen.add(p.id)
    with pytest.raises(ValueError):
        reports.generate_org(1)


def test_reports_key_results_follow_goals_own_risk_rules() -> None:
    from datetime import date, timedelta

    from bench import reports
    from services.goals.models import Cycle
    from workflows.vocabulary import week_of

    start = date(2026, 9, 14)
    cycle = Cycle(id="c", start_date=start, end_date=start + timedelta(weeks=13, days=-1))
    weeks = [week_of(start + timedelta(weeks=w)) for w in range(reports.WEEKS)]
    statuses = [
        reports.path_rows(cycle, weeks, factor).key_result["risk_status"]
        for _, _, factor in reports.PATHS
    ]
    assert statuses == ["on_track", "behind", "at_risk"]
    shares = Counter(reports.path_of(i) for i in range(1_000))
    assert [shares[n] for n in range(len(reports.PATHS))] == [
        share * 10 for _, share, _ in reports.PATHS
    ]


def test_reports_targets_hold_10000_to_50_ms_and_growth_to_linear() -> None:
    from bench import reports
    from bench.load import LoadResult

    def result(people: int, p95_ms: float, errors: dict[str, int] | None = None) -> Any:
        load = LoadResult(3, 3, errors or {}, 1.0, p95_ms / 2, p95_ms, p95_ms, 0.0, p95_ms)
        org = reports.Org(people=[None] * people)  # type: ignore[list-item]
        request = reports.Request("scores", None, "/x")  # type: ignore[arg-type]
        seeded = reports.Seeded(org, "c", [])
        return reports.Result(
            reports.Options(), seeded, [reports.Measured(request, load, {}, 200, 0, None)], load
        )

    targets = reports.reports_targets(
        [result(100_000, 400.0), result(680, 10.0), result(10_000, 40.0)]
    )
    assert [(t.name, t.met) for t in targets] == [
        ("scores p95 (10,000 people)", True),
        ("scores p95 growth 680 → 10,000", True),
        ("scores p95 growth 10,000 → 100,000", True),
    ]
    slower = reports.reports_targets([result(10_000, 60.0), result(100_000, 601.0)])
    assert [t.met for t in slower] == [False, False]
    failed = reports.reports_targets([result(10_000, 40.0), result(100_000, 1.0, {"HTTP 504": 3})])
    assert [t.met for t in failed] == [True, False]
    assert "HTTP 504 × 3" in failed[1].note
