"""Rows → protobuf messages. The author of an anonymous upward item has no message here."""

from __future__ import annotations

from collections.abc import Sequence

from services.common.models import rfc3339
from services.feedback.models import (
    Badge,
    Challenge,
    ChallengeMessage,
    FeedbackItem,
    FeedbackRequest,
)
from stride.feedback.v1 import feedback_pb2 as pb


def feedback_pb(row: FeedbackItem) -> pb.Feedback:
    return pb.Feedback(
        id=row.id,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        about_id=row.about_id,
        author_id=row.author_id,
        visibility=row.visibility,
        share_with_manager=row.share_with_manager,
        badge_id=row.badge_id or "",
        text=row.text,
        request_id=row.request_id or "",
        created_at=rfc3339(row.created_at),
        week=row.week,
        about_department_id=row.about_department_id,
        tags=row.tags or [],
    )


def ask_pb(row: FeedbackRequest) -> pb.FeedbackAsk:
    return pb.FeedbackAsk(
        id=row.id,
        requester_id=row.requester_id,
        responder_id=row.responder_id,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        message=row.message,
        status=row.status,
        feedback_id=row.feedback_id or "",
        created_at=rfc3339(row.created_at),
        closed_at=rfc3339(row.closed_at),
    )


def badge_pb(row: Badge) -> pb.Badge:
    return pb.Badge(
        id=row.id,
        code=row.code,
        name_zh=row.name_zh,
        name_en=row.name_en,
        description=row.description,
        active=row.active,
        created_at=rfc3339(row.created_at),
    )


def challenge_pb(row: Challenge, messages: Sequence[ChallengeMessage]) -> pb.Challenge:
    return pb.Challenge(
        id=row.id,
        objective_id=row.objective_id,
        owner_id=row.owner_id,
        challenger_id=row.challenger_id,
        status=row.status,
        messages=[
            pb.ChallengeMessage(
                author_id=m.author_id, text=m.text, created_at=rfc3339(m.created_at), kind=m.kind
            )
            for m in messages
        ],
        created_at=rfc3339(row.created_at),
        closed_at=rfc3339(row.closed_at),
        accepted=row.accepted,
    )
