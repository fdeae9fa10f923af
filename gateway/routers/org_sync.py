"""Org sync on demand (HR, admin): upload a file, start ``org-sync/<source>``, read the runs.

HR's flow for a spreadsheet: ``POST /org/sync/uploads`` with the CSV/XLSX as the request body
(identity checks and stores it, answers its ``upload_id``), then ``POST /org/sync`` with
``{"source": "file", "upload_id": ..., "dry_run": true}``, read the dry run's report (who
would be created, moved, deactivated), then the same without ``dry_run``.

The sync itself runs as the Temporal workflow (docs/org-sync.md). This router records the run
in identity first (``BeginOrgSyncRun``: it is in ``GET /org/sync/runs`` from that moment,
dry or not) and starts the workflow with that run id, answering 202 at once; a start that
fails is recorded as a failed run with the reason.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import structlog
from fastapi import Query, Request, Response
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from gateway.body_limit import BULK_BODY
from gateway.convert import to_dict
from gateway.deps import Deps, PathId, RpcDep
from gateway.problems import PROBLEM_JSON, ProblemError
from gateway.routers.common import read_upload, temporal_client, temporal_unavailable
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import QueryInt
from gateway.schemas.org_sync import (
    OrgSyncRun,
    OrgSyncRuns,
    OrgSyncStart,
    OrgSyncStarted,
    OrgSyncUploaded,
)
from gateway.schemas.problems import Problem
from gateway.security import Access, Allow
from services.common.tables import XLSX_MEDIA_TYPE
from services.identity.sync.schedules import start_org_sync
from stride.identity.v1 import org_sync_pb2 as pb
from workflows.vocabulary import MAX_ORG_UPLOAD_BYTES

log = structlog.get_logger(__name__)

router = ResourceRouter(prefix="/org/sync", tags=["org sync"], route_class=StrideRoute)

FILE_SOURCE = "file"
# Content types of an uploaded org file, and the file name each stands for when the request
# names none.
UPLOAD_TYPES = {
    "text/csv": "upload.csv",
    "text/plain": "upload.csv",
    "text/tab-separated-values": "upload.tsv",
    XLSX_MEDIA_TYPE: "upload.xlsx",
    "application/octet-stream": "",
}
UPLOAD_TIMEOUT = 60.0


def _temporal_down(exc: Exception) -> ProblemError:
    log.warning("cannot start org sync", error=repr(exc))
    return temporal_unavailable()


def _not_started(exc: Exception, source: str) -> ProblemError:
    if isinstance(exc, WorkflowAlreadyStartedError):
        return ProblemError(409, "sync_running", f"An org sync of {source} is still running.")
    if isinstance(exc, RPCError) and exc.status not in (
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
    ):
        log.warning("org sync start failed", error=repr(exc))
        return ProblemError(502, "upstream_error", "Temporal failed to start the sync.")
    return _temporal_down(exc)


@router.post(
    "",
    status_code=202,
    response_model=OrgSyncStarted,
    name="start_org_sync",
    description="Records the run (GET /org/sync/runs lists it from now on, dry or not), starts "
    "the org-sync/<source> workflow (dry runs: org-sync/<source>/dry-run) and answers at "
    "once; `Location` is the run's report. The `file` source needs `upload_id` (422 "
    "`upload_required`; 404 `org_sync_upload_not_found`). 409 `sync_running` while a run of "
    "that source (and mode) is still going; 503 `temporal_unavailable` — both recorded as a "
    "failed run with the reason.",
)
async def start_sync(
    body: OrgSyncStart,
    deps: Deps,
    rpc: RpcDep,
    response: Response,
    access: Access = Allow("org_sync.start"),
) -> dict[str, Any]:
    upload_id = body.upload_id or ""
    if body.source == FILE_SOURCE and not upload_id:
        raise ProblemError(
            422,
            "upload_required",
            "Upload the file first (POST /org/sync/uploads) and name its upload_id.",
        )
    if upload_id and body.source != FILE_SOURCE:
        raise ProblemError(422, "upload_not_allowed", "upload_id goes with the source `file`.")
    caller = access.caller
    requested_by = "" if caller.is_api_key else caller.id
    sync_run_id = str(uuid.uuid4())
    await rpc(
        rpc.org_sync.BeginOrgSyncRun,
        pb.BeginOrgSyncRunRequest(
            run_id=sync_run_id,
            source=body.source,
            dry_run=body.dry_run,
            requested_by=requested_by,
            upload_id=upload_id,
        ),
    )
    try:
        client = await temporal_client(deps)
        handle = await start_org_sync(
            client,
            body.source,
            task_queue=deps.task_queue,
            dry_run=body.dry_run,
            join_running=False,
            run_id=sync_run_id,
            upload_id=upload_id,
            requested_by=requested_by,
            allow_mass_deactivation=body.allow_mass_deactivation,
        )
    except (
        ProblemError,
        WorkflowAlreadyStartedError,
        RPCError,
        ConnectionError,
        TimeoutError,
    ) as exc:
        problem = exc if isinstance(exc, ProblemError) else _not_started(exc, body.source)
        await rpc(
            rpc.org_sync.FailOrgSyncRun,
            pb.FailOrgSyncRunRequest(
                run_id=sync_run_id, reason=f"not started: {problem.detail}", source=body.source
            ),
        )
        raise problem from exc
    response.headers["Location"] = f"/api/v1/org/sync/runs/{sync_run_id}"
    return {
        "workflow_id": handle.id,
        "run_id": handle.result_run_id or "",
        "sync_run_id": sync_run_id,
        "source": body.source,
        "dry_run": body.dry_run,
        "upload_id": upload_id,
    }


def _upload_name(request: Request, filename: str) -> str:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in UPLOAD_TYPES:
        raise ProblemError(
            415,
            "unsupported_media_type",
            "Send the file itself as the request body: text/csv or "
            f"{XLSX_MEDIA_TYPE} (or application/octet-stream with ?filename=).",
        )
    name = filename or UPLOAD_TYPES[media_type]
    if not name:
        raise ProblemError(422, "filename_required", "Name the file: ?filename=people.xlsx")
    return name


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}


@router.post(
    "/uploads",
    status_code=201,
    response_model=OrgSyncUploaded,
    name="upload_org_file",
    description="HR's spreadsheet for a `file` sync, sent as the raw request body (text/csv "
    f"or {XLSX_MEDIA_TYPE}; application/octet-stream with `?filename=`), at most 10 MiB. "
    "Identity reads it at once (422 `invalid_file` with the reason when it cannot be read or "
    "lacks a required column) and keeps it; name its `upload_id` in POST /org/sync. Columns: "
    "docs/org-sync.md.",
    openapi_extra={
        **BULK_BODY,  # the bulk limit at the door, then the upload's own (10 MiB)
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        },
    },
    responses={
        413: _problem("The file is larger than 10 MiB (code file_too_large)"),
        415: _problem("Not a CSV/XLSX body (code unsupported_media_type)"),
    },
)
async def upload(
    request: Request,
    rpc: RpcDep,
    filename: Annotated[str, Query(max_length=255, description="e.g. people.xlsx")] = "",
    access: Access = Allow("org_sync.upload"),
) -> dict[str, Any]:
    name = _upload_name(request, filename)
    content = await read_upload(request, MAX_ORG_UPLOAD_BYTES, UPLOAD_TYPES)
    msg = await rpc(
        rpc.org_sync.CreateOrgSyncUpload,
        pb.CreateOrgSyncUploadRequest(
            filename=name, content=content, uploaded_by=access.caller.actor
        ),
        timeout=UPLOAD_TIMEOUT,
    )
    return to_dict(msg)


@router.get(
    "/runs",
    response_model=OrgSyncRuns,
    name="list_org_sync_runs",
    dependencies=[Allow("org_sync.read")],
    description="The latest runs first, dry runs and failed ones included (with the reason in "
    "`error`), without their rows; `deactivations` names who each run deactivates (a dry "
    "run: would deactivate).",
)
async def list_runs(
    rpc: RpcDep, limit: Annotated[QueryInt, Query(ge=1, le=500)] = 20
) -> dict[str, Any]:
    msg = await rpc(rpc.org_sync.ListOrgSyncRuns, pb.ListOrgSyncRunsRequest(limit=limit))
    return {"items": [to_dict(r) for r in msg.runs]}


@router.get(
    "/runs/{run_id}",
    response_model=OrgSyncRun,
    name="get_org_sync_run",
    dependencies=[Allow("org_sync.read")],
    description="What a run did (a dry run: would do): counts and every created / updated / "
    "moved / deactivated / kept / rejected row (with the reason code of each rejection and "
    "the name of each person deactivated or kept).",
)
async def get_run(run_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.org_sync.GetOrgSyncReport, pb.GetOrgSyncReportRequest(run_id=run_id))
    return to_dict(msg)
