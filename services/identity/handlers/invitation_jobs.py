"""Invitations for many people, in the background: a job, its chunks, its slips.

``POST /org/invitations`` makes a job (the people are chosen at once, the same way as the
one-call invitation in ``handlers.invitations``) and the ``org-invitations/<job>`` workflow
issues it chunk by chunk. A chunk is hashed outside any transaction (argon2 is slow on
purpose), then issued in one transaction that first claims it — an UPDATE of its ``done_at``
only one transaction wins — and writes the credentials (hashes only), one audit entry per
person and the slips. A chunk claimed before is not issued again (a retried activity gets
``replayed``); someone who got a password meanwhile is skipped (``has_password``).

The slips (the plain passwords) wait in the job's rows for the person who asked, are handed
out once (``TakeInvitationSlips`` wipes them as it reads them) and are wiped unread
:data:`SLIPS_TTL` after the job finished.
"""

from __future__ import annotations

from datetime import timedelta

import grpc
from sqlalchemy.exc import IntegrityError

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, rfc3339, utcnow
from services.common.uow import Units
from services.identity import credentials
from services.identity.auth_models import (
    Credential,
    InvitationJob,
    InvitationJobChunk,
    InvitationJobItem,
)
from services.identity.auth_repository import AuthRepository
from services.identity.credentials import invitation_skip_reason
from services.identity.handlers import reading
from services.identity.handlers.invitations import check_target, choose
from services.identity.passwords import Passwords
from stride.identity.v1 import auth_pb2 as pb

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
ISSUED = "issued"
DEFAULT_CHUNK = 50
MAX_CHUNK = 500
MAX_JOB_PEOPLE = 10_000
# Slips nobody downloaded are wiped this long after their job finished.
SLIPS_TTL = timedelta(hours=24)
MAX_ERROR = 2_000


def _not_found() -> NotFound:
    return NotFound("invitation_job_not_found", "invitation job not found")


def job_pb(job: InvitationJob, reasons: dict[str, int]) -> pb.InvitationJob:
    return pb.InvitationJob(
        job_id=job.id,
        status=job.status,
        total=job.total,
        issued=job.issued,
        skipped=job.skipped,
        remaining=job.remaining,
        chunk_count=job.chunk_count,
        chunks_done=job.chunks_done,
        error=job.error,
        created_at=rfc3339(job.created_at),
        finished_at=rfc3339(job.finished_at),
        slips_taken=job.slips_taken_at is not None,
        requested_by=job.requested_by,
        skipped_reasons=reasons,
    )


class InvitationJobs:
    def __init__(self, units: Units[AuthRepository], passwords: Passwords) -> None:
        self.units = units
        self.passwords = passwords

    async def create(self, request: pb.CreateInvitationJobRequest) -> pb.InvitationJob:
        ids = check_target(request.employee_ids, request.all_without_password, MAX_JOB_PEOPLE)
        size = request.chunk_size or DEFAULT_CHUNK
        if not 1 <= size <= MAX_CHUNK:
            raise InvalidArgument("invalid_chunk_size", f"chunk_size must be 1..{MAX_CHUNK}")
        requested_by = request.requested_by.strip()
        if not requested_by:
            raise InvalidArgument("requested_by_required", "name the person who asks")
        async with reading(self.units) as repo:
            chosen = await choose(repo, ids, request.include_privileged, MAX_JOB_PEOPLE)
        now = utcnow()
        total = len(chosen.people)
        job = InvitationJob(
            id=new_id(),
            requested_by=requested_by[:64],
            include_privileged=request.include_privileged,
            status=QUEUED if total else DONE,  # nobody to invite: nothing to run
            total=total,
            issued=0,
            skipped=len(chosen.skipped),
            remaining=chosen.remaining,
            chunk_count=(total + size - 1) // size,
            chunks_done=0,
            error="",
            created_at=now,
            finished_at=None if total else now,
            slips_taken_at=None,
        )
        async with self.units() as uow:
            await uow.repo.expire_invitation_slips(now - SLIPS_TTL, now)
            uow.repo.add(job)
            await uow.repo.flush()
            for position, employee in enumerate(chosen.people):
                uow.repo.add(
                    InvitationJobItem(
                        job_id=job.id,
                        position=position,
                        employee_id=employee.id,
                        chunk_no=position // size,
                        outcome="",
                    )
                )
            for offset, skip in enumerate(chosen.skipped):
                uow.repo.add(
                    InvitationJobItem(
                        job_id=job.id,
                        position=total + offset,
                        employee_id=skip.employee_id,
                        chunk_no=-1,
                        outcome=skip.reason,
                    )
                )
            for chunk_no in range(job.chunk_count):
                uow.repo.add(InvitationJobChunk(job_id=job.id, chunk_no=chunk_no, done_at=None))
            await uow.audit("auth.invitation_job_created", "invitation_job", job.id)
        reasons: dict[str, int] = {}
        for skip in chosen.skipped:
            reasons[skip.reason] = reasons.get(skip.reason, 0) + 1
        return job_pb(job, reasons)

    async def issue_chunk(self, job_id: str, chunk_no: int) -> pb.IssueInvitationChunkResponse:
        async with reading(self.units) as repo:
            job = await repo.invitation_job(job_id)
            if job is None:
                raise _not_found()
            chunk = await repo.invitation_chunk(job_id, chunk_no)
            if chunk is None:
                raise InvalidArgument(
                    "invalid_chunk", f"the job has chunks 0..{job.chunk_count - 1}"
                )
            if chunk.done_at is None and job.status in (DONE, FAILED):
                raise FailedPrecondition("invitation_job_finished", "the job has ended")
            items = await repo.invitation_items(job_id, chunk_no=chunk_no)
            people = await repo.employees_by_ids(i.employee_id for i in items)
            departments = await repo.department_names(e.department_id for e in people.values())
            with_password = await repo.with_password(people.keys())
        # Why each person gets no password now ("" when they get one), and their passwords.
        skip: dict[str, str] = {}
        passwords: dict[str, str] = {}
        if chunk.done_at is None:
            for item in items:
                person = people.get(item.employee_id)
                skip[item.employee_id] = invitation_skip_reason(
                    person, item.employee_id in with_password, job.include_privileged
                )
                if not skip[item.employee_id] and person is not None:
                    passwords[person.id] = credentials.initial_password(person.employee_number)
        hashes = {i: await self.passwords.hash(p) for i, p in passwords.items()}
        replayed = True
        try:
            async with self.units() as uow:
                now = utcnow()
                if await uow.repo.claim_invitation_chunk(job_id, chunk_no, now):
                    replayed = False
                    locked = await uow.repo.invitation_job(job_id, lock=True)
                    assert locked is not None
                    # Who got a password since they were read is skipped.
                    taken = await uow.repo.with_password(passwords.keys())
                    for item in await uow.repo.invitation_items(job_id, chunk_no=chunk_no):
                        person = people.get(item.employee_id)
                        if person is None or person.id not in passwords or person.id in taken:
                            item.outcome = skip.get(item.employee_id) or "has_password"
                            locked.skipped += 1
                            continue
                        uow.repo.add(
                            Credential(
                                employee_id=person.id,
                                password_hash=hashes[person.id],
                                must_change_password=True,
                                updated_at=now,
                            )
                        )
                        await uow.audit("auth.invitation_issued", "employee", person.id)
                        item.outcome = ISSUED
                        item.employee_number = person.employee_number
                        item.name = person.name
                        item.department_id = person.department_id
                        item.department_name = departments.get(person.department_id, "")
                        item.password = passwords[person.id]
                        locked.issued += 1
                    locked.chunks_done += 1
                    locked.status = RUNNING
                    await uow.repo.flush()
        except IntegrityError as exc:  # someone got a password between the check and now
            raise DomainError(
                "invitation_conflict",
                "someone got a password meanwhile; nothing of this chunk was issued, try again",
                status=grpc.StatusCode.ABORTED,
            ) from exc
        return pb.IssueInvitationChunkResponse(
            job_id=job_id, chunk_no=chunk_no, replayed=replayed, job=await self.get(job_id)
        )

    async def finish(self, job_id: str, error: str) -> pb.InvitationJob:
        async with self.units() as uow:
            job = await uow.repo.invitation_job(job_id, lock=True)
            if job is None:
                raise _not_found()
            if job.status not in (DONE, FAILED):
                reason = " ".join(error.split())[:MAX_ERROR]
                job.status = FAILED if reason else DONE
                job.error = reason
                job.finished_at = utcnow()
        return await self.get(job_id)

    async def get(self, job_id: str, requested_by: str = "") -> pb.InvitationJob:
        async with reading(self.units) as repo:
            job = await repo.invitation_job(job_id)
            if job is None or (requested_by and job.requested_by != requested_by):
                raise _not_found()
            return job_pb(job, await repo.invitation_skip_reasons(job_id))

    async def take(self, job_id: str, requested_by: str) -> pb.IssueInitialPasswordsResponse:
        """The slips of a finished job, once: the passwords are wiped as they are read."""
        now = utcnow()
        async with self.units() as uow:
            await uow.repo.expire_invitation_slips(now - SLIPS_TTL, now)
        async with self.units() as uow:
            job = await uow.repo.invitation_job(job_id, lock=True)
            if job is None or job.requested_by != requested_by:
                raise _not_found()
            if job.status not in (DONE, FAILED):
                raise FailedPrecondition(
                    "invitation_job_not_ready",
                    f"the job is {job.status}: {job.chunks_done} of {job.chunk_count} chunks "
                    "issued; download the slips when it is done",
                )
            if job.slips_taken_at is not None:
                raise FailedPrecondition(
                    "slips_gone",
                    "the slips were downloaded already (or not within "
                    f"{SLIPS_TTL.total_seconds() / 3600:.0f} h): reset the passwords of anyone "
                    "who has none on paper",
                )
            issued: list[pb.InitialPassword] = []
            skipped: list[pb.SkippedInvitation] = []
            for item in await uow.repo.invitation_items(job_id):
                if item.outcome == ISSUED and item.password:
                    issued.append(
                        pb.InitialPassword(
                            employee_id=item.employee_id,
                            employee_number=item.employee_number,
                            name=item.name,
                            department_id=item.department_id,
                            department_name=item.department_name,
                            password=item.password,
                        )
                    )
                elif item.outcome not in ("", ISSUED):
                    skipped.append(
                        pb.SkippedInvitation(employee_id=item.employee_id, reason=item.outcome)
                    )
            await uow.repo.wipe_invitation_passwords(job_id)
            job.slips_taken_at = now
            await uow.audit("auth.invitation_slips_taken", "invitation_job", job.id)
        return pb.IssueInitialPasswordsResponse(
            issued=issued, skipped=skipped, remaining=job.remaining
        )
