"""What the feedback service asks other services, over gRPC (services/common/channels.py).

- identity: people (who the viewer is: department, roles, managers), the department tree
  (who heads what, for praise), and the in-app inbox (a request for feedback);
- goals: objectives and key results (feedback about them, challenges), to check they exist
  and to find their owner;
- telemetry: the bindings of machine-fed key results and their metrics' values over a cycle
  (the archive's external metrics).

A service that does not answer is UNAVAILABLE ``<service>_unavailable`` (try again); a
person, objective or key result that does not exist is ``unknown_<what>`` (INVALID_ARGUMENT)
when a request names it, or NOT_FOUND for the viewer of a read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from services.common.channels import MAX_MESSAGE_BYTES, channel
from services.common.errors import DomainError, InvalidArgument
from services.feedback.domain.people import Person
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc, inbox_pb2, inbox_pb2_grpc
from stride.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc

DEADLINE_SECONDS = 5.0
T = TypeVar("T")
_PAGE = 200
# People per GetPeopleStats call (the goals service takes at most 1000).
_STATS_BATCH = 500


def _unavailable(service: str) -> DomainError:
    return DomainError(
        f"{service}_unavailable",
        f"the {service} service did not answer; try again",
        status=grpc.StatusCode.UNAVAILABLE,
    )


async def _every_page(
    service: str,
    fetch: Callable[[common_pb2.PageRequest], Awaitable[Any]],
    items: Callable[[Any], Iterable[T]],
) -> list[T]:
    """Every item of a paged list: ``fetch`` one page, ``items`` of it, until the last page;
    UNAVAILABLE ``<service>_unavailable`` when the service does not answer."""
    out: list[T] = []
    token = ""
    try:
        while True:
            page = await fetch(common_pb2.PageRequest(page_size=_PAGE, page_token=token))
            out += items(page)
            token = page.page.next_page_token
            if not token:
                return out
    except grpc.aio.AioRpcError as exc:
        raise _unavailable(service) from exc


@dataclass(frozen=True)
class Department:
    id: str
    parent_id: str
    head_id: str
    # The pilot rollout flag (services/common/pilot.py decides with the ancestors').
    stride_enabled: bool = True


class Org:
    """The identity service: people, departments and the inbox."""

    def __init__(self, address: str, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.channel = channel(address, max_message_bytes=max_message_bytes)
        self.identity = identity_pb2_grpc.IdentityServiceStub(self.channel)
        self.inbox = inbox_pb2_grpc.InboxServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close(None)

    async def person(self, employee_id: str, field: str = "employee") -> Person:
        """The person (active), with their managers; InvalidArgument ``unknown_<field>``."""
        if not employee_id:
            raise InvalidArgument(f"{field}_required", f"{field}_id must be given")
        try:
            found = await self.identity.GetEmployee(
                ipb.GetEmployeeRequest(id=employee_id), timeout=DEADLINE_SECONDS
            )
            chain = await self.identity.GetManagerChain(
                ipb.GetManagerChainRequest(employee_id=employee_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise InvalidArgument(f"unknown_{field}", f"{field} not found") from exc
            raise _unavailable("identity") from exc
        if found.status != ipb.EMPLOYEE_STATUS_ACTIVE:
            raise InvalidArgument(f"inactive_{field}", f"the {field} has left the organisation")
        return Person(
            id=found.id,
            department_id=found.department_id,
            manager_id=found.manager_id,
            managers=tuple(m.id for m in chain.managers),
            roles=frozenset(found.roles),
        )

    async def hire_date(self, employee_id: str) -> str:
        """The employee's hire date as identity has it (ISO date, "" when not known)."""
        try:
            found = await self.identity.GetEmployee(
                ipb.GetEmployeeRequest(id=employee_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise InvalidArgument("unknown_employee", "employee not found") from exc
            raise _unavailable("identity") from exc
        return found.hire_date

    async def reports(self, employee_id: str, *, transitive: bool) -> list[str]:
        """Ids of the people who report to ``employee_id`` (directly, or at any depth)."""
        return await _every_page(
            "identity",
            lambda page: self.identity.ListReports(
                ipb.ListReportsRequest(employee_id=employee_id, transitive=transitive, page=page),
                timeout=DEADLINE_SECONDS,
            ),
            lambda found: [e.id for e in found.employees],
        )

    async def departments(self) -> list[Department]:
        """Every department (the tree praise is shown along)."""
        return await _every_page(
            "identity",
            lambda page: self.identity.ListDepartments(
                ipb.ListDepartmentsRequest(page=page), timeout=DEADLINE_SECONDS
            ),
            lambda found: [
                Department(d.id, d.parent_id, d.head_id, d.stride_enabled)
                for d in found.departments
            ],
        )

    async def active_employees(self, department_id: str = "") -> list[ipb.Employee]:
        """The active employees of a department ("": of the whole organisation): 360 rounds
        start one round each."""
        return await _every_page(
            "identity",
            lambda page: self.identity.ListEmployees(
                ipb.ListEmployeesRequest(department_id=department_id, page=page),
                timeout=DEADLINE_SECONDS,
            ),
            lambda found: [e for e in found.employees if e.status == ipb.EMPLOYEE_STATUS_ACTIVE],
        )

    async def deliver(self, request: inbox_pb2.DeliverRequest) -> None:
        """Put an item in a person's inbox (once per key)."""
        try:
            await self.inbox.Deliver(request, timeout=DEADLINE_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("identity") from exc


class Goals:
    """The goals service: objectives and key results feedback and challenges are about."""

    def __init__(self, address: str, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.channel = channel(address, max_message_bytes=max_message_bytes)
        self.stub = goals_pb2_grpc.GoalsServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close(None)

    async def objective(self, objective_id: str) -> goals_pb2.Objective:
        try:
            return await self.stub.GetObjective(
                goals_pb2.GetObjectiveRequest(id=objective_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise InvalidArgument("unknown_objective", "objective not found") from exc
            raise _unavailable("goals") from exc

    async def key_result(self, kr_id: str) -> goals_pb2.KeyResult:
        try:
            return await self.stub.GetKeyResult(
                goals_pb2.GetKeyResultRequest(id=kr_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise InvalidArgument("unknown_key_result", "key result not found") from exc
            raise _unavailable("goals") from exc

    async def cycle(self, cycle_id: str) -> goals_pb2.Cycle:
        """The cycle (the archive's dates); InvalidArgument ``unknown_cycle``."""
        if not cycle_id:
            raise InvalidArgument("cycle_required", "cycle_id must be given")
        try:
            return await self.stub.GetCycle(
                goals_pb2.GetCycleRequest(id=cycle_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise InvalidArgument("unknown_cycle", "cycle not found") from exc
            raise _unavailable("goals") from exc

    async def cycles(self) -> list[goals_pb2.Cycle]:
        """Every cycle (a few a year)."""
        return await _every_page(
            "goals",
            lambda page: self.stub.ListCycles(
                goals_pb2.ListCyclesRequest(page=page), timeout=DEADLINE_SECONDS
            ),
            lambda found: list(found.cycles),
        )

    async def people_stats(
        self, cycle_id: str, employee_ids: list[str]
    ) -> dict[str, goals_pb2.PersonStats]:
        """employee id → their numbers in the cycle (GetPeopleStats, in batches)."""
        out: dict[str, goals_pb2.PersonStats] = {}
        try:
            for start in range(0, len(employee_ids), _STATS_BATCH):
                found = await self.stub.GetPeopleStats(
                    goals_pb2.GetPeopleStatsRequest(
                        cycle_id=cycle_id, employee_ids=employee_ids[start : start + _STATS_BATCH]
                    ),
                    timeout=DEADLINE_SECONDS,
                )
                out.update({p.employee_id: p for p in found.people})
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("goals") from exc
        return out

    async def person_scores(self, cycle_id: str) -> dict[str, float]:
        """employee_id → the person's OKR score in the cycle (0..1; people who own key results)."""
        try:
            scores = await self.stub.GetScores(
                goals_pb2.GetScoresRequest(cycle_id=cycle_id), timeout=DEADLINE_SECONDS * 6
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise InvalidArgument("unknown_cycle", "cycle not found") from exc
            raise _unavailable("goals") from exc
        return {p.employee_id: p.score for p in scores.people}


class Telemetry:
    """The telemetry service: metric bindings and windowed values."""

    def __init__(self, address: str, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.channel = channel(address, max_message_bytes=max_message_bytes)
        self.stub = telemetry_pb2_grpc.TelemetryServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close(None)

    async def bindings(self) -> list[telemetry_pb2.Binding]:
        """Every binding (one per machine-fed key result: dozens, not thousands)."""
        return await _every_page(
            "telemetry",
            lambda page: self.stub.ListBindings(
                telemetry_pb2.ListBindingsRequest(page=page), timeout=DEADLINE_SECONDS
            ),
            lambda found: list(found.bindings),
        )

    async def unit(self, metric: str) -> str:
        try:
            found = await self.stub.GetMetric(
                telemetry_pb2.GetMetricRequest(name=metric), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return ""
            raise _unavailable("telemetry") from exc
        return str(found.unit)

    async def cycle_value(
        self, binding: telemetry_pb2.Binding, cycle_start: str, at: str
    ) -> telemetry_pb2.WindowValue:
        """The binding's aggregate of its metric from ``cycle_start`` (YYYY-MM-DD) to ``at``."""
        try:
            return await self.stub.QueryWindow(
                telemetry_pb2.QueryWindowRequest(
                    metric=binding.metric,
                    source=binding.source,
                    aggregation=binding.aggregation,
                    window=telemetry_pb2.WINDOW_KIND_CYCLE_TO_DATE,
                    denominator_metric=binding.denominator_metric,
                    percentile=binding.percentile,
                    at=at,
                    cycle_start=cycle_start,
                ),
                timeout=DEADLINE_SECONDS,
            )
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("telemetry") from exc
