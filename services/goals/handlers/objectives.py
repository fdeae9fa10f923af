"""Objectives: create (with key results), read, list, update, re-weight, copy into a cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.goals import domain
from services.goals.evaluation import new_key_result
from services.goals.handlers.shared import (
    Deps,
    by_objective,
    cycle_of,
    draft_of,
    key_result_changed,
    next_page,
    objective_changed,
    objective_of,
    objectives_pb,
    page,
)
from services.goals.messages import (
    LEVEL,
    OBJECTIVE_STATUS,
    VISIBILITY,
    from_enum,
    key_result_pb,
    objective_pb,
    spec_from,
    spec_of,
)
from services.goals.models import KeyResult, Objective
from services.goals.repository import GoalsRepository
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import MAX_NOTE, MAX_PROJECT, MAX_TITLE, ObjectiveStatus


async def _departments(deps: Deps, owner_ids: Sequence[str]) -> dict[str, str]:
    """employee id -> department id of each (active) owner, via the identity service."""
    found: dict[str, str] = {}
    for owner_id in owner_ids:
        if owner_id not in found:
            found[owner_id] = (await deps.identity.employee(owner_id)).department_id
    return found


async def create(deps: Deps, request: pb.CreateObjectiveRequest) -> pb.Objective:
    title = domain.clean_text(request.title, "title", MAX_TITLE)
    description = domain.clean_text(
        request.description, "description", MAX_NOTE, required=False, multiline=True
    )
    project = domain.clean_text(request.project, "project", MAX_PROJECT, required=False)
    level = from_enum(LEVEL, request.level, "level", "individual")
    visibility = from_enum(VISIBILITY, request.visibility, "visibility", "restricted")
    specs = [spec_from(k) for k in request.key_results]
    if specs:
        domain.check_weights_total([s.weight for s in specs])
    owner = await deps.identity.employee(request.owner_id.strip())
    department_id = request.department_id.strip() or owner.department_id
    if department_id != owner.department_id:
        await deps.identity.department(department_id)
    kr_owners = await _departments(
        deps, [k.owner_id.strip() or owner.id for k in request.key_results]
    )
    async with deps.units() as uow:
        repo = uow.repo
        cycle = await repo.cycle(request.cycle_id)
        if cycle is None:
            raise DomainError("unknown_cycle", "cycle not found")
        domain.ensure_open(cycle.status)
        parent_id = request.parent_id.strip() or None
        if parent_id and await repo.objective(parent_id) is None:
            raise InvalidArgument("unknown_parent", "parent objective not found")
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
            stretch=request.stretch,
            start_date=start,
            end_date=end,
            created_at=now,
            updated_at=now,
        )
        repo.add(row)
        await uow.session.flush()  # the objective before its key results (foreign key)
        krs = []
        for request_kr, v in zip(request.key_results, valid, strict=True):
            kr_owner = request_kr.owner_id.strip() or owner.id
            kr = new_key_result(row, kr_owner, kr_owners[kr_owner], v)
            repo.add(kr)
            krs.append(kr)
        message = objective_pb(row, krs)
        await objective_changed(uow, "objective.create", "created", message)
        for kr in krs:
            kr_message = key_result_pb(kr, row.status)
            await key_result_changed(uow, "key_result.create", "created", kr_message)
    return message


async def get(deps: Deps, request: pb.GetObjectiveRequest) -> pb.Objective:
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        return (await objectives_pb(repo, [await objective_of(repo, request.id)]))[0]


async def list_(deps: Deps, request: pb.ListObjectivesRequest) -> pb.ListObjectivesResponse:
    limit, offset = page(request.page)
    async with deps.sessions() as session:
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
        objectives = await objectives_pb(repo, rows)
    return pb.ListObjectivesResponse(
        objectives=objectives, page=next_page(offset, limit, len(rows))
    )


async def update(deps: Deps, request: pb.UpdateObjectiveRequest) -> pb.Objective:
    async with deps.units() as uow:
        repo = uow.repo
        # Only the objective's own fields change: its key results are read once.
        row, krs = await draft_of(uow, request.id)
        before = objective_pb(row, krs)
        if request.HasField("title"):
            row.title = domain.clean_text(request.title, "title", MAX_TITLE)
        if request.HasField("description"):
            row.description = domain.clean_text(
                request.description, "description", MAX_NOTE, required=False, multiline=True
            )
        if request.HasField("project"):
            row.project = domain.clean_text(request.project, "project", MAX_PROJECT, required=False)
        if request.HasField("visibility"):
            row.visibility = from_enum(VISIBILITY, request.visibility, "visibility", row.visibility)
        if request.HasField("level"):
            row.level = from_enum(LEVEL, request.level, "level", row.level)
        if request.HasField("stretch"):
            row.stretch = request.stretch
        if request.HasField("parent_id"):
            parent_id = request.parent_id.strip()
            if parent_id:
                if await repo.objective(parent_id) is None:
                    raise InvalidArgument("unknown_parent", "parent objective not found")
                domain.check_parent(row.id, parent_id, await repo.ancestors(parent_id))
            row.parent_id = parent_id or None
        row.updated_at = utcnow()
        message = objective_pb(row, krs)
        await objective_changed(uow, "objective.update", "updated", message, before)
    return message


async def set_weights(deps: Deps, request: pb.SetKeyResultWeightsRequest) -> pb.Objective:
    async with deps.units() as uow:
        objective, krs = await draft_of(uow, request.objective_id)
        before = objective_pb(objective, krs)
        known = {k.id for k in krs}
        unknown = sorted(set(request.weights) - known)
        if unknown:
            raise InvalidArgument(
                "unknown_key_result", f"key result {unknown[0]} is not part of the objective"
            )
        missing = sorted(known - set(request.weights))
        if missing:
            raise InvalidArgument(
                "weights_incomplete", f"no weight given for key result {missing[0]}"
            )
        domain.check_weights_total(request.weights.values(), objective.title)
        now = utcnow()
        for kr in krs:
            kr.weight = request.weights[kr.id]
            kr.updated_at = now
        objective.updated_at = now
        message = objective_pb(objective, krs)
        await objective_changed(uow, "objective.weights", "updated", message, before)
    return message


async def delete(deps: Deps, request: pb.DeleteObjectiveRequest) -> pb.Objective:
    async with deps.units() as uow:
        repo = uow.repo
        row = await objective_of(repo, request.id, lock=True)
        domain.check_deletable(row.status, await repo.children_count(row.id))
        krs = await repo.key_results(None, objective_id=row.id)
        # Locked like a check-in locks them: none is recorded on a key result being deleted.
        await repo.key_results_by_ids([k.id for k in krs], lock=True)
        message = objective_pb(row, krs)
        kr_messages = [key_result_pb(kr, row.status) for kr in krs]
        for kr_message in kr_messages:
            await uow.audit("key_result.delete", "key_result", kr_message.id, kr_message, None)
        await uow.audit("objective.delete", "objective", row.id, message, None)
        await uow.emit(
            pb.ObjectiveDeleted(
                meta=new_event_meta("goals"), objective=message, key_results=kr_messages
            )
        )
        await repo.delete_objective(row.id, [k.id for k in krs])
    return message


async def _chosen(
    repo: GoalsRepository, request: pb.CopyObjectivesRequest, source_id: str, owner_id: str
) -> list[Objective]:
    """The objectives a copy request names (default: the owner's in the source cycle)."""
    if request.objective_ids:
        if len(set(request.objective_ids)) != len(request.objective_ids):
            raise InvalidArgument("duplicate_objective", "an objective is named twice")
        found = await repo.objectives_by_ids(request.objective_ids)
        chosen = []
        for oid in request.objective_ids:
            if oid not in found:
                raise NotFound("objective_not_found", f"objective {oid} not found")
            chosen.append(found[oid])
    else:
        chosen = await repo.objectives(None, cycle_id=source_id, owner_id=owner_id)
    if not chosen:
        raise FailedPrecondition("nothing_to_copy", "there are no objectives to copy")
    for o in chosen:
        if o.cycle_id != source_id:
            raise InvalidArgument(
                "objective_not_in_cycle", f"objective {o.id} is not in the source cycle"
            )
        if o.owner_id != owner_id:
            raise domain.permission_denied(
                "not_owner", f"objective {o.id} is owned by someone else"
            )
    return chosen


async def copy(deps: Deps, request: pb.CopyObjectivesRequest) -> pb.CopyObjectivesResponse:
    owner_id = request.owner_id.strip()
    if not owner_id:
        raise InvalidArgument("owner_required", "owner_id must be given")
    async with deps.units() as uow:
        repo = uow.repo
        source = await cycle_of(repo, request.source_cycle_id)
        target = await cycle_of(repo, request.target_cycle_id)
        domain.ensure_open(target.status)
        if source.id == target.id:
            raise InvalidArgument("same_cycle", "source and target cycle are the same")
        chosen = await _chosen(repo, request, source.id, owner_id)
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
            copy_row = Objective(
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
                stretch=o.stretch,
                start_date=target.start_date,
                end_date=target.end_date,
                created_at=now,
                updated_at=now,
            )
            repo.add(copy_row)
            copies.append(copy_row)
        await uow.session.flush()  # the objectives before their key results (foreign key)
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
        grouped = by_objective(kr_copies)
        objectives = [objective_pb(c, grouped.get(c.id, [])) for c in copies]
        key_results = [key_result_pb(k, ObjectiveStatus.DRAFT.value) for k in kr_copies]
        for message in objectives:
            await objective_changed(uow, "objective.copy", "created", message)
        for kr_message in key_results:
            await key_result_changed(uow, "key_result.copy", "created", kr_message)
    return pb.CopyObjectivesResponse(objectives=objectives, key_results=key_results)
