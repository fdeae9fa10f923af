"""API keys for integrators (admins only): scoped, hashed at rest, shown once, revocable."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from gateway.convert import to_dict
from gateway.deps import PathId, RpcDep
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.api_keys import ApiKey, ApiKeyCreate, ApiKeyCreated
from gateway.schemas.common import Page
from gateway.security import Access, Allow, AuthDep
from stride.identity.v1 import auth_pb2 as pb

router = ResourceRouter(prefix="/api-keys", tags=["api-keys"], route_class=StrideRoute)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    name="create_api_key",
    description="The key is in this response only. Scopes: telemetry:write, goals:read, "
    "goals:write, org:read, org:write, audit:read. Use it as `Authorization: Bearer sk_...` "
    "or `X-API-Key: sk_...`.",
)
async def create_api_key(
    body: ApiKeyCreate, rpc: RpcDep, response: Response, access: Access = Allow("api_key.create")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.auth.CreateApiKey,
        pb.CreateApiKeyRequest(name=body.name, scopes=body.scopes, created_by=access.caller.id),
    )
    response.headers["Cache-Control"] = "no-store"
    return {"api_key": to_dict(msg.api_key), "key": msg.key}


@router.get(
    "",
    response_model=Page[ApiKey],
    name="list_api_keys",
    dependencies=[Allow("api_key.list")],
)
async def list_api_keys(rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.auth.ListApiKeys, pb.ListApiKeysRequest())
    return {"items": [to_dict(k) for k in msg.api_keys], "next_page_token": ""}


@router.post(
    "/{api_key_id}/revoke",
    response_model=ApiKey,
    name="revoke_api_key",
    dependencies=[Allow("api_key.revoke")],
    description="Effective at once on this gateway, within STRIDE_API_KEY_CACHE_TTL seconds "
    "on the others.",
)
async def revoke_api_key(api_key_id: PathId, rpc: RpcDep, auth: AuthDep) -> dict[str, Any]:
    msg = await rpc(rpc.auth.RevokeApiKey, pb.RevokeApiKeyRequest(id=api_key_id))
    auth.api_keys.evict(msg.id)
    return to_dict(msg)
