"""Upward feedback: to one's own direct manager, named or anonymous.

Anonymity is kept where the data is read: the manager's summary carries anonymous items only
through :func:`services.feedback.domain.upward.aggregate` (threshold of distinct authors,
texts without authors or times). Nothing else reads them: no RPC returns an upward item by
id, the receipt the author gets has no id, the event names no author, and no audit entry is
written for upward feedback (the audit trail names the actor of every entry, so an entry
would tie the author to the item for whoever reads the trail).
"""

from __future__ import annotations

import grpc

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument
from services.common.models import new_id, rfc3339, utcnow
from services.common.outbox import new_event_meta
from services.feedback.domain import giving
from services.feedback.domain.calendar import local_quarter, local_week
from services.feedback.domain.upward import AnonymousItem, aggregate
from services.feedback.handlers import settings
from services.feedback.handlers.shared import Deps
from services.feedback.models import UpwardFeedback
from stride.feedback.v1 import feedback_pb2 as pb
from workflows.vocabulary import QUARTER


async def give(deps: Deps, request: pb.GiveUpwardFeedbackRequest) -> pb.UpwardFeedbackReceipt:
    text = giving.text(request.text)
    author = await deps.org.person(request.author_id, "author")
    if not author.manager_id:
        raise FailedPrecondition("no_manager", "upward feedback goes to one's manager; none set")
    now = utcnow()
    row = UpwardFeedback(
        id=new_id(),
        manager_id=author.manager_id,
        author_id=author.id,
        author_department_id=author.department_id,
        anonymous=request.anonymous,
        text=text,
        period=local_quarter(now, deps.time_zone),
        week=local_week(now, deps.time_zone),
        created_at=now,
    )
    async with deps.units() as uow:
        uow.repo.add(row)
        await uow.emit(
            pb.UpwardFeedbackGiven(
                meta=new_event_meta("feedback"), manager_id=row.manager_id, period=row.period
            )
        )
    return pb.UpwardFeedbackReceipt(
        manager_id=row.manager_id, period=row.period, anonymous=row.anonymous
    )


async def summary(deps: Deps, request: pb.GetUpwardFeedbackRequest) -> pb.UpwardFeedbackSummary:
    """What the manager reads of a period. Only the manager: not their managers, not HR."""
    if not request.viewer_id or request.viewer_id != request.manager_id:
        raise DomainError(
            "not_the_manager",
            "upward feedback is read by the manager it was written to",
            status=grpc.StatusCode.PERMISSION_DENIED,
        )
    period = request.period or local_quarter(utcnow(), deps.time_zone)
    if not QUARTER.fullmatch(period):
        raise InvalidArgument("invalid_period", "period is a quarter such as 2026-Q4")
    await deps.viewer(request.viewer_id)
    async with deps.reading() as repo:
        rows = await repo.upward(request.manager_id, period)
        threshold = await settings.threshold(repo)
    released = aggregate(
        [AnonymousItem(r.id, r.author_id, r.text) for r in rows if r.anonymous], threshold
    )
    return pb.UpwardFeedbackSummary(
        manager_id=request.manager_id,
        period=period,
        named=[
            pb.NamedUpwardFeedback(
                id=r.id, author_id=r.author_id, text=r.text, created_at=rfc3339(r.created_at)
            )
            for r in rows
            if not r.anonymous
        ],
        anonymous=pb.AnonymousAggregate(
            released=released.released,
            threshold=released.threshold,
            items=released.items,
            authors=released.authors,
            texts=list(released.texts),
        ),
    )
