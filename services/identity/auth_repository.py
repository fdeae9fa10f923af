"""Credential persistence: passwords, refresh tokens, API keys (and the people they belong to)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from services.identity.auth_models import ApiKeyRow, Credential, RefreshTokenRow
from services.identity.models import Employee
from services.identity.repository import IdentityRepository


class AuthRepository(IdentityRepository):
    async def credential(self, employee_id: str) -> Credential | None:
        return await self.session.get(Credential, employee_id)

    async def with_password(self, employee_ids: Iterable[str]) -> set[str]:
        """Which of ``employee_ids`` have a password."""
        query = select(Credential.employee_id).where(Credential.employee_id.in_(list(employee_ids)))
        return set(await self.session.scalars(query))

    async def active_without_password(self) -> list[Employee]:
        """Active people with no password yet, by employee number."""
        has_password = select(Credential.employee_id).where(Credential.employee_id == Employee.id)
        query = (
            select(Employee)
            .where(Employee.status == "active", ~has_password.exists())
            .order_by(Employee.employee_number)
        )
        return list(await self.session.scalars(query))

    async def refresh_token(self, token_hash: str, *, lock: bool = False) -> RefreshTokenRow | None:
        query = select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        """End every live token of a sign-in (a family of rotated tokens)."""
        await self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_sessions(self, employee_id: str, now: datetime) -> None:
        """End every live token of a person."""
        await self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.employee_id == employee_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def api_key(self, key_id: str) -> ApiKeyRow | None:
        return await self.session.get(ApiKeyRow, key_id)

    async def api_key_by_hash(self, key_hash: str) -> ApiKeyRow | None:
        query = select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash)
        return (await self.session.scalars(query)).first()

    async def api_keys(self) -> list[ApiKeyRow]:
        return list(await self.session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at)))
