"""Credential persistence: passwords, PINs, sign-in failures, refresh tokens, API keys, invitation
jobs (and the people they belong to)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, case, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.common.models import aware
from services.identity.auth_models import (
    ApiKeyRow,
    Credential,
    InvitationJob,
    InvitationJobChunk,
    InvitationJobItem,
    PinCredential,
    RefreshTokenRow,
    SignInFailure,
)
from services.identity.credentials import LockoutPolicy
from services.identity.models import Employee
from services.identity.repository import IdentityRepository


class AuthRepository(IdentityRepository):
    async def credential(self, employee_id: str) -> Credential | None:
        return await self.session.get(Credential, employee_id)

    async def pin(self, employee_id: str) -> PinCredential | None:
        return await self.session.get(PinCredential, employee_id)

    async def delete_pin(self, employee_id: str) -> bool:
        """Remove a person's PIN; whether there was one."""
        gone = await self.session.execute(
            delete(PinCredential)
            .where(PinCredential.employee_id == employee_id)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(gone, "rowcount", 0))

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

    async def invitation_job(self, job_id: str, *, lock: bool = False) -> InvitationJob | None:
        query = select(InvitationJob).where(InvitationJob.id == job_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query.execution_options(populate_existing=True))).first()

    async def claim_invitation_chunk(self, job_id: str, chunk_no: int, now: datetime) -> bool:
        """Mark a chunk issued; only one transaction ever succeeds (like an org-sync batch)."""
        claimed = await self.session.execute(
            update(InvitationJobChunk)
            .where(
                InvitationJobChunk.job_id == job_id,
                InvitationJobChunk.chunk_no == chunk_no,
                InvitationJobChunk.done_at.is_(None),
            )
            .values(done_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(claimed, "rowcount", 0))

    async def invitation_chunk(self, job_id: str, chunk_no: int) -> InvitationJobChunk | None:
        return await self.session.get(InvitationJobChunk, (job_id, chunk_no))

    async def invitation_items(
        self, job_id: str, *, chunk_no: int | None = None, outcome: str | None = None
    ) -> list[InvitationJobItem]:
        """A job's people in the order they were chosen (of one chunk, with one outcome)."""
        query = select(InvitationJobItem).where(InvitationJobItem.job_id == job_id)
        if chunk_no is not None:
            query = query.where(InvitationJobItem.chunk_no == chunk_no)
        if outcome is not None:
            query = query.where(InvitationJobItem.outcome == outcome)
        return list(await self.session.scalars(query.order_by(InvitationJobItem.position)))

    async def invitation_skip_reasons(self, job_id: str) -> dict[str, int]:
        """Why people of a job got no password: reason → how many."""
        query = (
            select(InvitationJobItem.outcome, func.count())
            .where(
                InvitationJobItem.job_id == job_id,
                InvitationJobItem.outcome.not_in(("", "issued")),
            )
            .group_by(InvitationJobItem.outcome)
        )
        return {str(reason): int(n) for reason, n in (await self.session.execute(query)).all()}

    async def wipe_invitation_passwords(self, job_id: str) -> None:
        """Forget the plain passwords of a job's slips (they were handed out)."""
        await self.session.execute(
            update(InvitationJobItem)
            .where(InvitationJobItem.job_id == job_id, InvitationJobItem.password.is_not(None))
            .values(password=None)
            .execution_options(synchronize_session=False)
        )

    async def expire_invitation_slips(self, finished_before: datetime, now: datetime) -> None:
        """Wipe the passwords of slips nobody took within their time."""
        stale = select(InvitationJob.id).where(
            InvitationJob.finished_at < finished_before, InvitationJob.slips_taken_at.is_(None)
        )
        await self.session.execute(
            update(InvitationJobItem)
            .where(InvitationJobItem.job_id.in_(stale), InvitationJobItem.password.is_not(None))
            .values(password=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(InvitationJob)
            .where(
                InvitationJob.finished_at < finished_before, InvitationJob.slips_taken_at.is_(None)
            )
            .values(slips_taken_at=now)
            .execution_options(synchronize_session=False)
        )
