"""Calibration sessions (HR, per department and cycle): the rating distribution next to HR's
optional guidance, the 9-box, and every change of a final rating or potential with who, why
and the old value (a calibration_changes row and an audit entry whose detail carries them)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from services.common.errors import InvalidArgument
from services.common.models import new_id, utcnow
from services.common.text import checked_text
from services.feedback.archive_messages import calibration_pb, record_pb
from services.feedback.archive_models import CalibrationChange, CalibrationSession
from services.feedback.archive_repository import ArchiveRepository
from services.feedback.domain import archive as rules
from services.feedback.handlers.archive_shared import (
    CALIBRATION,
    RECORD,
    ArchiveDeps,
    calibration_not_found,
    not_found,
)
from services.feedback.handlers.shared import concurrent
from stride.feedback.v1 import archive_pb2 as pb
from workflows.vocabulary import CALIBRATION_FIELDS, MAX_CALIBRATION_REASON


async def _view(repo: ArchiveRepository, s: CalibrationSession) -> pb.Calibration:
    records = await repo.records(s.cycle_id, s.department_id, "", 100_000, 0)
    return calibration_pb(s, records, await repo.changes(s.id))


async def open_(deps: ArchiveDeps, request: pb.OpenCalibrationRequest) -> pb.Calibration:
    """The department's session for the cycle, created on first open (idempotent)."""
    actor = await deps.hr(request.actor_id)
    department_id, cycle_id = request.department_id.strip(), request.cycle_id.strip()
    if department_id not in {d.id for d in await deps.org.departments()}:
        raise InvalidArgument("unknown_department", "department not found")
    await deps.goals.cycle(cycle_id)
    try:
        async with deps.units() as uow:
            row = await uow.repo.session_of(department_id, cycle_id)
            if row is None:
                row = CalibrationSession(
                    id=new_id(),
                    department_id=department_id,
                    cycle_id=cycle_id,
                    guidance={},
                    created_by=actor.id,
                    created_at=utcnow(),
                )
                uow.repo.add(row)
                await uow.repo.flush()
                await uow.audit("calibration.open", CALIBRATION, row.id)
            view = await _view(uow.repo, row)
    except IntegrityError as exc:
        raise concurrent("calibration") from exc
    return view


async def get(deps: ArchiveDeps, request: pb.GetCalibrationRequest) -> pb.Calibration:
    await deps.hr(request.viewer_id)
    async with deps.reading() as repo:
        row = await repo.calibration(request.id)
        if row is None:
            raise calibration_not_found()
        return await _view(repo, row)


async def list_(
    deps: ArchiveDeps, request: pb.ListCalibrationsRequest
) -> pb.ListCalibrationsResponse:
    await deps.hr(request.viewer_id)
    async with deps.reading() as repo:
        rows = await repo.calibrations(request.cycle_id.strip())
        return pb.ListCalibrationsResponse(calibrations=[await _view(repo, r) for r in rows])


async def set_guidance(deps: ArchiveDeps, request: pb.SetGuidanceRequest) -> pb.Calibration:
    await deps.hr(request.actor_id)
    guidance = rules.checked_guidance(dict(request.shares))
    async with deps.units() as uow:
        row = await uow.repo.calibration(request.id, lock=True)
        if row is None:
            raise calibration_not_found()
        old = dict(row.guidance or {})
        row.guidance = guidance
        await uow.audit(
            "calibration.guidance",
            CALIBRATION,
            row.id,
            detail=f"guidance {_shares(old)} -> {_shares(guidance)}",
        )
        view = await _view(uow.repo, row)
    return view


def _shares(shares: dict[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in sorted(shares.items())) or "none"


async def calibrate(deps: ArchiveDeps, request: pb.CalibrateRequest) -> pb.Calibration:
    """Changes one record's final rating or potential; the reason is required."""
    actor = await deps.hr(request.actor_id)
    if request.field not in CALIBRATION_FIELDS:
        raise InvalidArgument("invalid_field", "field is final_rating or potential")
    if request.field == "final_rating":
        value = rules.checked_rating(request.value, "final_rating", allow_empty=True)
    else:
        value = rules.checked_potential(request.value)
    reason = checked_text(request.reason, "reason", MAX_CALIBRATION_REASON, multiline=True)
    async with deps.units() as uow:
        session = await uow.repo.calibration(request.id)
        if session is None:
            raise calibration_not_found()
        record = await uow.repo.record(request.employee_id, session.cycle_id, lock=True)
        if record is None or record.department_id != session.department_id:
            raise not_found()
        old = str(getattr(record, request.field))
        if old != value:
            before = record_pb(record)
            setattr(record, request.field, value)
            record.updated_at = utcnow()
            uow.repo.add(
                CalibrationChange(
                    id=new_id(),
                    session_id=session.id,
                    record_id=record.id,
                    employee_id=record.employee_id,
                    field=request.field,
                    old_value=old,
                    new_value=value,
                    reason=reason,
                    actor_id=actor.id,
                    created_at=utcnow(),
                )
            )
            await uow.repo.flush()
            # The detail is covered by the audit hash chain: field, old → new, and why.
            await uow.audit(
                "calibration.change",
                RECORD,
                record.id,
                before,
                record_pb(record),
                detail=f"{request.field} {old or '-'} -> {value or '-'}; reason: {reason}",
            )
        view = await _view(uow.repo, session)
    return view
