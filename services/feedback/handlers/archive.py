"""The performance archive: archiving a cycle, self-assessments, manager ratings, history
with its trend, and HR's export.

Reads are decided here (:func:`ArchiveDeps.may_read`): the employee, anyone above them in
the reporting line, HR and admins; anyone else gets ``archive_not_found``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.models import new_id, utcnow
from services.common.text import checked_text
from services.feedback.archive_messages import record_pb
from services.feedback.archive_models import ArchiveRecord
from services.feedback.archive_repository import ArchiveRepository, filtered
from services.feedback.domain import archive as rules
from services.feedback.handlers.archive_external import external_metrics
from services.feedback.handlers.archive_shared import RECORD, ArchiveDeps, not_found
from services.feedback.handlers.shared import concurrent, next_page, page
from stride.feedback.v1 import archive_pb2 as pb
from stride.goals.v1 import goals_pb2
from workflows.vocabulary import MAX_ARCHIVE_COMMENT


def _new_record(
    employee_id: str, cycle: goals_pb2.Cycle, department_id: str, manager_id: str
) -> ArchiveRecord:
    return ArchiveRecord(
        id=new_id(),
        employee_id=employee_id,
        cycle_id=cycle.id,
        department_id=department_id,
        manager_id=manager_id,
        cycle_start=date.fromisoformat(cycle.start_date),
        cycle_end=date.fromisoformat(cycle.end_date),
        okr_score=None,
        self_rating="",
        self_comment="",
        manager_rating="",
        manager_comment="",
        rated_by="",
        feedback_360={},
        external_metrics={},
        final_rating="",
        potential="",
        archived_at=None,
        updated_at=utcnow(),
    )


async def archive_cycle(
    deps: ArchiveDeps, request: pb.ArchiveCycleRequest
) -> pb.ArchiveCycleResponse:
    """Every active employee (and everyone archived in the cycle before) gets the cycle's
    record: score (once goals closed the cycle), released 360 aggregates, external metrics
    (telemetry, over the cycle so far) and — at the first run — department and direct
    manager. Ratings and calibration are kept; running it again changes nothing more than
    the figures that moved since."""
    cycle = await deps.goals.cycle(request.cycle_id.strip())
    scored = cycle.status == goals_pb2.CYCLE_STATUS_CLOSED
    scores = await deps.goals.person_scores(cycle.id) if scored else {}
    external = (
        await external_metrics(deps.telemetry, deps.goals, cycle, deps.time_zone, utcnow())
        if deps.telemetry is not None
        else None
    )
    people = {e.id: e for e in await deps.org.active_employees()}
    created = updated = 0
    try:
        async with deps.units() as uow:
            existing = await uow.repo.records_of_cycle(cycle.id)
            released = await uow.repo.released_360(cycle.id)
            now = utcnow()
            for employee_id in sorted(set(people) | set(existing)):
                row = existing.get(employee_id)
                person = people.get(employee_id)
                if row is None:
                    assert person is not None
                    row = _new_record(employee_id, cycle, person.department_id, person.manager_id)
                    uow.repo.add(row)
                    created += 1
                else:
                    updated += 1
                if person is not None and row.archived_at is None:
                    # Frozen at the first archive run: the manager who rates, the department
                    # that calibrates (a later move changes neither).
                    row.department_id, row.manager_id = person.department_id, person.manager_id
                row.cycle_start = date.fromisoformat(cycle.start_date)
                row.cycle_end = date.fromisoformat(cycle.end_date)
                if scored:
                    row.okr_score = scores.get(employee_id)
                if employee_id in released:
                    row.feedback_360 = released[employee_id]
                if external is not None:
                    row.external_metrics = external.get(employee_id, {})
                row.archived_at = now
                row.updated_at = now
            await uow.audit(
                "archive.cycle",
                "cycle",
                cycle.id,
                detail=f"created {created}, updated {updated}, scored {scored}",
            )
    except IntegrityError as exc:  # archived twice at once: the retry finds the rows
        raise concurrent("archive") from exc
    return pb.ArchiveCycleResponse(created=created, updated=updated, scored=scored)


async def history(deps: ArchiveDeps, request: pb.GetHistoryRequest) -> pb.History:
    viewer = await deps.viewer(request.viewer_id)
    employee_id = request.employee_id or viewer.id
    if not await deps.may_read(viewer, employee_id):
        raise not_found()
    async with deps.reading() as repo:
        rows = await repo.history(employee_id)
    trend = rules.trend(
        [
            rules.Point(r.okr_score, rules.effective_rating(r.final_rating, r.manager_rating))
            for r in rows
        ]
    )
    entries = []
    for r, t in zip(rows, trend, strict=True):
        entry = pb.HistoryEntry(record=record_pb(r), rating_direction=t.rating_direction)
        if t.score_delta is not None:
            entry.score_delta = t.score_delta
        entries.append(entry)
    return pb.History(employee_id=employee_id, entries=entries)


async def _record_for_rating(
    deps: ArchiveDeps, repo: ArchiveRepository, employee_id: str, cycle: goals_pb2.Cycle
) -> tuple[ArchiveRecord, pb.ArchiveRecord | None]:
    """The record to rate (created when the cycle is not archived yet) and how it was."""
    row = await repo.record(employee_id, cycle.id, lock=True)
    if row is None:
        person = await deps.org.person(employee_id)
        row = _new_record(employee_id, cycle, person.department_id, person.manager_id)
        repo.add(row)
        return row, None
    if row.final_rating:
        raise FailedPrecondition(
            "archive_calibrated", "the cycle's rating was calibrated; ratings are closed"
        )
    return row, record_pb(row)


async def self_assessment(
    deps: ArchiveDeps, request: pb.SubmitSelfAssessmentRequest
) -> pb.ArchiveRecord:
    """The employee's own rating and comment (replacing an earlier one until calibrated)."""
    rating = rules.checked_rating(request.rating)
    comment = checked_text(
        request.comment, "comment", MAX_ARCHIVE_COMMENT, required=False, multiline=True
    )
    await deps.viewer(request.employee_id)
    cycle = await deps.goals.cycle(request.cycle_id.strip())
    try:
        async with deps.units() as uow:
            row, before = await _record_for_rating(deps, uow.repo, request.employee_id, cycle)
            row.self_rating, row.self_comment, row.updated_at = rating, comment, utcnow()
            await uow.repo.flush()
            after = record_pb(row)
            await uow.audit("archive.self_assessment", RECORD, row.id, before, after)
    except IntegrityError as exc:
        raise concurrent("archive") from exc
    return after


async def manager_rating(
    deps: ArchiveDeps, request: pb.SubmitManagerRatingRequest
) -> pb.ArchiveRecord:
    """The direct manager's rating and comment: the manager at archive time once the cycle
    is archived, the current direct manager before."""
    rating = rules.checked_rating(request.rating)
    comment = checked_text(
        request.comment, "comment", MAX_ARCHIVE_COMMENT, required=False, multiline=True
    )
    if not request.employee_id:
        raise InvalidArgument("employee_required", "employee_id must be given")
    await deps.viewer(request.manager_id)
    cycle = await deps.goals.cycle(request.cycle_id.strip())
    async with deps.reading() as repo:
        found = await repo.record(request.employee_id, cycle.id)
    if found is not None and found.manager_id:
        manager_id = found.manager_id
    else:
        try:
            manager_id = (await deps.org.person(request.employee_id)).manager_id
        except InvalidArgument as exc:
            raise not_found() from exc
    if not manager_id or manager_id != request.manager_id:
        raise not_found()
    try:
        async with deps.units() as uow:
            row, before = await _record_for_rating(deps, uow.repo, request.employee_id, cycle)
            row.manager_rating, row.manager_comment = rating, comment
            row.rated_by, row.updated_at = request.manager_id, utcnow()
            await uow.repo.flush()
            after = record_pb(row)
            await uow.audit("archive.manager_rating", RECORD, row.id, before, after)
    except IntegrityError as exc:
        raise concurrent("archive") from exc
    return after


async def export(deps: ArchiveDeps, request: pb.ExportArchiveRequest) -> pb.ArchivePage:
    """HR's export, a page at a time; the first page is audited (who, which filter, how many
    rows)."""
    await deps.hr(request.viewer_id)
    rating = rules.checked_rating(request.rating, allow_empty=True)
    if request.format not in ("csv", "xlsx"):
        raise InvalidArgument("invalid_format", "format is csv or xlsx")
    limit, offset = page(request.page)
    cycle_id, department_id = request.cycle_id.strip(), request.department_id.strip()
    query = filtered(cycle_id, department_id, rating).subquery()
    async with deps.units() as uow:
        total = int(
            (await uow.repo.session.execute(select(func.count()).select_from(query))).scalar_one()
        )
        rows = await uow.repo.records(cycle_id, department_id, rating, limit, offset)
        if not request.page.page_token:
            await uow.audit(
                "archive.export",
                "archive",
                cycle_id or "*",
                detail=(
                    f"format={request.format} cycle={cycle_id or '*'} "
                    f"department={department_id or '*'} rating={rating or '*'} rows={total}"
                ),
            )
    return pb.ArchivePage(
        records=[record_pb(r) for r in rows],
        total=total,
        page=next_page(offset, limit, len(rows)),
    )
