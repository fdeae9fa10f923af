"""Blockers addressed to a department: written with the check-in that names them, listed and
resolved by that department.

A check-in's blockers travel on the check-in (its ``blockers`` JSON, the CheckInRecorded
event); each one that names a department also gets a ``blockers`` row, so the department can
list what waits for it and mark it resolved. The row is written in the check-in's own
transaction by :func:`record_for_check_in`, which the check-in handler calls only when the
check-in has blockers (a check-in without any costs no extra statement).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from services.common.errors import InvalidArgument, NotFound
from services.common.models import utcnow
from services.common.outbox import new_event_meta
from services.goals import domain
from services.goals.handlers.shared import Deps, Uow, next_page, page
from services.goals.messages import department_blocker_pb
from services.goals.models import BLOCKERS, CheckIn, KeyResult
from services.goals.repository import GoalsRepository
from stride.goals.v1 import goals_pb2 as pb


async def record_for_check_in(
    uow: Uow, check_in: CheckIn, kr: KeyResult, cycle_id: str, blockers: Any
) -> list[dict[str, str]]:
    """Write a row for each of ``blockers`` (``(text, department_id)`` pairs) that names a
    department and has none yet; return the check-in's blockers JSON with their ids."""
    out: list[dict[str, str]] = []
    rows: list[dict[str, Any]] = []
    for text, department_id in blockers:
        if not department_id:
            out.append({"text": text, "department_id": ""})
            continue
        blocker_id = domain.blocker_id(check_in.id, department_id, text)
        out.append({"text": text, "department_id": department_id, "id": blocker_id})
        rows.append(
            {
                "id": blocker_id,
                "department_id": department_id,
                "text": text,
                "key_result_id": kr.id,
                "check_in_id": check_in.id,
                "week": check_in.week,
                "owner_id": kr.owner_id,
                "from_department_id": kr.department_id,
                "cycle_id": cycle_id,
                "created_at": utcnow(),
                "resolved_by": "",
            }
        )
    if rows:
        known = await uow.repo.existing_blocker_ids([r["id"] for r in rows])
        new = list({r["id"]: r for r in rows if r["id"] not in known}.values())
        if new:
            await uow.session.execute(insert(BLOCKERS), new)
    return out


def _department(request_department: str) -> str:
    department_id = request_department.strip()
    if not department_id:
        raise InvalidArgument("department_required", "department_id must be given")
    return department_id


async def list_(deps: Deps, request: pb.ListBlockersRequest) -> pb.ListBlockersResponse:
    department_id = _department(request.department_id)
    limit, offset = page(request.page)
    async with deps.sessions() as session:
        rows = await GoalsRepository(session).blockers(
            department_id, request.include_resolved, limit, offset
        )
    return pb.ListBlockersResponse(
        blockers=[department_blocker_pb(r) for r in rows],
        page=next_page(offset, limit, len(rows)),
    )


async def resolve(deps: Deps, request: pb.ResolveBlockerRequest) -> pb.DepartmentBlocker:
    """Mark a department's blocker resolved; resolving it again changes nothing."""
    department_id = _department(request.department_id)
    async with deps.units() as uow:
        row = await uow.repo.blocker(request.blocker_id.strip(), lock=True)
        if row is None or row.department_id != department_id:
            raise NotFound("blocker_not_found", "blocker not found")
        before = department_blocker_pb(row)
        if row.resolved_at is not None:
            return before
        row.resolved_at = utcnow()
        row.resolved_by = request.resolved_by.strip()[:80]
        message = department_blocker_pb(row)
        await uow.emit(pb.BlockerResolved(meta=new_event_meta("goals"), blocker=message))
        await uow.audit("blocker.resolve", "blocker", row.id, before, message)
    return message
