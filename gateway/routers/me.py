"""What a signed-in person sets for themselves (their inbox is /me/inbox)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.convert import to_dict
from gateway.deps import RpcDep
from gateway.routes import StrideRoute
from gateway.schemas.employees import Employee, Preferences
from gateway.security import Access, Allow
from stride.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/me", tags=["me"], route_class=StrideRoute)


@router.put(
    "/preferences",
    response_model=Employee,
    name="set_preferences",
    description="The language of one's e-mail: `zh-CN`, `en`, or empty for both (Chinese "
    "first). Inbox items keep both languages.",
)
async def set_preferences(
    body: Preferences, rpc: RpcDep, access: Access = Allow("me.preferences")
) -> dict[str, Any]:
    request = pb.UpdateEmployeeRequest(id=access.caller.id, locale=body.locale)
    return to_dict(await rpc(rpc.identity.UpdateEmployee, request))
