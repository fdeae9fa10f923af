"""Dashboard read models: refreshed from the goals event stream (services/goals/dashboard_feed.py),
rebuilt on demand, read per department (a dashboard costs in proportion to departments)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.common.errors import InvalidArgument
from services.goals.domain import dashboards
from services.goals.handlers.shared import Deps, cycle_of, key_results_pb, next_page, page
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


def _figures(row: Any) -> dashboards.Figures:
    """A read-model row's figures (``row``: a :class:`DashboardDepartment` or a plain row of
    its columns)."""
    return dashboards.Figures(
        key_results=row.key_results,
        score_sum=row.score_sum,
        completed=row.completed,
        score_bands=list(row.score_bands) or [0] * dashboards.SCORE_BANDS,
        behind=row.behind,
        at_risk=row.at_risk,
        stale=row.stale,
        red=row.red,
        objectives=row.objectives,
        alignable_objectives=row.alignable_objectives,
        aligned_objectives=row.aligned_objectives,
    )


def _figures_pb(f: dashboards.Figures) -> pb.DashboardFigures:
    return pb.DashboardFigures(
        key_results=f.key_results,
        average_score=f.average_score,
        completed=f.completed,
        completed_share=f.completed_share,
        score_bands=f.score_bands,
        behind=f.behind,
        at_risk=f.at_risk,
        stale=f.stale,
        red=f.red,
        objectives=f.objectives,
        alignable_objectives=f.alignable_objectives,
        aligned_objectives=f.aligned_objectives,
        alignment=f.alignment,
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
    parts = [(row.department_id, _figures(row), False) for row in rows]
    parts += [(d, f, True) for d, f in sorted(people.items())]
    return pb.Dashboard(
        cycle_id=cycle.id,
        total=_figures_pb(dashboards.total(f for _, f, _ in parts)),
        departments=[
            pb.DepartmentDashboard(department_id=d, figures=_figures_pb(f), people_only=only)
            for d, f, only in parts
        ],
        weeks=[pb.WeekActivity(week=w, check_ins=n) for w, n in dashboards.weekly(weeks)],
    )


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
