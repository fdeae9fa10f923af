"""What the 360 round handlers share: their dependencies, the "not found" reads and who sees
which raters of a round."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.common.errors import NotFound
from services.common.runtime import ServiceContext
from services.common.uow import UnitOfWork, Units
from services.feedback.events import EVENTS
from services.feedback.round_models import Round, RoundRater
from services.feedback.round_people import RoundPeople
from services.feedback.round_repository import RoundRepository
from stride.feedback.v1 import rounds_pb2 as pb
from workflows.vocabulary import (
    RATER_ANSWERED,
    RATER_INVITED,
    RELATION_ANONYMITY,
    RELATION_MANAGER,
    RELATION_SELF,
    ROUND_NOMINATING,
)

RoundUow = UnitOfWork[RoundRepository]
RESOURCE = "feedback_round"


@dataclass(frozen=True)
class RoundDeps:
    units: Units[RoundRepository]
    people: RoundPeople
    # The organisation's time zone: the calendar a round's dates are in.
    time_zone: str

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[RoundRepository]:
        async with self.units.sessions() as session:
            yield RoundRepository(session)


def round_deps(ctx: ServiceContext) -> RoundDeps:
    people = RoundPeople(
        ctx.settings.identity_addr, max_message_bytes=ctx.settings.grpc_max_message_bytes
    )
    ctx.closers.append(people.close)
    return RoundDeps(
        Units(ctx.sessions, RoundRepository, EVENTS, ctx.outbox_committed),
        people,
        ctx.settings.time_zone,
    )


def round_not_found() -> NotFound:
    return NotFound("round_not_found", "feedback round not found")


async def round_of(repo: RoundRepository, round_id: str, *, lock: bool = False) -> Round:
    row = await repo.round(round_id, lock=lock) if round_id else None
    if row is None:
        raise round_not_found()
    return row


def _shown(rater: RoundRater, viewer_id: str, system: bool) -> pb.Rater:
    """A rater as the viewer sees them: whether a peer or a report answered is the system's
    and the rater's to know, for others they read "invited" (a short list of who answered
    would narrow down who gave which score)."""
    status = rater.status
    if (
        status == RATER_ANSWERED
        and not system
        and rater.employee_id != viewer_id
        and RELATION_ANONYMITY.get(rater.relation, True)
    ):
        status = RATER_INVITED
    return pb.Rater(employee_id=rater.employee_id, relation=rater.relation, status=status)


def visible_raters(
    row: Round, raters: Sequence[RoundRater], viewer_id: str, *, overseer: bool
) -> list[pb.Rater]:
    """The raters ``viewer_id`` may see: all of them for the system ("") and overseers (the
    manager, HR); the subject sees their own nominations while nominating and only self and
    manager afterwards; a rater sees themself."""
    system = not viewer_id
    if system or overseer:
        return [_shown(r, viewer_id, system) for r in raters]
    if viewer_id == row.subject_id:
        if row.phase == ROUND_NOMINATING:
            return [_shown(r, viewer_id, system) for r in raters]
        named = (RELATION_SELF, RELATION_MANAGER)
        return [_shown(r, viewer_id, system) for r in raters if r.relation in named]
    return [_shown(r, viewer_id, system) for r in raters if r.employee_id == viewer_id]
