"""Identity persistence (SQLAlchemy async)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.common.pilot import PilotDepartment, enabled_departments
from services.identity import org_version  # also installs the tree-version listeners
from services.identity.domain import login_key
from services.identity.models import Department, Employee


def _subtree(top: Select[Any]) -> Any:
    """The ids of the departments ``top`` selects and of every department below them: a
    recursive CTE (UNION, so a loop in bad data ends)."""
    tree = top.cte("subtree", recursive=True)
    child = aliased(Department)
    return tree.union(select(child.id).where(child.parent_id == tree.c.id))


@dataclass(frozen=True)
class OrganisationReach:
    """Who is in an employee's organisation: ``report_department_ids``, departments whose
    every active member is the employee or one of their reports; ``report_ids``, the other
    active reports; ``headed_department_ids``, the departments the employee heads and every
    department below them; ``whole_organisation``, whether those departments are every
    department there is (whoever heads the root: ask for all departments, not thousands)."""

    report_department_ids: list[str]
    report_ids: list[str]
    headed_department_ids: list[str]
    whole_organisation: bool = False


# Deeper than any real organisation; stops a loop in bad data from running away.
MAX_CHAIN = 64


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_department(self, department_id: str) -> Department | None:
        return await self.session.get(Department, department_id)

    async def department_name_taken(
        self, name: str, parent_id: str | None, except_id: str | None = None
    ) -> bool:
        query = select(Department.id).where(Department.name == name)
        query = query.where(
            Department.parent_id.is_(None)
            if parent_id is None
            else Department.parent_id == parent_id
        )
        if except_id is not None:
            query = query.where(Department.id != except_id)
        return (await self.session.scalar(query.limit(1))) is not None

    async def department_external_taken(self, external_id: str, except_id: str) -> bool:
        """Whether another department has this source key."""
        query = select(Department.id).where(
            Department.external_id == external_id, Department.id != except_id
        )
        return (await self.session.scalar(query.limit(1))) is not None

    async def department_names(self, ids: Iterable[str]) -> dict[str, str]:
        query = select(Department.id, Department.name).where(Department.id.in_(set(ids)))
        return {d.id: d.name for d in (await self.session.execute(query)).all()}

    async def department_ancestors(self, department_id: str) -> list[str]:
        """Ids above a department (parent first), for loop checks."""
        up = (
            select(Department.parent_id.label("id"), Department.id.label("child"))
            .where(Department.id == department_id)
            .cte("up", recursive=True)
        )
        parent = aliased(Department)
        up = up.union(select(parent.parent_id, parent.id).where(parent.id == up.c.id))
        rows = (await self.session.execute(select(up.c.id).where(up.c.id.is_not(None)))).all()
        return [r.id for r in rows]

    async def pilot_departments(self) -> frozenset[str]:
        """The departments in the pilot (:mod:`services.common.pilot`): one query of every
        department's id, parent and flag (an organisation has dozens, not thousands)."""
        query = select(Department.id, Department.parent_id, Department.stride_enabled)
        rows = (await self.session.execute(query)).all()
        return enabled_departments(
            PilotDepartment(r.id, r.parent_id or "", r.stride_enabled) for r in rows
        )

    async def list_departments(
        self, limit: int, offset: int, root_id: str = ""
    ) -> list[Department]:
        """A page of departments; with ``root_id`` only that one and every one below it (one
        recursive query: a department's dashboard costs its subtree, not the organisation)."""
        query = select(Department).order_by(Department.created_at, Department.id)
        if root_id:
            tree = _subtree(select(Department.id).where(Department.id == root_id))
            query = query.where(Department.id.in_(select(tree.c.id)))
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def get_employee(self, employee_id: str) -> Employee | None:
        return await self.session.get(Employee, employee_id)

    async def employee_number_taken(self, number: str) -> bool:
        """Whether someone has this employee number (compared as :func:`login_key`)."""
        query = select(Employee.id).where(Employee.employee_number_key == login_key(number))
        return (await self.session.scalar(query.limit(1))) is not None

    async def email_taken(self, email: str, except_id: str = "") -> bool:
        """Whether another active person has this e-mail (compared as :func:`login_key`)."""
        query = select(Employee.id).where(
            Employee.email_key == login_key(email),
            Employee.status == "active",
            Employee.id != except_id,
        )
        return (await self.session.scalar(query.limit(1))) is not None

    async def employee_external_taken(self, external_id: str, except_id: str) -> bool:
        """Whether another person has this source id."""
        query = select(Employee.id).where(
            Employee.external_id == external_id, Employee.id != except_id
        )
        return (await self.session.scalar(query.limit(1))) is not None

    async def active_by_login(self, login: str) -> Employee | None:
        """The active employee whose employee number or e-mail is ``login``, compared as
        :func:`login_key` (an e-mail has an ``@``, an employee number never: one person at
        most)."""
        key = login_key(login)
        query = select(Employee).where(
            or_(Employee.employee_number_key == key, Employee.email_key == key),
            Employee.status == "active",
        )
        return (await self.session.scalars(query)).first()

    async def employees_by_ids(self, ids: Iterable[str]) -> dict[str, Employee]:
        query = select(Employee).where(Employee.id.in_(list(ids)))
        return {e.id: e for e in await self.session.scalars(query)}

    async def list_employees(
        self, limit: int, offset: int, department_id: str = "", manager_id: str = ""
    ) -> list[Employee]:
        query = select(Employee).order_by(Employee.created_at, Employee.id)
        if department_id:
            query = query.where(Employee.department_id == department_id)
        if manager_id:
            query = query.where(Employee.manager_id == manager_id)
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def by_numbers(self, numbers: Iterable[str]) -> list[Employee]:
        """The people with these employee numbers (compared as :func:`login_key`)."""
        wanted = list(dict.fromkeys(login_key(n) for n in numbers))
        found: list[Employee] = []
        for i in range(0, len(wanted), 500):
            query = select(Employee).where(Employee.employee_number_key.in_(wanted[i : i + 500]))
            found += list((await self.session.scalars(query)).all())
        return found

    async def reports(
        self, employee_id: str, *, transitive: bool, limit: int, offset: int
    ) -> list[Employee]:
        """Active reports, direct or all levels down (one recursive query)."""
        if not transitive:
            query = select(Employee).where(Employee.manager_id == employee_id)
        else:
            tree = (
                select(Employee.id)
                .where(Employee.manager_id == employee_id)
                .cte("tree", recursive=True)
            )
            below = aliased(Employee)
            tree = tree.union(select(below.id).where(below.manager_id == tree.c.id))
            query = select(Employee).where(Employee.id.in_(select(tree.c.id)))
        query = query.where(Employee.status == "active", Employee.id != employee_id)
        query = query.order_by(Employee.employee_number).limit(limit).offset(offset)
        return list((await self.session.scalars(query)).all())

    def _report_tree(self, employee_id: str, *, transitive: bool) -> Any:
        """The ids of an employee's reports (any status), direct or all levels down: a
        recursive CTE (UNION, so a loop in bad data ends)."""
        base = select(Employee.id).where(Employee.manager_id == employee_id)
        if not transitive:
            return base.cte("tree")
        tree = base.cte("tree", recursive=True)
        below = aliased(Employee)
        return tree.union(select(below.id).where(below.manager_id == tree.c.id))

    async def org_version(self) -> int | None:
        """The org tree's version now (:mod:`services.identity.org_version`)."""
        return await org_version.current(self.session)

    async def reach(self, employee_id: str, *, transitive: bool) -> OrganisationReach:
        """Who is in an employee's organisation (see :class:`OrganisationReach`), in four
        queries over the org tree whatever its size (cached by the handler:
        :mod:`services.identity.reach_cache`)."""
        tree = self._report_tree(employee_id, transitive=transitive)
        # Per department with at least one active report: active members other than the
        # employee, and how many of them are reports.
        counts = (
            select(
                Employee.department_id,
                func.count().label("members"),
                func.count(tree.c.id).label("reached"),
            )
            .outerjoin(tree, tree.c.id == Employee.id)
            .where(Employee.status == "active", Employee.id != employee_id)
            .group_by(Employee.department_id)
            .having(func.count(tree.c.id) > 0)
        )
        whole: list[str] = []
        partial: list[str] = []
        for department_id, members, reached in (await self.session.execute(counts)).all():
            (whole if members == reached else partial).append(department_id)
        report_ids: list[str] = []
        if partial:
            query = (
                select(Employee.id)
                .join(tree, tree.c.id == Employee.id)
                .where(
                    Employee.status == "active",
                    Employee.id != employee_id,
                    Employee.department_id.in_(partial),
                )
                .order_by(Employee.id)
            )
            report_ids = list((await self.session.scalars(query)).all())
        headed = _subtree(select(Department.id).where(Department.head_id == employee_id))
        heads = list((await self.session.scalars(select(headed.c.id).order_by(headed.c.id))).all())
        covered = len(set(whole) | set(heads))
        everything = False
        if covered:
            total = await self.session.scalar(select(func.count()).select_from(Department))
            everything = covered == total
        return OrganisationReach(sorted(whole), report_ids, heads, everything)

    async def manager_chain(self, employee_id: str) -> list[Employee]:
        """Managers from the direct one upwards (one recursive query)."""
        chain = (
            select(Employee.manager_id.label("id"), Employee.id.label("below"))
            .add_columns(select(1).scalar_subquery().label("depth"))
            .where(Employee.id == employee_id)
            .cte("chain", recursive=True)
        )
        above = aliased(Employee)
        chain = chain.union_all(
            select(above.manager_id, above.id, chain.c.depth + 1).where(
                above.id == chain.c.id, chain.c.depth < MAX_CHAIN
            )
        )
        rows = (
            await self.session.execute(
                select(Employee, chain.c.depth)
                .join(chain, Employee.id == chain.c.id)
                .order_by(chain.c.depth)
            )
        ).all()
        seen: set[str] = set()
        managers: list[Employee] = []
        for employee, _depth in rows:
            if employee.id in seen or employee.id == employee_id:
                break  # a loop in the data: stop at the repetition
            seen.add(employee.id)
            managers.append(employee)
        return managers

    async def managers_among(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` have at least one active report."""
        wanted = list(ids)
        if not wanted:
            return set()
        query = (
            select(Employee.manager_id)
            .where(Employee.manager_id.in_(wanted), Employee.status == "active")
            .distinct()
        )
        return {m for m in (await self.session.scalars(query)).all() if m}

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()
