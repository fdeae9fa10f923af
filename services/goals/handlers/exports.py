"""HR's exports of a cycle (objectives, key results, scores per person, check-ins), a page at
a time; the gateway streams them as CSV or XLSX. The first page is audited (which export,
which filter, how many rows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.common.errors import InvalidArgument
from services.goals.evaluation import score_board
from services.goals.handlers.shared import Deps, cycle_of, next_page, page
from services.goals.models import CheckIn, KeyResult, Objective
from stride.goals.v1 import goals_pb2 as pb

COLUMNS: dict[str, tuple[str, ...]] = {
    "objectives": (
        "objective_id", "cycle_id", "department_id", "owner_id", "title", "level", "status",
        "visibility", "parent_id", "stretch", "start_date", "end_date",
    ),
    "key_results": (
        "key_result_id", "objective_id", "cycle_id", "department_id", "owner_id", "title",
        "kind", "direction", "unit", "baseline", "target", "current_value", "weight", "score",
        "self_score", "risk_status",
    ),
    "scores": ("employee_id", "score", "key_result_count", "self_score"),
    "check_ins": (
        "key_result_id", "department_id", "owner_id", "week", "value", "confidence",
        "risk_status", "score", "note", "recorded_at",
    ),
}  # fmt: skip
FORMATS = ("csv", "xlsx")


def _cell(value: Any) -> pb.ExportCell:
    if value is None:
        return pb.ExportCell(text="")
    if isinstance(value, bool):
        return pb.ExportCell(text="yes" if value else "no")
    if isinstance(value, int | float):
        return pb.ExportCell(number=float(value))
    return pb.ExportCell(text=value if isinstance(value, str) else value.isoformat())


def _row(values: Sequence[Any]) -> pb.ExportRow:
    return pb.ExportRow(cells=[_cell(v) for v in values])


def _objective(o: Objective) -> list[Any]:
    return [
        o.id, o.cycle_id, o.department_id, o.owner_id, o.title, o.level, o.status, o.visibility,
        o.parent_id or "", o.stretch, o.start_date, o.end_date,
    ]  # fmt: skip


def _key_result(k: KeyResult) -> list[Any]:
    return [
        k.id, k.objective_id, k.cycle_id, k.department_id, k.owner_id, k.title, k.kind,
        k.direction, k.unit, k.baseline, k.target, k.current_value, k.weight, k.score,
        k.self_score, k.risk_status,
    ]  # fmt: skip


def _check_in(c: CheckIn, k: KeyResult) -> list[Any]:
    return [
        k.id, k.department_id, k.owner_id, c.week, c.value, c.confidence, c.risk_status, c.score,
        c.note, c.recorded_at,
    ]  # fmt: skip


async def export(deps: Deps, request: pb.ExportGoalsRequest) -> pb.ExportPage:
    kind = request.kind.strip()
    if kind not in COLUMNS:
        raise InvalidArgument("invalid_export", f"export one of: {', '.join(COLUMNS)}")
    if request.format not in FORMATS:
        raise InvalidArgument("invalid_format", "format is csv or xlsx")
    departments = sorted({d.strip() for d in request.department_ids if d.strip()})
    limit, offset = page(request.page)
    async with deps.units() as uow:
        repo = uow.repo
        cycle = await cycle_of(repo, request.cycle_id)
        if kind == "scores":
            objectives = await repo.objectives(None, cycle_id=cycle.id)
            krs = await repo.key_results(None, cycle_id=cycle.id)
            board, _ = score_board(cycle, objectives, krs)
            home = {k.owner_id: k.department_id for k in krs}
            people = [
                p for p in board.people if not departments or home.get(p.employee_id) in departments
            ]
            total = len(people)
            rows = [
                _row([p.employee_id, p.score, p.key_result_count, p.self_score])
                for p in people[offset : offset + limit]
            ]
        else:
            total, found = await repo.export_rows(kind, cycle.id, departments, limit, offset)
            if kind == "objectives":
                rows = [_row(_objective(o)) for o in found]
            elif kind == "key_results":
                rows = [_row(_key_result(k)) for k in found]
            else:
                rows = [_row(_check_in(c, k)) for c, k in found]
        if not request.page.page_token:
            await uow.audit(
                "export",
                "cycle",
                cycle.id,
                detail=(
                    f"export={kind} format={request.format} "
                    f"department={request.department_id.strip() or '*'} "
                    f"departments={len(departments) or '*'} rows={total}"
                ),
            )
    return pb.ExportPage(
        columns=COLUMNS[kind],
        rows=rows,
        total=total,
        page=next_page(offset, limit, len(rows)),
    )
