"""Bulk invitation of imported people (HR, admin): a one-time initial password each, in the
background.

Imported accounts (org sync, ``stride org import``) have no password. ``POST /org/invitations``
makes a job in identity — who gets a password is decided at once — starts the
``org-invitations/<job>`` workflow that issues them chunk by chunk, and answers **202** without
waiting (hashing one password takes ~0.1 s: 673 people used to be one 65-second request).
``GET /org/invitations/jobs/{id}`` shows the progress; once it is done,
``GET /org/invitations/jobs/{id}/slips`` hands out the slips to print (XLSX, or JSON) — once:
identity wipes the passwords as they are read, so none is ever shown twice. Only the person who
started a job sees it. Audited per person, without the password.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import grpc
import structlog
from fastapi import Query, Response
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from gateway import policy
from gateway.convert import to_dict
from gateway.deps import Deps, PathId, Rpc, RpcDep
from gateway.problems import PROBLEM_JSON, ProblemError, service_code
from gateway.routers.common import temporal_client, temporal_unavailable
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.org_invitations import InvitationJob, InvitationRequest, Invitations
from gateway.schemas.problems import Problem
from gateway.security import Access, Allow
from services.common.tables import XLSX_MEDIA_TYPE
from services.identity.invitation_slips import slips_xlsx
from stride.identity.v1 import auth_pb2
from workflows import ids
from workflows.audit import memo
from workflows.invitations import InvitationInput, InvitationWorkflow, memo_title

log = structlog.get_logger(__name__)

router = ResourceRouter(prefix="/org", tags=["org sync"], route_class=StrideRoute)

JOBS = "/api/v1/org/invitations/jobs"
NO_STORE = {"Cache-Control": "no-store"}
# Choosing (or handing out the slips of) up to 10,000 people: one query and one bulk write.
JOB_TIMEOUT = 60.0


def _job(msg: auth_pb2.InvitationJob) -> dict[str, Any]:
    job = to_dict(msg)
    job["slips_url"] = f"{JOBS}/{msg.job_id}/slips"
    return job


async def _start(deps: Deps, rpc: Rpc, job: auth_pb2.InvitationJob) -> None:
    """Start the workflow of ``job``; a job that cannot start is ended with the reason."""
    try:
        client = await temporal_client(deps)
        await client.start_workflow(
            InvitationWorkflow.run,
            InvitationInput(job.job_id, job.chunk_count, job.requested_by),
            id=ids.invitations(job.job_id),
            task_queue=deps.task_queue,
            memo=memo(memo_title(job.total)),
        )
    except (
        ProblemError,
        RPCError,
        WorkflowAlreadyStartedError,
        ConnectionError,
        TimeoutError,
    ) as exc:
        log.warning("cannot start invitations", error=repr(exc))
        await rpc(
            rpc.auth.FinishInvitationJob,
            auth_pb2.FinishInvitationJobRequest(
                job_id=job.job_id, error="not started: Temporal is unavailable"
            ),
        )
        raise temporal_unavailable() from exc


@router.post(
    "/invitations",
    status_code=202,
    response_model=InvitationJob,
    name="invite_employees",
    description="Either `employee_ids` or `all_without_password: true` (at most 10,000 per "
    "job; `remaining` says how many are left). People holding hr or admin are skipped "
    "(`admin_required`) unless an admin asks. Answers 202 at once with the job (`Location`: "
    "its progress); the passwords are issued in the background and handed out once, as "
    "slips, when the job is done. 503 `temporal_unavailable` when the job cannot start.",
)
async def invite(
    body: InvitationRequest,
    rpc: RpcDep,
    deps: Deps,
    response: Response,
    access: Access = Allow("org.invite"),
) -> dict[str, Any]:
    job = await rpc(
        rpc.auth.CreateInvitationJob,
        auth_pb2.CreateInvitationJobRequest(
            employee_ids=body.employee_ids,
            all_without_password=body.all_without_password,
            include_privileged=access.caller.has_role(policy.ADMIN),
            requested_by=access.caller.id,
        ),
        timeout=JOB_TIMEOUT,
    )
    if job.chunk_count:  # nobody to invite: the job is done already
        await _start(deps, rpc, job)
    response.headers["Location"] = f"{JOBS}/{job.job_id}"
    response.headers.update(NO_STORE)
    return _job(job)


@router.get(
    "/invitations/jobs/{job_id}",
    response_model=InvitationJob,
    name="get_invitation_job",
    description="The progress of one's own invitation job (others' jobs: 404 "
    "`invitation_job_not_found`).",
)
async def get_job(
    job_id: PathId, rpc: RpcDep, access: Access = Allow("org.invitation_job.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.auth.GetInvitationJob,
        auth_pb2.GetInvitationJobRequest(job_id=job_id, requested_by=access.caller.id),
    )
    return _job(msg)


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}


@router.get(
    "/invitations/jobs/{job_id}/slips",
    response_model=Invitations,
    name="take_invitation_slips",
    responses={
        200: {"content": {XLSX_MEDIA_TYPE: {}}},
        410: _problem("Downloaded already, or not within 24 h of the end (code slips_gone)"),
    },
    description="The slips of one's own finished job: an XLSX to print (default) or JSON "
    "(`?format=json`), one row per person who got a password. Handed out **once** — the "
    "passwords are wiped as they are read (410 `slips_gone` afterwards, and 24 h after the "
    "job ended). 409 `invitation_job_not_ready` while it runs.",
)
async def take_slips(
    job_id: PathId,
    rpc: RpcDep,
    format: Annotated[Literal["xlsx", "json"], Query()] = "xlsx",
    access: Access = Allow("org.invitation_slips"),
) -> Any:
    try:
        msg = await rpc(
            rpc.auth.TakeInvitationSlips,
            auth_pb2.TakeInvitationSlipsRequest(job_id=job_id, requested_by=access.caller.id),
            timeout=JOB_TIMEOUT,
        )
    except grpc.aio.AioRpcError as err:
        if service_code(err) == "slips_gone":
            raise ProblemError(410, "slips_gone", err.details() or "the slips are gone") from err
        raise
    headers = dict(NO_STORE)
    if format == "xlsx":
        headers["Content-Disposition"] = 'attachment; filename="stride-invitations.xlsx"'
        headers["X-Stride-Skipped"] = str(len(msg.skipped))
        headers["X-Stride-Remaining"] = str(msg.remaining)
        return Response(slips_xlsx(msg.issued), media_type=XLSX_MEDIA_TYPE, headers=headers)
    payload = {
        "issued": [
            {
                "employee_id": i.employee_id,
                "employee_number": i.employee_number,
                "name": i.name,
                "department_id": i.department_id,
                "department_name": i.department_name,
                "initial_password": i.password,
            }
            for i in msg.issued
        ],
        "skipped": [{"employee_id": s.employee_id, "reason": s.reason} for s in msg.skipped],
        "remaining": msg.remaining,
    }
    return Response(
        Invitations.model_validate(payload).model_dump_json(),
        media_type="application/json",
        headers=headers,
    )
