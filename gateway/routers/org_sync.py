"""Org sync on demand (HR, admin): start ``org-sync/<source>``, read runs and their reports.

The sync itself runs as the Temporal workflow (docs/org-sync.md); this router starts it with
:func:`services.identity.sync.schedules.start_org_sync` and answers 202 with the workflow's
ids at once. Runs and row-level reports come from identity's OrgSyncService.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Response
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from gateway.convert import to_dict
from gateway.deps import Deps, PathId, RpcDep
from gateway.problems import ProblemError
from gateway.routers.common import temporal_client, temporal_unavailable
from gateway.routes import StrideRoute
from gateway.schemas.common import QueryInt
from gateway.schemas.org_sync import OrgSyncRun, OrgSyncRuns, OrgSyncStart, OrgSyncStarted
from gateway.security import Allow
from services.identity.sync.schedules import start_org_sync
from stride.identity.v1 import org_sync_pb2 as pb

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/org/sync", tags=["org sync"], route_class=StrideRoute)


def _temporal_down(exc: Exception) -> ProblemError:
    log.warning("cannot start org sync", error=repr(exc))
    return temporal_unavailable()


@router.post(
    "",
    status_code=202,
    response_model=OrgSyncStarted,
    name="start_org_sync",
    dependencies=[Allow("org_sync.start")],
    description="Starts the org-sync/<source> workflow (dry runs: org-sync/<source>/dry-run) "
    "and answers at once; GET /org/sync/runs shows the run when it has planned. 409 "
    "`sync_running` while a run of that source (and mode) is still going.",
)
async def start_sync(body: OrgSyncStart, deps: Deps, response: Response) -> dict[str, Any]:
    client = await temporal_client(deps)
    try:
        handle = await start_org_sync(
            client,
            body.source,
            task_queue=deps.task_queue,
            dry_run=body.dry_run,
            join_running=False,
        )
    except WorkflowAlreadyStartedError as exc:
        raise ProblemError(
            409, "sync_running", f"An org sync of {body.source} is still running."
        ) from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise _temporal_down(exc) from exc
        log.warning("org sync start failed", error=repr(exc))
        raise ProblemError(502, "upstream_error", "Temporal failed to start the sync.") from exc
    except (ConnectionError, TimeoutError) as exc:
        raise _temporal_down(exc) from exc
    response.headers["Location"] = "/api/v1/org/sync/runs"
    return {
        "workflow_id": handle.id,
        "run_id": handle.result_run_id or "",
        "source": body.source,
        "dry_run": body.dry_run,
    }


@router.get(
    "/runs",
    response_model=OrgSyncRuns,
    name="list_org_sync_runs",
    dependencies=[Allow("org_sync.read")],
    description="The latest runs first, without their rows (dry runs are not stored).",
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
    description="What a run did: counts and every created / updated / moved / deactivated / "
    "rejected row (with the reason code of each rejection).",
)
async def get_run(run_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.org_sync.GetOrgSyncReport, pb.GetOrgSyncReportRequest(run_id=run_id))
    return to_dict(msg)
