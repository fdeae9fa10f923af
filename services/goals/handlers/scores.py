"""Scores and participation of a cycle (reads only)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from services.common.errors import InvalidArgument
from services.common.paging import after_window, next_after_token
from services.common.tasks import settle
from services.goals import domain, scoring
from services.goals.calendar import local_today, parse_week, zone
from services.goals.domain import punctuality
from services.goals.evaluation import board_of_facts, score_board
from services.goals.handlers.shared import Deps, cycle_of, paged
from services.goals.messages import scores_pb
from services.goals.models import Cycle
from services.goals.repository import GoalsRepository, figure_queries
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import MAX_DASHBOARD_DEPARTMENTS, ObjectiveStatus, Risk, week_of


async def get(deps: Deps, request: pb.GetScoresRequest) -> pb.Scores:
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        cycle = await cycle_of(repo, request.cycle_id)
        owner_id = request.owner_id.strip()
        # department_ids (a department and those below, as the gateway asks) else the one.
        departments = sorted(
            {d.strip() for d in request.department_ids if d.strip()}
            or ({request.department_id.strip()} - {""})
        )
        if len(departments) > MAX_DASHBOARD_DEPARTMENTS:
            raise InvalidArgument(
                "too_many_departments", f"name at most {MAX_DASHBOARD_DEPARTMENTS} departments"
            )
        if paged(request.page):
            return await _scores_page(deps, repo, cycle, request.page, departments, owner_id)
        if departments or owner_id:
            # Only what the narrowed board is computed from (see repo.score_inputs).
            objectives, krs = await repo.score_inputs(cycle.id, departments, owner_id)
            board, facts = score_board(cycle, objectives, krs)
        else:  # the whole cycle: plain columns
            board, facts = board_of_facts(cycle, *await repo.score_facts(cycle.id))
    board = scoring.filtered(board, facts, departments, owner_id)
    return scores_pb(cycle.id, board)


async def _figures(
    deps: Deps, cycle: Cycle, departments: list[str], owner_id: str
) -> tuple[list[scoring.DepartmentResult], tuple[float, int, int]]:
    """The (narrowed) cycle's figures: per department its score, key results, objectives and
    alignment; and (alignment, aligned, objectives) over the matching objectives.

    Without an owner they are the dashboard read model's sums (one narrow row per department,
    kept from the event stream: they follow writes within the feed's window, ~2 s under load,
    as the dashboards do); at 10,000 people a pass over every key result costs ~20 ms of
    PostgreSQL time where these rows cost ~1. An owner's figures are summed live from their
    key results and objectives (two grouped queries on two connections at once)."""
    if not owner_id:
        async with deps.sessions() as session:
            rows = await GoalsRepository(session).dashboard_score_sums(
                cycle.id, departments or None
            )
        n = sum(r[5] for r in rows)
        can = sum(r[6] for r in rows)
        done = sum(r[7] for r in rows)
        results = [scoring.department_result(*r) for r in rows]
        return results, ((done / can if can else 0.0), done, n)
    queries = figure_queries(cycle, departments, owner_id)
    async with deps.sessions() as session:
        wanted = await GoalsRepository(session).figure_departments(queries)

    async def key_result_sums() -> dict[str, tuple[int, float, int, float]]:
        async with deps.sessions() as session:
            return await GoalsRepository(session).figure_key_result_sums(queries, wanted)

    sums_call = asyncio.ensure_future(key_result_sums())
    try:
        async with deps.sessions() as session:
            owned, (n, can, done) = await GoalsRepository(session).figure_objective_sums(
                queries, wanted
            )
        sums = await sums_call
    finally:
        settle(sums_call)
    departments_figures = [
        scoring.department_result(dep, *sums.get(dep, (0, 0.0, 0, 0.0)), *owned.get(dep, (0, 0, 0)))
        for dep in sorted(set(sums) | set(owned))
    ]
    return departments_figures, ((done / can if can else 0.0), done, n)


async def _scores_page(
    deps: Deps,
    repo: GoalsRepository,
    cycle: Cycle,
    page: common_pb2.PageRequest,
    departments: list[str],
    owner_id: str,
) -> pb.Scores:
    """One page of a cycle's scores: ``page_size`` people in employee id order (owning a
    matching objective or key result), the matching objectives they own and their scores,
    each computed from those people's and objectives' rows only; the figures of the whole
    (narrowed) cycle on the first page only, from grouped sums."""
    limit, after = after_window(page.page_size, page.page_token)
    # The first page's figures are grouped sums over the whole (narrowed) cycle: asked for on
    # a connection of their own while this one reads the page (the answer waits for the
    # slower of the two, not for both).
    figures_call = (
        None if after else asyncio.ensure_future(_figures(deps, cycle, departments, owner_id))
    )
    try:
        return await _page_of_scores(repo, cycle, limit, after, departments, owner_id, figures_call)
    finally:
        settle(figures_call)


async def _page_of_scores(
    repo: GoalsRepository,
    cycle: Cycle,
    limit: int,
    after: str,
    departments: list[str],
    owner_id: str,
    figures_call: asyncio.Future[tuple[list[scoring.DepartmentResult], tuple[float, int, int]]]
    | None,
) -> pb.Scores:
    people = await repo.page_owners(
        cycle.id,
        after,
        limit + 1,
        owner_ids=[owner_id] if owner_id else [],
        department_ids=departments,
        closed_only=cycle.status == ObjectiveStatus.CLOSED,
    )
    more, people = len(people) > limit, people[:limit]
    objectives, krs = await repo.score_page(cycle.id, people, departments, owner_id)
    board = scoring.score_board(
        [o for status, o in objectives if domain.in_scores(cycle.status, status)],
        [k for status, k in krs if domain.in_scores(cycle.status, status)],
    )
    on_page = set(people)
    figures: list[scoring.DepartmentResult] = []
    share, aligned, count = 0.0, 0, 0
    if figures_call is not None:
        figures, (share, aligned, count) = await figures_call
    message = scores_pb(
        cycle.id,
        scoring.ScoreBoard(
            board.objectives,
            [p for p in board.people if p.employee_id in on_page],
            figures,
            share,
            aligned,
            count,
        ),
    )
    message.page.next_page_token = next_after_token(people[-1]) if more else ""
    return message


async def participation(
    deps: Deps, request: pb.GetParticipationRequest
) -> pb.GetParticipationResponse:
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        cycle = await cycle_of(repo, request.cycle_id)
        week = request.week.strip() or week_of(local_today(datetime.now(UTC), cycle.time_zone))
        parse_week(week)
        owners, departments = sorted(set(request.owner_ids)), sorted(set(request.department_ids))
        next_token = ""
        if paged(request.page):  # the page's people (employee id order) and their rows only
            limit, after = after_window(request.page.page_size, request.page.page_token)
            owners = await repo.page_owners(
                cycle.id, after, limit + 1, owner_ids=owners, department_ids=departments
            )
            if len(owners) > limit:
                owners = owners[:limit]
                next_token = next_after_token(owners[-1])
        objectives: list[tuple[str, str]] = []
        owned: list[tuple[str, str, str, bool]] = []
        if owners or not paged(request.page):  # no page people: nothing (not "no filter")
            objectives, owned = await repo.participation_rows(cycle.id, owners, departments, week)
    people: dict[str, pb.Participation] = {}

    def person(employee_id: str) -> pb.Participation:
        return people.setdefault(employee_id, pb.Participation(employee_id=employee_id))

    for owner, status in objectives:
        p = person(owner)
        if status == ObjectiveStatus.DRAFT:
            p.draft_objectives += 1
        elif status == ObjectiveStatus.PENDING:
            p.pending_objectives += 1
        elif status == ObjectiveStatus.APPROVED:
            p.approved_objectives += 1
    for owner, objective_status, risk_status, checked_in in owned:
        p = person(owner)  # owning a key result of any status is taking part
        if objective_status != ObjectiveStatus.APPROVED:
            continue
        p.key_results += 1
        p.checked_in += checked_in
        p.at_risk += risk_status == Risk.AT_RISK
    response = pb.GetParticipationResponse(
        cycle_id=cycle.id, week=week, people=[people[k] for k in sorted(people)]
    )
    if paged(request.page):
        response.page.next_page_token = next_token
    return response


MAX_PEOPLE_STATS = 1000


async def people_stats(deps: Deps, request: pb.GetPeopleStatsRequest) -> pb.GetPeopleStatsResponse:
    """What talent tags and manager dimensions need per person in a cycle: the score (as
    GetScores), owned objectives (stretch, score), key results' baseline and target, and
    weekly check-ins expected and on time (services/goals/domain/punctuality.py)."""
    wanted = list(dict.fromkeys(e.strip() for e in request.employee_ids if e.strip()))
    if len(wanted) > MAX_PEOPLE_STATS:
        raise InvalidArgument(
            "too_many_people", f"ask about at most {MAX_PEOPLE_STATS} people at once"
        )
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        cycle = await cycle_of(repo, request.cycle_id)
        objectives = await repo.objectives(None, cycle_id=cycle.id)
        krs = await repo.key_results(None, cycle_id=cycle.id)
        board, _ = score_board(cycle, objectives, krs)
        counted = {o.objective.id for o in board.objectives}
        mine = [k for k in krs if k.owner_id in wanted and k.objective_id in counted]
        recorded = await repo.first_recorded([k.id for k in mine])
    tz = zone(cycle.time_zone)
    today = local_today(datetime.now(UTC), cycle.time_zone)
    weeks = punctuality.finished_weeks(cycle.start_date, cycle.end_date, today)
    scores = {p.employee_id: p for p in board.people}
    objective_scores = {o.objective.id: o.score for o in board.objectives}
    people = {e: pb.PersonStats(employee_id=e) for e in wanted}
    for e, p in people.items():
        if e in scores:
            p.score, p.key_result_count = scores[e].score, scores[e].key_result_count
    for o in objectives:
        if o.owner_id in people and o.id in counted:
            people[o.owner_id].objectives.append(
                pb.ObjectiveStat(
                    objective_id=o.id, stretch=o.stretch, score=objective_scores.get(o.id, 0.0)
                )
            )
    for k in mine:
        p = people[k.owner_id]
        p.key_results.append(
            pb.KeyResultTarget(key_result_id=k.id, baseline=k.baseline, target=k.target)
        )
        first = {w: at if at.tzinfo else at.replace(tzinfo=UTC) for w, at in recorded[k.id].items()}
        p.expected_check_ins += len(weeks)
        p.on_time_check_ins += punctuality.on_time_weeks(first, weeks, tz)
    return pb.GetPeopleStatsResponse(
        cycle_id=cycle.id,
        closed=cycle.status == ObjectiveStatus.CLOSED,
        people=list(people.values()),
    )
