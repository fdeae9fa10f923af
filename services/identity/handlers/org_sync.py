"""Org sync: plan a source snapshot against the org, apply the plan batch by batch.

Plan: load the current org, run the pure planner, store the operations in batches under the
run id (nothing is stored for a dry run). Apply: claim the batch (an UPDATE of its
``applied_at`` that only succeeds once), apply its operations with the events and audit
entries in the same unit of work (``services.identity.sync.apply``), and record the run's
progress; a batch claimed before returns the stored result and writes nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import rfc3339, utcnow
from services.common.uow import Units
from services.identity.handlers import reading
from services.identity.sync.apply import BatchApplier
from services.identity.sync.convert import counts_pb, rows_pb, snapshot_from_pb
from services.identity.sync.data import (
    Operation,
    Plan,
    ReportRow,
    counts_from_json,
    counts_to_json,
)
from services.identity.sync.plan import mass_deactivation, plan_sync
from services.identity.sync.repository import OrgSyncRepository
from services.identity.sync.tables import (
    RUN_APPLIED,
    RUN_APPLYING,
    RUN_DRY,
    RUN_PLANNED,
    RUN_SUPERSEDED,
    OrgSyncBatch,
    OrgSyncRun,
)
from stride.identity.v1 import org_sync_pb2 as pb
from workflows.sync_counts import SyncCounts

DEFAULT_BATCH_SIZE = 200
MAX_BATCH_SIZE = 5_000
MAX_RUNS_LISTED = 500
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,63}$")


def _report(
    *,
    run_id: str,
    source: str,
    status: str,
    counts: SyncCounts,
    rows: Iterable[ReportRow],
    batch_count: int,
    batches_applied: int,
    operation_count: int,
    planned_at: str,
    finished_at: str = "",
) -> pb.OrgSyncReport:
    return pb.OrgSyncReport(
        run_id=run_id,
        source=source,
        dry_run=status == RUN_DRY,
        status=status,
        counts=counts_pb(counts),
        batch_count=batch_count,
        batches_applied=batches_applied,
        rows=rows_pb(rows),
        planned_at=planned_at,
        finished_at=finished_at,
        operation_count=operation_count,
    )


def run_report(run: OrgSyncRun, *, with_rows: bool = True) -> pb.OrgSyncReport:
    """A stored run's report (``with_rows=False`` for a run loaded without its rows)."""
    return _report(
        run_id=run.id,
        source=run.source,
        status=run.status,
        counts=counts_from_json(json.loads(run.counts)),
        rows=[ReportRow.from_json(r) for r in json.loads(run.rows)] if with_rows else [],
        batch_count=run.batch_count,
        batches_applied=run.batches_applied,
        operation_count=run.operation_count,
        planned_at=rfc3339(run.created_at),
        finished_at=rfc3339(run.finished_at),
    )


def _batch_response(
    run: OrgSyncRun, batch: OrgSyncBatch, *, replayed: bool
) -> pb.ApplyOrgSyncBatchResponse:
    return pb.ApplyOrgSyncBatchResponse(
        run_id=run.id,
        batch_no=batch.batch_no,
        replayed=replayed,
        operations=batch.operation_count,
        batches_applied=run.batches_applied,
        batch_count=run.batch_count,
        status=run.status,
    )


def _new_run(run_id: str, source: str, plan: Plan, batch_count: int, now: datetime) -> OrgSyncRun:
    return OrgSyncRun(
        id=run_id,
        source=source,
        status=RUN_PLANNED if batch_count else RUN_APPLIED,
        created_at=now,
        finished_at=None if batch_count else now,
        batch_count=batch_count,
        batches_applied=0,
        operation_count=len(plan.operations),
        counts=json.dumps(counts_to_json(plan.counts)),
        rows=json.dumps([r.to_json() for r in plan.rows], ensure_ascii=False),
    )


def run_id_of(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError as exc:
        raise InvalidArgument("invalid_run_id", "run_id must be a UUID") from exc


def _run_not_found() -> NotFound:
    return NotFound("org_sync_run_not_found", "no org sync run with that id")


class OrgSync:
    def __init__(self, units: Units[OrgSyncRepository]) -> None:
        self.units = units

    async def plan(self, request: pb.PlanOrgSyncRequest) -> pb.OrgSyncReport:
        source = request.source.strip().lower()
        if not SOURCE_NAME.match(source):
            raise InvalidArgument(
                "invalid_source", "source must be 1-64 lowercase letters, digits, '.', '_', '-'"
            )
        batch_size = request.batch_size or DEFAULT_BATCH_SIZE
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise InvalidArgument("invalid_batch_size", f"batch_size must be 1..{MAX_BATCH_SIZE}")
        snapshot = snapshot_from_pb(request.snapshot)
        run_id = run_id_of(request.run_id) if (request.run_id or not request.dry_run) else ""
        if not request.dry_run:
            async with reading(self.units) as repo:
                existing = await repo.run(run_id)
            if existing is not None:  # a retry: the plan is stored already
                return run_report(existing)
        async with reading(self.units) as repo:
            org = await repo.current_org()
        plan = plan_sync(snapshot, org)
        if mass_deactivation(plan, org) and not request.allow_mass_deactivation:
            raise FailedPrecondition(
                "mass_deactivation",
                f"the source would deactivate {plan.counts.deactivated} of "
                f"{sum(1 for e in org.employees if e.active)} active people; check the source "
                "or allow it explicitly",
            )
        now = utcnow()
        batches = plan.batches(batch_size)
        if request.dry_run:
            return _report(
                run_id=run_id,
                source=source,
                status=RUN_DRY,
                counts=plan.counts,
                rows=plan.rows,
                batch_count=len(batches),
                batches_applied=0,
                operation_count=len(plan.operations),
                planned_at=rfc3339(now),
            )
        try:
            async with self.units() as uow:
                # The plan was made against the org as it is now: older unfinished plans
                # were made against an older state and must not be applied any more.
                await uow.repo.supersede_unfinished(now)
                run = _new_run(run_id, source, plan, len(batches), now)
                uow.repo.add(run)
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
        return run_report(run)

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
                return _batch_response(run, batch, replayed=True)
            if run.status == RUN_SUPERSEDED:
                raise FailedPrecondition(
                    "org_sync_run_superseded",
                    "a newer sync was planned after this one; this run stops here",
                )
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
            return _batch_response(run, batch, replayed=False)

    async def report(self, run_id: str) -> pb.OrgSyncReport:
        run_id = run_id_of(run_id)
        async with reading(self.units) as repo:
            run = await repo.run(run_id)
        if run is None:
            raise _run_not_found()
        return run_report(run)

    async def runs(self, limit: int) -> list[pb.OrgSyncReport]:
        limit = limit or 20
        if not 1 <= limit <= MAX_RUNS_LISTED:
            raise InvalidArgument("invalid_limit", f"limit must be 1..{MAX_RUNS_LISTED}")
        async with reading(self.units) as repo:
            runs = await repo.runs(limit)
        return [run_report(r, with_rows=False) for r in runs]
