"""Credentials API in the identity process: passwords, refresh tokens, API keys."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit
from services.common.db import transaction
from services.common.errors import DomainError, InvalidArgument, NotFound
from services.common.models import aware, new_id, rfc3339, utcnow
from services.common.runtime import ServiceContext
from services.identity import credentials
from services.identity.auth_models import ApiKeyRow, Credential, RefreshTokenRow
from services.identity.models import OUTBOX, Department, Employee
from services.identity.repository import IdentityRepository
from stride.identity.v1 import auth_pb2 as pb
from stride.identity.v1 import auth_pb2_grpc

REFRESH_TOKEN_TTL = timedelta(days=14)
_INVALID = "invalid_credentials"


class Unauthenticated(DomainError):
    status = grpc.StatusCode.UNAUTHENTICATED


def _invalid() -> Unauthenticated:
    return Unauthenticated(_INVALID, "wrong login or password")


def api_key_pb(row: ApiKeyRow) -> pb.ApiKey:
    return pb.ApiKey(
        id=row.id,
        name=row.name,
        scopes=row.scopes.split(),
        created_by=row.created_by,
        created_at=rfc3339(row.created_at),
        revoked_at=rfc3339(row.revoked_at),
        last_used_at=rfc3339(row.last_used_at),
        prefix=row.prefix,
    )


async def _audit(session: AsyncSession, action: str, kind: str, resource_id: str) -> None:
    await audit.record(
        session,
        OUTBOX,
        service="identity",
        action=f"identity.{action}",
        resource_type=kind,
        resource_id=resource_id,
    )


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(
        self, ctx: ServiceContext, lockout: credentials.LockoutPolicy | None = None
    ) -> None:
        self.ctx = ctx
        try:
            params = getattr(profiles, ctx.settings.password_hash_profile)
        except AttributeError as exc:
            raise ValueError(
                f"unknown STRIDE_PASSWORD_HASH_PROFILE {ctx.settings.password_hash_profile!r}"
            ) from exc
        self.hasher = PasswordHasher.from_parameters(params)
        self.lockout = lockout or credentials.LockoutPolicy()
        # Verified against when the login is unknown, so both paths take as long.
        self._dummy = self.hasher.hash(credentials.new_secret())

    async def _verify(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)

    async def _principal(
        self, repo: IdentityRepository, employee: Employee, must_change: bool
    ) -> pb.Principal:
        roles = employee.roles.split()
        if employee.id in await repo.managers_among([employee.id]):
            roles.append("manager")
        return pb.Principal(
            employee_id=employee.id,
            employee_number=employee.employee_number,
            name=employee.name,
            department_id=employee.department_id,
            roles=sorted(roles),
            must_change_password=must_change,
        )

    async def Authenticate(
        self, request: pb.AuthenticateRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateResponse:
        login = request.login.strip()
        if not login or not request.password:
            raise _invalid()
        now = utcnow()
        outcome: DomainError | None = None
        async with transaction(self.ctx.sessions) as session:
            repo = IdentityRepository(session)
            employee = (
                await session.scalars(
                    select(Employee).where(
                        or_(Employee.employee_number == login, Employee.email == login),
                        Employee.status == "active",
                    )
                )
            ).first()
            cred = await session.get(Credential, employee.id) if employee else None
            if employee is None or cred is None:
                await self._verify(self._dummy, request.password)
                raise _invalid()
            if self.lockout.is_locked(aware(cred.locked_until), now):
                outcome = DomainError(
                    "account_locked",
                    "too many failed sign-ins: try again later or ask HR to reset the password",
                    status=grpc.StatusCode.RESOURCE_EXHAUSTED,
                )
            elif not await self._verify(cred.password_hash, request.password):
                cred.failed_attempts, locked = self.lockout.after_failure(cred.failed_attempts, now)
                if locked is not None:
                    cred.locked_until = locked
                    await _audit(session, "auth.locked", "employee", employee.id)
                else:
                    await _audit(session, "auth.login_failed", "employee", employee.id)
                outcome = _invalid()
            else:
                cred.failed_attempts = 0
                cred.locked_until = None
                if self.hasher.check_needs_rehash(cred.password_hash):
                    cred.password_hash = await asyncio.to_thread(self.hasher.hash, request.password)
                await _audit(session, "auth.login", "employee", employee.id)
                principal = await self._principal(repo, employee, cred.must_change_password)
        self.ctx.outbox_committed()
        if outcome is not None:  # raised after commit: the failure count is kept
            raise outcome
        return pb.AuthenticateResponse(principal=principal)

    async def SetPassword(
        self, request: pb.SetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetPasswordResponse:
        async with transaction(self.ctx.sessions) as session:
            employee = await session.get(Employee, request.employee_id)
            if employee is None or employee.status != "active":
                raise NotFound("employee_not_found", "employee not found")
            credentials.check_password_policy(request.new_password, employee.employee_number)
            cred = await session.get(Credential, employee.id)
            if not request.reset:
                if cred is None or not await self._verify(
                    cred.password_hash, request.current_password
                ):
                    raise Unauthenticated("wrong_current_password", "current password is wrong")
                if request.current_password == request.new_password:
                    raise InvalidArgument(
                        "password_unchanged", "choose a password different from the current one"
                    )
            password_hash = await asyncio.to_thread(self.hasher.hash, request.new_password)
            if cred is None:
                cred = Credential(employee_id=employee.id, failed_attempts=0)
                session.add(cred)
            cred.password_hash = password_hash
            cred.must_change_password = request.reset
            cred.failed_attempts = 0
            cred.locked_until = None
            cred.updated_at = utcnow()
            # A new password ends every session.
            await session.execute(
                update(RefreshTokenRow)
                .where(
                    RefreshTokenRow.employee_id == employee.id,
                    RefreshTokenRow.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )
            action = "auth.password_reset" if request.reset else "auth.password_change"
            await _audit(session, action, "employee", employee.id)
        self.ctx.outbox_committed()
        return pb.SetPasswordResponse()

    async def _issue(
        self, session: AsyncSession, employee_id: str, family_id: str
    ) -> pb.RefreshToken:
        token = credentials.new_secret()
        expires = utcnow() + REFRESH_TOKEN_TTL
        session.add(
            RefreshTokenRow(
                id=new_id(),
                employee_id=employee_id,
                token_hash=credentials.token_hash(token),
                family_id=family_id,
                expires_at=expires,
                created_at=utcnow(),
            )
        )
        return pb.RefreshToken(token=token, expires_at=rfc3339(expires))

    async def IssueRefreshToken(
        self, request: pb.IssueRefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshToken:
        async with transaction(self.ctx.sessions) as session:
            employee = await session.get(Employee, request.employee_id)
            if employee is None or employee.status != "active":
                raise NotFound("employee_not_found", "employee not found")
            return await self._issue(session, employee.id, new_id())

    async def RotateRefreshToken(
        self, request: pb.RotateRefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateRefreshTokenResponse:
        now = utcnow()
        reused = False
        async with transaction(self.ctx.sessions) as session:
            row = (
                await session.scalars(
                    select(RefreshTokenRow)
                    .where(RefreshTokenRow.token_hash == credentials.token_hash(request.token))
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise Unauthenticated("invalid_refresh_token", "sign in again")
            if row.used_at is not None and row.revoked_at is None:
                # A used token presented again: stolen or replayed. End the whole family.
                await session.execute(
                    update(RefreshTokenRow)
                    .where(
                        RefreshTokenRow.family_id == row.family_id,
                        RefreshTokenRow.revoked_at.is_(None),
                    )
                    .values(revoked_at=now)
                )
                await _audit(session, "auth.refresh_reuse", "employee", row.employee_id)
                reused = True
            else:
                expires_at = aware(row.expires_at)
                if row.revoked_at is not None or (expires_at is not None and expires_at <= now):
                    raise Unauthenticated("invalid_refresh_token", "sign in again")
                employee = await session.get(Employee, row.employee_id)
                if employee is None or employee.status != "active":
                    raise Unauthenticated("invalid_refresh_token", "sign in again")
                cred = await session.get(Credential, employee.id)
                row.used_at = now
                fresh = await self._issue(session, employee.id, row.family_id)
                principal = await self._principal(
                    IdentityRepository(session), employee, bool(cred and cred.must_change_password)
                )
        if reused:
            self.ctx.outbox_committed()
            raise Unauthenticated("invalid_refresh_token", "sign in again")
        return pb.RotateRefreshTokenResponse(principal=principal, refresh_token=fresh)

    async def RevokeRefreshToken(
        self, request: pb.RevokeRefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeRefreshTokenResponse:
        async with transaction(self.ctx.sessions) as session:
            row = (
                await session.scalars(
                    select(RefreshTokenRow).where(
                        RefreshTokenRow.token_hash == credentials.token_hash(request.token)
                    )
                )
            ).first()
            if row is not None:  # logout is idempotent and says nothing about unknown tokens
                await session.execute(
                    update(RefreshTokenRow)
                    .where(
                        RefreshTokenRow.family_id == row.family_id,
                        RefreshTokenRow.revoked_at.is_(None),
                    )
                    .values(revoked_at=utcnow())
                )
                await _audit(session, "auth.logout", "employee", row.employee_id)
        self.ctx.outbox_committed()
        return pb.RevokeRefreshTokenResponse()

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateApiKeyResponse:
        name = " ".join(request.name.split())
        if not name or len(name) > 200:
            raise InvalidArgument("name_required", "an API key needs a name (up to 200 chars)")
        scopes = credentials.clean_scopes(list(request.scopes))
        key, prefix = credentials.new_api_key()
        row = ApiKeyRow(
            id=new_id(),
            name=name,
            prefix=prefix,
            key_hash=credentials.token_hash(key),
            scopes=" ".join(scopes),
            created_by=request.created_by or audit.CURRENT_REQUEST.get().actor,
            created_at=utcnow(),
        )
        async with transaction(self.ctx.sessions) as session:
            session.add(row)
            await _audit(session, "api_key.create", "api_key", row.id)
        self.ctx.outbox_committed()
        return pb.CreateApiKeyResponse(api_key=api_key_pb(row), key=key)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        async with self.ctx.sessions() as session:
            rows = (await session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))).all()
        return pb.ListApiKeysResponse(api_keys=[api_key_pb(r) for r in rows])

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApiKey:
        async with transaction(self.ctx.sessions) as session:
            row = await session.get(ApiKeyRow, request.id)
            if row is None:
                raise NotFound("api_key_not_found", "API key not found")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                await _audit(session, "api_key.revoke", "api_key", row.id)
        self.ctx.outbox_committed()
        return api_key_pb(row)

    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApiKey:
        async with transaction(self.ctx.sessions) as session:
            row = (
                await session.scalars(
                    select(ApiKeyRow).where(
                        ApiKeyRow.key_hash == credentials.token_hash(request.key)
                    )
                )
            ).first()
            if row is None or row.revoked_at is not None:
                raise Unauthenticated("invalid_api_key", "unknown or revoked API key")
            last = aware(row.last_used_at)
            if last is None or utcnow() - last > timedelta(minutes=1):
                row.last_used_at = utcnow()  # coarse, so busy keys don't write every call
            return api_key_pb(row)

    async def IssueInitialPasswords(
        self, request: pb.IssueInitialPasswordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueInitialPasswordsResponse:
        """One-time initial passwords for people who have none (imported accounts).

        Selected in one read, hashed outside any transaction (argon2 is slow on purpose),
        written in one transaction that inserts a credential per person: if anyone got a
        password meanwhile, the insert collides and nothing is written (``invitation_conflict``),
        so a password is never issued for someone who has one, nor twice.
        """
        ids = list(dict.fromkeys(i for i in request.employee_ids if i))
        if bool(ids) == request.all_without_password:
            raise InvalidArgument(
                "invitation_target_required", "give either employee_ids or all_without_password"
            )
        if len(ids) > MAX_INVITATIONS:
            raise InvalidArgument(
                "too_many_employees", f"at most {MAX_INVITATIONS} employees per invitation"
            )
        skipped: list[pb.SkippedInvitation] = []
        remaining = 0
        async with self.ctx.sessions() as session:
            has_password = select(Credential.employee_id).where(
                Credential.employee_id == Employee.id
            )
            if ids:
                found = {
                    e.id: e
                    for e in await session.scalars(select(Employee).where(Employee.id.in_(ids)))
                }
                with_password = set(
                    await session.scalars(
                        select(Credential.employee_id).where(Credential.employee_id.in_(ids))
                    )
                )
                chosen = []
                for employee_id in ids:
                    employee = found.get(employee_id)
                    reason = invitation_skip_reason(
                        employee, employee_id in with_password, request.include_privileged
                    )
                    if reason:
                        skipped.append(pb.SkippedInvitation(employee_id=employee_id, reason=reason))
                    else:
                        assert employee is not None
                        chosen.append(employee)
            else:
                candidates = list(
                    await session.scalars(
                        select(Employee)
                        .where(Employee.status == "active", ~has_password.exists())
                        .order_by(Employee.employee_number)
                    )
                )
                chosen = []
                for employee in candidates:
                    reason = invitation_skip_reason(employee, False, request.include_privileged)
                    if reason:
                        skipped.append(pb.SkippedInvitation(employee_id=employee.id, reason=reason))
                    elif len(chosen) < MAX_INVITATIONS:
                        chosen.append(employee)
                    else:
                        remaining += 1
            department_ids = {e.department_id for e in chosen}
            departments = {
                d.id: d.name
                for d in await session.scalars(
                    select(Department).where(Department.id.in_(department_ids))
                )
            }
            issued = [
                pb.InitialPassword(
                    employee_id=e.id,
                    employee_number=e.employee_number,
                    name=e.name,
                    department_id=e.department_id,
                    department_name=departments.get(e.department_id, ""),
                    password=credentials.initial_password(e.employee_number),
                )
                for e in chosen
            ]
        hashes = [await asyncio.to_thread(self.hasher.hash, i.password) for i in issued]
        try:
            async with transaction(self.ctx.sessions) as session:
                now = utcnow()
                for invitation, password_hash in zip(issued, hashes, strict=True):
                    session.add(
                        Credential(
                            employee_id=invitation.employee_id,
                            password_hash=password_hash,
                            must_change_password=True,
                            failed_attempts=0,
                            updated_at=now,
                        )
                    )
                    await _audit(
                        session, "auth.invitation_issued", "employee", invitation.employee_id
                    )
                await session.flush()
        except IntegrityError as exc:
            raise DomainError(
                "invitation_conflict",
                "someone got a password meanwhile; nothing was issued, try again",
                status=grpc.StatusCode.ABORTED,
            ) from exc
        if issued:
            self.ctx.outbox_committed()
        return pb.IssueInitialPasswordsResponse(issued=issued, skipped=skipped, remaining=remaining)


MAX_INVITATIONS = 1000


def invitation_skip_reason(
    employee: Employee | None, has_password: bool, include_privileged: bool
) -> str:
    """Why a person gets no initial password ("" when they get one)."""
    if employee is None:
        return "not_found"
    if employee.status != "active":
        return "inactive"
    if has_password:
        return "has_password"
    if not include_privileged and credentials.PRIVILEGED_ROLES & set(employee.roles.split()):
        return "admin_required"
    return ""
