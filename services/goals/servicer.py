"""gRPC handlers of the goals service: translate, call the domain, translate back."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from sqlalchemy.exc import IntegrityError

from services.common import audit, metrics
from services.common.db import transaction
from services.common.errors import DomainError, NotFound
from services.common.models import new_id, rfc3339, utcnow
from services.common.outbox import add_event, new_event_meta
from services.common.paging import next_page_token, page_window
from services.common.runtime import ServiceContext
from services.goals import domain, risk
from services.goals.calendar import local_today
from services.goals.identity_client import IdentityClient
from services.goals.models import OUTBOX, CheckIn, Cycle, KeyResult, Objective
from services.goals.repository import GoalsRepository
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2 as pb
from stride.goals.v1 import goals_pb2_grpc

SUBJECT_CHECKIN_RECORDED = "stride.goals.v1.checkin.recorded"

_CYCLE_STATUS = {"open": pb.CYCLE_STATUS_OPEN, "closed": pb.CYCLE_STATUS_CLOSED}
_RISK_STATUS = {
    risk.Risk.NO_DATA: pb.RISK_STATUS_NO_DATA,
    risk.Risk.ON_TRACK: pb.RISK_STATUS_ON_TRACK,
    risk.Risk.BEHIND: pb.RISK_STATUS_BEHIND,
    risk.Risk.AT_RISK: pb.RISK_STATUS_AT_RISK,
}


def cycle_pb(row: Cycle) -> pb.Cycle:
    return pb.Cycle(
        id=row.id,
        name=row.name,
        start_date=row.start_date.isoformat(),
        end_date=row.end_date.isoformat(),
        time_zone=row.time_zone,
        status=_CYCLE_STATUS.get(row.status, pb.CYCLE_STATUS_UNSPECIFIED),
        created_at=rfc3339(row.created_at),
    )


def objective_pb(row: Objective) -> pb.Objective:
    return pb.Objective(
        id=row.id,
        cycle_id=row.cycle_id,
        title=row.title,
        description=row.description,
        owner_id=row.owner_id,
        department_id=row.department_id,
        created_at=rfc3339(row.created_at),
    )


def risk_pb(row: KeyResult | CheckIn) -> pb.RiskAssessment:
    return pb.RiskAssessment(
        status=_RISK_STATUS[risk.Risk(row.risk_status)],
        progress=row.risk_progress,
        expected_progress=row.risk_expected_progress,
        expected_value=row.risk_expected_value,
        shortfall=row.risk_shortfall,
        behind_streak=row.risk_behind_streak,
    )


def key_result_pb(row: KeyResult) -> pb.KeyResult:
    return pb.KeyResult(
        id=row.id,
        objective_id=row.objective_id,
        cycle_id=row.cycle_id,
        title=row.title,
        owner_id=row.owner_id,
        department_id=row.department_id,
        baseline=row.baseline,
        target=row.target,
        unit=row.unit,
        current_value=row.current_value,
        risk=risk_pb(row),
        created_at=rfc3339(row.created_at),
    )


def check_in_pb(row: CheckIn) -> pb.CheckIn:
    return pb.CheckIn(
        id=row.id,
        key_result_id=row.key_result_id,
        week=row.week,
        value=row.value,
        confidence=row.confidence,
        note=row.note,
        recorded_at=rfc3339(row.recorded_at),
        risk=risk_pb(row),
        revision=row.revision,
    )


def _store_assessment(row: KeyResult | CheckIn, result: risk.Assessment) -> None:
    row.risk_status = result.status.value
    row.risk_progress = result.progress
    row.risk_expected_progress = result.expected_progress
    row.risk_expected_value = result.expected_value
    row.risk_shortfall = result.shortfall
    row.risk_behind_streak = result.behind_streak


def _page(page: common_pb2.PageRequest) -> tuple[int, int]:
    return page_window(page.page_size, page.page_token)


def _next(offset: int, limit: int, returned: int) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, returned))


_audit = audit.Recorder("goals", OUTBOX)


class GoalsServicer(goals_pb2_grpc.GoalsServiceServicer):
    def __init__(self, ctx: ServiceContext, identity: IdentityClient) -> None:
        self.ctx = ctx
        self.identity = identity

    # --- cycles -------------------------------------------------------------------------
    async def CreateCycle(
        self, request: pb.CreateCycleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Cycle:
        new = domain.new_cycle(
            request.name,
            request.start_date,
            request.end_date,
            request.time_zone,
            self.ctx.settings.time_zone,
        )
        row = Cycle(
            id=new_id(),
            name=new.name,
            start_date=new.start,
            end_date=new.end,
            time_zone=new.time_zone,
            status="open",
            created_at=utcnow(),
        )
        async with transaction(self.ctx.sessions) as session:
            GoalsRepository(session).add(row)
            await _audit(session, "cycle.create", "cycle", row.id, None, cycle_pb(row))
        self.ctx.outbox_committed()
        return cycle_pb(row)

    async def GetCycle(
        self, request: pb.GetCycleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Cycle:
        async with self.ctx.sessions() as session:
            row = await GoalsRepository(session).cycle(request.id)
        if row is None:
            raise NotFound("cycle_not_found", "cycle not found")
        return cycle_pb(row)

    async def ListCycles(
        self, request: pb.ListCyclesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCyclesResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            rows = await GoalsRepository(session).cycles(limit, offset)
        return pb.ListCyclesResponse(
            cycles=[cycle_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )

    async def CloseCycle(
        self, request: pb.CloseCycleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Cycle:
        async with transaction(self.ctx.sessions) as session:
            row = await GoalsRepository(session).cycle(request.id, lock=True)
            if row is None:
                raise NotFound("cycle_not_found", "cycle not found")
            domain.ensure_open(row.status)
            before = cycle_pb(row)
            row.status = "closed"
            await _audit(session, "cycle.close", "cycle", row.id, before, cycle_pb(row))
        self.ctx.outbox_committed()
        return cycle_pb(row)

    # --- objectives ---------------------------------------------------------------------
    async def CreateObjective(
        self, request: pb.CreateObjectiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.Objective:
        title = domain.clean_text(request.title, "title", domain.MAX_TITLE)
        description = domain.clean_text(
            request.description, "description", domain.MAX_NOTE, required=False
        )
        owner = await self.identity.employee(request.owner_id.strip())
        department_id = request.department_id.strip() or owner.department_id
        if department_id != owner.department_id:
            await self.identity.department(department_id)
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            cycle = await repo.cycle(request.cycle_id)
            if cycle is None:
                raise DomainError("unknown_cycle", "cycle not found")
            domain.ensure_open(cycle.status)
            row = Objective(
                id=new_id(),
                cycle_id=cycle.id,
                title=title,
                description=description,
                owner_id=owner.id,
                department_id=department_id,
                created_at=utcnow(),
            )
            repo.add(row)
            await _audit(session, "objective.create", "objective", row.id, None, objective_pb(row))
        self.ctx.outbox_committed()
        return objective_pb(row)

    async def GetObjective(
        self, request: pb.GetObjectiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.Objective:
        async with self.ctx.sessions() as session:
            row = await GoalsRepository(session).objective(request.id)
        if row is None:
            raise NotFound("objective_not_found", "objective not found")
        return objective_pb(row)

    async def ListObjectives(
        self, request: pb.ListObjectivesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListObjectivesResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            rows = await GoalsRepository(session).objectives(
                limit,
                offset,
                request.cycle_id,
                request.owner_id,
                request.visible_owner_ids,
                request.visible_department_ids,
            )
        return pb.ListObjectivesResponse(
            objectives=[objective_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )

    # --- key results --------------------------------------------------------------------
    async def CreateKeyResult(
        self, request: pb.CreateKeyResultRequest, context: grpc.aio.ServicerContext
    ) -> pb.KeyResult:
        new = domain.new_key_result(request.title, request.baseline, request.target, request.unit)
        async with self.ctx.sessions() as session:
            objective = await GoalsRepository(session).objective(request.objective_id)
        if objective is None:
            raise NotFound("objective_not_found", "objective not found")
        owner_id = request.owner_id.strip() or objective.owner_id
        owner = await self.identity.employee(owner_id)
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            cycle = await repo.cycle(objective.cycle_id)
            assert cycle is not None  # objectives reference cycles by foreign key
            domain.ensure_open(cycle.status)
            row = KeyResult(
                id=new_id(),
                objective_id=objective.id,
                cycle_id=cycle.id,
                title=new.title,
                owner_id=owner.id,
                department_id=owner.department_id,
                baseline=new.baseline,
                target=new.target,
                unit=new.unit,
                current_value=new.baseline,
                created_at=utcnow(),
            )
            _store_assessment(row, risk.Assessment(risk.Risk.NO_DATA))
            repo.add(row)
            await _audit(
                session, "key_result.create", "key_result", row.id, None, key_result_pb(row)
            )
        self.ctx.outbox_committed()
        return key_result_pb(row)

    async def GetKeyResult(
        self, request: pb.GetKeyResultRequest, context: grpc.aio.ServicerContext
    ) -> pb.KeyResult:
        async with self.ctx.sessions() as session:
            row = await GoalsRepository(session).key_result(request.id)
        if row is None:
            raise NotFound("key_result_not_found", "key result not found")
        return key_result_pb(row)

    async def ListKeyResults(
        self, request: pb.ListKeyResultsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListKeyResultsResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            rows = await GoalsRepository(session).key_results(limit, offset, request.objective_id)
        return pb.ListKeyResultsResponse(
            key_results=[key_result_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )

    # --- check-ins ----------------------------------------------------------------------
    async def RecordCheckIn(
        self, request: pb.RecordCheckInRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckIn:
        try:
            result = await self._record_check_in(request)
        except IntegrityError as exc:  # the same week submitted twice at the same instant
            raise DomainError(
                "concurrent_check_in",
                "another check-in for this week was saved at the same time; retry",
                status=grpc.StatusCode.ABORTED,
            ) from exc
        self.ctx.outbox_committed()
        metrics.check_in_recorded()
        return result

    async def _record_check_in(self, request: pb.RecordCheckInRequest) -> pb.CheckIn:
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            # Locks the key result (PostgreSQL) so its check-ins are assessed one at a time.
            kr = await repo.key_result(request.key_result_id, lock=True)
            if kr is None:
                raise NotFound("key_result_not_found", "key result not found")
            cycle = await repo.cycle(kr.cycle_id)
            assert cycle is not None
            domain.ensure_open(cycle.status)
            new = domain.new_check_in(
                request.value,
                request.confidence,
                request.note,
                request.week,
                today=local_today(datetime.now(UTC), cycle.time_zone),
                cycle_start=cycle.start_date,
                cycle_end=cycle.end_date,
            )
            existing = await repo.check_ins(kr.id)
            history = [(c.week, c.value) for c in existing if c.week != new.week]
            row = next((c for c in existing if c.week == new.week), None)
            before = check_in_pb(row) if row is not None else None
            if row is None:
                row = CheckIn(id=new_id(), key_result_id=kr.id, week=new.week, revision=1)
            else:
                row.revision += 1
            row.value, row.confidence, row.note = new.value, new.confidence, new.note
            row.recorded_at = utcnow()
            plan = risk.Plan(kr.baseline, kr.target, cycle.start_date, cycle.end_date)
            checks = [*history, (row.week, row.value)]
            # The check-in is assessed as of its own week; the key result as of its latest.
            _store_assessment(row, risk.assess(plan, [c for c in checks if c[0] <= row.week]))
            latest = risk.assess(plan, checks)
            _store_assessment(kr, latest)
            kr.current_value = max(checks)[1]
            repo.add(row)
            await session.flush()
            message = check_in_pb(row)
            await add_event(
                session,
                OUTBOX,
                SUBJECT_CHECKIN_RECORDED,
                pb.CheckInRecorded(
                    meta=new_event_meta("goals"),
                    check_in=message,
                    key_result=key_result_pb(kr),
                    cycle_id=cycle.id,
                    cycle_end_date=cycle.end_date.isoformat(),
                    time_zone=cycle.time_zone,
                ),
            )
            await _audit(session, "checkin.record", "check_in", row.id, before, message)
        return message

    async def ListCheckIns(
        self, request: pb.ListCheckInsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCheckInsResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            if await repo.key_result(request.key_result_id) is None:
                raise NotFound("key_result_not_found", "key result not found")
            rows = await repo.check_ins(request.key_result_id, limit, offset)
        return pb.ListCheckInsResponse(
            check_ins=[check_in_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )
