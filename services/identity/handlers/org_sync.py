"""Org sync: record a run from its start, plan a snapshot against the org, apply it batch by
batch, and say why a run failed.

Begin: the run is recorded (``started``) before anything is fetched, so every run — dry or
not — is in the runs list. Plan: load the current org, run the pure planner, store the run
with its report; a real run also gets its operations in batches (a dry run none). Apply: claim
the batch (an UPDATE of its ``applied_at`` that only succeeds once), apply its operations with
the events and audit entries in the same unit of work (``services.identity.sync.apply``), and
record the run's progress; a batch claimed before returns the stored result and writes nothing.
Fail: the run ends ``failed`` with a reason people can read.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import utcnow
from services.common.uow import Units
from services.identity.handlers import reading
from services.identity.handlers.org_sync_uploads import OrgSyncUploads
from services.identity.sync.apply import BatchApplier
from services.identity.sync.convert import snapshot_from_pb
from services.identity.sync.data import Operation, Plan, counts_to_json
from services.identity.sync.plan import (
    DEFAULT_MAX_DEACTIVATION_SHARE,
    mass_deactivation,
    plan_sync,
)
from services.identity.sync.reports import batch_response, deactivations_json, run_report
from services.identity.sync.repository import OrgSyncRepository
from services.identity.sync.tables import (
    FINAL,
    RUN_APPLIED,
    RUN_APPLYING,
    RUN_DRY,
    RUN_FAILED,
    RUN_PLANNED,
    RUN_STARTED,
    RUN_SUPERSEDED,
    OrgSyncBatch,
    OrgSyncRun,
)
from stride.identity.v1 import org_sync_pb2 as pb

DEFAULT_BATCH_SIZE = 200
MAX_BATCH_SIZE = 5_000
MAX_RUNS_LISTED = 500
MAX_REASON = 2_000
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,63}$")


def run_id_of(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError as exc:
        raise InvalidArgument("invalid_run_id", "run_id must be a UUID") from exc


def source_of(value: str) -> str:
    source = value.strip().lower()
    if not SOURCE_NAME.match(source):
        raise InvalidArgument(
            "invalid_source", "source must be 1-64 lowercase letters, digits, '.', '_', '-'"
        )
    return source


def _run_not_found() -> NotFound:
    return NotFound("org_sync_run_not_found", "no org sync run with that id")


def _run_failed(run: OrgSyncRun) -> FailedPrecondition:
    return FailedPrecondition("org_sync_run_failed", run.error or "the run failed")


def _started(
    run_id: str,
    source: str,
    now: datetime,
    *,
    dry_run: bool = False,
    requested_by: str = "",
    upload_id: str = "",
    workflow_id: str = "",
) -> OrgSyncRun:
    return OrgSyncRun(
        id=run_id,
        source=source,
        status=RUN_STARTED,
        created_at=now,
        finished_at=None,
        batch_count=0,
        batches_applied=0,
        operation_count=0,
        counts="{}",
        rows="[]",
        dry_run=dry_run,
        error="",
        deactivations="[]",
        mass_deactivation=False,
        requested_by=requested_by[:64],
        upload_id=upload_id,
        workflow_id=workflow_id[:255],
    )


def _record_plan(run: OrgSyncRun, plan: Plan, batch_count: int, now: datetime) -> None:
    """The planned run's counts, report rows and who it deactivates."""
    run.batch_count = batch_count
    run.batches_applied = 0
    run.operation_count = len(plan.operations)
    run.counts = json.dumps(counts_to_json(plan.counts))
    run.rows = json.dumps([r.to_json() for r in plan.rows], ensure_ascii=False)
    run.deactivations = deactivations_json(plan.rows)
    if run.dry_run:
        run.status, run.finished_at = RUN_DRY, now
    elif batch_count:
        run.status = RUN_PLANNED
    else:
        run.status, run.finished_at = RUN_APPLIED, now


class OrgSync:
    def __init__(
        self,
        units: Units[OrgSyncRepository],
        *,
        max_deactivation_share: float = DEFAULT_MAX_DEACTIVATION_SHARE,
    ) -> None:
        self.units = units
        self.max_deactivation_share = max_deactivation_share
        self.uploads = OrgSyncUploads(units)

    async def begin(self, request: pb.BeginOrgSyncRunRequest) -> pb.OrgSyncReport:
        run_id = run_id_of(request.run_id)
        run = _started(
            run_id,
            source_of(request.source),
            utcnow(),
            dry_run=request.dry_run,
            requested_by=request.requested_by,
            upload_id=request.upload_id.strip(),
            workflow_id=request.workflow_id,
        )
        if run.upload_id:
            await self.uploads.check(run.upload_id)
        try:
            async with self.units() as uow:
                if await uow.repo.run(run_id, with_rows=False) is None:
                    uow.repo.add(run)
        except IntegrityError:  # begun concurrently (the gateway and the workflow): fine
            pass
        return await self.report(run_id, with_rows=False)

    async def plan(self, request: pb.PlanOrgSyncRequest) -> pb.OrgSyncReport:
        source = source_of(request.source)
        batch_size = request.batch_size or DEFAULT_BATCH_SIZE
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise InvalidArgument("invalid_batch_size", f"batch_size must be 1..{MAX_BATCH_SIZE}")
        run_id = run_id_of(request.run_id) if request.run_id else str(uuid.uuid4())
        async with reading(self.units) as repo:
            existing = await repo.run(run_id)
        if existing is not None and existing.status != RUN_STARTED:
            if existing.status == RUN_FAILED:
                raise _run_failed(existing)
            return run_report(existing)  # a retry: the plan is stored already
        upload_id = request.upload_id.strip()
        if upload_id:
            snapshot = await self.uploads.snapshot(upload_id)
        else:
            snapshot = snapshot_from_pb(request.snapshot)
        async with reading(self.units) as repo:
            org = await repo.current_org()
        plan = plan_sync(snapshot, org, requested_by=request.requested_by)
        mass = mass_deactivation(plan, org, self.max_deactivation_share)
        refused = mass and not request.allow_mass_deactivation and not request.dry_run
        now = utcnow()
        batches = plan.batches(batch_size)
        try:
            async with self.units() as uow:
                run = await uow.repo.run(run_id, fresh=True)
                if run is None:
                    run = _started(
                        run_id,
                        source,
                        now,
                        dry_run=request.dry_run,
                        requested_by=request.requested_by,
                        upload_id=upload_id,
                    )
                    uow.repo.add(run)
                run.dry_run = request.dry_run
                run.mass_deactivation = mass
                if refused:
                    _record_plan(run, plan, 0, now)
                    run.status, run.finished_at = RUN_FAILED, now
                    run.error = (
                        f"the source would deactivate "
                        f"{plan.counts.deactivated} of {sum(e.active for e in org.employees)} "
                        f"active people (more than {self.max_deactivation_share:.0%}); check "
                        "the source, or allow it explicitly"
                    )
                elif request.dry_run:
                    _record_plan(run, plan, len(batches), now)
                else:
                    # The plan was made against the org as it is now: older unfinished plans
                    # were made against an older state and must not be applied any more.
                    await uow.repo.supersede_unfinished(now)
                    _record_plan(run, plan, len(batches), now)
                    await uow.repo.flush()
                    for number, batch in enumerate(batches):
                        uow.repo.add(
                            OrgSyncBatch(
                                run_id=run_id,
                                batch_no=number,
                                operations=json.dumps([op.to_json() for op in batch]),
                                operation_count=len(batch),
                                applied_at=None,
                            )
                        )
        except IntegrityError:  # the same run id planned concurrently: report that one
            async with reading(self.units) as repo:
                existing = await repo.run(run_id)
            if existing is None:
                raise
            return run_report(existing)
        if refused:
            raise FailedPrecondition("mass_deactivation", run.error)
        return run_report(run)

    async def fail(self, request: pb.FailOrgSyncRunRequest) -> pb.OrgSyncReport:
        run_id = run_id_of(request.run_id)
        reason = " ".join(request.reason.split())[:MAX_REASON] or "the run failed"
        now = utcnow()
        try:
            async with self.units() as uow:
                run = await uow.repo.run(run_id, with_rows=False, fresh=True)
                if run is None:
                    run = _started(run_id, source_of(request.source), now, dry_run=request.dry_run)
                    uow.repo.add(run)
                if run.status not in FINAL:
                    run.status, run.error, run.finished_at = RUN_FAILED, reason, now
        except IntegrityError:  # begun concurrently: mark that one
            return await self.fail(request)
        return await self.report(run_id, with_rows=False)

    async def apply_batch(self, run_id: str, batch_no: int) -> pb.ApplyOrgSyncBatchResponse:
        run_id = run_id_of(run_id)
        async with self.units() as uow:
            repo = uow.repo
            claimed = await repo.claim_batch(run_id, batch_no, utcnow())
            run = await repo.run(run_id, with_rows=False, fresh=True)
            if run is None:
                raise _run_not_found()
            batch = await repo.batch(run_id, batch_no)
            if batch is None:
                raise InvalidArgument(
                    "invalid_batch", f"the run has batches 0..{run.batch_count - 1}"
                )
            if not claimed:
                return batch_response(run, batch, replayed=True)
            if run.status == RUN_SUPERSEDED:
                raise FailedPrecondition(
                    "org_sync_run_superseded",
                    "a newer sync was planned after this one; this run stops here",
                )
            if run.status == RUN_FAILED:
                raise _run_failed(run)
            if run.batches_applied != batch_no:
                raise FailedPrecondition(
                    "previous_batch_not_applied",
                    f"apply batch {run.batches_applied} first (batches apply in order)",
                )
            operations = [Operation.from_json(o) for o in json.loads(batch.operations)]
            await BatchApplier(uow, batch_no).apply(operations)
            run.batches_applied = batch_no + 1
            if run.batches_applied == run.batch_count:
                run.status = RUN_APPLIED
                run.finished_at = utcnow()
            else:
                run.status = RUN_APPLYING
            return batch_response(run, batch, replayed=False)

    async def report(self, run_id: str, *, with_rows: bool = True) -> pb.OrgSyncReport:
        run_id = run_id_of(run_id)
        async with reading(self.units) as repo:
            run = await repo.run(run_id, with_rows=with_rows)
        if run is None:
            raise _run_not_found()
        return run_report(run, with_rows=with_rows)

    async def runs(self, limit: int) -> list[pb.OrgSyncReport]:
        limit = limit or 20
        if not 1 <= limit <= MAX_RUNS_LISTED:
            raise InvalidArgument("invalid_limit", f"limit must be 1..{MAX_RUNS_LISTED}")
        async with reading(self.units) as repo:
            runs = await repo.runs(limit)
        return [run_report(r, with_rows=False) for r in runs]
