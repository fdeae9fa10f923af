"""Employees: create, change (profile, department, manager, roles, leaving), read the org."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.common.uow import UnitOfWork, Units
from services.identity import domain
from services.identity.handlers import reading
from services.identity.messages import EMPLOYEE_STATUS_NAME, employee_pb
from services.identity.models import Employee
from services.identity.reach_cache import ReachCache
from services.identity.repository import IdentityRepository
from stride.identity.v1 import identity_pb2 as pb

MAX_LOOKUP = 10_000


def _not_found() -> NotFound:
    return NotFound("employee_not_found", "employee not found")


def number_taken(number: str) -> AlreadyExists:
    return AlreadyExists(
        "employee_number_taken",
        f"employee number {number!r} is already in use (upper and lower case count as one)",
    )


def email_taken(email: str) -> AlreadyExists:
    return AlreadyExists(
        "email_taken",
        f"e-mail {email!r} belongs to another active person (upper and lower case count as one)",
    )


def _conflict(exc: IntegrityError, number: str, email: str | None) -> AlreadyExists:
    """Which uniqueness a concurrent write broke (the index names the column)."""
    return email_taken(email or "") if "email_key" in str(exc.orig) else number_taken(number)


async def employees_pb(repo: IdentityRepository, rows: Sequence[Employee]) -> list[pb.Employee]:
    """The messages of ``rows``, each marked whether they manage anyone (one query)."""
    managers = await repo.managers_among(r.id for r in rows)
    return [employee_pb(r, is_manager=r.id in managers) for r in rows]


async def _check_manager(repo: IdentityRepository, employee_id: str, manager_id: str) -> None:
    manager = await repo.get_employee(manager_id)
    if manager is None:
        raise InvalidArgument("unknown_manager", "manager not found")
    if manager.status != "active":
        raise InvalidArgument("inactive_manager", "the manager has left")
    chain = [m.id for m in await repo.manager_chain(manager_id)]
    domain.check_manager(employee_id, manager_id, chain)


def _profile_changes(request: pb.UpdateEmployeeRequest) -> dict[str, object]:
    """The cleaned profile fields the request sets (pure)."""
    changes: dict[str, object] = {}
    if request.HasField("name"):
        changes["name"] = domain.clean_name(request.name)
    if request.HasField("email"):
        changes["email"] = domain.clean_email(request.email)
    if request.HasField("mobile"):
        changes["mobile"] = domain.clean_mobile(request.mobile)
    if request.HasField("title"):
        changes["title"] = domain.clean_optional(request.title, "title", 200)
    if request.HasField("grade"):
        changes["grade"] = domain.clean_optional(request.grade, "grade", 32)
    if request.HasField("hire_date"):
        changes["hire_date"] = domain.clean_hire_date(request.hire_date)
    if request.HasField("locale"):
        changes["locale"] = domain.clean_locale(request.locale)
    if request.replace_roles:
        changes["roles"] = " ".join(domain.clean_roles(request.roles))
    return changes


async def record_employee_change(
    uow: UnitOfWork[Any], before: pb.Employee, after: pb.Employee, changed: list[str]
) -> None:
    """The event and audit entry of a changed employee: leaving is its own event."""
    meta = new_event_meta("identity")
    if "status" in changed and after.status == pb.EMPLOYEE_STATUS_LEFT:
        await uow.emit(pb.EmployeeDeactivated(meta=meta, employee=after))
    else:
        await uow.emit(pb.EmployeeUpdated(meta=meta, employee=after, changed_fields=changed))
    left = after.status == pb.EMPLOYEE_STATUS_LEFT
    action = "employee.deactivate" if left else "employee.update"
    await uow.audit(action, "employee", after.id, before, after)


class Employees:
    def __init__(self, units: Units[IdentityRepository], reaches: ReachCache | None = None) -> None:
        self.units = units
        self.reaches = reaches if reaches is not None else ReachCache()

    async def create(self, request: pb.CreateEmployeeRequest) -> pb.Employee:
        new = domain.new_employee(
            request.employee_number,
            request.name,
            request.email,
            request.department_id,
            request.manager_id,
            mobile=request.mobile,
            title=request.title,
            grade=request.grade,
            hire_date=request.hire_date,
            roles=request.roles,
            external_id=request.external_id,
            locale=request.locale,
        )
        employee_id = new_id()
        try:
            async with self.units() as uow:
                repo = uow.repo
                if await repo.get_department(new.department_id) is None:
                    raise InvalidArgument("unknown_department", "department not found")
                if new.manager_id is not None:
                    await _check_manager(repo, employee_id, new.manager_id)
                if await repo.employee_number_taken(new.employee_number):
                    raise number_taken(new.employee_number)
                if new.email is not None and await repo.email_taken(new.email):
                    raise email_taken(new.email)
                row = Employee(
                    id=employee_id,
                    employee_number=new.employee_number,
                    name=new.name,
                    email=new.email,
                    department_id=new.department_id,
                    manager_id=new.manager_id,
                    status="active",
                    mobile=new.mobile,
                    title=new.title,
                    grade=new.grade,
                    hire_date=new.hire_date,
                    roles=" ".join(new.roles),
                    external_id=new.external_id,
                    locale=new.locale,
                    created_at=utcnow(),
                )
                repo.add(row)
                await repo.flush()
                msg = employee_pb(row)
                await uow.emit(pb.EmployeeCreated(meta=new_event_meta("identity"), employee=msg))
                await uow.audit("employee.create", "employee", row.id, None, msg)
        except IntegrityError as exc:  # a concurrent request took the number or e-mail first
            raise _conflict(exc, new.employee_number, new.email) from exc
        return msg

    async def update(self, request: pb.UpdateEmployeeRequest) -> pb.Employee:
        async with self.units() as uow:
            repo = uow.repo
            row = await repo.get_employee(request.id)
            if row is None:
                raise _not_found()
            before = (await employees_pb(repo, [row]))[0]
            changes = _profile_changes(request)
            if request.HasField("department_id"):
                department_id = request.department_id.strip()
                if await repo.get_department(department_id) is None:
                    raise InvalidArgument("unknown_department", "department not found")
                changes["department_id"] = department_id
            if request.HasField("manager_id"):
                manager_id = request.manager_id.strip() or None
                if manager_id is not None and manager_id != row.manager_id:
                    await _check_manager(repo, row.id, manager_id)
                changes["manager_id"] = manager_id
            if request.HasField("status"):
                if request.status not in EMPLOYEE_STATUS_NAME:
                    raise InvalidArgument("invalid_status", "status must be active or left")
                changes["status"] = EMPLOYEE_STATUS_NAME[request.status]
            changed = [k for k, v in changes.items() if getattr(row, k) != v]
            email = changes.get("email", row.email)
            active = changes.get("status", row.status) == "active"
            if email and active and {"email", "status"} & set(changed):
                if await repo.email_taken(str(email), except_id=row.id):
                    raise email_taken(str(email))
            for key in changed:
                setattr(row, key, changes[key])
            try:
                await repo.flush()
            except IntegrityError as exc:  # a concurrent request took the e-mail first
                raise _conflict(exc, row.employee_number, row.email) from exc
            msg = (await employees_pb(repo, [row]))[0]
            if changed:
                await record_employee_change(uow, before, msg, changed)
        return msg

    async def get(self, employee_id: str) -> pb.Employee:
        async with reading(self.units) as repo:
            row = await repo.get_employee(employee_id)
            if row is None:
                raise _not_found()
            return (await employees_pb(repo, [row]))[0]

    async def page(
        self, limit: int, offset: int, department_id: str, manager_id: str
    ) -> list[pb.Employee]:
        async with reading(self.units) as repo:
            rows = await repo.list_employees(limit, offset, department_id, manager_id)
            return await employees_pb(repo, rows)

    async def reports(
        self, employee_id: str, *, transitive: bool, limit: int, offset: int
    ) -> list[pb.Employee]:
        async with reading(self.units) as repo:
            if await repo.get_employee(employee_id) is None:
                raise _not_found()
            rows = await repo.reports(
                employee_id, transitive=transitive, limit=limit, offset=offset
            )
            return await employees_pb(repo, rows)

    async def reach(self, employee_id: str, *, transitive: bool) -> pb.OrganisationReach:
        """The employee's organisation, from the cache while the org tree's version is the
        one it was computed at (the version is read first: see reach_cache)."""
        async with reading(self.units) as repo:
            version = await repo.org_version()
            found = self.reaches.get(employee_id, transitive, version)
            if found is None:
                # An employee inserted or deleted changes the version: a cached answer
                # stands for an employee who exists.
                if await repo.get_employee(employee_id) is None:
                    raise _not_found()
                found = await repo.reach(employee_id, transitive=transitive)
                self.reaches.put(employee_id, transitive, version, found)
        return pb.OrganisationReach(
            report_department_ids=found.report_department_ids,
            report_ids=found.report_ids,
            headed_department_ids=found.headed_department_ids,
            whole_organisation=found.whole_organisation,
        )

    async def manager_chain(self, employee_id: str) -> list[pb.Employee]:
        async with reading(self.units) as repo:
            if await repo.get_employee(employee_id) is None:
                raise _not_found()
            chain = await repo.manager_chain(employee_id)
            return [employee_pb(m, is_manager=True) for m in chain]

    async def lookup(self, employee_numbers: Sequence[str]) -> list[pb.Employee]:
        if len(employee_numbers) > MAX_LOOKUP:
            raise InvalidArgument("too_many_numbers", "look up at most 10,000 numbers at once")
        async with reading(self.units) as repo:
            return await employees_pb(repo, await repo.by_numbers(employee_numbers))
