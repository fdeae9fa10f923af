"""Activities of the org-sync workflow: record the run, fetch + plan (or plan an uploaded
file, which identity reads itself), apply one batch, record a failure (identity over gRPC).

Failures become ApplicationErrors the workflow's retry policies understand:
``OrgSyncSourceUnavailable`` (retried: outage, timeout), ``OrgSyncSourceInvalid`` (not
retried: configuration or file), ``OrgSyncRefused`` (not retried: identity refused the
request, e.g. ``org_changed_since_plan``), ``OrgSyncRunSuperseded``; identity being down is
retried. Messages carry no personal data (they end up in the workflow history).
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.clients import error_code, to_application_error
from services.common.settings import WorkerSettings
from services.identity.sync.client import OrgSyncClient
from services.identity.sync.connectors import (
    Connector,
    SourceError,
    connector_for,
)
from services.identity.sync.convert import counts_from_pb
from stride.identity.v1 import org_sync_pb2 as pb
from workflows.org_sync import (
    APPLY_ACTIVITY,
    BEGIN_ACTIVITY,
    ERROR_REFUSED,
    ERROR_SOURCE_INVALID,
    ERROR_SOURCE_UNAVAILABLE,
    ERROR_SUPERSEDED,
    FAIL_ACTIVITY,
    PLAN_ACTIVITY,
    ApplyInput,
    ApplyResult,
    BeginInput,
    FailInput,
    PlanInput,
    PlanResult,
    reasons_histogram,
)

ConnectorFactory = Callable[[str, WorkerSettings], Connector]


def _identity_error(err: grpc.aio.AioRpcError) -> ApplicationError:
    superseded = error_code(err) == "org_sync_run_superseded"
    return to_application_error("identity", err, ERROR_SUPERSEDED if superseded else ERROR_REFUSED)


def _source_error(err: SourceError) -> ApplicationError:
    if err.retryable:
        return ApplicationError(str(err), type=ERROR_SOURCE_UNAVAILABLE)
    return ApplicationError(str(err), type=ERROR_SOURCE_INVALID, non_retryable=True)


def plan_result(report: pb.OrgSyncReport) -> PlanResult:
    return PlanResult(
        run_id=report.run_id,
        status=report.status,
        counts=counts_from_pb(report.counts),
        batch_count=report.batch_count,
        batches_applied=report.batches_applied,
        operation_count=report.operation_count,
        rejected_reasons=reasons_histogram(
            [r.reason_code for r in report.rows if r.action == "rejected"]
        ),
    )


class OrgSyncActivities:
    """The activities, bound to the worker's settings (and a connector factory for tests)."""

    def __init__(
        self, settings: WorkerSettings, connectors: ConnectorFactory = connector_for
    ) -> None:
        self.settings = settings
        self.connectors = connectors

    def all(self) -> list[Callable[..., object]]:
        return [self.begin, self.plan, self.apply_batch, self.fail]

    @activity.defn(name=BEGIN_ACTIVITY)
    async def begin(self, input: BeginInput) -> None:
        try:
            async with OrgSyncClient(self.settings.identity_addr, source=input.source) as client:
                await client.begin(
                    input.run_id,
                    dry_run=input.dry_run,
                    requested_by=input.requested_by,
                    upload_id=input.upload_id,
                    workflow_id=activity.info().workflow_id or "",
                )
        except grpc.aio.AioRpcError as err:
            raise _identity_error(err) from err

    @activity.defn(name=FAIL_ACTIVITY)
    async def fail(self, input: FailInput) -> None:
        try:
            async with OrgSyncClient(self.settings.identity_addr, source=input.source) as client:
                await client.fail(input.run_id, input.reason, dry_run=input.dry_run)
        except grpc.aio.AioRpcError as err:
            raise _identity_error(err) from err

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(self, input: PlanInput) -> PlanResult:
        snapshot = None
        if not input.upload_id:  # an uploaded file is read by identity itself
            try:
                connector = self.connectors(input.source, self.settings)
                activity.heartbeat("fetching")
                snapshot = await connector.fetch(lambda step: activity.heartbeat(step))
            except SourceError as err:
                raise _source_error(err) from err
            activity.heartbeat(f"planning {len(snapshot.people)} people")
        batch_size = input.batch_size or self.settings.org_sync_batch_size
        try:
            async with OrgSyncClient(
                self.settings.identity_addr,
                source=input.source,
                max_message_bytes=self.settings.grpc_max_message_bytes,
            ) as client:
                report = await client.plan(
                    snapshot,
                    run_id=input.run_id,
                    dry_run=input.dry_run,
                    batch_size=batch_size,
                    upload_id=input.upload_id,
                    requested_by=input.requested_by,
                    allow_mass_deactivation=input.allow_mass_deactivation,
                )
        except grpc.aio.AioRpcError as err:
            raise _identity_error(err) from err
        return plan_result(report)

    @activity.defn(name=APPLY_ACTIVITY)
    async def apply_batch(self, input: ApplyInput) -> ApplyResult:
        activity.heartbeat(f"batch {input.batch_no}")
        try:
            async with OrgSyncClient(
                self.settings.identity_addr, source=input.source or "unknown"
            ) as client:
                done = await client.apply_batch(input.run_id, input.batch_no)
        except grpc.aio.AioRpcError as err:
            raise _identity_error(err) from err
        return ApplyResult(
            batch_no=done.batch_no,
            replayed=done.replayed,
            operations=done.operations,
            batches_applied=done.batches_applied,
            batch_count=done.batch_count,
            status=done.status,
        )


# Registered by the worker (services/worker/worker.py): settings from the STRIDE_* environment.
@activity.defn(name=PLAN_ACTIVITY)
async def org_sync_plan(input: PlanInput) -> PlanResult:
    return await OrgSyncActivities(WorkerSettings()).plan(input)


@activity.defn(name=APPLY_ACTIVITY)
async def org_sync_apply_batch(input: ApplyInput) -> ApplyResult:
    return await OrgSyncActivities(WorkerSettings()).apply_batch(input)


@activity.defn(name=BEGIN_ACTIVITY)
async def org_sync_begin(input: BeginInput) -> None:
    await OrgSyncActivities(WorkerSettings()).begin(input)


@activity.defn(name=FAIL_ACTIVITY)
async def org_sync_fail(input: FailInput) -> None:
    await OrgSyncActivities(WorkerSettings()).fail(input)
