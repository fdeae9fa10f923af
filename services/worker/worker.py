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
from temporalio.worker import Worker

from activities.approvals import approval_decide, approval_escalate
from activities.audit import record_decision
from activities.cycle import cycle_audience, cycle_close, cycle_set_phase
from activities.notify import notify
from activities.org_sync import org_sync_apply_batch, org_sync_plan
from workflows import SEARCH_ATTRIBUTES
from workflows.cycle import CycleWorkflow
from workflows.kr_escalation import KrEscalationWorkflow
from workflows.org_sync import OrgSyncWorkflow
from workflows.plan_approval import PlanApprovalWorkflow

log = structlog.get_logger(__name__)

WORKFLOWS: list[type] = [KrEscalationWorkflow, OrgSyncWorkflow, PlanApprovalWorkflow, CycleWorkflow]
ACTIVITIES: list[Callable[..., Any]] = [
    org_sync_plan,
    org_sync_apply_batch,
    notify,
    approval_decide,
    approval_escalate,
    cycle_set_phase,
    cycle_audience,
    cycle_close,
    record_decision,
]


def build_worker(
    client: Client,
    task_queue: str,
    *,
    activities: Sequence[Callable[..., Any]] | None = None,
    **kwargs: Any,
) -> Worker:
    """A worker for every Stride workflow and activity on ``task_queue`` (``activities``
    replaces the activities, e.g. with fakes in workflow tests)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=list(ACTIVITIES if activities is None else activities),
        **kwargs,
    )


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
