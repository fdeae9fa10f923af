"""A stored org-sync run as the OrgSyncService reports it (protobuf), and who it deactivates."""

from __future__ import annotations

import json
from collections.abc import Iterable

from services.common.models import rfc3339
from services.identity.sync.convert import counts_pb, rows_pb
from services.identity.sync.data import ReportRow, counts_from_json
from services.identity.sync.tables import RUN_DRY, OrgSyncBatch, OrgSyncRun
from stride.identity.v1 import org_sync_pb2 as pb

# People named per run in the runs list (all of them are in the run's report rows).
MAX_LISTED_DEACTIVATIONS = 200


def deactivations_json(rows: Iterable[ReportRow]) -> str:
    """The deactivated people of a plan (number and name), for the runs list."""
    people = [r for r in rows if r.kind == "person" and r.action == "deactivated"]
    return json.dumps([r.to_json() for r in people[:MAX_LISTED_DEACTIVATIONS]], ensure_ascii=False)


def run_report(run: OrgSyncRun, *, with_rows: bool = True) -> pb.OrgSyncReport:
    """A stored run's report (``with_rows=False`` for a run loaded without its rows)."""
    rows = [ReportRow.from_json(r) for r in json.loads(run.rows)] if with_rows else []
    deactivations = [ReportRow.from_json(r) for r in json.loads(run.deactivations or "[]")]
    return pb.OrgSyncReport(
        run_id=run.id,
        source=run.source,
        dry_run=bool(run.dry_run) or run.status == RUN_DRY,
        status=run.status,
        counts=counts_pb(counts_from_json(json.loads(run.counts))),
        batch_count=run.batch_count,
        batches_applied=run.batches_applied,
        rows=rows_pb(rows),
        planned_at=rfc3339(run.created_at),
        finished_at=rfc3339(run.finished_at),
        operation_count=run.operation_count,
        error=run.error or "",
        deactivations=rows_pb(deactivations),
        mass_deactivation=bool(run.mass_deactivation),
        requested_by=run.requested_by or "",
        upload_id=run.upload_id or "",
        workflow_id=run.workflow_id or "",
    )


def batch_response(
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
