"""360 rounds: start them (HR), read one, the rounds one rates in, nominations, the manager's
approval (through the workflow), invitations, pending raters and cancelling."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
from sqlalchemy.exc import IntegrityError

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.common.pilot import PilotDepartment, enabled_departments, person_in_pilot
from services.feedback.domain.rounds import (
    approved_raters,
    checked_cycle_id,
    checked_nominations,
    ensure_nominating,
    initial_raters,
    permission_denied,
    round_dates,
)
from services.feedback.handlers.round_shared import (
    RESOURCE,
    RoundDeps,
    round_not_found,
    round_of,
    visible_raters,
)
from services.feedback.handlers.round_templates import template_of
from services.feedback.round_messages import round_pb
from services.feedback.round_models import Round, RoundRater
from services.feedback.round_repository import RoundRepository
from stride.feedback.v1 import rounds_pb2 as pb
from workflows.vocabulary import (
    RATER_APPROVED,
    RATER_INVITED,
    RATER_NOMINATED,
    RELATION_PEER,
    ROUND_APPROVED,
    ROUND_CANCELLED,
    ROUND_CLOSED,
    ROUND_COLLECTING,
    ROUND_NOMINATING,
)

# The seed that orders a round's comments at close: 31 bits fit every database's INTEGER.
SEED_BITS = 31


async def _full(repo: RoundRepository, row: Round) -> pb.Round:
    """The round as the system sees it (every rater)."""
    return round_pb(row, visible_raters(row, await repo.raters(row.id), "", overseer=True))


# --- start -------------------------------------------------------------------------------------
async def start(deps: RoundDeps, request: pb.StartRoundsRequest) -> pb.StartRoundsResponse:
    """One round per active employee in scope and in the pilot, with self, manager and
    direct reports as raters; subjects who have a round in this cycle already are counted,
    not touched. A department out of the pilot is refused (``department_not_in_pilot``)."""
    cycle_id = checked_cycle_id(request.cycle_id)
    today = datetime.now(ZoneInfo(deps.time_zone)).date()
    deadline, due = round_dates(request.deadline, request.nominations_due, today)
    department_id = request.department_id.strip()
    departments = await deps.org.departments()
    pilot = enabled_departments(
        PilotDepartment(d.id, d.parent_id, d.stride_enabled) for d in departments
    )
    if department_id:
        if department_id not in {d.id for d in departments}:
            raise InvalidArgument("unknown_department", "department not found")
        if department_id not in pilot:
            raise FailedPrecondition(
                "department_not_in_pilot",
                "Stride is not enabled for this department (or a department above it)",
            )
    async with deps.reading() as repo:
        template = await template_of(repo, request.template_id)
    if template.archived:
        raise FailedPrecondition("template_archived", "the template is archived")
    everyone = await deps.org.active_employees()
    reports: dict[str, list[str]] = {}
    for e in everyone:
        if e.manager_id:
            reports.setdefault(e.manager_id, []).append(e.id)
    # People out of the pilot get no round (nobody would be asked about them).
    in_scope = [
        e
        for e in everyone
        if (not department_id or e.department_id == department_id)
        and person_in_pilot(e.department_id, pilot)
    ]
    created: list[pb.Round] = []
    try:
        async with deps.units() as uow:
            existing = await uow.repo.subjects_with_rounds(cycle_id)
            now = utcnow()
            for e in sorted(in_scope, key=lambda e: e.id):
                if e.id in existing:
                    continue
                row = Round(
                    id=new_id(),
                    cycle_id=cycle_id,
                    subject_id=e.id,
                    manager_id=e.manager_id,
                    department_id=e.department_id,
                    template_id=template.id,
                    questions=list(template.questions),
                    phase=ROUND_NOMINATING,
                    deadline=deadline,
                    nominations_due=due,
                    seed=secrets.randbits(SEED_BITS),
                    created_at=now,
                    closed_at=None,
                )
                raters = [
                    RoundRater(
                        round_id=row.id, employee_id=who, relation=rel, status=RATER_NOMINATED
                    )
                    for who, rel in initial_raters(e.id, e.manager_id, reports.get(e.id, []))
                ]
                uow.repo.add(row)
                for r in raters:
                    uow.repo.add(r)
                msg = round_pb(row, raters)
                created.append(msg)
                await uow.emit(
                    pb.RoundStarted(
                        meta=new_event_meta("feedback"),
                        round_id=row.id,
                        cycle_id=cycle_id,
                        subject_id=e.id,
                        manager_id=e.manager_id,
                        deadline=deadline.isoformat(),
                        nominations_due=due.isoformat(),
                    )
                )
                await uow.audit("round.start", RESOURCE, row.id, None, msg)
    except IntegrityError as exc:  # another StartRounds for this cycle committed meanwhile
        raise DomainError(
            "concurrent_start",
            "rounds for this cycle were started at the same time; retry",
            status=grpc.StatusCode.ABORTED,
        ) from exc
    already = sum(1 for e in in_scope if e.id in existing)
    return pb.StartRoundsResponse(rounds=created, already=already)


# --- reads -------------------------------------------------------------------------------------
async def _overseer(deps: RoundDeps, row: Round, viewer_id: str) -> bool:
    """The subject's manager (when the round started or now) or HR."""
    if viewer_id == row.manager_id:
        return True
    if viewer_id == row.subject_id:
        return False
    return viewer_id == await deps.manager_of(row.subject_id) or await deps.is_hr(viewer_id)


async def get(deps: RoundDeps, request: pb.GetRoundRequest) -> pb.Round:
    """The round for the system (no viewer), its subject, the manager, HR and its raters;
    anyone else reads "not found" like a missing round."""
    viewer = request.viewer_id.strip()
    async with deps.reading() as repo:
        row = await round_of(repo, request.round_id)
        raters = await repo.raters(row.id)
    overseer = bool(viewer) and await _overseer(deps, row, viewer)
    if viewer and not overseer and viewer != row.subject_id:
        if viewer not in {r.employee_id for r in raters}:
            raise round_not_found()
    return round_pb(row, visible_raters(row, raters, viewer, overseer=overseer))


async def list_mine(deps: RoundDeps, request: pb.ListMyRoundsRequest) -> pb.ListRoundsResponse:
    rater_id = request.rater_id.strip()
    if not rater_id:
        raise InvalidArgument("rater_required", "rater_id must be given")
    async with deps.reading() as repo:
        rows = await repo.rounds_of_rater(rater_id, pending_only=request.pending_only)
        out = []
        for row in rows:
            mine = [r for r in await repo.raters(row.id) if r.employee_id == rater_id]
            out.append(round_pb(row, visible_raters(row, mine, rater_id, overseer=False)))
    return pb.ListRoundsResponse(rounds=out)


# --- nominations and approval -------------------------------------------------------------------
async def nominate(deps: RoundDeps, request: pb.NominateRequest) -> pb.Round:
    """The subject names peers and reports (replacing earlier nominations)."""
    async with deps.reading() as repo:
        row = await round_of(repo, request.round_id)
    if request.actor_id != row.subject_id:
        raise permission_denied("not_subject", "only the round's subject nominates")
    direct = frozenset(await deps.org.reports(row.subject_id, transitive=False))
    raters = checked_nominations(
        row.subject_id, row.manager_id, request.peer_ids, request.report_ids, direct
    )
    for who, relation in raters:
        if relation == RELATION_PEER:
            await deps.org.person(who, "rater")  # unknown_rater, inactive_rater
    async with deps.units() as uow:
        row = await round_of(uow.repo, request.round_id, lock=True)
        ensure_nominating(row.phase)
        before = await _full(uow.repo, row)
        current = await uow.repo.raters(row.id)
        await uow.repo.delete_raters(row.id, [r.employee_id for r in current])
        await uow.session.flush()
        for who, relation in raters:
            uow.repo.add(
                RoundRater(
                    round_id=row.id, employee_id=who, relation=relation, status=RATER_NOMINATED
                )
            )
        await uow.session.flush()
        after = await _full(uow.repo, row)
        await uow.audit("round.nominate", RESOURCE, row.id, before, after)
    return round_pb(
        row, visible_raters(row, await _raters(deps, row.id), request.actor_id, overseer=False)
    )


async def _raters(deps: RoundDeps, round_id: str) -> list[RoundRater]:
    async with deps.reading() as repo:
        return await repo.raters(round_id)


async def approve(deps: RoundDeps, request: pb.ApproveNominationsRequest) -> pb.Round:
    """The manager's approved list (through the workflow's Update); idempotent once approved."""
    async with deps.reading() as repo:
        row = await round_of(repo, request.round_id)
    approver = request.approver_id.strip()
    if row.phase == ROUND_NOMINATING and not (approver and await _overseer(deps, row, approver)):
        raise permission_denied("not_approver", "the subject's manager or HR approves")
    async with deps.units() as uow:
        row = await round_of(uow.repo, request.round_id, lock=True)
        if row.phase != ROUND_NOMINATING:
            if row.phase == ROUND_CANCELLED:
                raise FailedPrecondition("round_cancelled", "the round was cancelled")
            return await _full(uow.repo, row)
        current = await uow.repo.raters(row.id)
        keep = approved_raters({r.employee_id: r.relation for r in current}, request.rater_ids)
        before = await _full(uow.repo, row)
        await uow.repo.delete_raters(
            row.id, [r.employee_id for r in current if r.employee_id not in keep]
        )
        for r in current:
            if r.employee_id in keep:
                r.status = RATER_APPROVED
        row.phase = ROUND_APPROVED
        await uow.session.flush()
        after = await _full(uow.repo, row)
        await uow.audit("round.approve", RESOURCE, row.id, before, after)
    return after


async def mark_invited(deps: RoundDeps, request: pb.MarkInvitedRequest) -> pb.Round:
    """Approved raters (those named, or all) are invited and answers open; idempotent."""
    async with deps.units() as uow:
        row = await round_of(uow.repo, request.round_id, lock=True)
        if row.phase in (ROUND_CLOSED, ROUND_CANCELLED):
            return await _full(uow.repo, row)
        if row.phase == ROUND_NOMINATING:
            raise FailedPrecondition("not_approved", "the raters are not approved yet")
        before = await _full(uow.repo, row)
        wanted = set(request.rater_ids)
        for r in await uow.repo.raters(row.id):
            if r.status == RATER_APPROVED and (not wanted or r.employee_id in wanted):
                r.status = RATER_INVITED
        row.phase = ROUND_COLLECTING
        await uow.session.flush()
        after = await _full(uow.repo, row)
        if after != before:
            await uow.audit("round.invite", RESOURCE, row.id, before, after)
    return after


async def pending(
    deps: RoundDeps, request: pb.ListPendingRatersRequest
) -> pb.ListPendingRatersResponse:
    async with deps.reading() as repo:
        row = await round_of(repo, request.round_id)
        if row.phase != ROUND_COLLECTING:
            return pb.ListPendingRatersResponse()
        raters = await repo.raters(row.id)
    return pb.ListPendingRatersResponse(
        employee_ids=sorted(r.employee_id for r in raters if r.status == RATER_INVITED)
    )


async def cancel(deps: RoundDeps, request: pb.CancelRoundRequest) -> pb.Round:
    async with deps.units() as uow:
        row = await round_of(uow.repo, request.round_id, lock=True)
        if row.phase == ROUND_CLOSED:
            raise FailedPrecondition("round_closed", "the round is closed")
        if row.phase != ROUND_CANCELLED:
            before = await _full(uow.repo, row)
            row.phase = ROUND_CANCELLED
            after = await _full(uow.repo, row)
            await uow.audit("round.cancel", RESOURCE, row.id, before, after)
        return await _full(uow.repo, row)
