"""What a signed-in person sets for themselves: e-mail language, the PIN for shared devices
(their inbox is /me/inbox)."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import Response

from gateway.convert import to_dict
from gateway.deps import RpcDep
from gateway.problems import ProblemError
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.auth import PinChange
from gateway.schemas.employees import Employee, Preferences
from gateway.security import Access, Allow
from stride.identity.v1 import auth_pb2
from stride.identity.v1 import identity_pb2 as pb

router = ResourceRouter(prefix="/me", tags=["me"], route_class=StrideRoute)


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


@router.put(
    "/pin",
    status_code=204,
    name="set_pin",
    description="Set (or change) one's PIN for signing in on shared devices (POST /auth/pin), "
    "proven with one's current password. 4 to 8 digits, not one digit repeated, not a run like "
    "1234 or 654321, not the employee number: else 422 weak_pin. A wrong current password is "
    "403 wrong_current_password; a session signed in by PIN: 403 shared_device_session.",
)
async def set_pin(body: PinChange, rpc: RpcDep, access: Access = Allow("me.pin")) -> Response:
    try:
        await rpc(
            rpc.auth.SetPin,
            auth_pb2.SetPinRequest(
                employee_id=access.caller.id,
                current_password=body.current_password,
                pin=body.pin,
            ),
        )
    except grpc.aio.AioRpcError as exc:
        # Not a 401: the caller is signed in; the proof they gave is wrong.
        if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
            raise ProblemError(
                403, "wrong_current_password", "The current password is wrong."
            ) from exc
        raise
    return Response(status_code=204)
