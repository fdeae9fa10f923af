"""The unit of work every write handler opens: one transaction and what rides with it.

A handler is "open a unit of work → load → call the pure domain → record → commit"::

    async with self.units() as uow:
        row = await uow.repo.key_result(kr_id, lock=True)
        change = domain.something(row, ...)            # pure, may raise DomainError
        uow.repo.add(new_row)
        await uow.emit(pb.SomethingHappened(...))      # outbox row, subject from the registry
        await uow.audit("thing.change", "thing", row.id, before, after)
    # committed here; the outbox relay is woken only after a commit that queued events

Events and audit entries are rows in the same transaction as the data, so an error anywhere
inside the block leaves no data, no outbox row and no audit row behind (tested in
tests/integration/test_unit_of_work.py). They are built when emitted (trace context, actor,
digests as of that moment) and written in one multi-row INSERT just before the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import audit
from services.common.events import EventRegistry
from services.common.outbox import event_row
from services.common.tasks import to_completion

R = TypeVar("R")


class UnitOfWork(Generic[R]):
    """One transaction with its repository, outbox events and audit entries."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        repository: Callable[[AsyncSession], R],
        events: EventRegistry,
        recorder: audit.Recorder,
        committed: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._repository = repository
        self._events = events
        self._recorder = recorder
        self._committed = committed
        self._session: AsyncSession | None = None
        self._repo: R | None = None
        self._rows: list[dict[str, Any]] = []
        self.queued = 0

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    @property
    def repo(self) -> R:
        if self._repo is None:
            raise RuntimeError("the unit of work is not open")
        return self._repo

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is opened once")
        self._session = self._sessions()
        await self._session.begin()
        self._repo = self._repository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if exc_type is None:
                if self._rows:
                    # On the connection: a Core statement needs none of the ORM's handling.
                    conn = await session.connection()
                    await conn.execute(self._events.outbox.insert(), self._rows)
                    self._rows = []
                await session.commit()
            else:
                await session.rollback()
        finally:
            # To its end even when the request is cancelled (again) meanwhile, as SQLAlchemy's
            # own `async with session` does: a close cut short would leave the connection
            # checked out in its transaction, holding its row locks.
            await to_completion(session.close())
        if exc_type is None and self.queued:
            self._committed()

    async def emit(self, message: Message) -> str:
        """Queue ``message`` on the subject the registry gives its type; returns the event id."""
        _ = self.session  # only while open
        row = event_row(self._events.subject_of(type(message)), message)
        self._rows.append(row)
        self.queued += 1
        return str(row["event_id"])

    def take_events(self) -> list[dict[str, Any]]:
        """Hand the queued outbox rows (events and audit entries, in order) to a caller that
        writes them itself in this transaction, with its data in one statement; they are then
        no longer written at commit (the relay is still woken after it)."""
        _ = self.session  # only while open
        rows, self._rows = self._rows, []
        return rows

    async def audit(
        self,
        action: str,
        resource_type: str,
        resource_id: str,
        before: Message | None = None,
        after: Message | None = None,
        detail: str = "",
    ) -> None:
        """Queue an audit entry (``<service>.<action>``) for the change being made; ``detail``
        says in short what was decided (at most 500 characters are kept)."""
        await self.emit(
            self._recorder.entry(action, resource_type, resource_id, before, after, detail)
        )


@dataclass(frozen=True)
class Units(Generic[R]):
    """A service's unit-of-work factory: ``async with units() as uow``."""

    sessions: async_sessionmaker[AsyncSession]
    repository: Callable[[AsyncSession], R]
    events: EventRegistry
    committed: Callable[[], None]

    @property
    def recorder(self) -> audit.Recorder:
        return audit.Recorder(self.events.service)

    def __call__(self) -> UnitOfWork[R]:
        return UnitOfWork(
            self.sessions, self.repository, self.events, self.recorder, self.committed
        )
