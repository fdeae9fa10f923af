"""Initial passwords for people who have none (imported accounts), on printed slips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from sqlalchemy.exc import IntegrityError

from services.common.errors import DomainError, InvalidArgument
from services.common.models import utcnow
from services.common.uow import Units
from services.identity import credentials
from services.identity.auth_models import Credential
from services.identity.auth_repository import AuthRepository
from services.identity.credentials import MAX_INVITATIONS, invitation_skip_reason
from services.identity.handlers import reading
from services.identity.models import Employee
from services.identity.passwords import Passwords
from stride.identity.v1 import auth_pb2 as pb


@dataclass
class Chosen:
    """Who gets a password: the people chosen, those skipped (with why), and how many more
    without a password are left beyond ``limit``."""

    people: list[Employee] = field(default_factory=list)
    skipped: list[pb.SkippedInvitation] = field(default_factory=list)
    remaining: int = 0


def check_target(employee_ids: Sequence[str], all_without_password: bool, limit: int) -> list[str]:
    """The distinct ids of a request that names either people or everyone without a password."""
    ids = list(dict.fromkeys(i for i in employee_ids if i))
    if bool(ids) == all_without_password:
        raise InvalidArgument(
            "invitation_target_required", "give either employee_ids or all_without_password"
        )
    if len(ids) > limit:
        raise InvalidArgument("too_many_employees", f"at most {limit} employees per invitation")
    return ids


async def choose(
    repo: AuthRepository, ids: Sequence[str], include_privileged: bool, limit: int
) -> Chosen:
    """``ids`` (or, when empty, every active person without a password), minus whoever may
    not get a password now (``credentials.invitation_skip_reason``), at most ``limit``."""
    chosen = Chosen()
    if ids:
        found = await repo.employees_by_ids(ids)
        with_password = await repo.with_password(ids)
        for employee_id in ids:
            employee = found.get(employee_id)
            reason = invitation_skip_reason(
                employee, employee_id in with_password, include_privileged
            )
            if reason:
                chosen.skipped.append(pb.SkippedInvitation(employee_id=employee_id, reason=reason))
            else:
                assert employee is not None
                chosen.people.append(employee)
        return chosen
    for employee in await repo.active_without_password():
        reason = invitation_skip_reason(employee, False, include_privileged)
        if reason:
            chosen.skipped.append(pb.SkippedInvitation(employee_id=employee.id, reason=reason))
        elif len(chosen.people) < limit:
            chosen.people.append(employee)
        else:
            chosen.remaining += 1
    return chosen


class Invitations:
    def __init__(self, units: Units[AuthRepository], passwords: Passwords) -> None:
        self.units = units
        self.passwords = passwords

    async def issue(
        self, request: pb.IssueInitialPasswordsRequest
    ) -> pb.IssueInitialPasswordsResponse:
        """One-time initial passwords for people who have none.

        Selected in one read, hashed outside any transaction (argon2 is slow on purpose),
        written in one transaction that inserts a credential per person: if anyone got a
        password meanwhile, the insert collides and nothing is written (``invitation_conflict``),
        so a password is never issued for someone who has one, nor twice.
        """
        ids = check_target(request.employee_ids, request.all_without_password, MAX_INVITATIONS)
        async with reading(self.units) as repo:
            picked = await choose(repo, ids, request.include_privileged, MAX_INVITATIONS)
            chosen, skipped, remaining = picked.people, picked.skipped, picked.remaining
            departments = await repo.department_names(e.department_id for e in chosen)
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
        hashes = [await self.passwords.hash(i.password) for i in issued]
        try:
            async with self.units() as uow:
                now = utcnow()
                for invitation, password_hash in zip(issued, hashes, strict=True):
                    uow.repo.add(
                        Credential(
                            employee_id=invitation.employee_id,
                            password_hash=password_hash,
                            must_change_password=True,
                            updated_at=now,
                        )
                    )
                    await uow.audit("auth.invitation_issued", "employee", invitation.employee_id)
                await uow.repo.flush()
        except IntegrityError as exc:
            raise DomainError(
                "invitation_conflict",
                "someone got a password meanwhile; nothing was issued, try again",
                status=grpc.StatusCode.ABORTED,
            ) from exc
        return pb.IssueInitialPasswordsResponse(issued=issued, skipped=skipped, remaining=remaining)
