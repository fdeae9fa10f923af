"""Requests for feedback: ask a colleague, list what one was asked or asked for, decline.

The one asked finds the request in their inbox (identity's InboxService, delivered after the
commit under the key ``feedback-request/<id>``) and in ``ListFeedbackRequests`` (box
"asked"), which is the record: a notice that could not be delivered does not lose the
request. They answer by giving feedback with ``request_id`` (handlers/feedback.py).
"""

from __future__ import annotations

import grpc

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.feedback.domain import giving
from services.feedback.handlers.feedback import subject_owner
from services.feedback.handlers.shared import Deps, next_page, page
from services.feedback.messages import ask_pb
from services.feedback.models import FeedbackRequest
from stride.feedback.v1 import feedback_pb2 as pb
from stride.identity.v1 import inbox_pb2
from workflows.vocabulary import ASK_ANSWERED, ASK_DECLINED, ASK_OPEN, SUBJECT_PERSON

NOT_FOUND = ("feedback_request_not_found", "feedback request not found")
BOXES = ("asked", "mine")
STATUSES = (ASK_OPEN, ASK_ANSWERED, ASK_DECLINED)


async def request_(deps: Deps, request: pb.RequestFeedbackRequest) -> pb.FeedbackAsk:
    kind = giving.subject_kind(request.subject_kind)
    message = giving.text(request.message, "message", required=False)
    requester = await deps.org.person(request.requester_id, "requester")
    responder = await deps.org.person(request.responder_id, "responder")
    if responder.id == requester.id:
        raise InvalidArgument("ask_self", "ask someone else for feedback")
    subject_id = request.subject_id or (requester.id if kind == SUBJECT_PERSON else "")
    if await subject_owner(deps, kind, subject_id) != requester.id:
        raise InvalidArgument(
            "ask_about_others", "one asks for feedback about oneself or one's own goals"
        )
    row = FeedbackRequest(
        id=new_id(),
        requester_id=requester.id,
        responder_id=responder.id,
        subject_kind=kind,
        subject_id=subject_id,
        message=message,
        status=ASK_OPEN,
        created_at=utcnow(),
    )
    async with deps.units() as uow:
        uow.repo.add(row)
        await uow.emit(
            pb.FeedbackRequested(
                meta=new_event_meta("feedback"),
                request_id=row.id,
                requester_id=row.requester_id,
                responder_id=row.responder_id,
            )
        )
        await uow.audit("request.create", "feedback_request", row.id)
    await deps.notify(
        inbox_pb2.DeliverRequest(
            key=f"feedback-request/{row.id}",
            recipient_id=row.responder_id,
            template="feedback.requested",
            title_zh="同事请你提供反馈",
            title_en="A colleague asks for your feedback",
            body_zh=message,
            body_en=message,
            link=f"/feedback/requests/{row.id}",
        )
    )
    return ask_pb(row)


async def list_(
    deps: Deps, request: pb.ListFeedbackRequestsRequest
) -> pb.ListFeedbackRequestsResponse:
    box = request.box or "asked"
    if box not in BOXES:
        raise InvalidArgument("invalid_box", f"box is one of {', '.join(BOXES)}")
    if request.status and request.status not in STATUSES:
        raise InvalidArgument("invalid_status", f"status is one of {', '.join(STATUSES)}")
    limit, offset = page(request.page)
    viewer = await deps.viewer(request.viewer_id)
    async with deps.reading() as repo:
        rows = await repo.requests(
            responder_id=viewer.id if box == "asked" else "",
            requester_id=viewer.id if box == "mine" else "",
            status=request.status,
            limit=limit,
            offset=offset,
        )
    return pb.ListFeedbackRequestsResponse(
        items=[ask_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )


async def decline(deps: Deps, request: pb.DeclineFeedbackRequestRequest) -> pb.FeedbackAsk:
    async with deps.units() as uow:
        row = await uow.repo.request(request.id, lock=True)
        if row is None or request.actor_id not in (row.requester_id, row.responder_id):
            raise NotFound(*NOT_FOUND)
        if request.actor_id != row.responder_id:
            raise DomainError(
                "not_responder",
                "only the one asked declines a request",
                status=grpc.StatusCode.PERMISSION_DENIED,
            )
        if row.status == ASK_DECLINED:
            return ask_pb(row)
        if row.status != ASK_OPEN:
            raise FailedPrecondition("request_not_open", "this request is closed")
        row.status, row.closed_at = ASK_DECLINED, utcnow()
        await uow.audit("request.decline", "feedback_request", row.id)
    return ask_pb(row)
