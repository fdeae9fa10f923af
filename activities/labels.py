"""What people read instead of ids in a notification: a person's name, a cycle's name, a key
result's title, a department's name.

Workflows pass ids only (their histories and the Temporal UI carry no personal data); the
notification activities look the names up here, once per id per activity run, just before
rendering. A lookup that fails (not found, a service away for the moment) leaves the id in the
text — a notice is never held back for a name. Links keep the ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import grpc
import structlog

from activities.clients import CALL_TIMEOUT_SECONDS, channel
from services.common.settings import WorkerSettings
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc

log = structlog.get_logger(__name__)

# Parameters holding an id, by what the id names.
PERSON_KEYS = frozenset({"subject_id", "owner_id", "employee_id", "candidate_id"})
CYCLE_KEYS = frozenset({"cycle_id"})
KEY_RESULT_KEYS = frozenset({"key_result_id"})
DEPARTMENT_KEYS = frozenset({"department_id"})
LABELLED_KEYS = PERSON_KEYS | CYCLE_KEYS | KEY_RESULT_KEYS | DEPARTMENT_KEYS
# Short lookups: a notice waits for names at most this long per id.
LOOKUP_TIMEOUT_SECONDS = min(CALL_TIMEOUT_SECONDS, 3.0)

Lookup = Callable[[str], Awaitable[str]]


def quoted(title: str) -> str:
    """A title set apart from the sentence around it, in both languages."""
    return f"“{title}”"


async def _first_found(lookup: Lookup, value: str) -> str:
    try:
        return await lookup(value)
    except grpc.aio.AioRpcError as err:
        if err.code() != grpc.StatusCode.NOT_FOUND:
            log.info("name lookup failed; the id stays", id=value, code=err.code().name)
        return ""


async def labels(
    settings: WorkerSettings, params: Iterable[dict[str, str]], *, people: bool = True
) -> dict[str, str]:
    """Labels for every labelled id in ``params`` (id → label; ids not found are absent).

    ``people=False`` leaves persons' ids alone (a group chat's robot names no one).
    """
    keys = LABELLED_KEYS if people else LABELLED_KEYS - PERSON_KEYS
    wanted: dict[str, set[str]] = {}
    for p in params:
        for key, value in p.items():
            if key in keys and value:
                wanted.setdefault(key, set()).add(value)
    if not wanted:
        return {}
    found: dict[str, str] = {}
    persons = {v for k, vs in wanted.items() if k in PERSON_KEYS for v in vs}
    departments = {v for k, vs in wanted.items() if k in DEPARTMENT_KEYS for v in vs}
    cycles = {v for k, vs in wanted.items() if k in CYCLE_KEYS for v in vs}
    key_results = {v for k, vs in wanted.items() if k in KEY_RESULT_KEYS for v in vs}
    if persons or departments:
        async with channel(settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            await _fill(found, persons, lambda i: _person(identity, i))
            await _fill(found, departments, lambda i: _department(identity, i))
    if cycles or key_results:
        async with channel(settings.goals_addr) as ch:
            goals = goals_pb2_grpc.GoalsServiceStub(ch)
            await _fill(found, cycles, lambda i: _cycle(goals, i))
            await _fill(found, key_results, lambda i: _key_result(goals, i))
    return found


async def _fill(found: dict[str, str], ids: set[str], lookup: Lookup) -> None:
    for value in sorted(ids):
        label = await _first_found(lookup, value)
        if label:
            found[value] = label


async def _person(identity: identity_pb2_grpc.IdentityServiceStub, employee_id: str) -> str:
    person = await identity.GetEmployee(
        identity_pb2.GetEmployeeRequest(id=employee_id), timeout=LOOKUP_TIMEOUT_SECONDS
    )
    return str(person.name)


async def _department(identity: identity_pb2_grpc.IdentityServiceStub, department_id: str) -> str:
    department = await identity.GetDepartment(
        identity_pb2.GetDepartmentRequest(id=department_id), timeout=LOOKUP_TIMEOUT_SECONDS
    )
    return str(department.name)


async def _cycle(goals: goals_pb2_grpc.GoalsServiceStub, cycle_id: str) -> str:
    cycle = await goals.GetCycle(
        goals_pb2.GetCycleRequest(id=cycle_id), timeout=LOOKUP_TIMEOUT_SECONDS
    )
    return str(cycle.name)


async def _key_result(goals: goals_pb2_grpc.GoalsServiceStub, key_result_id: str) -> str:
    kr = await goals.GetKeyResult(
        goals_pb2.GetKeyResultRequest(id=key_result_id), timeout=LOOKUP_TIMEOUT_SECONDS
    )
    return quoted(kr.title) if kr.title else ""
