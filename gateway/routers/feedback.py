"""Continuous feedback, praise, badges, requests for feedback, frequency, settings.

Served by the feedback service, which decides on every item it reads (the caller is passed
as the viewer): an item the caller may not read answers 404 exactly like a missing one.
Static paths (/feedback/requests, /feedback/frequency, /feedback/settings) are declared
before /feedback/{feedback_id}.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from gateway.convert import to_dict
from gateway.deps import FilterId, Paging, PathId, RpcDep
from gateway.policy import Facts
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import QueryBool, Week
from gateway.schemas.feedback import (
    AskBox,
    AskStatusFilter,
    BadgeList,
    BadgePut,
    Feedback,
    FeedbackAsk,
    FeedbackAskCreate,
    FeedbackAskPage,
    FeedbackBox,
    FeedbackGive,
    FeedbackPage,
    Frequency,
    Settings,
    SettingsUpdate,
    SubjectKindFilter,
)
from gateway.schemas.feedback import Badge as BadgeOut
from gateway.security import Access, Allow, headed_departments
from stride.feedback.v1 import feedback_pb2 as pb
from workflows.vocabulary import BADGE_CODE_PATTERN

router = ResourceRouter(tags=["feedback"], route_class=StrideRoute)

BadgeCode = Annotated[str, Path(max_length=64, pattern=BADGE_CODE_PATTERN)]
Box = Annotated[
    FeedbackBox,
    Query(
        description="received: about the caller; given: by the caller; reports: about people "
        "the caller manages directly, shared with their manager"
    ),
]
AskBoxQuery = Annotated[
    AskBox, Query(description="asked: addressed to the caller; mine: asked by the caller")
]
AskStatus = Annotated[AskStatusFilter, Query(description="only requests in this status")]
SubjectKindQuery = Annotated[
    SubjectKindFilter, Query(description="only feedback about this kind of subject")
]
IncludeRetired = Annotated[QueryBool, Query(description="also badges no longer awarded")]


# -- feedback and praise ----------------------------------------------------------------------


@router.post(
    "/feedback",
    response_model=Feedback,
    status_code=201,
    name="give_feedback",
    description="Feedback about a person, an objective or a key result (the goal's owner "
    "receives it). Private: the person, and their manager when share_with_manager. Praise: "
    "with a badge (422 badge_required), seen by the person's department. Unknown subject: "
    "422 unknown_objective / unknown_key_result / unknown_subject.",
)
async def give_feedback(
    body: FeedbackGive, rpc: RpcDep, access: Access = Allow("feedback.give")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.GiveFeedback,
        pb.GiveFeedbackRequest(
            author_id=access.caller.id,
            subject_kind=body.subject_kind,
            subject_id=body.subject_id,
            visibility=body.visibility,
            share_with_manager=body.share_with_manager,
            badge_id=body.badge_id,
            text=body.text,
            request_id=body.request_id,
            tags=body.tags,
        ),
    )
    return to_dict(msg)


@router.get(
    "/feedback",
    response_model=FeedbackPage,
    name="list_feedback",
    description="The caller's feedback, newest first: received (default), given, or shared "
    "with the caller as the manager of the person it is about.",
)
async def list_feedback(
    rpc: RpcDep,
    paging: Paging,
    box: Box = "received",
    subject_kind: SubjectKindQuery = "",
    subject_id: FilterId = "",
    access: Access = Allow("feedback.list"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.ListFeedback,
        pb.ListFeedbackRequest(
            viewer_id=access.caller.id,
            box=box,
            subject_kind=subject_kind,
            subject_id=subject_id,
            page=paging.proto(),
        ),
    )
    return page(msg, "items")


@router.post(
    "/feedback/requests",
    response_model=FeedbackAsk,
    status_code=201,
    name="request_feedback",
    description="Asks a colleague for feedback about oneself (default) or one's own "
    "objective or key result; the request reaches their inbox. They answer with POST "
    "/feedback naming request_id.",
)
async def request_feedback(
    body: FeedbackAskCreate, rpc: RpcDep, access: Access = Allow("feedback.request")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.RequestFeedback,
        pb.RequestFeedbackRequest(
            requester_id=access.caller.id,
            responder_id=body.responder_id,
            subject_kind=body.subject_kind,
            subject_id=body.subject_id,
            message=body.message,
        ),
    )
    return to_dict(msg)


@router.get(
    "/feedback/requests",
    response_model=FeedbackAskPage,
    name="list_feedback_requests",
    description="Requests for feedback addressed to the caller (default) or made by them.",
)
async def list_feedback_requests(
    rpc: RpcDep,
    paging: Paging,
    box: AskBoxQuery = "asked",
    status: AskStatus = "",
    access: Access = Allow("feedback.request.list"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.ListFeedbackRequests,
        pb.ListFeedbackRequestsRequest(
            viewer_id=access.caller.id, box=box, status=status, page=paging.proto()
        ),
    )
    return page(msg, "items")


@router.post(
    "/feedback/requests/{request_id}/decline",
    response_model=FeedbackAsk,
    name="decline_feedback_request",
    description="The one asked declines (idempotent); the requester gets 403 not_responder, "
    "anyone else 404.",
)
async def decline_feedback_request(
    request_id: PathId, rpc: RpcDep, access: Access = Allow("feedback.request.decline")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.DeclineFeedbackRequest,
        pb.DeclineFeedbackRequestRequest(id=request_id, actor_id=access.caller.id),
    )
    return to_dict(msg)


@router.get(
    "/feedback/frequency",
    response_model=Frequency,
    name="feedback_frequency",
    description="Items given per department (the giver's) and ISO week: private feedback, "
    "praise, upward feedback, challenges. HR, admin, executives: any department (default "
    "all); heads: the departments they head (default: those).",
)
async def feedback_frequency(
    rpc: RpcDep,
    from_week: Annotated[
        Week | None, Query(description='first ISO week "YYYY-Www" (default: 12 weeks before)')
    ] = None,
    to_week: Annotated[
        Week | None, Query(description='last ISO week "YYYY-Www" (default: this week)')
    ] = None,
    department_id: FilterId = "",
    access: Access = Allow("feedback.frequency"),
) -> dict[str, Any]:
    departments: list[str] = []
    if department_id:
        if not access.sees_everything:
            await access.check(access.action, Facts(department_id=department_id))
        departments = [department_id]
    elif not access.sees_everything:
        departments = await headed_departments(rpc, access.caller.id)
        if not departments:
            await access.check(access.action, Facts(department_id=access.caller.department_id))
    msg = await rpc(
        rpc.feedback.GetFeedbackFrequency,
        pb.GetFeedbackFrequencyRequest(
            from_week=from_week or "", to_week=to_week or "", department_ids=departments
        ),
    )
    return to_dict(msg)


@router.get(
    "/feedback/settings",
    response_model=Settings,
    name="get_feedback_settings",
    description="The organisation's feedback settings.",
)
async def get_feedback_settings(
    rpc: RpcDep, access: Access = Allow("feedback_settings.read")
) -> dict[str, Any]:
    return to_dict(await rpc(rpc.feedback.GetSettings, pb.GetSettingsRequest()))


@router.put(
    "/feedback/settings",
    response_model=Settings,
    name="update_feedback_settings",
    description="Sets the anonymity threshold: anonymous answers and upward feedback are "
    "released only from this many distinct authors; never below 3 (422 "
    "threshold_below_minimum).",
)
async def update_feedback_settings(
    body: SettingsUpdate, rpc: RpcDep, access: Access = Allow("feedback_settings.update")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.UpdateSettings,
        pb.UpdateSettingsRequest(anonymity_threshold=body.anonymity_threshold),
    )
    return to_dict(msg)


@router.get(
    "/feedback/{feedback_id}",
    response_model=Feedback,
    name="get_feedback",
    description="One piece of feedback, for whoever may read it (others: 404 "
    "feedback_not_found, exactly like a missing one).",
)
async def get_feedback(
    feedback_id: PathId, rpc: RpcDep, access: Access = Allow("feedback.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.GetFeedback, pb.GetFeedbackRequest(id=feedback_id, viewer_id=access.caller.id)
    )
    return to_dict(msg)


@router.get(
    "/praise",
    response_model=FeedbackPage,
    name="list_praise",
    description="Public praise the caller may see (their department's, and the departments "
    "they head), newest first.",
)
async def list_praise(
    rpc: RpcDep,
    paging: Paging,
    about_id: FilterId = "",
    access: Access = Allow("praise.list"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.ListPraise,
        pb.ListPraiseRequest(viewer_id=access.caller.id, about_id=about_id, page=paging.proto()),
    )
    return page(msg, "items")


# -- badges -----------------------------------------------------------------------------------


@router.get(
    "/badges",
    response_model=BadgeList,
    name="list_badges",
    description="The recognition badges HR maintains (retired ones on request).",
)
async def list_badges(
    rpc: RpcDep,
    include_retired: Annotated[
        QueryBool, Query(description="also badges no longer awarded")
    ] = False,
    access: Access = Allow("badge.read"),
) -> dict[str, Any]:
    msg = await rpc(rpc.feedback.ListBadges, pb.ListBadgesRequest(include_retired=include_retired))
    return to_dict(msg)


@router.put(
    "/badges/{code}",
    response_model=BadgeOut,
    name="put_badge",
    description="Creates the badge with this code or changes it (active: false retires it; "
    "praise already given keeps it).",
)
async def put_badge(
    code: BadgeCode, body: BadgePut, rpc: RpcDep, access: Access = Allow("badge.update")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.PutBadge,
        pb.PutBadgeRequest(
            code=code,
            name_zh=body.name_zh,
            name_en=body.name_en,
            description=body.description,
            active=body.active,
        ),
    )
    return to_dict(msg)
