"""What the archive and calibration handlers share: their dependencies, who is reading, and
the "not found" answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.common.errors import InvalidArgument, NotFound
from services.common.runtime import ServiceContext
from services.common.uow import UnitOfWork, Units
from services.feedback.archive_repository import ArchiveRepository
from services.feedback.clients import Goals, Org, Telemetry
from services.feedback.domain import archive as rules
from services.feedback.domain.people import Person
from services.feedback.events import EVENTS

ArchiveUow = UnitOfWork[ArchiveRepository]
RECORD = "archive_record"
CALIBRATION = "calibration"


@dataclass(frozen=True)
class ArchiveDeps:
    units: Units[ArchiveRepository]
    org: Org
    goals: Goals
    # None when STRIDE_TELEMETRY_ADDR is empty: no external metrics are recorded.
    telemetry: Telemetry | None
    time_zone: str

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[ArchiveRepository]:
        async with self.units.sessions() as session:
            yield ArchiveRepository(session)

    async def viewer(self, viewer_id: str) -> Person:
        """The person reading (active); anyone unknown is refused as not found."""
        try:
            return await self.org.person(viewer_id, "viewer")
        except InvalidArgument as exc:
            raise not_found() from exc

    async def may_read(self, viewer: Person, employee_id: str) -> bool:
        if viewer.id == employee_id or rules.ARCHIVE_READERS & viewer.roles:
            return True
        try:
            managers = (await self.org.person(employee_id)).managers
        except InvalidArgument:
            return False
        return rules.can_read(viewer.id, viewer.roles, employee_id, managers)

    async def hr(self, actor_id: str) -> Person:
        """The acting HR person (roles hr or admin); anyone else is refused as not found."""
        person = await self.viewer(actor_id)
        if not rules.ARCHIVE_READERS & person.roles:
            raise not_found()
        return person


def archive_deps(ctx: ServiceContext, org: Org, goals: Goals) -> ArchiveDeps:
    telemetry = None
    if ctx.settings.telemetry_addr:
        telemetry = Telemetry(
            ctx.settings.telemetry_addr, max_message_bytes=ctx.settings.grpc_max_message_bytes
        )
        ctx.closers.append(telemetry.close)
    return ArchiveDeps(
        Units(ctx.sessions, ArchiveRepository, EVENTS, ctx.outbox_committed),
        org,
        goals,
        telemetry,
        ctx.settings.time_zone,
    )


def not_found() -> NotFound:
    return NotFound("archive_not_found", "archive record not found")


def calibration_not_found() -> NotFound:
    return NotFound("calibration_not_found", "calibration session not found")
