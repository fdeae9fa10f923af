"""What the feedback handlers share: their dependencies, paging, who is asking, and the
best-effort inbox notice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
import structlog

from services.common.errors import DomainError, InvalidArgument
from services.common.paging import next_page_token, page_window
from services.common.runtime import ServiceContext
from services.common.uow import UnitOfWork, Units
from services.feedback.clients import Goals, Org
from services.feedback.domain.people import Person
from services.feedback.events import EVENTS
from services.feedback.repository import FeedbackRepository
from stride.common.v1 import common_pb2
from stride.identity.v1 import inbox_pb2

log = structlog.get_logger(__name__)

Uow = UnitOfWork[FeedbackRepository]


@dataclass(frozen=True)
class Deps:
    """Everything a handler needs: units of work, the org's time zone, identity and goals."""

    units: Units[FeedbackRepository]
    # The organisation's time zone: the ISO week and the quarter an item counts in.
    time_zone: str
    org: Org
    goals: Goals

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[FeedbackRepository]:
        """A repository on a session without a write transaction (reads only)."""
        async with self.units.sessions() as session:
            yield FeedbackRepository(session)

    async def viewer(self, viewer_id: str) -> Person:
        """The person reading; an unknown or departed one is refused like any unknown id."""
        return await self.org.person(viewer_id, "viewer")

    async def managers_of(self, employee_id: str) -> tuple[str, ...]:
        """The current managers of someone an item is about ((): unknown or left)."""
        try:
            return (await self.org.person(employee_id)).managers
        except InvalidArgument:
            return ()

    async def notify(self, request: inbox_pb2.DeliverRequest) -> None:
        """Put a notice in someone's inbox after the commit. Best effort: the item itself is
        committed and listed for them either way (a later Deliver with the same key would
        create nothing twice)."""
        try:
            await self.org.deliver(request)
        except DomainError:
            log.warning("inbox notice not delivered", key=request.key, template=request.template)


def deps_of(ctx: ServiceContext) -> Deps:
    size = ctx.settings.grpc_max_message_bytes
    org = Org(ctx.settings.identity_addr, max_message_bytes=size)
    goals = Goals(ctx.settings.goals_addr, max_message_bytes=size)
    ctx.closers += [org.close, goals.close]
    return Deps(
        Units(ctx.sessions, FeedbackRepository, EVENTS, ctx.outbox_committed),
        ctx.settings.time_zone,
        org,
        goals,
    )


def concurrent(what: str) -> DomainError:
    """Two first writes of the same key at once (the unique key kept one): retry reads it."""
    return DomainError(
        f"concurrent_{what}_change",
        f"another change of the {what} was saved at the same time; read it and retry",
        status=grpc.StatusCode.ABORTED,
    )


def page(request: common_pb2.PageRequest) -> tuple[int, int]:
    """(limit, offset) of a page request."""
    return page_window(request.page_size, request.page_token)


def next_page(offset: int, limit: int, returned: int) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, returned))
