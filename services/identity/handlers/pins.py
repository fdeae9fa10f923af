"""PINs: sign-in on a shared shop-floor device by employee number + PIN.

A person sets their own PIN (their password proves it is them); HR/admin remove it; a
password reset removes it too (whoever reset the password may not know the PIN, but the
account was thought at risk). A PIN is hashed with argon2 like a password.

Sign-in goes like the password sign-in (services/identity/handlers/auth.py): read, verify
outside any transaction, record in a short write. A number that belongs to nobody and a
person without a PIN answer like a wrong PIN (a dummy verification, a counted failure), so
neither the answers nor their timing tell who has a PIN. Failures are counted per employee
number in ``sign_in_failures`` under a key of their own (``credentials.PIN_LOCKOUT``: 5 in a
row lock the number for 15 minutes), apart from the password's count.
"""

from __future__ import annotations

import grpc

from services.common.errors import DomainError, InvalidArgument, NotFound
from services.common.models import utcnow
from services.common.uow import Units
from services.identity import credentials, domain
from services.identity.auth_models import PinCredential
from services.identity.auth_repository import AuthRepository
from services.identity.handlers import reading
from services.identity.handlers.auth import Unauthenticated, _principal
from services.identity.passwords import Passwords
from stride.identity.v1 import auth_pb2 as pb


def pin_login_hash(employee_number: str) -> str:
    """The lockout key of PIN sign-ins with an employee number (never a password login's)."""
    return credentials.token_hash("pin:" + domain.login_key(employee_number))


def _invalid() -> Unauthenticated:
    return Unauthenticated("invalid_pin", "wrong employee number or PIN")


def _locked(retry_after: int) -> DomainError:
    return DomainError(
        "pin_locked",
        "too many wrong PINs: try again later or sign in with your password",
        status=grpc.StatusCode.RESOURCE_EXHAUSTED,
        retry_after=retry_after,
    )


class Pins:
    def __init__(
        self,
        units: Units[AuthRepository],
        passwords: Passwords,
        lockout: credentials.LockoutPolicy = credentials.PIN_LOCKOUT,
    ) -> None:
        self.units = units
        self.passwords = passwords
        self.lockout = lockout

    async def set_pin(self, request: pb.SetPinRequest) -> None:
        """A person's own PIN; their current password must be right (else
        ``wrong_current_password``)."""
        credentials.check_pin_policy(request.pin)
        async with reading(self.units) as repo:
            employee = await repo.get_employee(request.employee_id)
            if employee is None or employee.status != "active":
                raise NotFound("employee_not_found", "employee not found")
            cred = await repo.credential(employee.id)
            stored = cred.password_hash if cred is not None else None
        if stored is None or not await self.passwords.verify(stored, request.current_password):
            raise Unauthenticated("wrong_current_password", "current password is wrong")
        if domain.login_key(request.pin) == domain.login_key(employee.employee_number):
            raise InvalidArgument("weak_pin", "a PIN must not be the employee number")
        pin_hash = await self.passwords.hash(request.pin)
        async with self.units() as uow:
            repo = uow.repo
            cred = await repo.credential(employee.id)
            if cred is None or cred.password_hash != stored:  # the password changed meanwhile
                raise Unauthenticated("wrong_current_password", "current password is wrong")
            row = await repo.pin(employee.id)
            if row is None:
                repo.add(PinCredential(employee_id=employee.id, pin_hash=pin_hash))
                action = "auth.pin_set"
            else:
                row.pin_hash = pin_hash
                row.updated_at = utcnow()
                action = "auth.pin_change"
            await repo.clear_sign_in_failures([pin_login_hash(employee.employee_number)])
            await uow.audit(action, "employee", employee.id)

    async def reset_pin(self, employee_id: str) -> pb.ResetPinResponse:
        """HR/admin: remove a person's PIN (they set a new one with their password)."""
        async with self.units() as uow:
            repo = uow.repo
            employee = await repo.get_employee(employee_id)
            if employee is None:
                raise NotFound("employee_not_found", "employee not found")
            had_pin = await repo.delete_pin(employee.id)
            await repo.clear_sign_in_failures([pin_login_hash(employee.employee_number)])
            await uow.audit(
                "auth.pin_reset",
                "employee",
                employee.id,
                detail="PIN removed" if had_pin else "no PIN was set",
            )
            return pb.ResetPinResponse(had_pin=had_pin)

    async def authenticate(self, employee_number: str, pin: str) -> pb.Principal:
        """The principal for a right PIN. A failure is counted against the employee number
        (and audited when it is someone's) before the error is raised."""
        if not domain.login_key(employee_number) or not pin:
            raise _invalid()
        key = pin_login_hash(employee_number)
        async with reading(self.units) as repo:
            wait = self.lockout.retry_after(await repo.sign_in_locked_until(key), utcnow())
            if wait is not None:
                raise _locked(wait)
            employee = await repo.active_by_login(employee_number)
            if employee is not None and domain.login_key(employee.employee_number) != (
                domain.login_key(employee_number)
            ):
                employee = None  # an e-mail: PINs go with employee numbers only
            row = await repo.pin(employee.id) if employee else None
            stored = row.pin_hash if row is not None else None
        if stored is None:
            await self.passwords.waste_time(pin)
            right = False
        else:
            right = await self.passwords.verify(stored, pin)
        async with self.units() as uow:
            repo = uow.repo
            row = await repo.pin(employee.id) if right and employee else None
            # Right, unless the PIN changed (or was removed) while it was being checked.
            if employee is not None and row is not None and row.pin_hash == stored:
                await repo.clear_sign_in_failures([key])
                if self.passwords.needs_rehash(row.pin_hash):
                    row.pin_hash = await self.passwords.hash(pin)
                cred = await repo.credential(employee.id)
                await uow.audit("auth.pin_login", "employee", employee.id)
                return await _principal(repo, employee, bool(cred and cred.must_change_password))
            locked = await repo.record_sign_in_failure(key, utcnow(), self.lockout)
            if employee is not None:
                action = "auth.pin_locked" if locked is not None else "auth.pin_login_failed"
                await uow.audit(action, "employee", employee.id)
        if locked is not None:
            # The fifth wrong PIN says so at once (the next attempt would anyway).
            raise _locked(self.lockout.retry_after(locked, utcnow()) or 1)
        raise _invalid()
