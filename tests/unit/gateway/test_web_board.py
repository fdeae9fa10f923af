"""The cross-department board's rules (gateway/web/board.py)."""

from __future__ import annotations

from typing import Any

from gateway.web import board


def kr(id: str, objective: str, department: str, **more: Any) -> dict[str, Any]:
    return {"id": id, "objective_id": objective, "department_id": department, "title": id, **more}


def test_only_objectives_owned_in_two_departments_or_more_are_cross_department() -> None:
    objectives = [
        {"id": "one", "title": "Scrap"},
        {"id": "two", "title": "Delivery"},
        {"id": "four", "title": "Alpha"},
        {"id": "none", "title": "Empty"},
    ]
    krs = [
        kr("a", "one", "plant"),
        kr("b", "one", "plant"),
        kr("c", "two", "plant"),
        kr("d", "two", "quality"),
        *(kr(f"x{i}", "four", d) for i, d in enumerate(("pmc", "buy", "qa", "eng", "qa"))),
    ]
    found = board.cross_department(objectives, krs)
    # Most departments first; departments in order of first appearance, once each.
    assert [(o["id"], d) for o, d in found] == [
        ("four", ["pmc", "buy", "qa", "eng"]),
        ("two", ["plant", "quality"]),
    ]


def test_the_trend_compares_the_scores_of_the_two_latest_check_ins() -> None:
    assert board.trend([]) == board.Trend("new")
    assert board.trend([{"week": "2026-W10", "score": 0.5}]).direction == "new"
    history = [
        {"week": "2026-W12", "score": 0.4},
        {"week": "2026-W10", "score": 0.9},
        {"week": "2026-W11", "score": 0.5},
    ]
    down = board.trend(history)
    assert down.direction == "down" and round(down.change, 3) == -0.1
    assert down.since_week == "2026-W11"
    up = board.trend([{"week": "2026-W01", "score": 0.2}, {"week": "2026-W02", "score": 0.3}])
    assert up.direction == "up"
    flat = board.trend([{"week": "2026-W01", "score": 0.2}, {"week": "2026-W02", "score": 0.204}])
    assert flat == board.Trend("flat", 0.0, "2026-W01")


def test_the_latest_blocker_is_the_newest_check_ins_first() -> None:
    assert board.latest_blocker([{"week": "2026-W01", "blockers": []}]) is None
    history = [
        {"week": "2026-W01", "blockers": [{"text": "old"}]},
        {"week": "2026-W03", "blockers": []},
        {"week": "2026-W02", "blockers": [{"text": "new"}, {"text": "second"}]},
    ]
    assert board.latest_blocker(history) == ("2026-W02", {"text": "new"})


def test_rows_name_departments_and_owners_and_sort_by_department() -> None:
    krs = [
        kr("b", "o", "q", owner_id="p2", risk={"status": "at_risk"}),
        kr("a", "o", "p", owner_id="p1", risk=None),
        kr("c", "o", "gone", owner_id="hidden", risk=None),
    ]
    rows = board.rows(
        krs,
        {"b": [{"week": "2026-W01", "score": 0.1, "blockers": [{"text": "x"}]}]},
        {"p": {"name": "Plant"}, "q": {"name": "Quality"}},
        {"p1": {"name": "Wang"}, "p2": {"name": "Chen"}},
    )
    assert [(r.department, r.owner, r.risk) for r in rows] == [
        ("Plant", "Wang", "no_data"),
        ("Quality", "Chen", "at_risk"),
        ("gone", "", "no_data"),
    ]
    assert rows[1].blocker == ("2026-W01", {"text": "x"}) and rows[1].trend.direction == "new"
