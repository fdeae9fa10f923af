"""Cycles: create, read, move through phases, close (freezing scores)."""

from __future__ import annotations

from services.common.errors import InvalidArgument
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.goals import domain
from services.goals.calendar import local_today
from services.goals.evaluation import score_board
from services.goals.handlers.shared import Deps, cycle_of, next_page, page, set_status
from services.goals.messages import PHASE, cycle_pb, from_enum, scores_pb
from services.goals.models import Cycle
from services.goals.repository import GoalsRepository
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import ObjectiveStatus, Phase


async def create(deps: Deps, request: pb.CreateCycleRequest) -> pb.Cycle:
    new = domain.new_cycle(
        request.name,
        request.start_date,
        request.end_date,
        request.time_zone,
        deps.time_zone,
        request.planning_deadline,
        request.approval_deadline,
        request.closing_deadline,
    )
    now = utcnow()
    row = Cycle(
        id=new_id(),
        name=new.name,
        start_date=new.start,
        end_date=new.end,
        time_zone=new.time_zone,
        status="open",
        phase=Phase.PLANNING.value,
        planning_deadline=new.planning_deadline,
        approval_deadline=new.approval_deadline,
        closing_deadline=new.closing_deadline,
        backfill=domain.is_backfill(new.end, local_today(now, new.time_zone)),
        created_at=now,
    )
    message = cycle_pb(row)
    async with deps.units() as uow:
        uow.repo.add(row)
        await uow.emit(pb.CycleCreated(meta=new_event_meta("goals"), cycle=message))
        await uow.audit("cycle.create", "cycle", row.id, None, message)
    return message


async def get(deps: Deps, request: pb.GetCycleRequest) -> pb.Cycle:
    async with deps.sessions() as session:
        return cycle_pb(await cycle_of(GoalsRepository(session), request.id))


async def list_(deps: Deps, request: pb.ListCyclesRequest) -> pb.ListCyclesResponse:
    limit, offset = page(request.page)
    async with deps.sessions() as session:
        rows = await GoalsRepository(session).cycles(limit, offset)
    return pb.ListCyclesResponse(
        cycles=[cycle_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )


async def set_phase(deps: Deps, request: pb.SetCyclePhaseRequest) -> pb.Cycle:
    wanted = from_enum(PHASE, request.phase, "phase")
    if not wanted:
        raise InvalidArgument("invalid_phase", "phase must be given")
    async with deps.units() as uow:
        row = await cycle_of(uow.repo, request.id, lock=True)
        if not domain.phase_change(row.status, row.phase, wanted):
            return cycle_pb(row)
        before = cycle_pb(row)
        row.phase = wanted
        message = cycle_pb(row)
        await uow.audit("cycle.phase", "cycle", row.id, before, message)
    return message


async def close(deps: Deps, request: pb.CloseCycleRequest) -> pb.Cycle:
    async with deps.units() as uow:
        repo = uow.repo
        row = await cycle_of(repo, request.id, lock=True)
        domain.ensure_open(row.status)
        before = cycle_pb(row)
        objectives = await repo.objectives(None, cycle_id=row.id, lock=True)
        krs = await repo.key_results(None, cycle_id=row.id)
        # Scores are kept current by every write; closing freezes them (no write after).
        # Approved objectives close and are scored; drafts and pending plans stay unscored.
        await set_status(
            uow,
            [o for o in objectives if domain.closes_with_cycle(o.status)],
            ObjectiveStatus.CLOSED,
            utcnow(),
            krs,
        )
        row.status = "closed"
        row.phase = Phase.ARCHIVED.value
        message = cycle_pb(row)
        board, _facts = score_board(row, objectives, krs)
        await uow.emit(
            pb.CycleClosed(
                meta=new_event_meta("goals"), cycle=message, scores=scores_pb(row.id, board)
            )
        )
        await uow.audit("cycle.close", "cycle", row.id, before, message)
    return message
