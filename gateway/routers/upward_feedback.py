"""Upward feedback to one's own manager (served by the feedback service).

Anonymous items never come back with their author: the manager's summary carries them only
as an aggregate, once enough colleagues wrote anonymously in the quarter
(services/feedback/domain/upward.py, docs/feedback.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from gateway.convert import to_dict
from gateway.deps import RpcDep
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.feedback import UpwardGive, UpwardReceipt, UpwardSummary
from gateway.security import Access, Allow
from stride.feedback.v1 import feedback_pb2 as pb
from workflows.vocabulary import QUARTER_PATTERN

router = ResourceRouter(tags=["feedback"], route_class=StrideRoute)

Period = Annotated[
    str,
    Query(
        pattern=f"^({QUARTER_PATTERN.strip('^$')})?$",
        description='a quarter "YYYY-Qn"; default: the current one',
    ),
]


@router.post(
    "/me/upward-feedback",
    response_model=UpwardReceipt,
    status_code=201,
    name="give_upward_feedback",
    description="Feedback to the caller's own direct manager (409 no_manager without one). "
    "Anonymous: never shown with its author — to the manager only as an aggregate once enough "
    "colleagues wrote anonymously this quarter; to no one else at all.",
)
async def give_upward_feedback(
    body: UpwardGive, rpc: RpcDep, access: Access = Allow("upward_feedback.give")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.GiveUpwardFeedback,
        pb.GiveUpwardFeedbackRequest(
            author_id=access.caller.id, text=body.text, anonymous=body.anonymous
        ),
    )
    return to_dict(msg)


@router.get(
    "/me/upward-feedback",
    response_model=UpwardSummary,
    name="get_upward_feedback",
    description="The upward feedback written to the caller this quarter (or period): named "
    "items, and the anonymous ones as an aggregate once released.",
)
async def get_upward_feedback(
    rpc: RpcDep, period: Period = "", access: Access = Allow("upward_feedback.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.GetUpwardFeedback,
        pb.GetUpwardFeedbackRequest(
            manager_id=access.caller.id, viewer_id=access.caller.id, period=period
        ),
    )
    return to_dict(msg)
