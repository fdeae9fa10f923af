"""Credential persistence: passwords, sign-in failures, refresh tokens, API keys (and the people
they belong to)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.common.models import aware
from services.identity.auth_models import ApiKeyRow, Credential, RefreshTokenRow, SignInFailure
from services.identity.credentials import LockoutPolicy
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

    async def sign_in_locked_until(self, login_hash: str) -> datetime | None:
        query = select(SignInFailure.locked_until).where(SignInFailure.login_hash == login_hash)
        return aware(await self.session.scalar(query))

    async def record_sign_in_failure(
        self, login_hash: str, now: datetime, policy: LockoutPolicy
    ) -> datetime | None:
        """Count a failed sign-in with this login; returns ``locked_until`` when this one
        locks it. One statement (an upsert), so concurrent failures are all counted; expired
        rows are cleaned up on the way."""
        t = SignInFailure.__table__
        at = DateTime(timezone=True)
        ends = literal(now + policy.window, at)
        over = t.c.window_ends <= literal(now, at)
        insert: Any = (
            postgresql.insert
            if self.session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )
        upsert = (
            insert(t)
            .values(login_hash=login_hash, failures=1, window_ends=ends, expires_at=ends)
            .on_conflict_do_update(
                index_elements=[t.c.login_hash],
                set_={
                    "failures": case((over, 1), else_=t.c.failures + 1),
                    "window_ends": case((over, ends), else_=t.c.window_ends),
                    "expires_at": case((over, ends), else_=t.c.expires_at),
                },
            )
            .returning(t.c.failures)
        )
        failures = int((await self.session.execute(upsert)).scalar_one())
        locked_until = None
        if failures >= policy.max_failures:
            locked_until = now + policy.lock_for
            await self.session.execute(
                update(SignInFailure)
                .where(SignInFailure.login_hash == login_hash)
                .values(
                    failures=0, window_ends=now, locked_until=locked_until, expires_at=locked_until
                )
            )
        await self.session.execute(delete(SignInFailure).where(SignInFailure.expires_at < now))
        return locked_until

    async def clear_sign_in_failures(self, login_hashes: Iterable[str]) -> None:
        await self.session.execute(
            delete(SignInFailure).where(SignInFailure.login_hash.in_(list(login_hashes)))
        )

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
