"""Approvals: plans submitted for approval, target revisions, decisions and escalations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.goals import domain
from services.goals.evaluation import rescore
from services.goals.handlers.shared import (
    Deps,
    Uow,
    approval_of,
    approval_requested,
    cycle_of,
    key_result_changed,
    key_result_of,
    next_page,
    objective_of,
    page,
    progress_changed,
    set_status,
)
from services.goals.messages import (
    APPROVAL_STATUS,
    DECISION,
    approval_pb,
    from_enum,
    key_result_pb,
    revision_pb,
)
from services.goals.models import Approval, ApprovalApprover, Cycle, Revision
from services.goals.repository import GoalsRepository
from services.goals.risk_rules import RuleSet
from stride.goals.v1 import goals_pb2 as pb
from workflows import ids
from workflows.vocabulary import MAX_COMMENT, ObjectiveStatus


def _add_approvers(
    uow: Uow, approval_id: str, employee_ids: Sequence[str], start: int, now: datetime
) -> None:
    for i, employee_id in enumerate(employee_ids):
        uow.repo.add(
            ApprovalApprover(
                approval_id=approval_id, employee_id=employee_id, position=start + i, added_at=now
            )
        )


def _approval(kind: str, cycle_id: str, employee_id: str, department_id: str) -> Approval:
    return Approval(
        id=new_id(),
        kind=kind,
        status="pending",
        cycle_id=cycle_id,
        employee_id=employee_id,
        department_id=department_id,
        objective_ids=[],
        revision_id="",
        escalated=False,
        workflow_id=ids.plan_approval(cycle_id, employee_id),
        decided_by="",
        comment="",
        overridden=False,
        created_at=utcnow(),
    )


async def submit_plan(deps: Deps, request: pb.SubmitPlanRequest) -> pb.Approval:
    employee = await deps.identity.employee(request.employee_id.strip(), "employee")
    approver_ids = (await deps.identity.managers(employee.id))[:1]
    try:
        async with deps.units() as uow:
            repo = uow.repo
            cycle = await cycle_of(repo, request.cycle_id)
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
            approval = _approval("plan", cycle.id, employee.id, employee.department_id)
            approval.objective_ids = [o.id for o in objectives]
            repo.add(approval)
            await uow.session.flush()
            _add_approvers(uow, approval.id, approver_ids, 0, approval.created_at)
            await set_status(uow, objectives, ObjectiveStatus.PENDING, approval.created_at, krs)
            message = approval_pb(approval, approver_ids)
            await approval_requested(uow, message, cycle, f"Plan approval {cycle.name}")
            await uow.audit("plan.submit", "approval", approval.id, None, message)
            await uow.session.flush()
    except IntegrityError as exc:  # a concurrent submit of the same owner and cycle
        raise FailedPrecondition(
            "approval_pending", "a plan of this person for this cycle is awaiting approval"
        ) from exc
    return message


async def request_revision(deps: Deps, request: pb.RequestRevisionRequest) -> pb.Revision:
    async with deps.sessions() as session:
        kr = await key_result_of(GoalsRepository(session), request.key_result_id)
    approver_ids = (await deps.identity.managers(kr.owner_id))[:1]
    try:
        async with deps.units() as uow:
            repo = uow.repo
            kr = await key_result_of(repo, request.key_result_id, lock=True)
            cycle = await cycle_of(repo, kr.cycle_id)
            domain.ensure_open(cycle.status)
            objective = await objective_of(repo, kr.objective_id)
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
            approval = _approval("revision", cycle.id, kr.owner_id, kr.department_id)
            approval.objective_ids = [objective.id]
            revision = Revision(
                id=new_id(),
                key_result_id=kr.id,
                objective_id=objective.id,
                cycle_id=cycle.id,
                owner_id=kr.owner_id,
                status="pending",
                old_target=kr.target,
                new_target=request.new_target + 0.0,  # -0.0 is stored as 0
                reason=reason,
                approval_id=approval.id,
                requested_by=request.requested_by.strip()[:80],
                requested_at=approval.created_at,
                decided_by="",
                comment="",
            )
            approval.revision_id = revision.id
            repo.add(approval)
            await uow.session.flush()
            repo.add(revision)
            _add_approvers(uow, approval.id, approver_ids, 0, approval.created_at)
            message = revision_pb(revision)
            await approval_requested(
                uow, approval_pb(approval, approver_ids), cycle, f"Target revision {cycle.name}"
            )
            await uow.audit("revision.request", "revision", revision.id, None, message)
            await uow.session.flush()
    except IntegrityError as exc:  # a concurrent request for the same key result
        raise FailedPrecondition(
            "revision_pending", "a revision of this key result is awaiting approval"
        ) from exc
    return message


async def list_revisions(deps: Deps, request: pb.ListRevisionsRequest) -> pb.ListRevisionsResponse:
    limit, offset = page(request.page)
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        await key_result_of(repo, request.key_result_id)
        rows = await repo.revisions(request.key_result_id, limit, offset)
    return pb.ListRevisionsResponse(
        revisions=[revision_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )


async def get(deps: Deps, request: pb.GetApprovalRequest) -> pb.Approval:
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        row = await approval_of(repo, request.id)
        return approval_pb(row, (await repo.approvers([row.id]))[row.id])


async def list_(deps: Deps, request: pb.ListApprovalsRequest) -> pb.ListApprovalsResponse:
    limit, offset = page(request.page)
    status = from_enum(APPROVAL_STATUS, request.status, "status")
    async with deps.sessions() as session:
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
        page=next_page(offset, limit, len(rows)),
    )


async def decide(deps: Deps, request: pb.DecideApprovalRequest) -> pb.Approval:
    decision = DECISION.get(request.decision, "")
    comment = domain.clean_text(
        request.comment, "comment", MAX_COMMENT, required=False, multiline=True
    )
    decided_by = request.decided_by.strip()
    async with deps.units() as uow:
        repo = uow.repo
        row = await approval_of(repo, request.approval_id, lock=True)
        approver_ids = (await repo.approvers([row.id]))[row.id]
        state = domain.ApprovalState(
            row.status, tuple(approver_ids), row.decided_by, subject=row.employee_id
        )
        if not domain.decision_applies(state, decision, decided_by, override=request.override):
            return approval_pb(row, approver_ids)
        cycle = await cycle_of(repo, row.cycle_id)
        domain.ensure_open(cycle.status)
        before = approval_pb(row, approver_ids)
        now = utcnow()
        approve = decision == "approve"
        if row.kind == "plan":
            objectives = await repo.objectives_by_ids(row.objective_ids, lock=True)
            await set_status(
                uow,
                [o for o in objectives.values() if o.status == ObjectiveStatus.PENDING],
                ObjectiveStatus.APPROVED if approve else ObjectiveStatus.DRAFT,
                now,
            )
        else:
            rules = await deps.rules.current(repo)
            await _decide_revision(uow, rules, row, cycle, approve, decided_by, comment)
        row.status = "approved" if approve else "rejected"
        row.decided_by, row.decided_at, row.comment = decided_by, now, comment
        row.overridden = bool(request.override)
        message = approval_pb(row, approver_ids)
        await uow.emit(pb.ApprovalDecided(meta=new_event_meta("goals"), approval=message))
        await uow.audit("approval.decide", "approval", row.id, before, message)
    return message


async def _decide_revision(
    uow: Uow,
    rules: RuleSet,
    approval: Approval,
    cycle: Cycle,
    approve: bool,
    decided_by: str,
    comment: str,
) -> None:
    repo = uow.repo
    revision = await repo.revision(approval.revision_id, lock=True)
    if revision is None:
        raise NotFound("revision_not_found", "revision not found")
    before = revision_pb(revision)
    now = utcnow()
    revision.status = "approved" if approve else "rejected"
    revision.decided_by, revision.decided_at, revision.comment = decided_by, now, comment
    if approve:
        kr = await key_result_of(repo, revision.key_result_id, lock=True)
        objective = await objective_of(repo, kr.objective_id)
        kr_before = key_result_pb(kr, objective.status)
        previous_value, previous_score = kr.current_value, kr.score
        kr.target = revision.new_target
        kr.revision += 1
        checks = [(c.week, c.value) for c in await repo.check_ins(kr.id)]
        rescore(kr, cycle, checks, rules)
        kr.updated_at = now
        kr_message = key_result_pb(kr, objective.status)
        if kr.score != previous_score:
            await progress_changed(uow, kr, kr_message, previous_value, previous_score)
        await key_result_changed(uow, "key_result.revise", "updated", kr_message, kr_before)
    await uow.audit("revision.decide", "revision", revision.id, before, revision_pb(revision))


async def escalate(deps: Deps, request: pb.EscalateApprovalRequest) -> pb.Approval:
    added = [a.strip() for a in request.add_approver_ids]
    if not added:
        raise InvalidArgument("approver_required", "add_approver_ids must be given")
    for approver in dict.fromkeys(added):
        await deps.identity.employee(approver, "approver")
    async with deps.units() as uow:
        row = await approval_of(uow.repo, request.approval_id, lock=True)
        current = (await uow.repo.approvers([row.id]))[row.id]
        merged = domain.merged_approvers(current, added)
        if merged == current and row.escalated:
            return approval_pb(row, current)  # a retried escalation
        if row.status != "pending":
            raise FailedPrecondition(
                "approval_not_pending", "the approval has already been decided"
            )
        before = approval_pb(row, current)
        _add_approvers(uow, row.id, merged[len(current) :], len(current), utcnow())
        row.escalated = True
        message = approval_pb(row, merged)
        await uow.audit("approval.escalate", "approval", row.id, before, message)
    return message
