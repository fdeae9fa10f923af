"""Activities of the cycle workflow: move the cycle's phase, close it (final scoring), and
work out who gets a step's notification.

Who is "everyone": the active people in the pilot (identity; the rule is
:mod:`services.common.pilot`); who has submitted or
checked in: goals ``GetParticipation``. The choice itself is the pure :func:`audience`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import grpc
from temporalio import activity

from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from activities.pilot import pilot_departments
from services.common.enums import enum_values
from services.common.paging import MAX_PAGE_SIZE
from services.common.pilot import person_in_pilot
from services.common.settings import WorkerSettings
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.cycle import (
    AUDIENCE_ACTIVITY,
    AUDIENCE_MANAGERS,
    AUDIENCE_NOT_CHECKED_IN,
    AUDIENCE_NOT_SUBMITTED,
    AUDIENCE_PARTICIPANTS,
    AUDIENCE_PILOT,
    CLOSE_ACTIVITY,
    SET_PHASE_ACTIVITY,
    AudienceInput,
    SetPhaseInput,
)
from workflows.notifications import Outgoing
from workflows.vocabulary import Phase

ERROR_REFUSED = "CycleRefused"
# Audiences that are asked to do something (not told something): none once the cycle closed.
CHASERS = frozenset({AUDIENCE_NOT_SUBMITTED, AUDIENCE_NOT_CHECKED_IN, AUDIENCE_MANAGERS})
PHASE_NUMBERS = enum_values(Phase, goals_pb2.CyclePhase)


@dataclass(frozen=True)
class Person:
    id: str
    manager_id: str = ""


@dataclass(frozen=True)
class Taking:
    """One person's participation in the cycle (goals Participation)."""

    employee_id: str
    draft: int = 0
    pending: int = 0
    approved: int = 0
    key_results: int = 0
    checked_in: int = 0
    at_risk: int = 0


def audience(
    kind: str, people: Sequence[Person], taking: Iterable[Taking], cycle_id: str, week: str = ""
) -> list[Outgoing]:
    """Who gets a step's notification, with the template's parameters (pure).

    ``people``: the active people of pilot departments; ``taking``: their participation.
    """
    by_id = {t.employee_id: t for t in taking}
    base = {"cycle_id": cycle_id, "week": week}
    pilot = {p.id for p in people}
    out: list[Outgoing] = []
    if kind == AUDIENCE_PILOT:
        return [Outgoing(p.id, dict(base)) for p in people]
    if kind == AUDIENCE_NOT_SUBMITTED:
        for p in people:
            t = by_id.get(p.id)
            if t is None or t.pending + t.approved == 0:
                out.append(Outgoing(p.id, dict(base)))
        return out
    if kind == AUDIENCE_NOT_CHECKED_IN:
        for p in people:
            t = by_id.get(p.id)
            if t is not None and t.key_results > t.checked_in:
                out.append(Outgoing(p.id, {**base, "pending": str(t.key_results - t.checked_in)}))
        return out
    if kind == AUDIENCE_PARTICIPANTS:
        return [
            Outgoing(p.id, dict(base))
            for p in people
            if (t := by_id.get(p.id)) is not None and t.approved > 0
        ]
    if kind == AUDIENCE_MANAGERS:
        reports: dict[str, list[Taking]] = {}
        for p in people:
            t = by_id.get(p.id)
            if p.manager_id and t is not None and t.key_results > 0:
                reports.setdefault(p.manager_id, []).append(t)
        for manager_id in sorted(reports):
            if manager_id not in pilot:
                continue
            team = reports[manager_id]
            done = sum(1 for t in team if t.checked_in >= t.key_results)
            out.append(
                Outgoing(
                    manager_id,
                    {
                        **base,
                        "reports": str(len(team)),
                        "checked_in": str(done),
                        "missing": str(len(team) - done),
                        "at_risk": str(sum(t.at_risk for t in team)),
                    },
                )
            )
        return out
    raise ValueError(f"unknown audience {kind!r}")


class CycleActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @activity.defn(name=SET_PHASE_ACTIVITY)
    async def set_phase(self, input: SetPhaseInput) -> None:
        async with channel(self.settings.goals_addr) as ch:
            goals = goals_pb2_grpc.GoalsServiceStub(ch)
            try:
                await goals.SetCyclePhase(
                    goals_pb2.SetCyclePhaseRequest(
                        id=input.cycle_id, phase=PHASE_NUMBERS[input.phase]
                    ),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("goals", err, ERROR_REFUSED) from err

    @activity.defn(name=CLOSE_ACTIVITY)
    async def close(self, cycle_id: str) -> None:
        async with channel(self.settings.goals_addr) as ch:
            goals = goals_pb2_grpc.GoalsServiceStub(ch)
            md = metadata(workflow_actor())
            try:
                cycle = await goals.GetCycle(
                    goals_pb2.GetCycleRequest(id=cycle_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
                if cycle.status == goals_pb2.CYCLE_STATUS_CLOSED:
                    return  # closed before (a retry, or by hand)
                await goals.CloseCycle(
                    goals_pb2.CloseCycleRequest(id=cycle_id),
                    timeout=5 * CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("goals", err, ERROR_REFUSED) from err

    @activity.defn(name=AUDIENCE_ACTIVITY)
    async def audience(self, input: AudienceInput) -> list[Outgoing]:
        md = metadata(workflow_actor())
        async with (
            channel(self.settings.identity_addr) as ich,
            channel(self.settings.goals_addr) as gch,
        ):
            identity = identity_pb2_grpc.IdentityServiceStub(ich)
            goals = goals_pb2_grpc.GoalsServiceStub(gch)
            try:
                people = await pilot_people(identity, md)
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
            try:
                cycle = await goals.GetCycle(
                    goals_pb2.GetCycleRequest(id=input.cycle_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
                if cycle.status == goals_pb2.CYCLE_STATUS_CLOSED and input.audience in CHASERS:
                    return []  # closed early (by hand): nobody is chased any more
                participation = await goals.GetParticipation(
                    goals_pb2.GetParticipationRequest(cycle_id=input.cycle_id, week=input.week),
                    timeout=5 * CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("goals", err, ERROR_REFUSED) from err
        taking = [
            Taking(
                employee_id=p.employee_id,
                draft=p.draft_objectives,
                pending=p.pending_objectives,
                approved=p.approved_objectives,
                key_results=p.key_results,
                checked_in=p.checked_in,
                at_risk=p.at_risk,
            )
            for p in participation.people
        ]
        return audience(input.audience, people, taking, input.cycle_id, input.week)


async def pilot_people(
    identity: identity_pb2_grpc.IdentityServiceStub, md: tuple[tuple[str, str], ...]
) -> list[Person]:
    """Active people in the pilot (:mod:`services.common.pilot`: their department and every
    one above it have Stride enabled, or they have no department)."""
    pilot = await pilot_departments(identity, md)
    people: list[Person] = []
    token = ""
    while True:
        page = await identity.ListEmployees(
            identity_pb2.ListEmployeesRequest(
                page=common_pb2.PageRequest(page_size=MAX_PAGE_SIZE, page_token=token)
            ),
            timeout=CALL_TIMEOUT_SECONDS,
            metadata=md,
        )
        people.extend(
            Person(e.id, e.manager_id)
            for e in page.employees
            if person_in_pilot(e.department_id, pilot)
            and e.status == identity_pb2.EMPLOYEE_STATUS_ACTIVE
        )
        token = page.page.next_page_token
        if not token:
            break
    return people
