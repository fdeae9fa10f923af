"""The first admin: accounts made directly through identity's gRPC API, without the gateway.

Every REST call needs a signed-in caller, so the first account with the admin role has to
come from somewhere else: ``stride admin create`` (services/cli/admin.py) runs this on the
operator's machine. Reaching identity's gRPC port is the trust boundary (in a cluster it
is not exposed; see k8s/base/networkpolicies.yaml), exactly like ``stride audit verify``.
The calls carry the actor ``cli:bootstrap`` so the audit trail shows where the account came
from.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import grpc

from services.common.channels import channel
from services.common.request_context import ACTOR_KEY
from services.common.rpc import Req, Resp, UnaryMethod
from services.identity.credentials import check_password_policy
from stride.common.v1 import common_pb2
from stride.identity.v1 import auth_pb2, auth_pb2_grpc, identity_pb2, identity_pb2_grpc

ACTOR = "cli:bootstrap"
ADMIN_ROLE = "admin"
TIMEOUT = 30.0


@dataclass(frozen=True)
class Account:
    employee: identity_pb2.Employee
    # What to type as login (the employee number; the email works too).
    login: str
    # False when the employee existed already (the admin role was added if missing).
    created: bool
    # True when the employee had been deactivated (e.g. by an import that did not list
    # them) and was made active again.
    reactivated: bool = False


class Bootstrap:
    """identity's gRPC API as the operator's CLI uses it."""

    def __init__(self, channel: grpc.aio.Channel, actor: str = ACTOR) -> None:
        self.identity = identity_pb2_grpc.IdentityServiceStub(channel)
        self.auth = auth_pb2_grpc.AuthServiceStub(channel)
        self._metadata = ((ACTOR_KEY, actor),)

    async def _call(self, method: UnaryMethod[Req, Resp], request: Req) -> Resp:
        return await method(request, timeout=TIMEOUT, metadata=self._metadata)

    async def departments(self) -> list[identity_pb2.Department]:
        """Every department."""
        found: list[identity_pb2.Department] = []
        token = ""
        while True:
            page = await self._call(
                self.identity.ListDepartments,
                identity_pb2.ListDepartmentsRequest(
                    page=common_pb2.PageRequest(page_size=200, page_token=token)
                ),
            )
            found.extend(page.departments)
            token = page.page.next_page_token
            if not token:
                return found

    async def department(self, name_or_id: str) -> identity_pb2.Department:
        """The department with this id, or the top-level one with this name (created if
        there is none)."""
        for dep in await self.departments():
            if dep.id == name_or_id or (dep.name == name_or_id and not dep.parent_id):
                return dep
        return await self._call(
            self.identity.CreateDepartment, identity_pb2.CreateDepartmentRequest(name=name_or_id)
        )

    async def employee(self, employee_id: str) -> identity_pb2.Employee:
        return await self._call(
            self.identity.GetEmployee, identity_pb2.GetEmployeeRequest(id=employee_id)
        )

    async def set_password(
        self, employee: identity_pb2.Employee, password: str, *, must_change: bool = False
    ) -> None:
        """Give ``employee`` this password; with ``must_change`` they must pick another one
        at their next sign-in (as after an HR reset)."""
        # Checked here first: the two steps below must not stop half way.
        check_password_policy(password, employee.employee_number)
        if must_change:
            await self._call(
                self.auth.SetPassword,
                auth_pb2.SetPasswordRequest(
                    employee_id=employee.id, new_password=password, reset=True
                ),
            )
            return
        # SetPassword either resets (and forces a change) or changes with the current
        # password: reset to a throw-away one, then change from it.
        throwaway = f"{secrets.token_urlsafe(24)}-{secrets.randbelow(90) + 10}"
        await self._call(
            self.auth.SetPassword,
            auth_pb2.SetPasswordRequest(
                employee_id=employee.id, new_password=throwaway, reset=True
            ),
        )
        await self._call(
            self.auth.SetPassword,
            auth_pb2.SetPasswordRequest(
                employee_id=employee.id, new_password=password, current_password=throwaway
            ),
        )

    async def ensure_admin(
        self,
        *,
        employee_number: str,
        name: str,
        email: str,
        department: str,
        password: str,
        must_change: bool = False,
    ) -> Account:
        """An active employee with the admin role and this password: created when the
        employee number is new, else the existing person gets the role (and the password) and,
        when they had been deactivated, is made active again (``Account.reactivated``)."""
        check_password_policy(password, employee_number)
        found = await self._call(
            self.identity.LookupEmployees,
            identity_pb2.LookupEmployeesRequest(employee_numbers=[employee_number]),
        )
        created = not found.employees
        reactivated = False
        if created:
            dep = await self.department(department)
            employee = await self._call(
                self.identity.CreateEmployee,
                identity_pb2.CreateEmployeeRequest(
                    employee_number=employee_number,
                    name=name,
                    email=email,
                    department_id=dep.id,
                    roles=[ADMIN_ROLE],
                ),
            )
        else:
            employee = found.employees[0]
            reactivated = employee.status != identity_pb2.EMPLOYEE_STATUS_ACTIVE
            if ADMIN_ROLE not in employee.roles or reactivated:
                update = identity_pb2.UpdateEmployeeRequest(
                    id=employee.id, roles=sorted({*employee.roles, ADMIN_ROLE}), replace_roles=True
                )
                if reactivated:
                    update.status = identity_pb2.EMPLOYEE_STATUS_ACTIVE
                employee = await self._call(self.identity.UpdateEmployee, update)
        await self.set_password(employee, password, must_change=must_change)
        return Account(employee, employee.employee_number, created, reactivated=reactivated)


async def create_admin(
    identity_addr: str,
    *,
    employee_number: str,
    name: str,
    email: str,
    department: str,
    password: str,
    must_change: bool = False,
) -> Account:
    """:meth:`Bootstrap.ensure_admin` against the identity service at ``identity_addr``."""
    async with channel(identity_addr, actor=ACTOR) as ch:
        return await Bootstrap(ch).ensure_admin(
            employee_number=employee_number,
            name=name,
            email=email,
            department=department,
            password=password,
            must_change=must_change,
        )


def generate_password() -> str:
    """A random password that meets identity's policy."""
    return f"{secrets.token_urlsafe(15)}-{secrets.randbelow(90) + 10}"
