"""Identity's handlers, one module per aggregate.

A write handler opens a unit of work (:class:`services.common.uow.Units`), loads through the
repository, calls the pure rules (``services.identity.domain``, ``credentials``,
``sync.plan``), records rows, events (by message type, ``services.identity.events``) and
audit entries, and commits. Reads use :func:`reading`. The gRPC adapters in
``services.identity.servicers`` only translate messages and call these.

- ``departments`` / ``employees``: the organisation (IdentityService);
- ``auth`` / ``api_keys`` / ``invitations``: credentials (AuthService);
- ``audit``: the hash-chained audit log (AuditService and the chain appender);
- ``inbox``: people's notifications (InboxService);
- ``org_sync``: planned and batched synchronisation from a source (OrgSyncService).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.runtime import ServiceContext
from services.common.uow import Units
from services.identity.events import EVENTS

R = TypeVar("R")


def units_for(ctx: ServiceContext, repository: Callable[[AsyncSession], R]) -> Units[R]:
    """Identity's units of work over ``repository``."""
    return Units(ctx.sessions, repository, EVENTS, ctx.outbox_committed)


@asynccontextmanager
async def reading(units: Units[R]) -> AsyncIterator[R]:
    """A repository on a session without a write transaction (reads only)."""
    async with units.sessions() as session:
        yield units.repository(session)
