"""Signing in: passwords (check, lockout, change, reset) and refresh tokens (rotation).

A sign-in reads (lock, person, password hash), verifies the password outside any
transaction (argon2 waits for a thread of its bounded pool: no database connection is held
meanwhile), then records the outcome in a short write. A login that belongs to nobody goes
the same way — a verification against a dummy hash, a counted failure, the same lockout — so
neither the answers nor their timing tell which accounts exist.
"""

from __future__ import annotations

from datetime import timedelta

import grpc

from services.common.errors import DomainError, InvalidArgument, NotFound
from services.common.models import aware, new_id, rfc3339, utcnow
from services.common.uow import Units
from services.identity import credentials, domain
from services.identity.auth_models import Credential, RefreshTokenRow
from services.identity.auth_repository import AuthRepository
from services.identity.handlers import reading
from services.identity.models import Employee
from services.identity.passwords import Passwords
from stride.identity.v1 import auth_pb2 as pb

REFRESH_TOKEN_TTL = timedelta(days=14)


class Unauthenticated(DomainError):
    status = grpc.StatusCode.UNAUTHENTICATED


def _invalid() -> Unauthenticated:
    return Unauthenticated("invalid_credentials", "wrong login or password")


def _sign_in_again() -> Unauthenticated:
    return Unauthenticated("invalid_refresh_token", "sign in again")


def _locked(retry_after: int) -> DomainError:
    return DomainError(
        "account_locked",
        "too many failed sign-ins: try again later or ask HR to reset the password",
        status=grpc.StatusCode.RESOURCE_EXHAUSTED,
        retry_after=retry_after,
    )


def login_hash(login: str) -> str:
    """The lockout's key of a login (as typed): SHA-256 of its :func:`domain.login_key`."""
    return credentials.token_hash(domain.login_key(login))


def _own_logins(employee: Employee) -> list[str]:
    """The lockout keys of a person's logins (employee number and e-mail)."""
    return [login_hash(x) for x in (employee.employee_number, employee.email) if x]


async def _principal(repo: AuthRepository, employee: Employee, must_change: bool) -> pb.Principal:
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


def _new_refresh_token(repo: AuthRepository, employee_id: str, family_id: str) -> pb.RefreshToken:
    token = credentials.new_secret()
    expires = utcnow() + REFRESH_TOKEN_TTL
    repo.add(
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


class SignIn:
    def __init__(
        self,
        units: Units[AuthRepository],
        passwords: Passwords,
        lockout: credentials.LockoutPolicy | None = None,
    ) -> None:
        self.units = units
        self.passwords = passwords
        self.lockout = lockout or credentials.LockoutPolicy()

    async def authenticate(self, login: str, password: str) -> pb.Principal:
        """The principal for a right password. A failure is counted against the login (and
        audited when it is someone's) before the error is raised."""
        if not domain.login_key(login) or not password:
            raise _invalid()
        key = login_hash(login)
        async with reading(self.units) as repo:
            wait = self.lockout.retry_after(await repo.sign_in_locked_until(key), utcnow())
            if wait is not None:
                raise _locked(wait)
            employee = await repo.active_by_login(login)
            cred = await repo.credential(employee.id) if employee else None
            stored = cred.password_hash if cred is not None else None
        if stored is None:
            await self.passwords.waste_time(password)
            right = False
        else:
            right = await self.passwords.verify(stored, password)
        async with self.units() as uow:
            repo = uow.repo
            cred = await repo.credential(employee.id) if right and employee else None
            # Right, unless the password changed while it was being checked.
            if employee is not None and cred is not None and cred.password_hash == stored:
                await repo.clear_sign_in_failures([key])
                if self.passwords.needs_rehash(cred.password_hash):
                    cred.password_hash = await self.passwords.hash(password)
                await uow.audit("auth.login", "employee", employee.id)
                return await _principal(repo, employee, cred.must_change_password)
            locked = await repo.record_sign_in_failure(key, utcnow(), self.lockout)
            if employee is not None:
                action = "auth.locked" if locked is not None else "auth.login_failed"
                await uow.audit(action, "employee", employee.id)
        raise _invalid()

    async def set_password(self, request: pb.SetPasswordRequest) -> None:
        async with self.units() as uow:
            repo = uow.repo
            employee = await repo.get_employee(request.employee_id)
            if employee is None or employee.status != "active":
                raise NotFound("employee_not_found", "employee not found")
            credentials.check_password_policy(request.new_password, employee.employee_number)
            cred = await repo.credential(employee.id)
            if not request.reset:
                if cred is None or not await self.passwords.verify(
                    cred.password_hash, request.current_password
                ):
                    raise Unauthenticated("wrong_current_password", "current password is wrong")
                if request.current_password == request.new_password:
                    raise InvalidArgument(
                        "password_unchanged", "choose a password different from the current one"
                    )
            password_hash = await self.passwords.hash(request.new_password)
            if cred is None:
                cred = Credential(employee_id=employee.id)
                repo.add(cred)
            cred.password_hash = password_hash
            cred.must_change_password = request.reset
            cred.updated_at = utcnow()
            await repo.clear_sign_in_failures(_own_logins(employee))  # unlocks
            await repo.revoke_sessions(employee.id, utcnow())  # a new password ends every session
            if request.reset and await repo.delete_pin(employee.id):
                # The account was thought at risk: its PIN goes too (set again with the password).
                await uow.audit("auth.pin_reset", "employee", employee.id, detail="password reset")
            action = "auth.password_reset" if request.reset else "auth.password_change"
            await uow.audit(action, "employee", employee.id)

    async def issue_refresh_token(self, employee_id: str) -> pb.RefreshToken:
        async with self.units() as uow:
            employee = await uow.repo.get_employee(employee_id)
            if employee is None or employee.status != "active":
                raise NotFound("employee_not_found", "employee not found")
            return _new_refresh_token(uow.repo, employee.id, new_id())

    async def rotate_refresh_token(self, token: str) -> tuple[pb.Principal, pb.RefreshToken]:
        now = utcnow()
        reused = False
        async with self.units() as uow:
            repo = uow.repo
            row = await repo.refresh_token(credentials.token_hash(token), lock=True)
            if row is None:
                raise _sign_in_again()
            if row.used_at is not None and row.revoked_at is None:
                # A used token presented again: stolen or replayed. End the whole family.
                await repo.revoke_family(row.family_id, now)
                await uow.audit("auth.refresh_reuse", "employee", row.employee_id)
                reused = True
            else:
                expires_at = aware(row.expires_at)
                if row.revoked_at is not None or (expires_at is not None and expires_at <= now):
                    raise _sign_in_again()
                employee = await repo.get_employee(row.employee_id)
                if employee is None or employee.status != "active":
                    raise _sign_in_again()
                cred = await repo.credential(employee.id)
                row.used_at = now
                fresh = _new_refresh_token(repo, employee.id, row.family_id)
                principal = await _principal(
                    repo, employee, bool(cred and cred.must_change_password)
                )
        if reused:  # raised after the commit: the family stays revoked
            raise _sign_in_again()
        return principal, fresh

    async def revoke_refresh_token(self, token: str, employee_id: str) -> None:
        """Logout of ``employee_id``: ends the session of ``token`` when it is theirs.

        Idempotent, and says nothing about the token: an unknown one and someone else's get
        the same (empty) answer. Someone else's token is left working (presenting it is
        recorded against its owner as ``auth.logout_foreign_token``)."""
        if not employee_id:
            raise InvalidArgument("employee_id_required", "whose sign-out this is must be given")
        async with self.units() as uow:
            row = await uow.repo.refresh_token(credentials.token_hash(token))
            if row is None:
                return
            if row.employee_id != employee_id:
                await uow.audit("auth.logout_foreign_token", "employee", row.employee_id)
                return
            await uow.repo.revoke_family(row.family_id, utcnow())
            await uow.audit("auth.logout", "employee", row.employee_id)
