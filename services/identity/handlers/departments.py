"""Departments: create, change (rename, move, head, enable), read."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.common.uow import Units
from services.identity import domain
from services.identity.handlers import reading
from services.identity.messages import department_pb
from services.identity.models import Department
from services.identity.repository import IdentityRepository
from stride.identity.v1 import identity_pb2 as pb


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists(
        "department_name_taken", f"a department named {name!r} already exists here"
    )


def _not_found() -> NotFound:
    return NotFound("department_not_found", "department not found")


async def check_head(repo: IdentityRepository, head_id: str | None) -> None:
    if head_id is None:
        return
    head = await repo.get_employee(head_id)
    if head is None or head.status != "active":
        raise InvalidArgument("unknown_head", "department head not found among active staff")


async def _check_parent(repo: IdentityRepository, parent_id: str) -> None:
    if await repo.get_department(parent_id) is None:
        raise InvalidArgument("unknown_parent_department", "parent department not found")


class Departments:
    def __init__(self, units: Units[IdentityRepository]) -> None:
        self.units = units

    async def create(self, request: pb.CreateDepartmentRequest) -> pb.Department:
        name = domain.clean_name(request.name)
        parent_id = request.parent_id.strip() or None
        head_id = request.head_id.strip() or None
        try:
            async with self.units() as uow:
                repo = uow.repo
                if parent_id:
                    await _check_parent(repo, parent_id)
                await check_head(repo, head_id)
                if await repo.department_name_taken(name, parent_id):
                    raise _taken(name)
                row = Department(
                    id=new_id(),
                    name=name,
                    parent_id=parent_id,
                    head_id=head_id,
                    stride_enabled=(
                        request.stride_enabled if request.HasField("stride_enabled") else True
                    ),
                    external_id=request.external_id.strip() or None,
                    created_at=utcnow(),
                )
                repo.add(row)
                await repo.flush()
                msg = department_pb(row)
                await uow.emit(
                    pb.DepartmentCreated(meta=new_event_meta("identity"), department=msg)
                )
                await uow.audit("department.create", "department", row.id, None, msg)
        except IntegrityError as exc:  # a concurrent request took the name first
            raise _taken(name) from exc
        return msg

    async def update(self, request: pb.UpdateDepartmentRequest) -> pb.Department:
        async with self.units() as uow:
            repo = uow.repo
            row = await repo.get_department(request.id)
            if row is None:
                raise _not_found()
            changed: list[str] = []
            before = department_pb(row)
            if request.HasField("parent_id"):
                parent_id = request.parent_id.strip() or None
                if parent_id is not None:
                    await _check_parent(repo, parent_id)
                    if parent_id == row.id or row.id in await repo.department_ancestors(parent_id):
                        raise InvalidArgument(
                            "department_cycle", "a department cannot sit below itself"
                        )
                if parent_id != row.parent_id:
                    row.parent_id = parent_id
                    changed.append("parent_id")
            if request.HasField("name"):
                name = domain.clean_name(request.name)
                if name != row.name:
                    row.name = name
                    changed.append("name")
            if "name" in changed or "parent_id" in changed:
                if await repo.department_name_taken(row.name, row.parent_id, except_id=row.id):
                    raise AlreadyExists(
                        "department_name_taken", f"a department named {row.name!r} exists here"
                    )
            if request.HasField("head_id"):
                head_id = request.head_id.strip() or None
                await check_head(repo, head_id)
                if head_id != row.head_id:
                    row.head_id = head_id
                    changed.append("head_id")
            if request.HasField("stride_enabled") and request.stride_enabled != row.stride_enabled:
                row.stride_enabled = request.stride_enabled
                changed.append("stride_enabled")
            msg = department_pb(row)
            if changed:
                await uow.emit(
                    pb.DepartmentUpdated(
                        meta=new_event_meta("identity"), department=msg, changed_fields=changed
                    )
                )
                await uow.audit("department.update", "department", row.id, before, msg)
        return msg

    async def get(self, department_id: str) -> pb.Department:
        async with reading(self.units) as repo:
            row = await repo.get_department(department_id)
        if row is None:
            raise _not_found()
        return department_pb(row)

    async def page(self, limit: int, offset: int, root_id: str = "") -> list[pb.Department]:
        async with reading(self.units) as repo:
            rows = await repo.list_departments(limit, offset, root_id)
        return [department_pb(r) for r in rows]
