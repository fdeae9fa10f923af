"""Check-ins: record one or several (all or none), read them and their history; checklists."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
from sqlalchemy.exc import IntegrityError

from services.common import metrics
from services.common.errors import DomainError, InvalidArgument, NotFound
from services.common.group_commit import Pending
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.goals import domain
from services.goals.calendar import local_today, parse_week
from services.goals.domain.machine_values import ensure_person_fed
from services.goals.evaluation import assess, rescore, score_of, store_assessment
from services.goals.handlers import blockers
from services.goals.handlers.shared import (
    Deps,
    Uow,
    key_result_of,
    next_page,
    page,
    progress_changed,
)
from services.goals.messages import check_in_pb, checklist_pb, key_result_pb
from services.goals.models import (
    CHECK_IN_COLUMNS,
    RISK_COLUMNS,
    VERSIONED_COLUMNS,
    CheckIn,
    Checklist,
    Cycle,
    KeyResult,
    Objective,
)
from services.goals.repository import CheckInSnapshot, GoalsRepository
from services.goals.risk_rules import RuleSet
from stride.goals.v1 import goals_pb2 as pb

# What recording a check-in changes on its key result (evaluation.rescore, confidence).
_KR_PROGRESS_COLUMNS = (
    "current_value",
    "score",
    "last_check_in_week",
    "confidence",
    "updated_at",
    *RISK_COLUMNS,
)


def _concurrent_check_in() -> DomainError:
    return DomainError(
        "concurrent_check_in",
        "another check-in for this week was saved at the same time; retry",
        status=grpc.StatusCode.ABORTED,
    )


async def _check_blocker_departments(
    deps: Deps, requests: Sequence[pb.RecordCheckInRequest]
) -> None:
    departments = sorted({b.department_id.strip() for r in requests for b in r.blockers} - {""})
    for department_id in departments:
        await deps.identity.department(department_id)


def _actor(request: pb.RecordCheckInRequest) -> domain.CheckInActor | None:
    if not request.HasField("actor"):
        return None
    return domain.CheckInActor(request.actor.employee_id.strip(), request.actor.any_owner)


def _not_found(kr_id: str) -> NotFound:
    return NotFound("key_result_not_found", f"key result {kr_id} not found")


async def record(deps: Deps, request: pb.RecordCheckInRequest) -> pb.CheckIn:
    """One check-in; concurrent ones share a transaction (services/common/group_commit.py)."""
    await _check_blocker_departments(deps, [request])
    result = await deps.check_ins.submit(
        request,
        request.key_result_id,
        functools.partial(_record_batch, deps),
        functools.partial(_record_alone, deps),
    )
    metrics.check_in_recorded()
    return result


def _locked_target(
    targets: dict[str, tuple[KeyResult, Objective, Cycle, CheckInSnapshot | None]],
    request: pb.RecordCheckInRequest,
) -> tuple[KeyResult, Objective, Cycle, CheckInSnapshot | None]:
    """The locked key result ``request`` checks in on, if its sender may (else NotFound or the
    owner rule's error, raised before anything is written)."""
    found = targets.get(request.key_result_id)
    if found is None:
        raise NotFound("key_result_not_found", "key result not found")
    domain.check_may_check_in(_actor(request), found[0].owner_id, found[0].id)
    return found


async def _record_request(
    uow: Uow,
    rules: RuleSet,
    found: tuple[KeyResult, Objective, Cycle, CheckInSnapshot | None],
    request: pb.RecordCheckInRequest,
    siblings: dict[str, dict[str, tuple[int, float]]] | None = None,
) -> pb.CheckIn:
    kr, objective, cycle, snapshot = found
    return await _record(
        uow,
        rules,
        (kr, objective, cycle),
        request,
        request.week,
        request.recorded_by,
        siblings,
        snapshot=snapshot,
    )


async def _record_alone(deps: Deps, request: pb.RecordCheckInRequest) -> pb.CheckIn:
    try:
        async with deps.units() as uow:
            # One read locks the key result (PostgreSQL) with its objective and cycle, so
            # its check-ins are assessed one at a time.
            # On PostgreSQL the same round trip reads its check-ins and its objective's
            # weights (repository.lock_for_check_in).
            wanted = [(request.key_result_id, request.week.strip())]
            found = _locked_target(await uow.repo.lock_for_check_in(wanted), request)
            rules = await deps.rules.current(uow.repo)
            result = await _record_request(uow, rules, found, request)
    except IntegrityError as exc:  # the same week submitted twice at the same instant
        raise _concurrent_check_in() from exc
    return result


async def _record_batch(
    deps: Deps, batch: Sequence[Pending[pb.RecordCheckInRequest, pb.CheckIn]]
) -> list[pb.CheckIn | DomainError]:
    """Several people's check-ins (one per key result) in one unit of work: one locking read
    for all, each recorded in its caller's context (its audit entry's actor, request id and
    trace). A key result that is not there or not the caller's leaves that check-in out with
    the error it would have had alone; any other failure rolls everything back and each is
    then recorded alone (GroupCommit)."""
    outcomes: list[pb.CheckIn | DomainError] = []
    siblings: dict[str, dict[str, tuple[int, float]]] = {}
    async with deps.units() as uow:
        wanted = [(p.request.key_result_id, p.request.week.strip()) for p in batch]
        targets = await uow.repo.lock_for_check_in(wanted)
        rules = await deps.rules.current(uow.repo)
        for pending in batch:
            try:
                found = _locked_target(targets, pending.request)
            except DomainError as exc:
                outcomes.append(exc)
                continue
            recorded = asyncio.create_task(
                _record_request(uow, rules, found, pending.request, siblings),
                context=pending.context,
            )
            outcomes.append(await recorded)
    return outcomes


async def record_many(deps: Deps, request: pb.RecordCheckInsRequest) -> pb.RecordCheckInsResponse:
    owner_id = request.owner_id.strip()
    domain.check_bulk(owner_id, [c.key_result_id for c in request.check_ins])
    await _check_blocker_departments(deps, request.check_ins)
    actor = domain.CheckInActor(owner_id)
    results: list[pb.CheckIn] = []
    siblings: dict[str, dict[str, tuple[int, float]]] = {}
    try:
        async with deps.units() as uow:
            wanted = [
                (c.key_result_id, (c.week or request.week).strip()) for c in request.check_ins
            ]
            targets = await uow.repo.lock_for_check_in(wanted)
            rules = await deps.rules.current(uow.repo)
            for i, entry in enumerate(request.check_ins):
                try:
                    found = targets.get(entry.key_result_id)
                    if found is None:
                        raise _not_found(entry.key_result_id)
                    kr, objective, cycle, snapshot = found
                    domain.check_may_check_in(actor, kr.owner_id, kr.id)
                    week = entry.week or request.week
                    recorded_by = entry.recorded_by or request.recorded_by
                    results.append(
                        await _record(
                            uow,
                            rules,
                            (kr, objective, cycle),
                            entry,
                            week,
                            recorded_by,
                            siblings,
                            snapshot=snapshot,
                        )
                    )
                except DomainError as exc:
                    raise DomainError(
                        exc.code, f"check_ins[{i}]: {exc.message}", status=exc.status
                    ) from exc
    except IntegrityError as exc:
        raise _concurrent_check_in() from exc
    metrics.check_in_recorded(len(results))
    return pb.RecordCheckInsResponse(check_ins=results)


async def _record(
    uow: Uow,
    rules: RuleSet,
    target: tuple[KeyResult, Objective, Cycle],
    request: pb.RecordCheckInRequest,
    week: str,
    recorded_by: str,
    siblings: dict[str, dict[str, tuple[int, float]]] | None = None,
    *,
    machine: bool = False,
    keep_version: bool = True,
    snapshot: CheckInSnapshot | None = None,
) -> pb.CheckIn:
    """Record one check-in of a locked key result inside the caller's unit of work, assessed
    under ``rules`` (``siblings``: a bulk request's cache of each objective's weights and
    scores; ``snapshot``: the key result's check-ins and weights read with its lock).
    ``machine``: a value telemetry pushes (handlers/machine_values.py; people may not check in
    on a machine-fed key result); ``keep_version`` False: the check-in is updated without a
    new history version or audit entry (machine values, bounded by their handler)."""
    kr, objective, cycle = target
    repo = uow.repo
    if not machine:
        ensure_person_fed(kr.data_source)
    domain.ensure_open(cycle.status)
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
    history, same_week = await repo.week_history(kr.id, new.week, snapshot)
    if snapshot is not None:  # the objective's weights came with the lock
        siblings = {} if siblings is None else siblings
        siblings.setdefault(kr.objective_id, dict(snapshot.siblings))
    # ``row`` is never added to the session: repo.save_check_in writes it.
    if same_week is None:
        before = None
        row = CheckIn(id=new_id(), key_result_id=kr.id, week=new.week, revision=1)
    else:
        row = CheckIn(**same_week)
        before = check_in_pb(row)
        # A revision is a history version: an update without one keeps its number.
        row.revision += 1 if keep_version else 0
    row.value, row.confidence, row.note = new.value, new.confidence, new.note
    row.blockers = [{"text": t, "department_id": d} for t, d in new.blockers]
    if new.blockers:  # addressed blockers get a row their department lists and resolves
        row.blockers = await blockers.record_for_check_in(uow, row, kr, cycle.id, new.blockers)
    row.answers = [{"item_id": i, "checked": c} for i, c in new.answers]
    row.recorded_by = recorded_by.strip()[:80]
    row.recorded_at = utcnow()
    checks = [*history, (row.week, row.value)]
    # The check-in is assessed as of its own week; the key result as of its latest.
    as_of_week = [c for c in checks if c[0] <= row.week]
    store_assessment(row, assess(kr, cycle, as_of_week, rules), rules.version)
    row.score = score_of(kr, as_of_week)
    previous_value, previous_score = kr.current_value, kr.score
    rescore(kr, cycle, checks, rules)
    kr.confidence = new.confidence if kr.last_check_in_week == row.week else kr.confidence
    kr.updated_at = row.recorded_at
    message = check_in_pb(row)
    kr_message = key_result_pb(kr, objective.status)
    await uow.emit(
        pb.CheckInRecorded(
            meta=new_event_meta("goals"),
            check_in=message,
            key_result=kr_message,
            cycle_id=cycle.id,
            cycle_end_date=cycle.end_date.isoformat(),
            time_zone=cycle.time_zone,
        )
    )
    if kr.current_value != previous_value or kr.score != previous_score:
        await progress_changed(uow, kr, kr_message, previous_value, previous_score, siblings)
    if keep_version:
        await uow.audit("checkin.record", "check_in", row.id, before, message)
    # Written last, with no ORM bookkeeping (the key result came from the locking read,
    # outside the session): the check-in, its version (if kept) and the key result's progress; on
    # PostgreSQL with the events and the audit entry queued so far, in one statement.
    await repo.save_check_in(
        _values(row, CHECK_IN_COLUMNS),
        before is None,
        {"check_in_id": row.id, **_values(row, VERSIONED_COLUMNS)} if keep_version else None,
        kr.id,
        _values(kr, _KR_PROGRESS_COLUMNS),
        uow.take_events() if repo.writes_outbox else (),
    )
    return message


def _values(row: CheckIn | KeyResult, columns: Sequence[str]) -> dict[str, Any]:
    return {c: getattr(row, c) for c in columns}


async def list_(deps: Deps, request: pb.ListCheckInsRequest) -> pb.ListCheckInsResponse:
    limit, offset = page(request.page)
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        await key_result_of(repo, request.key_result_id)
        rows = await repo.check_ins(request.key_result_id, limit, offset)
    return pb.ListCheckInsResponse(
        check_ins=[check_in_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )


async def history(deps: Deps, request: pb.ListCheckInHistoryRequest) -> pb.ListCheckInsResponse:
    limit, offset = page(request.page)
    week = request.week.strip()
    if week:
        parse_week(week)
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        await key_result_of(repo, request.key_result_id)
        rows = await repo.check_in_history(request.key_result_id, week, limit, offset)
    return pb.ListCheckInsResponse(
        check_ins=[check_in_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )


async def set_checklist(deps: Deps, request: pb.SetChecklistRequest) -> pb.Checklist:
    department_id = request.department_id.strip()
    if not department_id:
        raise InvalidArgument("department_required", "department_id must be given")
    items = domain.checklist_items([(i.id, i.label_zh, i.label_en) for i in request.items])
    await deps.identity.department(department_id)
    async with deps.units() as uow:
        row = await uow.repo.checklist(department_id)
        before = checklist_pb(department_id, row) if row is not None else None
        if row is None:
            row = Checklist(department_id=department_id)
            uow.repo.add(row)
        row.items = items
        row.updated_at = utcnow()
        message = checklist_pb(department_id, row)
        await uow.audit("checklist.set", "checklist", department_id, before, message)
    return message


async def get_checklist(deps: Deps, request: pb.GetChecklistRequest) -> pb.Checklist:
    """A department without a checklist has an empty one."""
    async with deps.sessions() as session:
        row = await GoalsRepository(session).checklist(request.department_id)
    return checklist_pb(request.department_id, row)
