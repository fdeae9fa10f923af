"""What the telemetry handlers share: their dependencies and paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import time

from services.common.paging import next_page_token, page_window
from services.common.uow import UnitOfWork, Units
from services.telemetry.clients import Goals
from services.telemetry.domain.samples import Limits
from services.telemetry.domain.windows import DEFAULT_SHIFTS
from services.telemetry.repository import TelemetryRepository
from stride.common.v1 import common_pb2

Uow = UnitOfWork[TelemetryRepository]


async def _no_publish(subject: str, payload: bytes, msg_id: str) -> None:
    return None


@dataclass
class Deps:
    """Units of work, goals, the org's time and the limits on samples; ``wake_pusher`` tells
    the push scheduler a binding changed; ``publish`` puts a dead letter on JetStream."""

    units: Units[TelemetryRepository]
    goals: Goals
    time_zone: str
    shifts: tuple[time, ...] = DEFAULT_SHIFTS
    limits: Limits = field(default_factory=Limits)
    wake_pusher: Callable[[], None] = lambda: None
    publish: Callable[[str, bytes, str], Awaitable[None]] = _no_publish

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[TelemetryRepository]:
        async with self.units.sessions() as session:
            yield TelemetryRepository(session)


def page(request: common_pb2.PageRequest) -> tuple[int, int]:
    return page_window(request.page_size, request.page_token)


def next_page(offset: int, limit: int, returned: int) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, returned))
