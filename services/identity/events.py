"""The identity service's events: the one place their subjects are spelled."""

from __future__ import annotations

from services.common.events import Event, EventRegistry
from services.identity.models import OUTBOX
from stride.identity.v1 import identity_pb2 as pb

DEPARTMENT_CREATED = Event(
    "stride.identity.v1.department.created", pb.DepartmentCreated, "a department was created"
)
DEPARTMENT_UPDATED = Event(
    "stride.identity.v1.department.updated",
    pb.DepartmentUpdated,
    "a department was renamed, moved, given a head or deactivated",
)
EMPLOYEE_CREATED = Event(
    "stride.identity.v1.employee.created", pb.EmployeeCreated, "an employee was created"
)
EMPLOYEE_UPDATED = Event(
    "stride.identity.v1.employee.updated",
    pb.EmployeeUpdated,
    "an employee's profile, department, manager or roles changed",
)
EMPLOYEE_DEACTIVATED = Event(
    "stride.identity.v1.employee.deactivated",
    pb.EmployeeDeactivated,
    "an employee left (deactivated)",
)

EVENTS = EventRegistry(
    "identity",
    OUTBOX,
    DEPARTMENT_CREATED,
    DEPARTMENT_UPDATED,
    EMPLOYEE_CREATED,
    EMPLOYEE_UPDATED,
    EMPLOYEE_DEACTIVATED,
)
