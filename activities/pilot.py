"""The pilot scope as activities read it from identity (the rule itself is
:mod:`services.common.pilot`): the departments in the pilot, and whether one person is.

Identity applies the same rule itself where it delivers (the inbox, the IM robot targets), so
nobody out of the pilot is sent anything; activities use these to decide who is *chased or
told about* someone (the manager of an owner out of the pilot hears nothing about them).
"""

from __future__ import annotations

import grpc

from activities.clients import CALL_TIMEOUT_SECONDS
from services.common.paging import MAX_PAGE_SIZE
from services.common.pilot import PilotDepartment, enabled_departments, person_in_pilot
from stride.common.v1 import common_pb2
from stride.identity.v1 import identity_pb2, identity_pb2_grpc

Metadata = tuple[tuple[str, str], ...]


async def pilot_departments(
    identity: identity_pb2_grpc.IdentityServiceStub, md: Metadata
) -> frozenset[str]:
    """The ids of the departments in the pilot (every page of identity's departments)."""
    found: list[PilotDepartment] = []
    token = ""
    while True:
        deps = await identity.ListDepartments(
            identity_pb2.ListDepartmentsRequest(
                page=common_pb2.PageRequest(page_size=MAX_PAGE_SIZE, page_token=token)
            ),
            timeout=CALL_TIMEOUT_SECONDS,
            metadata=md,
        )
        found.extend(PilotDepartment(d.id, d.parent_id, d.stride_enabled) for d in deps.departments)
        token = deps.page.next_page_token
        if not token:
            return enabled_departments(found)


async def in_pilot(
    identity: identity_pb2_grpc.IdentityServiceStub, md: Metadata, employee_id: str
) -> bool:
    """Whether ``employee_id`` is in the pilot (a person identity does not know is not)."""
    try:
        person = await identity.GetEmployee(
            identity_pb2.GetEmployeeRequest(id=employee_id),
            timeout=CALL_TIMEOUT_SECONDS,
            metadata=md,
        )
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    if not person.department_id:
        return True
    return person_in_pilot(person.department_id, await pilot_departments(identity, md))
