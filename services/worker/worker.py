"""What the worker runs, in one place: used by the process, the tests and the replay tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, Worker

from activities.approvals import ApprovalActivities
from activities.archive import ArchiveActivities
from activities.audit import AuditActivities
from activities.cycle import CycleActivities
from activities.escalation import EscalationActivities
from activities.feedback_rounds import FeedbackRoundActivities
from activities.im import ImActivities
from activities.invitations import InvitationActivities
from activities.monthly_brief import MonthlyBriefActivities
from activities.notify import NotifyActivities
from activities.org_calendar import OrgCalendarActivities
from activities.org_sync import OrgSyncActivities
from activities.promotions import PromotionActivities
from activities.risk_sweep import RiskSweepActivities
from services.common.settings import WorkerSettings
from workflows.coordination import CoordinationWorkflow
from workflows.cycle import CycleWorkflow
from workflows.feedback_round import FeedbackRoundWorkflow
from workflows.integration_pull import IntegrationPullWorkflow
from workflows.invitations import InvitationWorkflow
from workflows.kr_escalation import KrEscalationWorkflow
from workflows.monthly_brief import MonthlyBriefWorkflow
from workflows.org_sync import OrgSyncWorkflow
from workflows.plan_approval import PlanApprovalWorkflow
from workflows.promotion import PromotionWorkflow
from workflows.risk_sweep import RiskSweepWorkflow
from workflows.sandbox import RUNNER
from workflows.search_attributes import SEARCH_ATTRIBUTES

log = structlog.get_logger(__name__)

WORKFLOWS: list[type] = [
    KrEscalationWorkflow,
    CoordinationWorkflow,
    OrgSyncWorkflow,
    PlanApprovalWorkflow,
    CycleWorkflow,
    InvitationWorkflow,
    RiskSweepWorkflow,
    FeedbackRoundWorkflow,
    PromotionWorkflow,
    MonthlyBriefWorkflow,
]


def activities_for(settings: WorkerSettings) -> list[Callable[..., Any]]:
    """Every Stride activity, bound once to the worker's settings."""
    org_sync = OrgSyncActivities(settings)
    approvals = ApprovalActivities(settings)
    cycles = CycleActivities(settings)
    im = ImActivities(settings)
    return [
        *org_sync.all(),
        *InvitationActivities(settings).all(),
        NotifyActivities(settings).notify,
        approvals.decide,
        approvals.escalate,
        cycles.set_phase,
        cycles.audience,
        cycles.close,
        AuditActivities(settings).record_decision,
        *EscalationActivities(settings).all(),
        im.targets,
        im.post,
        OrgCalendarActivities(settings).org_calendar,
        RiskSweepActivities(settings).sweep_batch,
        *FeedbackRoundActivities(settings).all(),
        *PromotionActivities(settings).all(),
        ArchiveActivities(settings).archive_cycle,
        *MonthlyBriefActivities(settings).all(),
    ]


def build_worker(
    client: Client,
    task_queue: str,
    *,
    activities: Sequence[Callable[..., Any]] | None = None,
    **kwargs: Any,
) -> Worker:
    """A worker for every Stride workflow and activity on ``task_queue``; the activities
    default to :func:`activities_for` the STRIDE_* environment's settings (tests pass fakes)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=list(activities_for(WorkerSettings()) if activities is None else activities),
        workflow_runner=RUNNER,
        **kwargs,
    )


def build_replayer() -> Replayer:
    """A replayer of every Stride workflow, in the worker's sandbox (``stride temporal replay``,
    tests/replay), the integrations worker's pull included."""
    return Replayer(workflows=[*WORKFLOWS, IntegrationPullWorkflow], workflow_runner=RUNNER)


async def ensure_search_attributes(
    client: Client, keys: Sequence[SearchAttributeKey[Any]] = SEARCH_ATTRIBUTES
) -> list[str]:
    """Register the custom search attributes Stride's workflows upsert, if missing; return
    the names it registered (empty when all were there).

    Works on the dev server (list, then add the missing ones) and on the time-skipping test
    server, which implements AddSearchAttributes but not ListSearchAttributes and answers
    ALREADY_EXISTS for a known attribute. Raises RPCError when the caller may not register
    (e.g. PERMISSION_DENIED on a managed cluster, where ops register them).
    """
    wanted = {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in keys}
    try:
        resp = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        missing = wanted
    else:
        missing = {n: t for n, t in wanted.items() if n not in resp.custom_attributes}
    registered: list[str] = []
    for name, value_type in missing.items():
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace, search_attributes={name: value_type}
                )
            )
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
        else:
            registered.append(name)
            log.info("registered search attribute", name=name, namespace=client.namespace)
    return registered
