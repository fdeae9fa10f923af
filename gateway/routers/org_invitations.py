"""Bulk invitation of imported people (HR, admin): a one-time initial password each.

Imported accounts (org sync, ``stride org import``) have no password. This issues one for
every chosen active person who has none — must be changed at the first sign-in — and returns
them once: as JSON, or as an XLSX of slips to print (``?format=xlsx``), which is how the
factory hands them out. Identity stores only the hashes and never issues a password to someone
who has one, so no password is ever shown twice. Audited per person, without the password.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from gateway import policy
from gateway.deps import RpcDep
from gateway.routes import StrideRoute
from gateway.schemas.org_invitations import InvitationRequest, Invitations
from gateway.security import Access, Allow
from services.identity.invitation_slips import XLSX_MEDIA_TYPE, slips_xlsx
from stride.identity.v1 import auth_pb2

router = APIRouter(prefix="/org", tags=["org sync"], route_class=StrideRoute)

# Hashing one password takes ~0.1 s with the production argon2 profile: 1,000 per call.
INVITE_TIMEOUT = 300.0


@router.post(
    "/invitations",
    response_model=Invitations,
    name="invite_employees",
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}},
    description="Either `employee_ids` or `all_without_password: true` (at most 1,000 per "
    "call; `remaining` says how many are left). People holding hr or admin are skipped "
    "(`admin_required`) unless an admin asks. The passwords are in this answer only.",
)
async def invite(
    body: InvitationRequest,
    rpc: RpcDep,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
    access: Access = Allow("org.invite"),
) -> Any:
    msg = await rpc(
        rpc.auth.IssueInitialPasswords,
        auth_pb2.IssueInitialPasswordsRequest(
            employee_ids=body.employee_ids,
            all_without_password=body.all_without_password,
            include_privileged=access.caller.has_role(policy.ADMIN),
        ),
        timeout=INVITE_TIMEOUT,
    )
    headers = {"Cache-Control": "no-store"}
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
