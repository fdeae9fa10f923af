"""The cross-department objective board (``/board``): pure rules, no I/O.

An objective is *cross-department* when its key results are owned in two or more
departments (the customer's "On-time delivery ≥ 99 %": PMC, purchasing, quality and
engineering each own one). Objectives have no level of their own for that (the levels are
company, department, team, individual), so the board finds them by their key results.

One row per key result: its department, owner, risk, the trend of its score since the check-in
before the latest one, and the latest blocker its owner reported. The trend compares scores
(0..1 progress towards the target), not values, so "up" means better whatever the key
result's direction (a scrap rate going down scores up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Cross-department: key results owned in at least this many departments.
MIN_DEPARTMENTS = 2
# A score change smaller than this (half a percentage point) reads as flat.
FLAT = 0.005


def cross_department(
    objectives: Iterable[dict[str, Any]], key_results: Iterable[dict[str, Any]]
) -> list[tuple[dict[str, Any], list[str]]]:
    """(objective, its key results' department ids in order of first appearance) for each
    objective whose key results span :data:`MIN_DEPARTMENTS` departments or more, most
    departments first, then by title."""
    departments: dict[str, list[str]] = {}
    for kr in key_results:
        found = departments.setdefault(kr["objective_id"], [])
        if kr["department_id"] and kr["department_id"] not in found:
            found.append(kr["department_id"])
    chosen = [
        (o, departments[o["id"]])
        for o in objectives
        if len(departments.get(o["id"], ())) >= MIN_DEPARTMENTS
    ]
    return sorted(chosen, key=lambda pair: (-len(pair[1]), pair[0]["title"]))


@dataclass(frozen=True)
class Trend:
    """How a key result's score moved between its two latest check-ins."""

    direction: str  # "up", "down", "flat", or "new" (fewer than two check-ins)
    change: float = 0.0  # score points (0..1)
    since_week: str = ""


def trend(check_ins: list[dict[str, Any]]) -> Trend:
    """The latest check-in's score against the one before it (check-ins of any order)."""
    ordered = sorted(check_ins, key=lambda c: c["week"])
    if len(ordered) < 2:
        return Trend("new")
    before, latest = ordered[-2], ordered[-1]
    change = float(latest.get("score") or 0) - float(before.get("score") or 0)
    if abs(change) < FLAT:
        return Trend("flat", 0.0, before["week"])
    return Trend("up" if change > 0 else "down", change, before["week"])


def latest_blocker(check_ins: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """(week, blocker) of the newest check-in that reported one (its first blocker)."""
    for check_in in sorted(check_ins, key=lambda c: c["week"], reverse=True):
        if check_in.get("blockers"):
            return check_in["week"], check_in["blockers"][0]
    return None


@dataclass(frozen=True)
class Row:
    key_result: dict[str, Any]
    department: str  # its name (the id when the visitor may not read the department)
    owner: str  # the owner's name ("" when the visitor may not read them)
    risk: str
    trend: Trend
    blocker: tuple[str, dict[str, Any]] | None


def rows(
    key_results: Iterable[dict[str, Any]],
    check_ins: Mapping[str, list[dict[str, Any]]],
    departments: Mapping[str, dict[str, Any]],
    people: Mapping[str, dict[str, Any]],
) -> list[Row]:
    """The board's rows, by department name then key result title."""
    found = []
    for kr in key_results:
        history = check_ins.get(kr["id"], [])
        department = departments.get(kr["department_id"], {}).get("name", kr["department_id"])
        found.append(
            Row(
                key_result=kr,
                department=department,
                owner=people.get(kr["owner_id"], {}).get("name", ""),
                risk=(kr.get("risk") or {}).get("status", "no_data"),
                trend=trend(history),
                blocker=latest_blocker(history),
            )
        )
    return sorted(found, key=lambda r: (r.department, r.key_result["title"]))
