"""Organisation sync from a source: ``org-sync/<source>``.

Runs on a Temporal Schedule (hourly by default; the schedule appends the start time to the
id) and on demand (``stride org sync``; dry runs use ``org-sync/<source>/dry-run``).

1. ``org_sync_plan`` (activity): fetch the source through its connector and ask identity to
   validate and diff it and store the plan in batches (``PlanOrgSync``). The run id comes from
   the workflow, so a retried activity gets the same stored plan back.
2. ``org_sync_apply_batch`` (activity), once per batch in order: identity applies it in one
   transaction (``ApplyOrgSyncBatch``); a batch applied before is not applied again, so a
   retry after a crash between commit and answer creates nothing twice.
3. The report (counts, rejection reasons by code; no names or numbers: Temporal keeps it in
   the history) is the result and the ``report`` query. Row-level detail stays in identity
   (``GetOrgSyncReport``).

An unreachable source fails the run after a few attempts without writing anything; the next
run catches up. Search attribute StridePhase: ``org-sync:planning`` → ``org-sync:applying`` →
``org-sync:done`` (or ``org-sync:failed``).

The run is recorded in the audit trail (actor ``workflow:<workflow id>``): started, finished
with its counts, or failed with the reason (``record_decision`` activity; runs started before
that existed, patch ``org-sync-audit``, keep their old commands). The starter sets the memo
``title`` ("Org sync <source>").

Every run, dry or not, is also a run in identity from its start (patch ``org-sync-runs``):
``org_sync_begin`` records it before the source is fetched (the starter may pass the run id,
so the gateway can point at it at once), dry runs are stored with their report, and a failure
is recorded with its reason (``org_sync_fail``), so ``GET /org/sync/runs`` shows every run and
why one failed. A run may name an uploaded file (``upload_id``, read by identity itself: the
file never travels through the workflow history) and the person who started it
(``requested_by``, an employee id: never deactivated by the run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.audit import Decision, record_decision
from workflows.search_attributes import STRIDE_PHASE
from workflows.sync_counts import SyncCounts

PLAN_ACTIVITY = "org_sync_plan"
APPLY_ACTIVITY = "org_sync_apply_batch"
BEGIN_ACTIVITY = "org_sync_begin"
FAIL_ACTIVITY = "org_sync_fail"
QUERY_REPORT = "report"
# workflow.patched id: runs that record started / finished / failed in the audit trail.
PATCH_AUDIT = "org-sync-audit"
# workflow.patched id: runs recorded in identity from their start (dry ones too, failures
# with their reason).
PATCH_RUNS = "org-sync-runs"
ACTION_STARTED = "worker.org_sync.started"
ACTION_FINISHED = "worker.org_sync.finished"
ACTION_FAILED = "worker.org_sync.failed"

PHASE_PLANNING = "org-sync:planning"
PHASE_APPLYING = "org-sync:applying"
PHASE_DONE = "org-sync:done"
PHASE_FAILED = "org-sync:failed"

STATUS_RUNNING = "running"
STATUS_DRY_RUN = "dry_run"
STATUS_APPLIED = "applied"
STATUS_SUPERSEDED = "superseded"
STATUS_FAILED = "failed"

# ApplicationError types raised by the activities.
ERROR_SOURCE_UNAVAILABLE = "OrgSyncSourceUnavailable"
ERROR_SOURCE_INVALID = "OrgSyncSourceInvalid"
ERROR_REFUSED = "OrgSyncRefused"  # identity refused (bad input, org changed, ...)
ERROR_SUPERSEDED = "OrgSyncRunSuperseded"
ERROR_FAILED = "OrgSyncFailed"  # the workflow's own failure

PLAN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=3.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=3,
    non_retryable_error_types=[ERROR_SOURCE_INVALID, ERROR_REFUSED],
)
APPLY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
    non_retryable_error_types=[ERROR_REFUSED, ERROR_SUPERSEDED],
)
# Recording the run's start or failure in identity: identity being down is retried a while.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=[ERROR_REFUSED],
)


def memo_title(source: str, *, dry_run: bool = False) -> str:
    """The Temporal UI title of a sync run."""
    return f"Org sync {source}" + (" (dry run)" if dry_run else "")


@dataclass
class OrgSyncInput:
    # A configured source name: "dingtalk", "json" or "file".
    source: str
    dry_run: bool = False
    # Operations per batch; 0: the worker's setting (org_sync_batch_size).
    batch_size: int = 0
    # identity's run id (a UUID) chosen by the starter; "": the workflow makes one.
    run_id: str = ""
    # An uploaded file (identity's org_sync_uploads) instead of the source's connector.
    upload_id: str = ""
    # Employee id of the person who started the run (never deactivated by it); "" if nobody.
    requested_by: str = ""
    allow_mass_deactivation: bool = False


@dataclass
class PlanInput:
    source: str
    run_id: str
    dry_run: bool
    batch_size: int = 0
    upload_id: str = ""
    requested_by: str = ""
    allow_mass_deactivation: bool = False


@dataclass
class BeginInput:
    source: str
    run_id: str
    dry_run: bool
    upload_id: str = ""
    requested_by: str = ""


@dataclass
class FailInput:
    source: str
    run_id: str
    dry_run: bool
    # For people (no personal data).
    reason: str


@dataclass
class PlanResult:
    run_id: str
    # identity's run status: dry_run, planned, applying, applied, superseded
    status: str
    counts: SyncCounts
    batch_count: int
    batches_applied: int
    operation_count: int
    # rejection reason code → rows (people and departments)
    rejected_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class ApplyInput:
    run_id: str
    batch_no: int
    source: str = ""


@dataclass
class ApplyResult:
    batch_no: int
    replayed: bool
    operations: int
    batches_applied: int
    batch_count: int
    status: str


@dataclass
class OrgSyncReport:
    source: str
    dry_run: bool
    run_id: str = ""
    # running, dry_run, applied, superseded, failed
    status: str = STATUS_RUNNING
    phase: str = PHASE_PLANNING
    counts: SyncCounts = field(default_factory=SyncCounts)
    batch_count: int = 0
    batches_applied: int = 0
    operation_count: int = 0
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    # Batches found applied already when the workflow asked (a retry after a crash).
    replayed_batches: int = 0
    error: str = ""


def counts_detail(report: OrgSyncReport) -> str:
    """The audit detail of a finished run: status and counts (no names or numbers)."""
    c = report.counts
    text = (
        f"{report.status}: created={c.created} updated={c.updated} moved={c.moved} "
        f"deactivated={c.deactivated} unchanged={c.unchanged} rejected={c.rejected}; "
        f"departments created={c.departments_created} updated={c.departments_updated} "
        f"rejected={c.departments_rejected}; batches {report.batches_applied}/{report.batch_count}"
    )
    if report.rejected_reasons:
        reasons = ", ".join(f"{k}={v}" for k, v in report.rejected_reasons.items())
        text += f"; rejected: {reasons}"
    return text


def sync_decision(step: str, action: str, resource_id: str, detail: str) -> Decision:
    # resource_id: the run id in identity; "<source>/dry-run" for dry runs (nothing stored).
    return Decision(
        step=step,
        action=action,
        resource_type="org_sync_run",
        resource_id=resource_id,
        detail=detail,
    )


def _cause(err: BaseException) -> ApplicationError | None:
    """The ApplicationError an activity raised, through the ActivityError wrapper."""
    cause = err.__cause__ if isinstance(err, ActivityError) else err
    return cause if isinstance(cause, ApplicationError) else None


def _message(err: BaseException) -> str:
    cause = _cause(err)
    if cause is not None:
        return cause.message
    inner = err.__cause__
    return str(inner) if inner is not None else str(err)


@workflow.defn
class OrgSyncWorkflow:
    @workflow.init
    def __init__(self, input: OrgSyncInput) -> None:
        self._report = OrgSyncReport(source=input.source, dry_run=input.dry_run)
        self._audited = False
        self._audit_resource = ""
        # Set when the run is recorded in identity (patch org-sync-runs): how to fail it there.
        self._failure: FailInput | None = None

    @workflow.run
    async def run(self, input: OrgSyncInput) -> OrgSyncReport:
        self._audited = workflow.patched(PATCH_AUDIT)
        recorded = workflow.patched(PATCH_RUNS)
        self._set_phase(PHASE_PLANNING)
        run_id = input.run_id if recorded and input.run_id else str(workflow.uuid4())
        if self._audited:
            # Before runs were recorded in identity a dry run had no run id to point at.
            dry_resource = not recorded and input.dry_run
            self._audit_resource = f"{input.source}/dry-run" if dry_resource else run_id
            await self._record(
                "started",
                ACTION_STARTED,
                f"source {input.source}" + (", dry run" if input.dry_run else ""),
            )
        if recorded:
            self._failure = FailInput(input.source, run_id, input.dry_run, "")
            try:
                await workflow.execute_activity(
                    BEGIN_ACTIVITY,
                    BeginInput(
                        input.source,
                        run_id,
                        input.dry_run,
                        input.upload_id,
                        input.requested_by,
                    ),
                    start_to_close_timeout=timedelta(minutes=1),
                    retry_policy=RECORD_RETRY,
                    summary="record the run",
                )
            except ActivityError as err:
                raise await self._fail(f"recording the run failed: {_message(err)}") from err
        try:
            plan: PlanResult = await workflow.execute_activity(
                PLAN_ACTIVITY,
                PlanInput(
                    input.source,
                    # Before runs were recorded, a dry run stored nothing and had no run id.
                    "" if input.dry_run and not recorded else run_id,
                    input.dry_run,
                    input.batch_size,
                    input.upload_id,
                    input.requested_by,
                    input.allow_mass_deactivation,
                ),
                result_type=PlanResult,
                start_to_close_timeout=timedelta(minutes=15),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=PLAN_RETRY,
                summary="fetch the source and plan",
            )
        except ActivityError as err:
            raise await self._fail(f"fetching or planning failed: {_message(err)}") from err
        self._report = replace(
            self._report,
            run_id=plan.run_id,
            counts=plan.counts,
            batch_count=plan.batch_count,
            batches_applied=plan.batches_applied,
            operation_count=plan.operation_count,
            rejected_reasons=dict(plan.rejected_reasons),
        )
        if input.dry_run:
            return await self._finish(STATUS_DRY_RUN)
        if plan.batches_applied < plan.batch_count:
            self._set_phase(PHASE_APPLYING)
        for batch_no in range(plan.batches_applied, plan.batch_count):
            try:
                done: ApplyResult = await workflow.execute_activity(
                    APPLY_ACTIVITY,
                    ApplyInput(plan.run_id, batch_no, input.source),
                    result_type=ApplyResult,
                    start_to_close_timeout=timedelta(minutes=5),
                    heartbeat_timeout=timedelta(minutes=1),
                    retry_policy=APPLY_RETRY,
                    summary=f"batch {batch_no + 1} of {plan.batch_count}",
                )
            except ActivityError as err:
                cause = _cause(err)
                if cause is not None and cause.type == ERROR_SUPERSEDED:
                    self._report = replace(self._report, error=cause.message)
                    return await self._finish(STATUS_SUPERSEDED)
                raise await self._fail(
                    f"applying batch {batch_no} failed: {_message(err)}"
                ) from err
            self._report = replace(
                self._report,
                batches_applied=done.batches_applied,
                replayed_batches=self._report.replayed_batches + int(done.replayed),
            )
        return await self._finish(STATUS_APPLIED)

    async def _record(self, step: str, action: str, detail: str) -> None:
        if self._audited:
            await record_decision(sync_decision(step, action, self._audit_resource, detail))

    async def _finish(self, status: str) -> OrgSyncReport:
        report = self._finished(status)
        await self._record("finished", ACTION_FINISHED, counts_detail(report))
        return report

    async def _fail(self, message: str) -> ApplicationError:
        error = self._failed(message)
        await self._record("failed", ACTION_FAILED, message)
        if self._failure is not None:
            try:  # the runs list says why it failed
                await workflow.execute_activity(
                    FAIL_ACTIVITY,
                    replace(self._failure, reason=message),
                    start_to_close_timeout=timedelta(minutes=1),
                    retry_policy=RECORD_RETRY,
                    summary="record the failure",
                )
            except ActivityError:
                workflow.logger.warning("could not record the failure in identity")
        return error

    def _set_phase(self, phase: str) -> None:
        self._report = replace(self._report, phase=phase)
        workflow.upsert_search_attributes([STRIDE_PHASE.value_set(phase)])

    def _finished(self, status: str) -> OrgSyncReport:
        self._report = replace(self._report, status=status)
        self._set_phase(PHASE_DONE)
        workflow.logger.info(
            "org sync finished",
            extra={"status": status, "operations": self._report.operation_count},
        )
        return self.report()

    def _failed(self, message: str) -> ApplicationError:
        self._report = replace(self._report, status=STATUS_FAILED, error=message)
        self._set_phase(PHASE_FAILED)
        return ApplicationError(message, type=ERROR_FAILED, non_retryable=True)

    @workflow.query(name=QUERY_REPORT)
    def report(self) -> OrgSyncReport:
        return replace(
            self._report,
            counts=replace(self._report.counts),
            rejected_reasons=dict(self._report.rejected_reasons),
        )


def reasons_histogram(codes: Sequence[str]) -> dict[str, int]:
    """Rejection reason codes → how many rows (deterministic order)."""
    histogram: dict[str, int] = {}
    for code in sorted(codes):
        histogram[code] = histogram.get(code, 0) + 1
    return histogram
