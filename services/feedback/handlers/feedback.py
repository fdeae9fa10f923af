"""Continuous feedback and praise: give (or answer a request), read one, list."""

from __future__ import annotations

from sqlalchemy import and_

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.feedback.domain import giving
from services.feedback.domain.calendar import local_week
from services.feedback.domain.people import Person
from services.feedback.domain.visibility import ItemFacts, may_read, praise_departments
from services.feedback.handlers.shared import Deps, next_page, page
from services.feedback.messages import feedback_pb
from services.feedback.models import FeedbackItem
from stride.feedback.v1 import feedback_pb2 as pb
from workflows.vocabulary import (
    ASK_ANSWERED,
    ASK_OPEN,
    SUBJECT_KEY_RESULT,
    SUBJECT_OBJECTIVE,
    VISIBILITY_PRAISE,
    VISIBILITY_PRIVATE,
)

NOT_FOUND = ("feedback_not_found", "feedback not found")
BOXES = ("received", "given", "reports")


async def subject_owner(deps: Deps, kind: str, subject_id: str) -> str:
    """The person feedback about this subject is about (the objective's / key result's
    owner); InvalidArgument ``unknown_<kind>`` when it does not exist."""
    if not subject_id:
        raise InvalidArgument("subject_required", "subject_id must be given")
    if kind == SUBJECT_OBJECTIVE:
        return str((await deps.goals.objective(subject_id)).owner_id)
    if kind == SUBJECT_KEY_RESULT:
        return str((await deps.goals.key_result(subject_id)).owner_id)
    return subject_id


async def give(deps: Deps, request: pb.GiveFeedbackRequest) -> pb.Feedback:
    visibility = giving.visibility(request.visibility, request.badge_id)
    tags = giving.praise_tags(list(request.tags), visibility)
    text = giving.text(request.text)
    kind, subject_id = giving.subject_kind(request.subject_kind), request.subject_id
    author = await deps.org.person(request.author_id, "author")
    if request.request_id:
        async with deps.reading() as repo:
            ask = await repo.request(request.request_id)
        if ask is None or ask.responder_id != author.id:
            raise NotFound("feedback_request_not_found", "feedback request not found")
        if subject_id and (kind, subject_id) != (ask.subject_kind, ask.subject_id):
            raise InvalidArgument(
                "subject_differs_from_request", "an answer is about what the request asked"
            )
        kind, subject_id = ask.subject_kind, ask.subject_id
    about = await deps.org.person(await subject_owner(deps, kind, subject_id), "subject")
    giving.not_about_oneself(author.id, about.id)
    now = utcnow()
    async with deps.units() as uow:
        if visibility == VISIBILITY_PRAISE:
            badge = await uow.repo.badge(request.badge_id)
            if badge is None:
                raise InvalidArgument("unknown_badge", "badge not found")
            if not badge.active:
                raise InvalidArgument("badge_retired", "this badge is no longer awarded")
        row = FeedbackItem(
            id=new_id(),
            subject_kind=kind,
            subject_id=subject_id,
            about_id=about.id,
            about_department_id=about.department_id,
            author_id=author.id,
            author_department_id=author.department_id,
            visibility=visibility,
            share_with_manager=request.share_with_manager and visibility == VISIBILITY_PRIVATE,
            badge_id=request.badge_id or None,
            text=text,
            request_id=request.request_id or None,
            week=local_week(now, deps.time_zone),
            created_at=now,
            tags=tags,
        )
        if request.request_id:
            ask = await uow.repo.request(request.request_id, lock=True)
            if ask is None or ask.status != ASK_OPEN:
                raise FailedPrecondition("request_not_open", "this request is closed")
            ask.status, ask.feedback_id, ask.closed_at = ASK_ANSWERED, row.id, now
        uow.repo.add(row)
        if visibility == VISIBILITY_PRAISE:
            await uow.emit(
                pb.PraiseGiven(
                    meta=new_event_meta("feedback"),
                    feedback_id=row.id,
                    about_id=row.about_id,
                    author_id=row.author_id,
                    badge_id=request.badge_id,
                    about_department_id=row.about_department_id,
                )
            )
        else:
            await uow.emit(
                pb.FeedbackGiven(
                    meta=new_event_meta("feedback"),
                    feedback_id=row.id,
                    subject_kind=kind,
                    subject_id=subject_id,
                    about_id=row.about_id,
                    author_id=row.author_id,
                    request_id=request.request_id,
                    week=row.week,
                )
            )
        # Who gave what to whom, not the words: the audit trail is read by HR and admins,
        # who do not read private feedback.
        await uow.audit(f"{visibility}.give", "feedback", row.id)
    return feedback_pb(row)


async def _readable(deps: Deps, viewer: Person, row: FeedbackItem) -> bool:
    facts = ItemFacts(
        row.author_id, row.about_id, row.about_department_id, row.visibility, row.share_with_manager
    )
    if viewer.id in (row.author_id, row.about_id):
        return True
    manager = ""
    if row.visibility == VISIBILITY_PRIVATE and row.share_with_manager:
        managers = await deps.managers_of(row.about_id)
        manager = managers[0] if managers else ""
    departments: frozenset[str] = frozenset()
    if row.visibility == VISIBILITY_PRAISE and not viewer.reads_the_organisation:
        departments = await _praise_departments(deps, viewer)
    return may_read(viewer, facts, about_manager_id=manager, praise_departments=departments)


async def _praise_departments(deps: Deps, viewer: Person) -> frozenset[str]:
    tree = await deps.org.departments()
    return praise_departments(
        viewer, {d.id: d.parent_id for d in tree}, {d.id: d.head_id for d in tree}
    )


async def get(deps: Deps, request: pb.GetFeedbackRequest) -> pb.Feedback:
    viewer = await deps.viewer(request.viewer_id)
    async with deps.reading() as repo:
        row = await repo.feedback(request.id)
    if row is None or not await _readable(deps, viewer, row):
        raise NotFound(*NOT_FOUND)
    return feedback_pb(row)


async def list_(deps: Deps, request: pb.ListFeedbackRequest) -> pb.ListFeedbackResponse:
    box = request.box or "received"
    if box not in BOXES:
        raise InvalidArgument("invalid_box", f"box is one of {', '.join(BOXES)}")
    kind = giving.subject_kind(request.subject_kind) if request.subject_kind else ""
    limit, offset = page(request.page)
    viewer = await deps.viewer(request.viewer_id)
    if box == "received":
        where = FeedbackItem.about_id == viewer.id
    elif box == "given":
        where = FeedbackItem.author_id == viewer.id
    else:  # shared with the viewer as the direct manager of the person it is about
        reports = await deps.org.reports(viewer.id, transitive=False)
        where = and_(
            FeedbackItem.about_id.in_(reports),
            FeedbackItem.visibility == VISIBILITY_PRIVATE,
            FeedbackItem.share_with_manager.is_(True),
        )
    async with deps.reading() as repo:
        rows = await repo.feedback_where(
            where, subject_kind=kind, subject_id=request.subject_id, limit=limit, offset=offset
        )
    return pb.ListFeedbackResponse(
        items=[feedback_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )


async def list_praise(deps: Deps, request: pb.ListPraiseRequest) -> pb.ListFeedbackResponse:
    limit, offset = page(request.page)
    viewer = await deps.viewer(request.viewer_id)
    departments = (
        None if viewer.reads_the_organisation else sorted(await _praise_departments(deps, viewer))
    )
    async with deps.reading() as repo:
        rows = await repo.praise(
            departments=departments,
            viewer_id=viewer.id,
            about_id=request.about_id,
            limit=limit,
            offset=offset,
        )
    return pb.ListFeedbackResponse(
        items=[feedback_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )
