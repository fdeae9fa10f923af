"""API keys: create (the key is shown once), list, revoke, authenticate."""

from __future__ import annotations

from datetime import timedelta

from services.common import request_context
from services.common.errors import NotFound
from services.common.models import aware, new_id, utcnow
from services.common.uow import Units
from services.identity import credentials, domain
from services.identity.auth_models import ApiKeyRow
from services.identity.auth_repository import AuthRepository
from services.identity.handlers import reading
from services.identity.handlers.auth import Unauthenticated
from services.identity.messages import api_key_pb
from stride.identity.v1 import auth_pb2 as pb

# Busy keys do not write on every call: last use is kept to the minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeys:
    def __init__(self, units: Units[AuthRepository]) -> None:
        self.units = units

    async def create(self, request: pb.CreateApiKeyRequest) -> pb.CreateApiKeyResponse:
        name = domain.clean_name(request.name)
        scopes = credentials.clean_scopes(list(request.scopes))
        key, prefix = credentials.new_api_key()
        row = ApiKeyRow(
            id=new_id(),
            name=name,
            prefix=prefix,
            key_hash=credentials.token_hash(key),
            scopes=" ".join(scopes),
            created_by=request.created_by or request_context.CURRENT_REQUEST.get().actor,
            created_at=utcnow(),
        )
        async with self.units() as uow:
            uow.repo.add(row)
            await uow.audit("api_key.create", "api_key", row.id)
        return pb.CreateApiKeyResponse(api_key=api_key_pb(row), key=key)

    async def all(self) -> list[pb.ApiKey]:
        async with reading(self.units) as repo:
            return [api_key_pb(r) for r in await repo.api_keys()]

    async def revoke(self, key_id: str) -> pb.ApiKey:
        async with self.units() as uow:
            row = await uow.repo.api_key(key_id)
            if row is None:
                raise NotFound("api_key_not_found", "API key not found")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                await uow.audit("api_key.revoke", "api_key", row.id)
            return api_key_pb(row)

    async def authenticate(self, key: str) -> pb.ApiKey:
        async with self.units() as uow:
            row = await uow.repo.api_key_by_hash(credentials.token_hash(key))
            if row is None or row.revoked_at is not None:
                raise Unauthenticated("invalid_api_key", "unknown or revoked API key")
            last = aware(row.last_used_at)
            if last is None or utcnow() - last > LAST_USED_RESOLUTION:
                row.last_used_at = utcnow()
            return api_key_pb(row)
