"""Key results: add to a draft objective, read, list, update, self-score."""

from __future__ import annotations

from typing import Literal

from services.common.models import utcnow
from services.goals import domain
from services.goals.evaluation import apply_spec, new_key_result, rescore
from services.goals.handlers.shared import (
    Deps,
    cycle_of,
    key_result_changed,
    key_result_of,
    key_results_pb,
    next_page,
    objective_of,
    page,
)
from services.goals.messages import (
    DATA_SOURCE,
    RISK_STATUS,
    from_enum,
    key_result_pb,
    spec_from,
    spec_of,
)
from services.goals.repository import GoalsRepository
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import MAX_NOTE

# Fields of UpdateKeyResultRequest copied as they are when present.
_PLAIN_FIELDS: tuple[
    Literal[
        "title", "baseline", "target", "unit", "weight", "confidence", "lower_bound", "upper_bound"
    ],
    ...,
] = (
    "title",
    "baseline",
    "target",
    "unit",
    "weight",
    "confidence",
    "lower_bound",
    "upper_bound",
)


async def create(deps: Deps, request: pb.CreateKeyResultRequest) -> pb.KeyResult:
    spec = spec_from(request)
    async with deps.sessions() as session:
        objective = await objective_of(GoalsRepository(session), request.objective_id)
    owner = await deps.identity.employee(request.owner_id.strip() or objective.owner_id)
    async with deps.units() as uow:
        objective = await objective_of(uow.repo, objective.id, lock=True)
        cycle = await cycle_of(uow.repo, objective.cycle_id)
        domain.ensure_open(cycle.status)
        domain.ensure_draft(objective.status)
        valid = domain.key_result_spec(spec, cycle.start_date, cycle.end_date)
        row = new_key_result(objective, owner.id, owner.department_id, valid)
        uow.repo.add(row)
        objective.updated_at = utcnow()
        message = key_result_pb(row, objective.status)
        await key_result_changed(uow, "key_result.create", "created", message)
    return message


async def get(deps: Deps, request: pb.GetKeyResultRequest) -> pb.KeyResult:
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        return (await key_results_pb(repo, [await key_result_of(repo, request.id)]))[0]


async def list_(deps: Deps, request: pb.ListKeyResultsRequest) -> pb.ListKeyResultsResponse:
    limit, offset = page(request.page)
    risk_status = from_enum(RISK_STATUS, request.risk_status, "risk_status")
    # owner_id and owner_ids together: key results of any of them (None: of anybody).
    owners = domain.list_owners([request.owner_id, *request.owner_ids]) or None
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        rows = await repo.key_results(
            limit,
            offset,
            request.objective_id,
            cycle_id=request.cycle_id,
            owner_ids=owners,
            department_id=request.department_id,
            risk_status=risk_status,
        )
        key_results = await key_results_pb(repo, rows)
    return pb.ListKeyResultsResponse(
        key_results=key_results, page=next_page(offset, limit, len(rows))
    )


def _changes(request: pb.UpdateKeyResultRequest, data_source: str) -> dict[str, object]:
    """The spec fields an update request sets."""
    changes: dict[str, object] = {
        f: getattr(request, f) for f in _PLAIN_FIELDS if request.HasField(f)
    }
    if request.HasField("data_source"):
        changes["data_source"] = from_enum(
            DATA_SOURCE, request.data_source, "data_source", data_source
        )
    if request.set_milestones:
        changes["milestones"] = tuple(request.milestones)
    if request.set_plan:
        changes["plan"] = tuple((p.date, p.progress) for p in request.plan)
    return changes


async def update(deps: Deps, request: pb.UpdateKeyResultRequest) -> pb.KeyResult:
    owner = None
    if request.HasField("owner_id"):
        owner = await deps.identity.employee(request.owner_id.strip())
    async with deps.units() as uow:
        repo = uow.repo
        row = await key_result_of(repo, request.id, lock=True)
        objective = await objective_of(repo, row.objective_id)
        cycle = await cycle_of(repo, row.cycle_id)
        domain.ensure_open(cycle.status)
        domain.ensure_draft(objective.status)
        before = key_result_pb(row, objective.status)
        changes = _changes(request, row.data_source)
        spec = domain.spec_with(spec_of(row), **changes)
        if row.direction != "stay_within" and ("baseline" in changes or "target" in changes):
            # The direction follows the new baseline and target, as on creation.
            spec = domain.spec_with(spec, direction="")
        valid = domain.key_result_spec(spec, cycle.start_date, cycle.end_date)
        apply_spec(row, valid)
        if owner is not None:
            row.owner_id, row.department_id = owner.id, owner.department_id
        checks = [(c.week, c.value) for c in await repo.check_ins(row.id)]
        rescore(row, cycle, checks, await deps.rules.current(repo))
        row.updated_at = utcnow()
        message = key_result_pb(row, objective.status)
        await key_result_changed(uow, "key_result.update", "updated", message, before)
    return message


async def set_self_score(deps: Deps, request: pb.SetSelfScoreRequest) -> pb.KeyResult:
    note = domain.clean_text(request.note, "note", MAX_NOTE, required=False, multiline=True)
    async with deps.units() as uow:
        row = await key_result_of(uow.repo, request.key_result_id, lock=True)
        cycle = await cycle_of(uow.repo, row.cycle_id)
        domain.ensure_open(cycle.status)
        value = domain.check_self_score(cycle.phase, request.self_score)
        objective = await objective_of(uow.repo, row.objective_id)
        before = key_result_pb(row, objective.status)
        row.self_score, row.self_score_note = value, note
        row.updated_at = utcnow()
        message = key_result_pb(row, objective.status)
        await key_result_changed(uow, "key_result.self_score", "updated", message, before)
    return message
