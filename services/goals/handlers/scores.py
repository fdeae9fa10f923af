"""Scores and participation of a cycle (reads only)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.goals import scoring
from services.goals.calendar import local_today, parse_week
from services.goals.evaluation import score_board
from services.goals.handlers.shared import Deps, cycle_of
from services.goals.messages import scores_pb
from services.goals.repository import GoalsRepository
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import ObjectiveStatus, Risk, week_of


async def get(deps: Deps, request: pb.GetScoresRequest) -> pb.Scores:
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        cycle = await cycle_of(repo, request.cycle_id)
        objectives = await repo.objectives(None, cycle_id=cycle.id)
        krs = await repo.key_results(None, cycle_id=cycle.id)
    board, facts = score_board(cycle, objectives, krs)
    board = scoring.filtered(board, facts, request.department_id.strip(), request.owner_id.strip())
    return scores_pb(cycle.id, board)


async def participation(
    deps: Deps, request: pb.GetParticipationRequest
) -> pb.GetParticipationResponse:
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        cycle = await cycle_of(repo, request.cycle_id)
        week = request.week.strip() or week_of(local_today(datetime.now(UTC), cycle.time_zone))
        parse_week(week)
        objectives = await repo.objectives(None, cycle_id=cycle.id)
        krs = await repo.key_results(None, cycle_id=cycle.id)
        checked = await repo.check_ins_of_week([k.id for k in krs], week)
    wanted = set(request.owner_ids)
    status_of = {o.id: o.status for o in objectives}
    people: dict[str, pb.Participation] = {}

    def person(employee_id: str) -> pb.Participation | None:
        if wanted and employee_id not in wanted:
            return None
        return people.setdefault(employee_id, pb.Participation(employee_id=employee_id))

    for o in objectives:
        p = person(o.owner_id)
        if p is None:
            continue
        if o.status == ObjectiveStatus.DRAFT:
            p.draft_objectives += 1
        elif o.status == ObjectiveStatus.PENDING:
            p.pending_objectives += 1
        elif o.status == ObjectiveStatus.APPROVED:
            p.approved_objectives += 1
    for kr in krs:
        p = person(kr.owner_id)
        if p is None or status_of.get(kr.objective_id) != ObjectiveStatus.APPROVED:
            continue
        p.key_results += 1
        p.checked_in += kr.id in checked
        p.at_risk += kr.risk_status == Risk.AT_RISK
    return pb.GetParticipationResponse(
        cycle_id=cycle.id, week=week, people=[people[k] for k in sorted(people)]
    )
