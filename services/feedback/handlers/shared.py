"""What the feedback handlers share: their dependencies and the reading session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.common.runtime import ServiceContext
from services.common.uow import UnitOfWork, Units
from services.feedback.events import EVENTS
from services.feedback.repository import FeedbackRepository

Uow = UnitOfWork[FeedbackRepository]


@dataclass(frozen=True)
class Deps:
    """Everything a handler needs: units of work for writes (and reads), the org's time zone."""

    units: Units[FeedbackRepository]
    # The organisation's time zone: the ISO week and the quarter an item counts in.
    time_zone: str

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[FeedbackRepository]:
        """A repository on a session without a write transaction (reads only)."""
        async with self.units.sessions() as session:
            yield FeedbackRepository(session)


def deps_of(ctx: ServiceContext) -> Deps:
    return Deps(
        Units(ctx.sessions, FeedbackRepository, EVENTS, ctx.outbox_committed),
        ctx.settings.time_zone,
    )
