"""gRPC handlers of org sync (OrgSyncService in the identity process).

Plan: load the current org, run the pure planner, store the operations in batches under the
run id (nothing is stored for a dry run). Apply: claim the batch (an UPDATE of its
``applied_at`` that only succeeds once), apply its operations with the events and audit
entries in the same transaction, and record the run's progress; a batch claimed before
returns the stored result and writes nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

import grpc
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from services.common.db import transaction
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import rfc3339, utcnow
from services.common.runtime import ServiceContext
from services.identity.models import Department, Employee
from services.identity.sync.apply import BatchApplier
from services.identity.sync.convert import counts_pb, rows_pb, snapshot_from_pb
from services.identity.sync.data import (
    CurrentOrg,
    Operation,
    OrgDepartment,
    OrgEmployee,
    Plan,
    ReportRow,
    counts_from_json,
    counts_to_json,
)
from services.identity.sync.plan import mass_deactivation, plan_sync
from services.identity.sync.tables import (
    RUN_APPLIED,
    RUN_APPLYING,
    RUN_DRY,
    RUN_PLANNED,
    RUN_SUPERSEDED,
    UNFINISHED,
    OrgSyncBatch,
    OrgSyncRun,
)
from stride.identity.v1 import org_sync_pb2 as pb
from stride.identity.v1 import org_sync_pb2_grpc
from workflows.org_sync import SyncCounts

DEFAULT_BATCH_SIZE = 200
MAX_BATCH_SIZE = 5_000
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,63}$")


async def load_current_org(session: AsyncSession) -> CurrentOrg:
    """Every department and employee, as the planner sees them."""
    departments = (
        await session.execute(
            select(Department.id, Department.name, Department.parent_id, Department.external_id)
        )
    ).all()
    employees = (
        await session.execute(
            select(
                Employee.id,
                Employee.employee_number,
                Employee.name,
                Employee.department_id,
                Employee.manager_id,
                Employee.status,
                Employee.email,
                Employee.mobile,
                Employee.title,
                Employee.grade,
                Employee.hire_date,
                Employee.external_id,
            )
        )
    ).all()
    return CurrentOrg(
        departments=tuple(
            OrgDepartment(d.id, d.name, d.parent_id, d.external_id) for d in departments
        ),
        employees=tuple(
            OrgEmployee(
                id=e.id,
                employee_number=e.employee_number,
                name=e.name,
                department_id=e.department_id,
                manager_id=e.manager_id,
                active=e.status == "active",
                email=e.email,
                mobile=e.mobile,
                title=e.title,
                grade=e.grade,
                hire_date=e.hire_date.isoformat() if e.hire_date else None,
                external_id=e.external_id,
            )
            for e in employees
        ),
    )


def _report(
    *,
    run_id: str,
    source: str,
    status: str,
    counts: SyncCounts,
    rows: list[ReportRow],
    batch_count: int,
    batches_applied: int,
    operation_count: int,
    planned_at: str,
    finished_at: str = "",
    with_rows: bool = True,
) -> pb.OrgSyncReport:
    return pb.OrgSyncReport(
        run_id=run_id,
        source=source,
        dry_run=status == RUN_DRY,
        status=status,
        counts=counts_pb(counts),
        batch_count=batch_count,
        batches_applied=batches_applied,
        rows=rows_pb(rows) if with_rows else [],
        planned_at=planned_at,
        finished_at=finished_at,
        operation_count=operation_count,
    )


def run_report(run: OrgSyncRun, *, with_rows: bool = True) -> pb.OrgSyncReport:
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
        with_rows=with_rows,
    )


def _run_id(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError as exc:
        raise InvalidArgument("invalid_run_id", "run_id must be a UUID") from exc


class OrgSyncServicer(org_sync_pb2_grpc.OrgSyncServiceServicer):
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def PlanOrgSync(
        self, request: pb.PlanOrgSyncRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgSyncReport:
        source = request.source.strip().lower()
        if not SOURCE_NAME.match(source):
            raise InvalidArgument(
                "invalid_source", "source must be 1-64 lowercase letters, digits, '.', '_', '-'"
            )
        batch_size = request.batch_size or DEFAULT_BATCH_SIZE
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise InvalidArgument("invalid_batch_size", f"batch_size must be 1..{MAX_BATCH_SIZE}")
        snapshot = snapshot_from_pb(request.snapshot)
        run_id = _run_id(request.run_id) if (request.run_id or not request.dry_run) else ""
        if not request.dry_run:
            async with self.ctx.sessions() as session:
                existing = await session.get(OrgSyncRun, run_id)
                if existing is not None:  # a retry: the plan is stored already
                    return run_report(existing)
        async with self.ctx.sessions() as session:
            org = await load_current_org(session)
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
                rows=list(plan.rows),
                batch_count=len(batches),
                batches_applied=0,
                operation_count=len(plan.operations),
                planned_at=rfc3339(now),
            )
        try:
            async with transaction(self.ctx.sessions) as session:
                # The plan was made against the org as it is now: older unfinished plans
                # were made against an older state and must not be applied any more.
                await session.execute(
                    update(OrgSyncRun)
                    .where(OrgSyncRun.status.in_(UNFINISHED))
                    .values(status=RUN_SUPERSEDED, finished_at=now)
                )
                run = self._new_run(run_id, source, plan, len(batches), now)
                session.add(run)
                await session.flush()
                for number, batch in enumerate(batches):
                    session.add(
                        OrgSyncBatch(
                            run_id=run_id,
                            batch_no=number,
                            operations=json.dumps([op.to_json() for op in batch]),
                            operation_count=len(batch),
                            applied_at=None,
                        )
                    )
        except IntegrityError:  # the same run id planned concurrently: report that one
            async with self.ctx.sessions() as session:
                existing = await session.get(OrgSyncRun, run_id)
            if existing is None:
                raise
            return run_report(existing)
        return run_report(run)

    @staticmethod
    def _new_run(
        run_id: str, source: str, plan: Plan, batch_count: int, now: datetime
    ) -> OrgSyncRun:
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

    async def ApplyOrgSyncBatch(
        self, request: pb.ApplyOrgSyncBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApplyOrgSyncBatchResponse:
        run_id = _run_id(request.run_id)
        batch_no = request.batch_no
        async with transaction(self.ctx.sessions) as session:
            # Claim the batch: only one transaction ever succeeds (a concurrent one waits for
            # the row lock, then finds applied_at set and matches nothing).
            claimed = await session.execute(
                update(OrgSyncBatch)
                .where(
                    OrgSyncBatch.run_id == run_id,
                    OrgSyncBatch.batch_no == batch_no,
                    OrgSyncBatch.applied_at.is_(None),
                )
                .values(applied_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            # The report rows (one JSON column, ~1 MB for a 10k import) are not needed here.
            run = await session.get(
                OrgSyncRun, run_id, populate_existing=True, options=[defer(OrgSyncRun.rows)]
            )
            if run is None:
                raise NotFound("org_sync_run_not_found", "no org sync run with that id")
            batch = await session.get(OrgSyncBatch, (run_id, batch_no), populate_existing=True)
            if batch is None:
                raise InvalidArgument(
                    "invalid_batch", f"the run has batches 0..{run.batch_count - 1}"
                )
            if getattr(claimed, "rowcount", 0) == 0:
                return self._batch_response(run, batch, replayed=True)
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
            await BatchApplier(session, batch_no).apply(operations)
            run.batches_applied = batch_no + 1
            if run.batches_applied == run.batch_count:
                run.status = RUN_APPLIED
                run.finished_at = utcnow()
            else:
                run.status = RUN_APPLYING
            response = self._batch_response(run, batch, replayed=False)
        self.ctx.outbox_committed()
        return response

    @staticmethod
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

    async def GetOrgSyncReport(
        self, request: pb.GetOrgSyncReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgSyncReport:
        run_id = _run_id(request.run_id)
        async with self.ctx.sessions() as session:
            run = await session.get(OrgSyncRun, run_id)
        if run is None:
            raise NotFound("org_sync_run_not_found", "no org sync run with that id")
        return run_report(run)

    async def ListOrgSyncRuns(
        self, request: pb.ListOrgSyncRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrgSyncRunsResponse:
        limit = request.limit or 20
        if not 1 <= limit <= 500:
            raise InvalidArgument("invalid_limit", "limit must be 1..500")
        async with self.ctx.sessions() as session:
            runs = (
                await session.scalars(
                    select(OrgSyncRun)
                    .options(defer(OrgSyncRun.rows))
                    .order_by(OrgSyncRun.created_at.desc(), OrgSyncRun.id)
                    .limit(limit)
                )
            ).all()
        return pb.ListOrgSyncRunsResponse(runs=[run_report(r, with_rows=False) for r in runs])
