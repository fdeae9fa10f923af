"""Dashboard read models: refreshed from the goals event stream (services/goals/dashboard_feed.py),
rebuilt on demand, read per department (a dashboard costs in proportion to departments)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from services.common.errors import InvalidArgument
from services.common.paging import after_page, after_window
from services.goals.domain import dashboards
from services.goals.handlers.shared import (
    Deps,
    cycle_of,
    key_results_pb,
    next_page,
    page,
    paged,
)
from services.goals.messages import check_in_pb
from services.goals.repository import GoalsRepository
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import MAX_DASHBOARD_DEPARTMENTS, MAX_DASHBOARD_PEOPLE


async def refresh(deps: Deps, touched: Iterable[tuple[str, str]]) -> int:
    """Recompute the rows of the (cycle, department) pairs events touched
    (``dashboards.WHOLE_CYCLE``: every department of the cycle), one transaction per cycle;
    returns the departments written. Unknown cycles (deleted, or not yet visible) are skipped."""
    by_cycle: dict[str, set[str] | None] = {}
    for cycle_id, department_id in touched:
        if department_id == dashboards.WHOLE_CYCLE:
            by_cycle[cycle_id] = None
        elif (known := by_cycle.setdefault(cycle_id, set())) is not None:
            known.add(department_id)
    written = 0
    for cycle_id, departments in sorted(by_cycle.items()):
        async with deps.units() as uow:
            cycle = await uow.repo.cycle(cycle_id)
            if cycle is None:
                continue
            ids = None if departments is None else sorted(departments)
            written += await uow.repo.refresh_dashboards(cycle, ids)
    return written


async def rebuild(deps: Deps, request: pb.RebuildDashboardsRequest) -> pb.RebuildDashboardsResponse:
    cycle_id = request.cycle_id.strip()
    if cycle_id:
        async with deps.sessions() as session:
            await cycle_of(GoalsRepository(session), cycle_id)
        cycles = [cycle_id]
    else:
        async with deps.sessions() as session:
            cycles = await GoalsRepository(session).cycle_ids()
    written = await refresh(deps, [(c, dashboards.WHOLE_CYCLE) for c in cycles])
    return pb.RebuildDashboardsResponse(cycles=len(cycles), departments=written)


def _figures_pb(
    key_results: int,
    score_sum: float,
    completed: int,
    score_bands: list[int],
    behind: int,
    at_risk: int,
    stale: int,
    objectives: int,
    alignable_objectives: int,
    aligned_objectives: int,
    red: int,
    weighted_score_sum: float = 0.0,
    weight_sum: int = 0,
) -> pb.DashboardFigures:
    """The message of a figures row (``dashboards.FIELDS`` order): a read-model row's values
    or ``dashboards.row(figures)`` (the weighted sums serve the scores, not the dashboard)."""
    return pb.DashboardFigures(
        key_results=key_results,
        average_score=dashboards.share(score_sum, key_results),
        completed=completed,
        completed_share=dashboards.share(completed, key_results),
        score_bands=score_bands or dashboards.NO_BANDS,
        behind=behind,
        at_risk=at_risk,
        stale=stale,
        red=red,
        objectives=objectives,
        alignable_objectives=alignable_objectives,
        aligned_objectives=aligned_objectives,
        alignment=dashboards.share(aligned_objectives, alignable_objectives),
    )


async def get(deps: Deps, request: pb.GetDashboardRequest) -> pb.Dashboard:
    wanted = list(dict.fromkeys(d.strip() for d in request.department_ids if d.strip()))
    owners = sorted({o.strip() for o in request.owner_ids if o.strip()})
    if len(wanted) > MAX_DASHBOARD_DEPARTMENTS or len(owners) > MAX_DASHBOARD_PEOPLE:
        raise InvalidArgument(
            "dashboard_too_wide",
            f"name at most {MAX_DASHBOARD_DEPARTMENTS} departments and "
            f"{MAX_DASHBOARD_PEOPLE} people (or ask for all departments)",
        )
    window = after_window(request.page.page_size, request.page.page_token)
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        cycle = await cycle_of(repo, request.cycle_id)
        whole = None if request.all_departments else wanted
        rows, weeks = await repo.dashboard_rows(cycle.id, whole)
        people: dict[str, dashboards.Figures] = {}
        if owners and whole is not None:
            # The read model is per department: reports elsewhere are counted live.
            found, owner_weeks = await repo.dashboard_figures(cycle, None, owners)
            people = {d: f for d, f in found.items() if d not in set(whole)}
            weeks += [(w, n) for d, w, n in owner_weeks if d not in set(whole)]
    # Rows: (department, *figures row); the people's departments after the read model's.
    parts: list[tuple[str, Sequence[Any], bool]] = [(r[0], r[1:], False) for r in rows]
    parts += [(d, dashboards.row(f), True) for d, f in sorted(people.items())]
    # The total and weeks are the whole dashboard's (summed in the unpaged order: the same
    # floats on every page); a page's messages are built for its rows only.
    total = _figures_pb(*dashboards.row(dashboards.sum_rows(v for _, v, _ in parts)))
    shown, token = parts, ""
    if paged(request.page):  # department id order (people_only rows among the others)
        shown, token = after_page(sorted(parts, key=_department), _department, *window)
    message = pb.Dashboard(
        cycle_id=cycle.id,
        total=total,
        departments=[
            pb.DepartmentDashboard(department_id=d, figures=_figures_pb(*v), people_only=only)
            for d, v, only in shown
        ],
        weeks=[pb.WeekActivity(week=w, check_ins=n) for w, n in dashboards.weekly(weeks)],
    )
    if paged(request.page):
        message.page.next_page_token = token
    return message


def _department(part: tuple[str, Sequence[Any], bool]) -> str:
    return part[0]


async def risks(deps: Deps, request: pb.ListRisksRequest) -> pb.ListRisksResponse:
    """Key results at risk across some departments and people, with their latest blockers."""
    departments = sorted({d.strip() for d in request.department_ids if d.strip()})
    owners = sorted({o.strip() for o in request.owner_ids if o.strip()})
    if request.all_departments:
        departments, owners = [], []
    elif not departments and not owners:
        raise InvalidArgument("reach_required", "name departments or people")
    if len(departments) > MAX_DASHBOARD_DEPARTMENTS or len(owners) > MAX_DASHBOARD_PEOPLE:
        raise InvalidArgument(
            "dashboard_too_wide",
            f"name at most {MAX_DASHBOARD_DEPARTMENTS} departments and "
            f"{MAX_DASHBOARD_PEOPLE} people",
        )
    limit, offset = page(request.page)
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        cycle = await cycle_of(repo, request.cycle_id)
        wanted = None if request.all_departments else departments
        found = await repo.at_risk(cycle.id, wanted, owners, limit, offset)
        krs = await key_results_pb(repo, [k for k, _ in found])
    items = []
    for kr, (_, check_in) in zip(krs, found, strict=True):
        item = pb.RiskItem(key_result=kr)
        if check_in is not None:
            latest = check_in_pb(check_in)
            item.week = latest.week
            item.blockers.extend(latest.blockers)
        items.append(item)
    return pb.ListRisksResponse(items=items, page=next_page(offset, limit, len(found)))
