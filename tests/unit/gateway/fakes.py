"""In-memory fakes of the identity and goals gRPC services, served by real grpc.aio servers.

They are served through services.common.grpc_server.GrpcServer (the services' own bootstrap:
health, reflection, DomainError → status + ``stride-error-code`` trailer), so the gateway is
tested against the same wire contract as the real services. The rules are only as rich as
the gateway tests need.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc

from gateway.policy import department_subtree
from services.common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from services.common.grpc_server import GrpcServer
from services.common.paging import next_page_token, page_window
from services.goals import domain
from stride.common.v1 import common_pb2
from stride.feedback.v1 import feedback_pb2_grpc
from stride.goals.v1 import goals_pb2 as gpb
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc
from stride.telemetry.v1 import telemetry_pb2 as tpb
from stride.telemetry.v1 import telemetry_pb2_grpc

T = TypeVar("T")
NOW = "2026-03-02T01:02:03Z"
# GetEmployee ids that answer with a status (and code) the gateway maps.
_STATUS_IDS = {
    "unauthenticated": (grpc.StatusCode.UNAUTHENTICATED, "invalid_credentials"),
    "denied": (grpc.StatusCode.PERMISSION_DENIED, "not_yours"),
    "locked": (grpc.StatusCode.RESOURCE_EXHAUSTED, "account_locked"),
}


@dataclass
class Call:
    method: str
    request: Any
    metadata: dict[str, str]
    time_remaining: float | None


@dataclass
class CallLog:
    calls: list[Call] = field(default_factory=list)

    def record(self, method: str, request: Any, context: grpc.aio.ServicerContext) -> None:
        md = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        self.calls.append(Call(method, request, md, context.time_remaining()))

    def names(self) -> list[str]:
        return [c.method for c in self.calls]


def _page(items: Sequence[T], page: common_pb2.PageRequest) -> tuple[list[T], str]:
    limit, offset = page_window(page.page_size, page.page_token)
    chunk = list(items[offset : offset + limit])
    return chunk, next_page_token(offset, limit, len(chunk))


class FakeIdentity(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, log: CallLog) -> None:
        self.log = log
        self.departments: dict[str, ipb.Department] = {}
        self.employees: dict[str, ipb.Employee] = {}
        self._ids = itertools.count(1)

    async def CreateDepartment(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("CreateDepartment", request, context)
        if any(d.name == request.name for d in self.departments.values()):
            raise AlreadyExists("department_exists", f"department {request.name!r} exists")
        if request.parent_id and request.parent_id not in self.departments:
            raise InvalidArgument("unknown_parent_department", "parent department not found")
        dep = ipb.Department(
            id=f"dep-{next(self._ids)}",
            name=request.name,
            parent_id=request.parent_id,
            created_at=NOW,
            head_id=request.head_id,
            stride_enabled=request.stride_enabled if request.HasField("stride_enabled") else True,
        )
        self.departments[dep.id] = dep
        return dep

    async def GetDepartment(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetDepartment", request, context)
        if request.id not in self.departments:
            raise NotFound("department_not_found", "department not found")
        return self.departments[request.id]

    async def ListDepartments(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListDepartments", request, context)
        listed = list(self.departments.values())
        if request.root_id:  # the subtree, as identity answers it
            below = {request.root_id}
            while grown := {d.id for d in listed if d.parent_id in below} - below:
                below |= grown
            listed = [d for d in listed if d.id in below]
        items, token = _page(listed, request.page)
        return ipb.ListDepartmentsResponse(
            departments=items, page=common_pb2.PageResponse(next_page_token=token)
        )

    async def CreateEmployee(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("CreateEmployee", request, context)
        if any(e.employee_number == request.employee_number for e in self.employees.values()):
            raise AlreadyExists("employee_number_taken", "employee number already in use")
        if request.department_id not in self.departments:
            raise InvalidArgument("unknown_department", "department not found")
        if request.manager_id and request.manager_id not in self.employees:
            raise InvalidArgument("unknown_manager", "manager not found")
        emp = ipb.Employee(
            id=f"emp-{next(self._ids)}",
            employee_number=request.employee_number,
            name=request.name,
            email=request.email,
            department_id=request.department_id,
            manager_id=request.manager_id,
            status=ipb.EMPLOYEE_STATUS_ACTIVE,
            created_at=NOW,
        )
        self.employees[emp.id] = emp
        return emp

    async def GetEmployee(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetEmployee", request, context)
        if request.id == "no-trailer":
            # A NOT_FOUND without stride-error-code: the gateway must fall back to "not_found".
            await context.abort(grpc.StatusCode.NOT_FOUND, "nothing here")
        if request.id == "boom":
            raise RuntimeError("secret internal detail: password=hunter2")
        if request.id == "slow":
            await asyncio.sleep(2)
        if request.id in _STATUS_IDS:
            status, code = _STATUS_IDS[request.id]
            raise DomainError(code, f"{code} for you", status=status)
        if request.id not in self.employees:
            raise NotFound("employee_not_found", "employee not found")
        return self.employees[request.id]

    async def ListEmployees(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListEmployees", request, context)
        rows = [
            e
            for e in self.employees.values()
            if (not request.department_id or e.department_id == request.department_id)
            and (not request.manager_id or e.manager_id == request.manager_id)
        ]
        items, token = _page(rows, request.page)
        return ipb.ListEmployeesResponse(
            employees=items, page=common_pb2.PageResponse(next_page_token=token)
        )

    async def GetManagerChain(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetManagerChain", request, context)
        if request.employee_id not in self.employees:
            raise NotFound("employee_not_found", "employee not found")
        chain = []
        manager = self.employees[request.employee_id].manager_id
        while manager:
            chain.append(self.employees[manager])
            manager = self.employees[manager].manager_id
        return ipb.ManagerChain(managers=chain)

    async def GetReach(self, request, context):  # type: ignore[no-untyped-def]
        """Every report one by one (the real service folds whole departments)."""
        self.log.record("GetReach", request, context)
        if request.employee_id not in self.employees:
            raise NotFound("employee_not_found", "employee not found")
        found: list[str] = []
        todo = [request.employee_id]
        while todo:
            boss = todo.pop(0)
            direct = [e.id for e in self.employees.values() if e.manager_id == boss]
            found += [e for e in direct if e not in found]
            if request.transitive:
                todo += direct
        tree = {d.id: d.parent_id for d in self.departments.values()}
        heads = {d.id: d.head_id for d in self.departments.values()}
        headed = sorted(department_subtree(tree, heads, request.employee_id))
        return ipb.OrganisationReach(
            report_ids=found,
            headed_department_ids=headed,
            whole_organisation=bool(headed) and set(headed) == set(self.departments),
        )

    async def ListReports(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListReports", request, context)
        found: list[ipb.Employee] = []
        todo = [request.employee_id]
        while todo:
            boss = todo.pop(0)
            direct = [e for e in self.employees.values() if e.manager_id == boss]
            found += direct
            if request.transitive:
                todo += [e.id for e in direct]
        items, token = _page(found, request.page)
        return ipb.ListEmployeesResponse(
            employees=items, page=common_pb2.PageResponse(next_page_token=token)
        )


class FakeGoals(goals_pb2_grpc.GoalsServiceServicer):
    def __init__(self, log: CallLog) -> None:
        self.log = log
        self.cycles: dict[str, gpb.Cycle] = {}
        self.objectives: dict[str, gpb.Objective] = {}
        self.key_results: dict[str, gpb.KeyResult] = {}
        self.check_ins: dict[str, list[gpb.CheckIn]] = {}
        self._ids = itertools.count(1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    # cycles
    async def CreateCycle(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("CreateCycle", request, context)
        cycle = gpb.Cycle(
            id=self._id("cyc"),
            name=request.name,
            start_date=request.start_date,
            end_date=request.end_date,
            time_zone=request.time_zone or "Asia/Shanghai",
            status=gpb.CYCLE_STATUS_OPEN,
            created_at=NOW,
        )
        self.cycles[cycle.id] = cycle
        return cycle

    def _cycle(self, cycle_id: str) -> gpb.Cycle:
        if cycle_id not in self.cycles:
            raise NotFound("cycle_not_found", "cycle not found")
        return self.cycles[cycle_id]

    async def GetCycle(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetCycle", request, context)
        return self._cycle(request.id)

    async def ListCycles(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListCycles", request, context)
        items, token = _page(list(self.cycles.values()), request.page)
        return gpb.ListCyclesResponse(
            cycles=items, page=common_pb2.PageResponse(next_page_token=token)
        )

    async def CloseCycle(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("CloseCycle", request, context)
        cycle = self._cycle(request.id)
        if cycle.status == gpb.CYCLE_STATUS_CLOSED:
            raise FailedPrecondition("cycle_closed", "cycle is already closed")
        cycle.status = gpb.CYCLE_STATUS_CLOSED
        return cycle

    # objectives
    async def CreateObjective(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("CreateObjective", request, context)
        if request.cycle_id not in self.cycles:
            raise InvalidArgument("unknown_cycle", "cycle not found")
        obj = gpb.Objective(
            id=self._id("obj"),
            cycle_id=request.cycle_id,
            title=request.title,
            description=request.description,
            owner_id=request.owner_id,
            department_id=request.department_id or "dep-of-owner",
            created_at=NOW,
        )
        self.objectives[obj.id] = obj
        return obj

    async def GetObjective(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetObjective", request, context)
        if request.id not in self.objectives:
            raise NotFound("objective_not_found", "objective not found")
        return self.objectives[request.id]

    async def ListObjectives(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListObjectives", request, context)
        rows = [
            o
            for o in self.objectives.values()
            if (not request.cycle_id or o.cycle_id == request.cycle_id)
            and (not request.owner_id or o.owner_id == request.owner_id)
            and (
                not (request.visible_owner_ids or request.visible_department_ids)
                or o.owner_id in request.visible_owner_ids
                or o.department_id in request.visible_department_ids
            )
        ]
        items, token = _page(rows, request.page)
        return gpb.ListObjectivesResponse(
            objectives=items, page=common_pb2.PageResponse(next_page_token=token)
        )

    # key results
    async def CreateKeyResult(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("CreateKeyResult", request, context)
        obj = self.objectives.get(request.objective_id)
        if obj is None:
            raise NotFound("objective_not_found", "objective not found")
        if request.baseline == request.target:
            raise InvalidArgument("target_equals_baseline", "target must differ from baseline")
        kr = gpb.KeyResult(
            id=self._id("kr"),
            objective_id=obj.id,
            cycle_id=obj.cycle_id,
            title=request.title,
            owner_id=request.owner_id or obj.owner_id,
            department_id=obj.department_id,
            baseline=request.baseline,
            target=request.target,
            unit=request.unit,
            current_value=request.baseline,
            risk=gpb.RiskAssessment(status=gpb.RISK_STATUS_NO_DATA),
            created_at=NOW,
        )
        self.key_results[kr.id] = kr
        self.check_ins[kr.id] = []
        return kr

    async def GetKeyResult(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetKeyResult", request, context)
        if request.id not in self.key_results:
            raise NotFound("key_result_not_found", "key result not found")
        return self.key_results[request.id]

    async def ListKeyResults(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListKeyResults", request, context)
        rows = [k for k in self.key_results.values() if k.objective_id == request.objective_id]
        items, token = _page(rows, request.page)
        return gpb.ListKeyResultsResponse(
            key_results=items, page=common_pb2.PageResponse(next_page_token=token)
        )

    async def RecordCheckIn(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("RecordCheckIn", request, context)
        kr = self.key_results.get(request.key_result_id)
        if kr is None:
            raise NotFound("key_result_not_found", "key result not found")
        if request.HasField("actor"):  # the owner rule, as goals applies it
            actor = domain.CheckInActor(request.actor.employee_id, request.actor.any_owner)
            domain.check_may_check_in(actor, kr.owner_id, kr.id)
        if self.cycles[kr.cycle_id].status == gpb.CYCLE_STATUS_CLOSED:
            raise FailedPrecondition("cycle_closed", "the cycle is closed")
        week = request.week or "2026-W10"
        history = self.check_ins[kr.id]
        previous = next((c for c in history if c.week == week), None)
        # A toy rule: below 50 % of the way to target is at risk.
        progress = (request.value - kr.baseline) / (kr.target - kr.baseline)
        status = gpb.RISK_STATUS_AT_RISK if progress < 0.5 else gpb.RISK_STATUS_ON_TRACK
        check_in = gpb.CheckIn(
            id=self._id("ci"),
            key_result_id=kr.id,
            week=week,
            value=request.value,
            confidence=request.confidence,
            note=request.note,
            recorded_at=NOW,
            risk=gpb.RiskAssessment(
                status=status, progress=progress, expected_progress=0.5, behind_streak=2
            ),
            revision=previous.revision + 1 if previous else 1,
        )
        if previous is not None:
            history.remove(previous)
        history.append(check_in)
        kr.current_value = request.value
        kr.risk.CopyFrom(check_in.risk)
        return check_in

    async def RecordCheckIns(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("RecordCheckIns", request, context)
        for entry in request.check_ins:
            kr = self.key_results.get(entry.key_result_id)
            if kr is not None and kr.owner_id != request.owner_id:
                raise DomainError(
                    "not_owner",
                    f"check_ins[0]: key result {kr.id} is not owned by {request.owner_id}",
                    status=grpc.StatusCode.PERMISSION_DENIED,
                )
        return gpb.RecordCheckInsResponse(
            check_ins=[
                gpb.CheckIn(
                    key_result_id=c.key_result_id,
                    week=c.week or request.week,
                    value=c.value,
                    recorded_by=c.recorded_by,
                )
                for c in request.check_ins
            ]
        )

    async def GetScores(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetScores", request, context)
        return gpb.Scores(cycle_id=request.cycle_id, alignment=0.5)

    async def ListCheckIns(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListCheckIns", request, context)
        items, token = _page(self.check_ins.get(request.key_result_id, []), request.page)
        return gpb.ListCheckInsResponse(
            check_ins=items, page=common_pb2.PageResponse(next_page_token=token)
        )


class FakeFeedback(feedback_pb2_grpc.FeedbackServiceServicer):
    """The feedback service: every method UNIMPLEMENTED (its routes are tested against the
    real service, tests/integration/test_feedback_http.py); here for readiness."""


class FakeTelemetry(telemetry_pb2_grpc.TelemetryServiceServicer):
    """The telemetry service as far as the gateway's routes need it: metrics by name, bindings
    by id, a batch's duplicates (source + sample_id) and its unknown metrics, dead letters."""

    def __init__(self, log: CallLog) -> None:
        self.log = log
        self.metrics: dict[str, tpb.Metric] = {}
        self.bindings: dict[str, tpb.Binding] = {}
        self.seen: set[tuple[str, str]] = set()
        self.dead: list[tpb.DeadLetter] = []
        self._ids = itertools.count(1)

    async def DefineMetric(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("DefineMetric", request, context)
        known = self.metrics.get(request.name)
        if known is not None and known.unit != request.unit:
            raise FailedPrecondition("unit_change", f"{request.name} is measured in {known.unit}")
        metric = tpb.Metric(
            name=request.name,
            unit=request.unit,
            description=request.description,
            expected_interval_seconds=request.expected_interval_seconds,
            created_at=NOW,
        )
        self.metrics[metric.name] = metric
        return metric

    async def GetMetric(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetMetric", request, context)
        if request.name not in self.metrics:
            raise NotFound("metric_not_found", "metric not found")
        return self.metrics[request.name]

    async def ListMetrics(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListMetrics", request, context)
        items, token = _page(list(self.metrics.values()), request.page)
        return tpb.ListMetricsResponse(
            metrics=items, page=common_pb2.PageResponse(next_page_token=token)
        )

    async def IngestSamples(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("IngestSamples", request, context)
        out = tpb.IngestSamplesResponse()
        for index, sample in enumerate(request.samples):
            if sample.metric not in self.metrics:
                out.rejected.append(
                    tpb.Rejected(
                        index=index,
                        sample_id=sample.sample_id,
                        reason="unknown_metric",
                        message=f"no metric {sample.metric!r}",
                    )
                )
                self.dead.append(
                    tpb.DeadLetter(
                        id=f"dl-{next(self._ids)}",
                        subject="http",
                        reason="unknown_metric",
                        payload=sample.SerializeToString(),
                        received_at=NOW,
                    )
                )
            elif (sample.source, sample.sample_id) in self.seen:
                out.duplicates += 1
            else:
                self.seen.add((sample.source, sample.sample_id))
                out.accepted += 1
        return out

    async def CreateBinding(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("CreateBinding", request, context)
        if request.metric not in self.metrics:
            raise InvalidArgument("unknown_metric", "metric not found")
        binding = tpb.Binding(
            id=f"bind-{next(self._ids)}",
            key_result_id=request.key_result_id,
            metric=request.metric,
            source=request.source,
            aggregation=request.aggregation,
            window=request.window,
            transform=request.transform,
            denominator_metric=request.denominator_metric,
            percentile=request.percentile,
            created_by=request.created_by,
            created_at=NOW,
        )
        self.bindings[binding.id] = binding
        return binding

    async def GetBinding(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("GetBinding", request, context)
        if request.id not in self.bindings:
            raise NotFound("binding_not_found", "binding not found")
        return self.bindings[request.id]

    async def ListBindings(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListBindings", request, context)
        found = [
            b
            for b in self.bindings.values()
            if (not request.key_result_id or b.key_result_id == request.key_result_id)
            and (not request.metric or b.metric == request.metric)
        ]
        items, token = _page(found, request.page)
        return tpb.ListBindingsResponse(
            bindings=items, page=common_pb2.PageResponse(next_page_token=token)
        )

    async def DeleteBinding(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("DeleteBinding", request, context)
        if request.id not in self.bindings:
            raise NotFound("binding_not_found", "binding not found")
        return self.bindings.pop(request.id)

    async def QueryWindow(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("QueryWindow", request, context)
        if request.metric not in self.metrics:
            raise NotFound("metric_not_found", "metric not found")
        return tpb.WindowValue(value=0, count=0, window_start=NOW, window_end=NOW, empty=True)

    async def ListDeadLetters(self, request, context):  # type: ignore[no-untyped-def]
        self.log.record("ListDeadLetters", request, context)
        found = [d for d in self.dead if not request.reason or d.reason == request.reason]
        items, token = _page(found[::-1], request.page)
        counts: dict[str, int] = {}
        for d in self.dead:
            counts[d.reason] = counts.get(d.reason, 0) + 1
        return tpb.ListDeadLettersResponse(
            dead_letters=items,
            counts_by_reason=counts,
            page=common_pb2.PageResponse(next_page_token=token),
        )


class FakeServices:
    """The fakes on random ports, with the services' real gRPC server bootstrap."""

    def __init__(self) -> None:
        self.log = CallLog()
        self.identity = FakeIdentity(self.log)
        self.goals = FakeGoals(self.log)
        self.telemetry = FakeTelemetry(self.log)
        self.identity_server = GrpcServer(
            lambda s: identity_pb2_grpc.add_IdentityServiceServicer_to_server(self.identity, s),
            ["stride.identity.v1.IdentityService"],
            "127.0.0.1",
            0,
        )
        self.goals_server = GrpcServer(
            lambda s: goals_pb2_grpc.add_GoalsServiceServicer_to_server(self.goals, s),
            ["stride.goals.v1.GoalsService"],
            "127.0.0.1",
            0,
        )
        self.feedback_server = GrpcServer(
            lambda s: feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(FakeFeedback(), s),
            ["stride.feedback.v1.FeedbackService"],
            "127.0.0.1",
            0,
        )

        self.telemetry_server = GrpcServer(
            lambda s: telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server(self.telemetry, s),
            ["stride.telemetry.v1.TelemetryService"],
            "127.0.0.1",
            0,
        )

    @property
    def telemetry_addr(self) -> str:
        return f"127.0.0.1:{self.telemetry_server.port}"

    @property
    def identity_addr(self) -> str:
        return f"127.0.0.1:{self.identity_server.port}"

    @property
    def goals_addr(self) -> str:
        return f"127.0.0.1:{self.goals_server.port}"

    @property
    def feedback_addr(self) -> str:
        return f"127.0.0.1:{self.feedback_server.port}"

    async def start(self) -> None:
        await self.identity_server.start()
        await self.goals_server.start()
        await self.feedback_server.start()
        await self.telemetry_server.start()

    async def stop(self) -> None:
        await self.identity_server.stop(grace=0)
        await self.goals_server.stop(grace=0)
        await self.feedback_server.stop(grace=0)
        await self.telemetry_server.stop(grace=0)
