""" "Challenge this goal": a thread on an objective that its owner must answer.

Anyone who may read the objective (the gateway checks objective.read) raises a challenge;
its owner (as the objective had it when challenged) is the only one who answers — the
challenge then closes as answered — or marks it resolved. The challenger, the owner, the
owner's managers (open challenges are theirs to see) and HR, admin and executives read it;
anyone else gets NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.feedback.domain import giving
from services.feedback.domain.calendar import local_week
from services.feedback.domain.people import Person
from services.feedback.domain.visibility import may_read_challenge
from services.feedback.handlers.shared import Deps, next_page, page
from services.feedback.messages import challenge_pb
from services.feedback.models import Challenge, ChallengeMessage
from services.feedback.repository import FeedbackRepository
from stride.feedback.v1 import feedback_pb2 as pb
from stride.identity.v1 import inbox_pb2
from workflows.vocabulary import CHALLENGE_ANSWERED, CHALLENGE_OPEN, CHALLENGE_RESOLVED

NOT_FOUND = ("challenge_not_found", "challenge not found")
STATUSES = (CHALLENGE_OPEN, CHALLENGE_ANSWERED, CHALLENGE_RESOLVED)


async def _with_messages(repo: FeedbackRepository, rows: Sequence[Challenge]) -> list[pb.Challenge]:
    messages = await repo.messages([r.id for r in rows])
    by_challenge: dict[str, list[ChallengeMessage]] = {}
    for m in messages:
        by_challenge.setdefault(m.challenge_id, []).append(m)
    return [challenge_pb(r, by_challenge.get(r.id, [])) for r in rows]


async def raise_(deps: Deps, request: pb.RaiseChallengeRequest) -> pb.Challenge:
    text = giving.text(request.text)
    challenger = await deps.org.person(request.challenger_id, "challenger")
    if not request.objective_id:
        raise InvalidArgument("objective_required", "objective_id must be given")
    objective = await deps.goals.objective(request.objective_id)
    giving.challenger_not_owner(challenger.id, objective.owner_id)
    now = utcnow()
    row = Challenge(
        id=new_id(),
        objective_id=objective.id,
        owner_id=objective.owner_id,
        challenger_id=challenger.id,
        challenger_department_id=challenger.department_id,
        status=CHALLENGE_OPEN,
        week=local_week(now, deps.time_zone),
        created_at=now,
    )
    first = ChallengeMessage(
        id=new_id(),
        challenge_id=row.id,
        seq=1,
        author_id=challenger.id,
        kind="challenge",
        text=text,
        created_at=now,
    )
    async with deps.units() as uow:
        uow.repo.add(row)
        await uow.repo.flush()
        uow.repo.add(first)
        await uow.emit(
            pb.ChallengeRaised(
                meta=new_event_meta("feedback"),
                challenge_id=row.id,
                objective_id=row.objective_id,
                owner_id=row.owner_id,
                challenger_id=row.challenger_id,
            )
        )
        await uow.audit("challenge.raise", "challenge", row.id)
    await deps.notify(
        inbox_pb2.DeliverRequest(
            key=f"challenge/{row.id}",
            recipient_id=row.owner_id,
            template="challenge.raised",
            title_zh=f"你的目标“{objective.title}”收到了质疑，请回复",
            title_en=f"Your objective “{objective.title}” was challenged: please answer",
            body_zh=text,
            body_en=text,
            link=f"/objectives/{row.objective_id}/challenges",
        )
    )
    return challenge_pb(row, [first])


async def _readable(deps: Deps, viewer: Person, row: Challenge) -> bool:
    if viewer.id in (row.owner_id, row.challenger_id) or viewer.reads_the_organisation:
        return True
    return may_read_challenge(
        viewer,
        owner_id=row.owner_id,
        challenger_id=row.challenger_id,
        owner_managers=await deps.managers_of(row.owner_id),
    )


async def get(deps: Deps, request: pb.GetChallengeRequest) -> pb.Challenge:
    viewer = await deps.viewer(request.viewer_id)
    async with deps.reading() as repo:
        row = await repo.challenge(request.id)
        if row is None or not await _readable(deps, viewer, row):
            raise NotFound(*NOT_FOUND)
        return (await _with_messages(repo, [row]))[0]


async def list_(deps: Deps, request: pb.ListChallengesRequest) -> pb.ListChallengesResponse:
    if request.status and request.status not in STATUSES:
        raise InvalidArgument("invalid_status", f"status is one of {', '.join(STATUSES)}")
    limit, offset = page(request.page)
    viewer = await deps.viewer(request.viewer_id)
    where: ColumnElement[bool]
    if request.reports:
        owners = await deps.org.reports(viewer.id, transitive=True)
        where = Challenge.owner_id.in_(owners)
    elif request.owner_id:
        sees_all = viewer.reads_the_organisation or viewer.id == request.owner_id
        if not sees_all:
            sees_all = viewer.id in await deps.managers_of(request.owner_id)
        where = Challenge.owner_id == request.owner_id
        if not sees_all:
            where = where & (Challenge.challenger_id == viewer.id)
    elif request.objective_id:
        where = Challenge.objective_id == request.objective_id
    else:
        where = or_(Challenge.owner_id == viewer.id, Challenge.challenger_id == viewer.id)
    async with deps.reading() as repo:
        rows = list(
            await repo.challenges(
                where,
                objective_id=request.objective_id,
                status=request.status,
                limit=limit,
                offset=offset,
            )
        )
        fetched = len(rows)
        # An objective's challenges: each one as far as the viewer may read it.
        if request.objective_id and not request.owner_id and not request.reports:
            rows = [r for r in rows if await _readable(deps, viewer, r)]
        items = await _with_messages(repo, rows)
    return pb.ListChallengesResponse(items=items, page=next_page(offset, limit, fetched))


async def _close(
    deps: Deps, challenge_id: str, actor_id: str, text: str, *, status: str, accepted: bool = False
) -> pb.Challenge:
    actor = await deps.viewer(actor_id)
    now = utcnow()
    async with deps.units() as uow:
        row = await uow.repo.challenge(challenge_id, lock=True)
        if row is None or not await _readable(deps, actor, row):
            raise NotFound(*NOT_FOUND)
        giving.answerer_is_owner(actor.id, row.owner_id)
        if row.status != CHALLENGE_OPEN:
            raise FailedPrecondition("challenge_closed", "this challenge is closed already")
        seq = len(await uow.repo.messages([row.id])) + 1
        kind = "answer" if status == CHALLENGE_ANSWERED else "resolution"
        uow.repo.add(
            ChallengeMessage(
                id=new_id(),
                challenge_id=row.id,
                seq=seq,
                author_id=actor.id,
                kind=kind,
                text=text,
                created_at=now,
            )
        )
        row.status, row.closed_at, row.accepted = status, now, accepted
        await uow.emit(
            pb.ChallengeAnswered(
                meta=new_event_meta("feedback"),
                challenge_id=row.id,
                objective_id=row.objective_id,
                owner_id=row.owner_id,
                status=status,
                accepted=accepted,
            )
        )
        await uow.audit(f"challenge.{kind}", "challenge", row.id)
        await uow.repo.flush()
        return (await _with_messages(uow.repo, [row]))[0]


async def answer(deps: Deps, request: pb.AnswerChallengeRequest) -> pb.Challenge:
    text = giving.text(request.text)
    return await _close(
        deps,
        request.id,
        request.actor_id,
        text,
        status=CHALLENGE_ANSWERED,
        accepted=request.accepted,
    )


async def resolve(deps: Deps, request: pb.ResolveChallengeRequest) -> pb.Challenge:
    text = giving.text(request.text, required=False)
    return await _close(deps, request.id, request.actor_id, text, status=CHALLENGE_RESOLVED)
