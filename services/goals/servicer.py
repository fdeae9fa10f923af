"""The goals gRPC API: a thin adapter from each RPC to its handler (services/goals/handlers).

Requests go to the handler as they are (protobuf messages are the commands), the handler's
message comes back as the response; domain errors become gRPC statuses in the shared server
bootstrap. No SQL and no rules here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from services.common.runtime import ServiceContext
from services.common.uow import Units
from services.goals.events import EVENTS
from services.goals.handlers import (
    approvals,
    blockers,
    check_in_imports,
    check_ins,
    cycles,
    dashboards,
    exports,
    key_results,
    machine_values,
    monthly_briefs,
    objectives,
    risk_rules,
    risk_sweep,
    scores,
)
from services.goals.handlers.shared import Deps
from services.goals.identity_client import IdentityClient
from services.goals.repository import GoalsRepository
from stride.goals.v1 import goals_pb2_grpc

Req = TypeVar("Req")
Resp = TypeVar("Resp")


def _rpc(handler: Callable[[Deps, Req], Awaitable[Resp]]) -> Any:
    """A servicer method handing the request to ``handler``."""

    async def method(self: GoalsServicer, request: Req, context: grpc.aio.ServicerContext) -> Resp:
        return await handler(self.deps, request)

    method.__name__ = method.__qualname__ = handler.__name__
    return method


def deps_of(ctx: ServiceContext, identity: IdentityClient) -> Deps:
    units = Units(ctx.sessions, GoalsRepository, EVENTS, ctx.outbox_committed)
    return Deps(units, ctx.sessions, identity, ctx.settings.time_zone)


class GoalsServicer(goals_pb2_grpc.GoalsServiceServicer):
    def __init__(self, ctx: ServiceContext, identity: IdentityClient) -> None:
        self.deps = deps_of(ctx, identity)

    CreateCycle = _rpc(cycles.create)
    GetCycle = _rpc(cycles.get)
    ListCycles = _rpc(cycles.list_)
    SetCyclePhase = _rpc(cycles.set_phase)
    CloseCycle = _rpc(cycles.close)

    CreateObjective = _rpc(objectives.create)
    GetObjective = _rpc(objectives.get)
    ListObjectives = _rpc(objectives.list_)
    UpdateObjective = _rpc(objectives.update)
    CopyObjectives = _rpc(objectives.copy)
    DeleteObjective = _rpc(objectives.delete)
    SetKeyResultWeights = _rpc(objectives.set_weights)

    CreateKeyResult = _rpc(key_results.create)
    GetKeyResult = _rpc(key_results.get)
    ListKeyResults = _rpc(key_results.list_)
    UpdateKeyResult = _rpc(key_results.update)
    SetSelfScore = _rpc(key_results.set_self_score)

    RecordCheckIn = _rpc(check_ins.record)
    RecordCheckIns = _rpc(check_ins.record_many)
    ImportCheckIns = _rpc(check_in_imports.import_)
    ListCheckIns = _rpc(check_ins.list_)
    ListCheckInHistory = _rpc(check_ins.history)
    SetChecklist = _rpc(check_ins.set_checklist)
    GetChecklist = _rpc(check_ins.get_checklist)

    SubmitPlan = _rpc(approvals.submit_plan)
    RequestRevision = _rpc(approvals.request_revision)
    ListRevisions = _rpc(approvals.list_revisions)
    GetApproval = _rpc(approvals.get)
    ListApprovals = _rpc(approvals.list_)
    DecideApproval = _rpc(approvals.decide)
    EscalateApproval = _rpc(approvals.escalate)

    GetScores = _rpc(scores.get)
    GetParticipation = _rpc(scores.participation)
    GetDashboard = _rpc(dashboards.get)
    ListRisks = _rpc(dashboards.risks)
    ExportGoals = _rpc(exports.export)
    RebuildDashboards = _rpc(dashboards.rebuild)
    GetPeopleStats = _rpc(scores.people_stats)

    ListBlockers = _rpc(blockers.list_)
    ResolveBlocker = _rpc(blockers.resolve)
    GetRiskRules = _rpc(risk_rules.get)
    ListRiskRules = _rpc(risk_rules.list_)
    SetRiskRules = _rpc(risk_rules.set_)
    ListCycleCheckIns = _rpc(risk_rules.cycle_check_ins)
    SweepRisk = _rpc(risk_sweep.sweep_risk)

    RecordMachineValue = _rpc(machine_values.record)
    SetKeyResultStale = _rpc(machine_values.set_stale)

    PutMonthlyBrief = _rpc(monthly_briefs.put)
    GetMonthlyBrief = _rpc(monthly_briefs.get)
    ListMonthlyBriefs = _rpc(monthly_briefs.list_)
