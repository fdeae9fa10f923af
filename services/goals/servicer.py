"""gRPC handlers of the goals service: translate, call the domain, translate back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import grpc
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit, metrics
from services.common.db import transaction
from services.common.errors import DomainError, FailedPrecondition, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import add_event, new_event_meta
from services.common.paging import next_page_token, page_window
from services.common.runtime import ServiceContext
from services.goals import domain, scoring
from services.goals.calendar import local_today, parse_week
from services.goals.evaluation import (
    apply_spec,
    assess,
    kr_facts,
    new_key_result,
    objective_facts,
    rescore,
    score_of,
    store_assessment,
)
from services.goals.identity_client import IdentityClient
from services.goals.messages import (
    APPROVAL_STATUS,
    DATA_SOURCE,
    DECISION,
    LEVEL,
    OBJECTIVE_STATUS,
    PHASE,
    RISK_STATUS,
    VISIBILITY,
    approval_pb,
    check_in_pb,
    checklist_pb,
    cycle_pb,
    from_enum,
    iso_date,
    key_result_pb,
    objective_pb,
    revision_pb,
    scores_pb,
    spec_from,
    spec_of,
)
from services.goals.models import (
    OUTBOX,
    Approval,
    ApprovalApprover,
    CheckIn,
    CheckInVersion,
    Checklist,
    Cycle,
    KeyResult,
    Objective,
    Revision,
)
from services.goals.repository import GoalsRepository
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2 as pb
from stride.goals.v1 import goals_pb2_grpc
from workflows.ids import plan_approval as _workflow_id
from workflows.vocabulary import (
    MAX_COMMENT,
    MAX_NOTE,
    MAX_PROJECT,
    MAX_TITLE,
    ObjectiveStatus,
    Phase,
    Risk,
    week_of,
)

SUBJECT_CHECKIN_RECORDED = "stride.goals.v1.checkin.recorded"
SUBJECT_PROGRESS_CHANGED = "stride.goals.v1.kr.progress_changed"
SUBJECT_APPROVAL_REQUESTED = "stride.goals.v1.approval.requested"
SUBJECT_APPROVAL_DECIDED = "stride.goals.v1.approval.decided"
SUBJECT_CYCLE_CLOSED = "stride.goals.v1.cycle.closed"
SUBJECT_CYCLE_CREATED = "stride.goals.v1.cycle.created"


def _page(page: common_pb2.PageRequest) -> tuple[int, int]:
    return page_window(page.page_size, page.page_token)


def _next(offset: int, limit: int, returned: int) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, returned))


_audit = audit.Recorder("goals", OUTBOX)


def _by_objective(krs: Iterable[KeyResult]) -> dict[str, list[KeyResult]]:
    """Key results grouped by objective id (each group in the given order)."""
    groups: dict[str, list[KeyResult]] = {}
    for kr in krs:
        groups.setdefault(kr.objective_id, []).append(kr)
    return groups


async def _progress_changed(
    session: AsyncSession,
    repo: GoalsRepository,
    kr: KeyResult,
    kr_message: pb.KeyResult,
    previous_value: float,
    previous_score: float,
    siblings: dict[str, list[KeyResult]] | None = None,
) -> None:
    """Emit stride.goals.v1.kr.progress_changed with the objective's new weighted score.

    ``siblings`` caches each objective's key results for the rest of a request: they are the
    session's own objects, so scores changed by earlier entries are seen."""
    rows = siblings.get(kr.objective_id) if siblings is not None else None
    if rows is None:
        rows = await repo.key_results(None, objective_id=kr.objective_id)
        if siblings is not None:
            siblings[kr.objective_id] = rows
    await add_event(
        session,
        OUTBOX,
        SUBJECT_PROGRESS_CHANGED,
        pb.KeyResultProgressChanged(
            meta=new_event_meta("goals"),
            key_result=kr_message,
            previous_value=previous_value,
            previous_score=previous_score,
            objective_id=kr.objective_id,
            objective_score=scoring.objective_score((k.weight, k.score) for k in rows),
        ),
    )


class GoalsServicer(goals_pb2_grpc.GoalsServiceServicer):
    def __init__(self, ctx: ServiceContext, identity: IdentityClient) -> None:
        self.ctx = ctx
        self.identity = identity

    # --- shared reads -------------------------------------------------------------------
    @staticmethod
    async def _cycle(repo: GoalsRepository, cycle_id: str, *, lock: bool = False) -> Cycle:
        row = await repo.cycle(cycle_id, lock=lock)
        if row is None:
            raise NotFound("cycle_not_found", "cycle not found")
        return row

    @staticmethod
    async def _objective(
        repo: GoalsRepository, objective_id: str, *, lock: bool = False
    ) -> Objective:
        row = await repo.objective(objective_id, lock=lock)
        if row is None:
            raise NotFound("objective_not_found", "objective not found")
        return row

    @staticmethod
    async def _key_result(repo: GoalsRepository, kr_id: str, *, lock: bool = False) -> KeyResult:
        row = await repo.key_result(kr_id, lock=lock)
        if row is None:
            raise NotFound("key_result_not_found", "key result not found")
        return row

    @staticmethod
    async def _objectives_pb(
        repo: GoalsRepository, rows: Sequence[Objective]
    ) -> list[pb.Objective]:
        krs = await repo.key_results(None, objective_ids=[o.id for o in rows])
        by_objective = _by_objective(krs)
        return [objective_pb(o, by_objective.get(o.id, [])) for o in rows]

    async def _objective_pb(self, repo: GoalsRepository, row: Objective) -> pb.Objective:
        return (await self._objectives_pb(repo, [row]))[0]

    @staticmethod
    async def _key_results_pb(
        repo: GoalsRepository, rows: Sequence[KeyResult]
    ) -> list[pb.KeyResult]:
        statuses = await repo.objective_statuses(sorted({k.objective_id for k in rows}))
        return [key_result_pb(k, statuses.get(k.objective_id, "")) for k in rows]

    @staticmethod
    async def _approval_pb(repo: GoalsRepository, row: Approval) -> pb.Approval:
        approvers = await repo.approvers([row.id])
        return approval_pb(row, approvers[row.id])

    async def _set_status(
        self,
        session: AsyncSession,
        repo: GoalsRepository,
        objectives: Sequence[Objective],
        status: ObjectiveStatus,
        now: datetime,
        krs: Sequence[KeyResult] | None = None,
    ) -> None:
        """Move objectives to ``status``, each change audited with before and after
        (``krs``: their key results when the caller has read them already)."""
        if not objectives:
            return
        if krs is None:
            krs = await repo.key_results(None, objective_ids=[o.id for o in objectives])
        by_objective = _by_objective(krs)
        for o in objectives:
            before = objective_pb(o, by_objective.get(o.id, []))
            o.status, o.updated_at = status.value, now
            after = objective_pb(o, by_objective.get(o.id, []))
            await _audit(session, f"objective.{status.value}", "objective", o.id, before, after)

    async def _approval_requested(
        self, session: AsyncSession, approval: pb.Approval, cycle: Cycle, title: str
    ) -> None:
        await add_event(
            session,
            OUTBOX,
            SUBJECT_APPROVAL_REQUESTED,
            pb.ApprovalRequested(
                meta=new_event_meta("goals"),
                approval=approval,
                time_zone=cycle.time_zone,
                approval_deadline=iso_date(cycle.approval_deadline),
                title=title,
            ),
        )

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
            request.planning_deadline,
            request.approval_deadline,
            request.closing_deadline,
        )
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
            created_at=utcnow(),
        )
        message = cycle_pb(row)
        async with transaction(self.ctx.sessions) as session:
            GoalsRepository(session).add(row)
            await add_event(
                session,
                OUTBOX,
                SUBJECT_CYCLE_CREATED,
                pb.CycleCreated(meta=new_event_meta("goals"), cycle=message),
            )
            await _audit(session, "cycle.create", "cycle", row.id, None, message)
        self.ctx.outbox_committed()
        return message

    async def GetCycle(
        self, request: pb.GetCycleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Cycle:
        async with self.ctx.sessions() as session:
            return cycle_pb(await self._cycle(GoalsRepository(session), request.id))

    async def ListCycles(
        self, request: pb.ListCyclesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCyclesResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            rows = await GoalsRepository(session).cycles(limit, offset)
        return pb.ListCyclesResponse(
            cycles=[cycle_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )

    async def SetCyclePhase(
        self, request: pb.SetCyclePhaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.Cycle:
        wanted = from_enum(PHASE, request.phase, "phase")
        if not wanted:
            raise domain.InvalidArgument("invalid_phase", "phase must be given")
        async with transaction(self.ctx.sessions) as session:
            row = await self._cycle(GoalsRepository(session), request.id, lock=True)
            if not domain.phase_change(row.status, row.phase, wanted):
                return cycle_pb(row)
            before = cycle_pb(row)
            row.phase = wanted
            message = cycle_pb(row)
            await _audit(session, "cycle.phase", "cycle", row.id, before, message)
        self.ctx.outbox_committed()
        return message

    async def CloseCycle(
        self, request: pb.CloseCycleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Cycle:
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            row = await self._cycle(repo, request.id, lock=True)
            domain.ensure_open(row.status)
            before = cycle_pb(row)
            objectives = await repo.objectives(None, cycle_id=row.id, lock=True)
            krs = await repo.key_results(None, cycle_id=row.id)
            # Scores are kept current by every write; closing freezes them (no write after).
            now = utcnow()
            await self._set_status(
                session,
                repo,
                [o for o in objectives if o.status != ObjectiveStatus.CLOSED],
                ObjectiveStatus.CLOSED,
                now,
                krs,
            )
            row.status = "closed"
            row.phase = Phase.ARCHIVED.value
            message = cycle_pb(row)
            board = scoring.score_board(objective_facts(objectives), kr_facts(krs))
            await add_event(
                session,
                OUTBOX,
                SUBJECT_CYCLE_CLOSED,
                pb.CycleClosed(
                    meta=new_event_meta("goals"), cycle=message, scores=scores_pb(row.id, board)
                ),
            )
            await _audit(session, "cycle.close", "cycle", row.id, before, message)
        self.ctx.outbox_committed()
        return message

    # --- objectives ---------------------------------------------------------------------
    async def _owners(self, owner_ids: Sequence[str]) -> dict[str, str]:
        """employee id -> department id of each (active) owner, via the identity service."""
        found: dict[str, str] = {}
        for owner_id in owner_ids:
            if owner_id not in found:
                found[owner_id] = (await self.identity.employee(owner_id)).department_id
        return found

    async def CreateObjective(
        self, request: pb.CreateObjectiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.Objective:
        title = domain.clean_text(request.title, "title", MAX_TITLE)
        description = domain.clean_text(
            request.description, "description", MAX_NOTE, required=False
        )
        project = domain.clean_text(request.project, "project", MAX_PROJECT, required=False)
        level = from_enum(LEVEL, request.level, "level", "individual")
        visibility = from_enum(VISIBILITY, request.visibility, "visibility", "restricted")
        specs = [spec_from(k) for k in request.key_results]
        if specs:
            domain.check_weights_total([s.weight for s in specs])
        owner = await self.identity.employee(request.owner_id.strip())
        department_id = request.department_id.strip() or owner.department_id
        if department_id != owner.department_id:
            await self.identity.department(department_id)
        kr_owners = await self._owners(
            [k.owner_id.strip() or owner.id for k in request.key_results]
        )
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            cycle = await repo.cycle(request.cycle_id)
            if cycle is None:
                raise DomainError("unknown_cycle", "cycle not found")
            domain.ensure_open(cycle.status)
            parent_id = request.parent_id.strip() or None
            if parent_id and await repo.objective(parent_id) is None:
                raise domain.InvalidArgument("unknown_parent", "parent objective not found")
            start, end = domain.objective_dates(
                request.start_date, request.end_date, cycle.start_date, cycle.end_date
            )
            valid = [domain.key_result_spec(s, cycle.start_date, cycle.end_date) for s in specs]
            now = utcnow()
            row = Objective(
                id=new_id(),
                cycle_id=cycle.id,
                title=title,
                description=description,
                owner_id=owner.id,
                department_id=department_id,
                level=level,
                status=ObjectiveStatus.DRAFT.value,
                visibility=visibility,
                parent_id=parent_id,
                project=project,
                start_date=start,
                end_date=end,
                created_at=now,
                updated_at=now,
            )
            repo.add(row)
            await session.flush()  # the objective before its key results (foreign key)
            krs = []
            for request_kr, v in zip(request.key_results, valid, strict=True):
                kr_owner = request_kr.owner_id.strip() or owner.id
                kr = new_key_result(row, kr_owner, kr_owners[kr_owner], v)
                repo.add(kr)
                krs.append(kr)
            message = objective_pb(row, krs)
            await _audit(session, "objective.create", "objective", row.id, None, message)
            for kr in krs:
                await _audit(
                    session,
                    "key_result.create",
                    "key_result",
                    kr.id,
                    None,
                    key_result_pb(kr, row.status),
                )
        self.ctx.outbox_committed()
        return message

    async def GetObjective(
        self, request: pb.GetObjectiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.Objective:
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            return await self._objective_pb(repo, await self._objective(repo, request.id))

    async def ListObjectives(
        self, request: pb.ListObjectivesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListObjectivesResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            rows = await repo.objectives(
                limit,
                offset,
                request.cycle_id,
                request.owner_id,
                request.visible_owner_ids,
                request.visible_department_ids,
                include_public=request.include_public,
                department_id=request.department_id,
                level=from_enum(LEVEL, request.level, "level"),
                status=from_enum(OBJECTIVE_STATUS, request.status, "status"),
                parent_id=request.parent_id,
            )
            objectives = await self._objectives_pb(repo, rows)
        return pb.ListObjectivesResponse(
            objectives=objectives, page=_next(offset, limit, len(rows))
        )

    async def UpdateObjective(
        self, request: pb.UpdateObjectiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.Objective:
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            row = await self._objective(repo, request.id, lock=True)
            cycle = await self._cycle(repo, row.cycle_id)
            domain.ensure_open(cycle.status)
            domain.ensure_draft(row.status)
            # Only the objective's own fields change: its key results are read once.
            krs = await repo.key_results(None, objective_id=row.id)
            before = objective_pb(row, krs)
            if request.HasField("title"):
                row.title = domain.clean_text(request.title, "title", MAX_TITLE)
            if request.HasField("description"):
                row.description = domain.clean_text(
                    request.description, "description", MAX_NOTE, required=False
                )
            if request.HasField("project"):
                row.project = domain.clean_text(
                    request.project, "project", MAX_PROJECT, required=False
                )
            if request.HasField("visibility"):
                row.visibility = from_enum(
                    VISIBILITY, request.visibility, "visibility", row.visibility
                )
            if request.HasField("level"):
                row.level = from_enum(LEVEL, request.level, "level", row.level)
            if request.HasField("parent_id"):
                parent_id = request.parent_id.strip()
                if parent_id:
                    if await repo.objective(parent_id) is None:
                        raise domain.InvalidArgument("unknown_parent", "parent objective not found")
                    domain.check_parent(row.id, parent_id, await repo.ancestors(parent_id))
                row.parent_id = parent_id or None
            row.updated_at = utcnow()
            message = objective_pb(row, krs)
            await _audit(session, "objective.update", "objective", row.id, before, message)
        self.ctx.outbox_committed()
        return message

    async def CopyObjectives(
        self, request: pb.CopyObjectivesRequest, context: grpc.aio.ServicerContext
    ) -> pb.CopyObjectivesResponse:
        owner_id = request.owner_id.strip()
        if not owner_id:
            raise domain.InvalidArgument("owner_required", "owner_id must be given")
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            source = await self._cycle(repo, request.source_cycle_id)
            target = await self._cycle(repo, request.target_cycle_id)
            domain.ensure_open(target.status)
            if source.id == target.id:
                raise domain.InvalidArgument("same_cycle", "source and target cycle are the same")
            if request.objective_ids:
                if len(set(request.objective_ids)) != len(request.objective_ids):
                    raise domain.InvalidArgument(
                        "duplicate_objective", "an objective is named twice"
                    )
                found = await repo.objectives_by_ids(request.objective_ids)
                chosen = []
                for oid in request.objective_ids:
                    if oid not in found:
                        raise NotFound("objective_not_found", f"objective {oid} not found")
                    chosen.append(found[oid])
            else:
                chosen = await repo.objectives(None, cycle_id=source.id, owner_id=owner_id)
            if not chosen:
                raise FailedPrecondition("nothing_to_copy", "there are no objectives to copy")
            for o in chosen:
                if o.cycle_id != source.id:
                    raise domain.InvalidArgument(
                        "objective_not_in_cycle", f"objective {o.id} is not in the source cycle"
                    )
                if o.owner_id != owner_id:
                    raise domain.permission_denied(
                        "not_owner", f"objective {o.id} is owned by someone else"
                    )
            new_ids = {o.id: new_id() for o in chosen}
            outside = sorted({o.parent_id for o in chosen if o.parent_id} - set(new_ids))
            source_ids = {
                p.id
                for p in (await repo.objectives_by_ids(outside)).values()
                if p.cycle_id == source.id
            }
            parents = domain.remap_parents({o.id: o.parent_id for o in chosen}, new_ids, source_ids)
            old_krs = await repo.key_results(None, objective_ids=[o.id for o in chosen])
            now = utcnow()
            copies: list[Objective] = []
            kr_copies: list[KeyResult] = []
            for o in chosen:
                copy = Objective(
                    id=new_ids[o.id],
                    cycle_id=target.id,
                    title=o.title,
                    description=o.description,
                    owner_id=o.owner_id,
                    department_id=o.department_id,
                    level=o.level,
                    status=ObjectiveStatus.DRAFT.value,
                    visibility=o.visibility,
                    parent_id=parents[new_ids[o.id]],
                    project=o.project,
                    start_date=target.start_date,
                    end_date=target.end_date,
                    created_at=now,
                    updated_at=now,
                )
                repo.add(copy)
                copies.append(copy)
            await session.flush()  # the objectives before their key results (foreign key)
            copies_by_id = {c.id: c for c in copies}
            for kr in old_krs:
                spec = spec_of(kr)
                points = domain.rescale_plan(
                    tuple((date.fromisoformat(d), p) for d, p in spec.plan),
                    (source.start_date, source.end_date),
                    (target.start_date, target.end_date),
                )
                spec = domain.spec_with(spec, plan=tuple((d.isoformat(), p) for d, p in points))
                valid = domain.key_result_spec(spec, target.start_date, target.end_date)
                parent = copies_by_id[new_ids[kr.objective_id]]
                copy_kr = new_key_result(parent, kr.owner_id, kr.department_id, valid)
                repo.add(copy_kr)
                kr_copies.append(copy_kr)
            by_objective = _by_objective(kr_copies)
            objectives = [objective_pb(c, by_objective.get(c.id, [])) for c in copies]
            key_results = [key_result_pb(k, ObjectiveStatus.DRAFT.value) for k in kr_copies]
            for message in objectives:
                await _audit(session, "objective.copy", "objective", message.id, None, message)
            for kr_message in key_results:
                await _audit(
                    session, "key_result.copy", "key_result", kr_message.id, None, kr_message
                )
        self.ctx.outbox_committed()
        return pb.CopyObjectivesResponse(objectives=objectives, key_results=key_results)

    # --- key results --------------------------------------------------------------------
    async def CreateKeyResult(
        self, request: pb.CreateKeyResultRequest, context: grpc.aio.ServicerContext
    ) -> pb.KeyResult:
        spec = spec_from(request)
        async with self.ctx.sessions() as session:
            objective = await self._objective(GoalsRepository(session), request.objective_id)
        owner_id = request.owner_id.strip() or objective.owner_id
        owner = await self.identity.employee(owner_id)
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            objective = await self._objective(repo, objective.id, lock=True)
            cycle = await self._cycle(repo, objective.cycle_id)
            domain.ensure_open(cycle.status)
            domain.ensure_draft(objective.status)
            valid = domain.key_result_spec(spec, cycle.start_date, cycle.end_date)
            row = new_key_result(objective, owner.id, owner.department_id, valid)
            repo.add(row)
            objective.updated_at = utcnow()
            message = key_result_pb(row, objective.status)
            await _audit(session, "key_result.create", "key_result", row.id, None, message)
        self.ctx.outbox_committed()
        return message

    async def GetKeyResult(
        self, request: pb.GetKeyResultRequest, context: grpc.aio.ServicerContext
    ) -> pb.KeyResult:
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            row = await self._key_result(repo, request.id)
            return (await self._key_results_pb(repo, [row]))[0]

    async def ListKeyResults(
        self, request: pb.ListKeyResultsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListKeyResultsResponse:
        limit, offset = _page(request.page)
        risk_status = from_enum(RISK_STATUS, request.risk_status, "risk_status")
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            rows = await repo.key_results(
                limit,
                offset,
                request.objective_id,
                cycle_id=request.cycle_id,
                owner_id=request.owner_id,
                department_id=request.department_id,
                risk_status=risk_status,
            )
            key_results = await self._key_results_pb(repo, rows)
        return pb.ListKeyResultsResponse(
            key_results=key_results, page=_next(offset, limit, len(rows))
        )

    async def UpdateKeyResult(
        self, request: pb.UpdateKeyResultRequest, context: grpc.aio.ServicerContext
    ) -> pb.KeyResult:
        owner = None
        if request.HasField("owner_id"):
            owner = await self.identity.employee(request.owner_id.strip())
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            row = await self._key_result(repo, request.id, lock=True)
            objective = await self._objective(repo, row.objective_id)
            cycle = await self._cycle(repo, row.cycle_id)
            domain.ensure_open(cycle.status)
            domain.ensure_draft(objective.status)
            before = key_result_pb(row, objective.status)
            changes: dict[str, object] = {}
            fields = ("title", "baseline", "target", "unit", "weight", "confidence")
            for field in (*fields, "lower_bound", "upper_bound"):
                if request.HasField(field):
                    changes[field] = getattr(request, field)
            if request.HasField("data_source"):
                changes["data_source"] = from_enum(
                    DATA_SOURCE, request.data_source, "data_source", row.data_source
                )
            if request.set_milestones:
                changes["milestones"] = tuple(request.milestones)
            if request.set_plan:
                changes["plan"] = tuple((p.date, p.progress) for p in request.plan)
            spec = domain.spec_with(spec_of(row), **changes)
            if row.direction != "stay_within" and ("baseline" in changes or "target" in changes):
                # The direction follows the new baseline and target, as on creation.
                spec = domain.spec_with(spec, direction="")
            valid = domain.key_result_spec(spec, cycle.start_date, cycle.end_date)
            apply_spec(row, valid)
            if owner is not None:
                row.owner_id, row.department_id = owner.id, owner.department_id
            checks = [(c.week, c.value) for c in await repo.check_ins(row.id)]
            rescore(row, cycle, checks)
            row.updated_at = utcnow()
            message = key_result_pb(row, objective.status)
            await _audit(session, "key_result.update", "key_result", row.id, before, message)
        self.ctx.outbox_committed()
        return message

    async def SetKeyResultWeights(
        self, request: pb.SetKeyResultWeightsRequest, context: grpc.aio.ServicerContext
    ) -> pb.Objective:
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            objective = await self._objective(repo, request.objective_id, lock=True)
            cycle = await self._cycle(repo, objective.cycle_id)
            domain.ensure_open(cycle.status)
            domain.ensure_draft(objective.status)
            krs = await repo.key_results(None, objective_id=objective.id)
            before = objective_pb(objective, krs)
            known = {k.id for k in krs}
            unknown = sorted(set(request.weights) - known)
            if unknown:
                raise domain.InvalidArgument(
                    "unknown_key_result", f"key result {unknown[0]} is not part of the objective"
                )
            missing = sorted(known - set(request.weights))
            if missing:
                raise domain.InvalidArgument(
                    "weights_incomplete", f"no weight given for key result {missing[0]}"
                )
            domain.check_weights_total(request.weights.values(), objective.title)
            now = utcnow()
            for kr in krs:
                kr.weight = request.weights[kr.id]
                kr.updated_at = now
            objective.updated_at = now
            message = objective_pb(objective, krs)
            await _audit(session, "objective.weights", "objective", objective.id, before, message)
        self.ctx.outbox_committed()
        return message

    async def SetSelfScore(
        self, request: pb.SetSelfScoreRequest, context: grpc.aio.ServicerContext
    ) -> pb.KeyResult:
        note = domain.clean_text(request.note, "note", MAX_NOTE, required=False)
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            row = await self._key_result(repo, request.key_result_id, lock=True)
            cycle = await self._cycle(repo, row.cycle_id)
            domain.ensure_open(cycle.status)
            value = domain.check_self_score(cycle.phase, request.self_score)
            objective = await self._objective(repo, row.objective_id)
            before = key_result_pb(row, objective.status)
            row.self_score, row.self_score_note = value, note
            row.updated_at = utcnow()
            message = key_result_pb(row, objective.status)
            await _audit(session, "key_result.self_score", "key_result", row.id, before, message)
        self.ctx.outbox_committed()
        return message

    # --- check-ins ----------------------------------------------------------------------
    async def _check_blocker_departments(self, requests: Sequence[pb.RecordCheckInRequest]) -> None:
        departments = sorted({b.department_id.strip() for r in requests for b in r.blockers} - {""})
        for department_id in departments:
            await self.identity.department(department_id)

    async def RecordCheckIn(
        self, request: pb.RecordCheckInRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckIn:
        await self._check_blocker_departments([request])
        try:
            async with transaction(self.ctx.sessions) as session:
                repo = GoalsRepository(session)
                # Locks the key result (PostgreSQL) so its check-ins are assessed one at a time.
                kr = await self._key_result(repo, request.key_result_id, lock=True)
                result = await self._record(
                    session, repo, kr, request, request.week, request.recorded_by
                )
        except IntegrityError as exc:  # the same week submitted twice at the same instant
            raise _concurrent_check_in() from exc
        self.ctx.outbox_committed()
        metrics.check_in_recorded()
        return result

    async def RecordCheckIns(
        self, request: pb.RecordCheckInsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordCheckInsResponse:
        owner_id = request.owner_id.strip()
        domain.check_bulk(owner_id, [c.key_result_id for c in request.check_ins])
        await self._check_blocker_departments(request.check_ins)
        results: list[pb.CheckIn] = []
        siblings: dict[str, list[KeyResult]] = {}
        try:
            async with transaction(self.ctx.sessions) as session:
                repo = GoalsRepository(session)
                krs = await repo.key_results_by_ids(
                    [c.key_result_id for c in request.check_ins], lock=True
                )
                for i, entry in enumerate(request.check_ins):
                    try:
                        kr = krs.get(entry.key_result_id)
                        if kr is None:
                            raise NotFound(
                                "key_result_not_found",
                                f"key result {entry.key_result_id} not found",
                            )
                        domain.check_owner(owner_id, kr.owner_id, kr.id)
                        results.append(
                            await self._record(
                                session,
                                repo,
                                kr,
                                entry,
                                entry.week or request.week,
                                entry.recorded_by or request.recorded_by,
                                siblings,
                            )
                        )
                    except DomainError as exc:
                        raise DomainError(
                            exc.code, f"check_ins[{i}]: {exc.message}", status=exc.status
                        ) from exc
        except IntegrityError as exc:
            raise _concurrent_check_in() from exc
        self.ctx.outbox_committed()
        metrics.check_in_recorded(len(results))
        return pb.RecordCheckInsResponse(check_ins=results)

    async def _record(
        self,
        session: AsyncSession,
        repo: GoalsRepository,
        kr: KeyResult,
        request: pb.RecordCheckInRequest,
        week: str,
        recorded_by: str,
        siblings: dict[str, list[KeyResult]] | None = None,
    ) -> pb.CheckIn:
        """Record one check-in of a locked key result inside the caller's transaction
        (``siblings``: objective id → its key results, shared by a bulk request's entries)."""
        cycle = await self._cycle(repo, kr.cycle_id)
        domain.ensure_open(cycle.status)
        objective = await self._objective(repo, kr.objective_id)
        domain.ensure_not_closed(objective.status)
        # The checklist only vets answers: most check-ins have none and skip the read.
        checklist = await repo.checklist(kr.department_id) if request.answers else None
        new = domain.new_check_in(
            request.value,
            request.confidence,
            request.note,
            week,
            today=local_today(datetime.now(UTC), cycle.time_zone),
            cycle_start=cycle.start_date,
            cycle_end=cycle.end_date,
            kind=kr.kind,
            milestone_count=len(kr.milestones or []),
            blockers=[(b.text, b.department_id) for b in request.blockers],
            answers=[(a.item_id, a.checked) for a in request.answers],
            checklist=[i["id"] for i in (checklist.items if checklist else [])],
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
        row.blockers = [{"text": t, "department_id": d} for t, d in new.blockers]
        row.answers = [{"item_id": i, "checked": c} for i, c in new.answers]
        row.recorded_by = recorded_by.strip()[:80]
        row.recorded_at = utcnow()
        checks = [*history, (row.week, row.value)]
        # The check-in is assessed as of its own week; the key result as of its latest.
        as_of_week = [c for c in checks if c[0] <= row.week]
        store_assessment(row, assess(kr, cycle, as_of_week))
        row.score = score_of(kr, as_of_week)
        previous_value, previous_score = kr.current_value, kr.score
        rescore(kr, cycle, checks)
        kr.confidence = new.confidence if kr.last_check_in_week == row.week else kr.confidence
        kr.updated_at = row.recorded_at
        repo.add(row)
        await session.flush()
        version = CheckInVersion(check_in_id=row.id, revision=row.revision)
        for column in (
            "key_result_id",
            "week",
            "value",
            "confidence",
            "note",
            "risk_status",
            "risk_progress",
            "risk_expected_progress",
            "risk_expected_value",
            "risk_shortfall",
            "risk_behind_streak",
            "recorded_at",
            "blockers",
            "answers",
            "score",
            "recorded_by",
        ):
            setattr(version, column, getattr(row, column))
        repo.add(version)
        message = check_in_pb(row)
        kr_message = key_result_pb(kr, objective.status)
        await add_event(
            session,
            OUTBOX,
            SUBJECT_CHECKIN_RECORDED,
            pb.CheckInRecorded(
                meta=new_event_meta("goals"),
                check_in=message,
                key_result=kr_message,
                cycle_id=cycle.id,
                cycle_end_date=cycle.end_date.isoformat(),
                time_zone=cycle.time_zone,
            ),
        )
        if kr.current_value != previous_value or kr.score != previous_score:
            await _progress_changed(
                session, repo, kr, kr_message, previous_value, previous_score, siblings
            )
        await _audit(session, "checkin.record", "check_in", row.id, before, message)
        return message

    async def ListCheckIns(
        self, request: pb.ListCheckInsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCheckInsResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            await self._key_result(repo, request.key_result_id)
            rows = await repo.check_ins(request.key_result_id, limit, offset)
        return pb.ListCheckInsResponse(
            check_ins=[check_in_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )

    async def ListCheckInHistory(
        self, request: pb.ListCheckInHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCheckInsResponse:
        limit, offset = _page(request.page)
        week = request.week.strip()
        if week:
            parse_week(week)
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            await self._key_result(repo, request.key_result_id)
            rows = await repo.check_in_history(request.key_result_id, week, limit, offset)
        return pb.ListCheckInsResponse(
            check_ins=[check_in_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )

    async def SetChecklist(
        self, request: pb.SetChecklistRequest, context: grpc.aio.ServicerContext
    ) -> pb.Checklist:
        department_id = request.department_id.strip()
        if not department_id:
            raise domain.InvalidArgument("department_required", "department_id must be given")
        items = domain.checklist_items([(i.id, i.label_zh, i.label_en) for i in request.items])
        await self.identity.department(department_id)
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            row = await repo.checklist(department_id)
            before = checklist_pb(department_id, row) if row is not None else None
            if row is None:
                row = Checklist(department_id=department_id)
                repo.add(row)
            row.items = items
            row.updated_at = utcnow()
            message = checklist_pb(department_id, row)
            await _audit(session, "checklist.set", "checklist", department_id, before, message)
        self.ctx.outbox_committed()
        return message

    async def GetChecklist(
        self, request: pb.GetChecklistRequest, context: grpc.aio.ServicerContext
    ) -> pb.Checklist:
        """A department without a checklist has an empty one."""
        async with self.ctx.sessions() as session:
            row = await GoalsRepository(session).checklist(request.department_id)
        return checklist_pb(request.department_id, row)

    # --- plans, revisions, approvals ----------------------------------------------------
    async def SubmitPlan(
        self, request: pb.SubmitPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.Approval:
        employee = await self.identity.employee(request.employee_id.strip(), "employee")
        approver_ids = (await self.identity.managers(employee.id))[:1]
        try:
            async with transaction(self.ctx.sessions) as session:
                repo = GoalsRepository(session)
                cycle = await self._cycle(repo, request.cycle_id)
                domain.ensure_open(cycle.status)
                if request.objective_ids:
                    found = await repo.objectives_by_ids(request.objective_ids, lock=True)
                    missing = [o for o in request.objective_ids if o not in found]
                    if missing:
                        raise NotFound("objective_not_found", f"objective {missing[0]} not found")
                    objectives = [found[o] for o in dict.fromkeys(request.objective_ids)]
                else:
                    objectives = await repo.objectives(
                        None,
                        cycle_id=cycle.id,
                        owner_id=employee.id,
                        status=ObjectiveStatus.DRAFT.value,
                        lock=True,
                    )
                krs = await repo.key_results(None, objective_ids=[o.id for o in objectives])
                weights: dict[str, list[int]] = {o.id: [] for o in objectives}
                for kr in krs:
                    weights[kr.objective_id].append(kr.weight)
                domain.check_plan(
                    employee.id,
                    cycle.id,
                    [
                        domain.PlanObjective(
                            o.id, o.title, o.owner_id, o.cycle_id, o.status, tuple(weights[o.id])
                        )
                        for o in objectives
                    ],
                    pending=await repo.pending_plan(cycle.id, employee.id) is not None,
                )
                now = utcnow()
                approval = Approval(
                    id=new_id(),
                    kind="plan",
                    status="pending",
                    cycle_id=cycle.id,
                    employee_id=employee.id,
                    department_id=employee.department_id,
                    objective_ids=[o.id for o in objectives],
                    revision_id="",
                    escalated=False,
                    workflow_id=_workflow_id(cycle.id, employee.id),
                    decided_by="",
                    comment="",
                    overridden=False,
                    created_at=now,
                )
                repo.add(approval)
                await session.flush()
                _add_approvers(repo, approval.id, approver_ids, 0, now)
                await self._set_status(session, repo, objectives, ObjectiveStatus.PENDING, now, krs)
                message = approval_pb(approval, approver_ids)
                await self._approval_requested(
                    session, message, cycle, f"Plan approval {cycle.name}"
                )
                await _audit(session, "plan.submit", "approval", approval.id, None, message)
                await session.flush()
        except IntegrityError as exc:  # a concurrent submit of the same owner and cycle
            raise FailedPrecondition(
                "approval_pending", "a plan of this person for this cycle is awaiting approval"
            ) from exc
        self.ctx.outbox_committed()
        return message

    async def RequestRevision(
        self, request: pb.RequestRevisionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Revision:
        async with self.ctx.sessions() as session:
            kr = await self._key_result(GoalsRepository(session), request.key_result_id)
        approver_ids = (await self.identity.managers(kr.owner_id))[:1]
        try:
            async with transaction(self.ctx.sessions) as session:
                repo = GoalsRepository(session)
                kr = await self._key_result(repo, request.key_result_id, lock=True)
                cycle = await self._cycle(repo, kr.cycle_id)
                domain.ensure_open(cycle.status)
                objective = await self._objective(repo, kr.objective_id)
                reason = domain.new_revision(
                    objective.status,
                    kr.kind,
                    kr.direction,
                    kr.baseline,
                    kr.target,
                    request.new_target,
                    request.reason,
                    pending=await repo.pending_revision(kr.id) is not None,
                )
                now = utcnow()
                approval = Approval(
                    id=new_id(),
                    kind="revision",
                    status="pending",
                    cycle_id=cycle.id,
                    employee_id=kr.owner_id,
                    department_id=kr.department_id,
                    objective_ids=[objective.id],
                    revision_id="",
                    escalated=False,
                    workflow_id=_workflow_id(cycle.id, kr.owner_id),
                    decided_by="",
                    comment="",
                    overridden=False,
                    created_at=now,
                )
                revision = Revision(
                    id=new_id(),
                    key_result_id=kr.id,
                    objective_id=objective.id,
                    cycle_id=cycle.id,
                    owner_id=kr.owner_id,
                    status="pending",
                    old_target=kr.target,
                    new_target=request.new_target,
                    reason=reason,
                    approval_id=approval.id,
                    requested_by=request.requested_by.strip()[:80],
                    requested_at=now,
                    decided_by="",
                    comment="",
                )
                approval.revision_id = revision.id
                repo.add(approval)
                await session.flush()
                repo.add(revision)
                _add_approvers(repo, approval.id, approver_ids, 0, now)
                message = revision_pb(revision)
                await self._approval_requested(
                    session,
                    approval_pb(approval, approver_ids),
                    cycle,
                    f"Target revision {cycle.name}",
                )
                await _audit(session, "revision.request", "revision", revision.id, None, message)
                await session.flush()
        except IntegrityError as exc:  # a concurrent request for the same key result
            raise FailedPrecondition(
                "revision_pending", "a revision of this key result is awaiting approval"
            ) from exc
        self.ctx.outbox_committed()
        return message

    async def ListRevisions(
        self, request: pb.ListRevisionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRevisionsResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            await self._key_result(repo, request.key_result_id)
            rows = await repo.revisions(request.key_result_id, limit, offset)
        return pb.ListRevisionsResponse(
            revisions=[revision_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )

    @staticmethod
    async def _approval(repo: GoalsRepository, approval_id: str, *, lock: bool = False) -> Approval:
        row = await repo.approval(approval_id, lock=lock)
        if row is None:
            raise NotFound("approval_not_found", "approval not found")
        return row

    async def GetApproval(
        self, request: pb.GetApprovalRequest, context: grpc.aio.ServicerContext
    ) -> pb.Approval:
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            return await self._approval_pb(repo, await self._approval(repo, request.id))

    async def ListApprovals(
        self, request: pb.ListApprovalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApprovalsResponse:
        limit, offset = _page(request.page)
        status = from_enum(APPROVAL_STATUS, request.status, "status")
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            rows = await repo.approvals(
                limit,
                offset,
                approver_id=request.approver_id,
                employee_id=request.employee_id,
                cycle_id=request.cycle_id,
                status=status,
            )
            approvers = await repo.approvers([r.id for r in rows])
        return pb.ListApprovalsResponse(
            approvals=[approval_pb(r, approvers[r.id]) for r in rows],
            page=_next(offset, limit, len(rows)),
        )

    async def DecideApproval(
        self, request: pb.DecideApprovalRequest, context: grpc.aio.ServicerContext
    ) -> pb.Approval:
        decision = DECISION.get(request.decision, "")
        comment = domain.clean_text(request.comment, "comment", MAX_COMMENT, required=False)
        decided_by = request.decided_by.strip()
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            row = await self._approval(repo, request.approval_id, lock=True)
            approver_ids = (await repo.approvers([row.id]))[row.id]
            state = domain.ApprovalState(row.status, tuple(approver_ids), row.decided_by)
            if not domain.decision_applies(state, decision, decided_by, override=request.override):
                return approval_pb(row, approver_ids)
            cycle = await self._cycle(repo, row.cycle_id)
            domain.ensure_open(cycle.status)
            before = approval_pb(row, approver_ids)
            now = utcnow()
            approve = decision == "approve"
            if row.kind == "plan":
                objectives = await repo.objectives_by_ids(row.objective_ids, lock=True)
                await self._set_status(
                    session,
                    repo,
                    [o for o in objectives.values() if o.status == ObjectiveStatus.PENDING],
                    ObjectiveStatus.APPROVED if approve else ObjectiveStatus.DRAFT,
                    now,
                )
            else:
                await self._decide_revision(session, repo, row, cycle, approve, decided_by, comment)
            row.status = "approved" if approve else "rejected"
            row.decided_by, row.decided_at, row.comment = decided_by, now, comment
            row.overridden = bool(request.override)
            message = approval_pb(row, approver_ids)
            await add_event(
                session,
                OUTBOX,
                SUBJECT_APPROVAL_DECIDED,
                pb.ApprovalDecided(meta=new_event_meta("goals"), approval=message),
            )
            await _audit(session, "approval.decide", "approval", row.id, before, message)
        self.ctx.outbox_committed()
        return message

    async def _decide_revision(
        self,
        session: AsyncSession,
        repo: GoalsRepository,
        approval: Approval,
        cycle: Cycle,
        approve: bool,
        decided_by: str,
        comment: str,
    ) -> None:
        revision = await repo.revision(approval.revision_id, lock=True)
        if revision is None:
            raise NotFound("revision_not_found", "revision not found")
        before = revision_pb(revision)
        now = utcnow()
        revision.status = "approved" if approve else "rejected"
        revision.decided_by, revision.decided_at, revision.comment = decided_by, now, comment
        if approve:
            kr = await self._key_result(repo, revision.key_result_id, lock=True)
            objective = await self._objective(repo, kr.objective_id)
            kr_before = key_result_pb(kr, objective.status)
            previous_value, previous_score = kr.current_value, kr.score
            kr.target = revision.new_target
            kr.revision += 1
            checks = [(c.week, c.value) for c in await repo.check_ins(kr.id)]
            rescore(kr, cycle, checks)
            kr.updated_at = now
            kr_message = key_result_pb(kr, objective.status)
            if kr.score != previous_score:
                await _progress_changed(
                    session, repo, kr, kr_message, previous_value, previous_score
                )
            await _audit(session, "key_result.revise", "key_result", kr.id, kr_before, kr_message)
        await _audit(
            session, "revision.decide", "revision", revision.id, before, revision_pb(revision)
        )

    async def EscalateApproval(
        self, request: pb.EscalateApprovalRequest, context: grpc.aio.ServicerContext
    ) -> pb.Approval:
        added = [a.strip() for a in request.add_approver_ids]
        if not added:
            raise domain.InvalidArgument("approver_required", "add_approver_ids must be given")
        for approver in dict.fromkeys(added):
            await self.identity.employee(approver, "approver")
        async with transaction(self.ctx.sessions) as session:
            repo = GoalsRepository(session)
            row = await self._approval(repo, request.approval_id, lock=True)
            current = (await repo.approvers([row.id]))[row.id]
            merged = domain.merged_approvers(current, added)
            if merged == current and row.escalated:
                return approval_pb(row, current)  # a retried escalation
            if row.status != "pending":
                raise FailedPrecondition(
                    "approval_not_pending", "the approval has already been decided"
                )
            before = approval_pb(row, current)
            _add_approvers(repo, row.id, merged[len(current) :], len(current), utcnow())
            row.escalated = True
            message = approval_pb(row, merged)
            await _audit(session, "approval.escalate", "approval", row.id, before, message)
        self.ctx.outbox_committed()
        return message

    # --- scores and participation -------------------------------------------------------
    async def GetScores(
        self, request: pb.GetScoresRequest, context: grpc.aio.ServicerContext
    ) -> pb.Scores:
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            cycle = await self._cycle(repo, request.cycle_id)
            objectives = await repo.objectives(None, cycle_id=cycle.id)
            krs = await repo.key_results(None, cycle_id=cycle.id)
        facts = kr_facts(krs)
        board = scoring.score_board(objective_facts(objectives), facts)
        board = scoring.filtered(
            board, facts, request.department_id.strip(), request.owner_id.strip()
        )
        return scores_pb(cycle.id, board)

    async def GetParticipation(
        self, request: pb.GetParticipationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetParticipationResponse:
        async with self.ctx.sessions() as session:
            repo = GoalsRepository(session)
            cycle = await self._cycle(repo, request.cycle_id)
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


def _add_approvers(
    repo: GoalsRepository, approval_id: str, employee_ids: Sequence[str], start: int, now: datetime
) -> None:
    for i, employee_id in enumerate(employee_ids):
        repo.add(
            ApprovalApprover(
                approval_id=approval_id, employee_id=employee_id, position=start + i, added_at=now
            )
        )


def _concurrent_check_in() -> DomainError:
    return DomainError(
        "concurrent_check_in",
        "another check-in for this week was saved at the same time; retry",
        status=grpc.StatusCode.ABORTED,
    )
