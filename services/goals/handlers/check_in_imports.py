"""Check-in imports: past weeks' check-ins of a cycle from a CSV/XLSX file, all or nothing.

Every row goes through the single check-in's path (:func:`check_ins._record`: the same rules,
rows, versions, events and audit entries) inside one unit of work. Rows are recorded week by
week (oldest first), so each check-in is assessed with the weeks before it. When any row is
refused, or for a dry run, the unit of work is rolled back: the answer lists every row's
error (with its row number in the file) and nothing is written.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import IntegrityError

from services.common import metrics
from services.common.errors import DomainError
from services.goals import domain
from services.goals.handlers.check_ins import _concurrent_check_in, _record
from services.goals.handlers.shared import Deps, cycle_of
from stride.goals.v1 import goals_pb2 as pb


class _Refused(Exception):
    """Rolls the unit of work back (a dry run, or rows with errors) with the answer."""

    def __init__(self, report: pb.ImportCheckInsResponse) -> None:
        super().__init__("import not applied")
        self.report = report


def _report(
    request: pb.ImportCheckInsRequest,
    rows: int,
    resolved: list[tuple[domain.ImportRow, str]],
    errors: list[domain.RowError],
) -> pb.ImportCheckInsResponse:
    return pb.ImportCheckInsResponse(
        dry_run=request.dry_run,
        rows=rows,
        check_ins=0 if errors else len(resolved),
        key_results=len({kr_id for _row, kr_id in resolved}),
        weeks=sorted({row.week for row, _kr in resolved}),
        errors=[
            pb.ImportRowError(row=e.row, code=e.code, message=e.message)
            for e in sorted(errors, key=lambda e: (e.row, e.code))
        ],
    )


async def import_(deps: Deps, request: pb.ImportCheckInsRequest) -> pb.ImportCheckInsResponse:
    # Reading a workbook takes a while: off the event loop, like the org import's.
    rows, errors = await asyncio.to_thread(
        domain.read_rows, request.content, request.format == pb.IMPORT_FORMAT_XLSX
    )
    read = len(rows) + len(errors)
    employees = await deps.identity.employee_ids(
        sorted({r.employee_number for r in rows if r.employee_number})
    )
    recorded_by = request.recorded_by.strip()
    try:
        async with deps.units() as uow:
            cycle = await cycle_of(uow.repo, request.cycle_id, lock=True)
            domain.ensure_open(cycle.status)
            refs = [
                domain.KeyResultRef(k.id, k.owner_id, k.title)
                for k in await uow.repo.key_results(None, cycle_id=cycle.id)
            ]
            resolved, unresolved = domain.resolve_rows(rows, refs, employees)
            errors += unresolved
            targets = await uow.repo.check_in_targets(sorted({kr_id for _r, kr_id in resolved}))
            siblings: dict[str, dict[str, tuple[int, float]]] = {}
            rules = await deps.rules.current(uow.repo)
            for row, kr_id in sorted(resolved, key=lambda r: (r[0].week, r[0].row)):
                target = targets[kr_id]
                entry = pb.RecordCheckInRequest(
                    key_result_id=kr_id,
                    value=row.value,
                    confidence=target[0].confidence if row.confidence is None else row.confidence,
                    note=row.note,
                )
                try:
                    await _record(uow, rules, target, entry, row.week, recorded_by, siblings)
                except DomainError as exc:  # refused before anything of the row was written
                    errors.append(domain.RowError(row.row, exc.code, exc.message))
            report = _report(request, read, resolved, errors)
            if errors or request.dry_run:
                raise _Refused(report)
            await uow.audit("checkin.import", "cycle", cycle.id, None, report)
    except _Refused as refused:
        return refused.report
    except IntegrityError as exc:  # a check-in of the same week saved at the same time
        raise _concurrent_check_in() from exc
    metrics.check_in_recorded(report.check_ins)
    return report
