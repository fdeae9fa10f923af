"""360 answers, closing a round (the one moment aggregates are computed) and its results.

Anonymity is enforced here, where results are read: a viewer gets only what
``anonymity.release`` froze at close, and that holds no rater id of an anonymous answer.
"""

from __future__ import annotations

from services.common.errors import FailedPrecondition
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.feedback.domain.anonymity import (
    Submission,
    effective_threshold,
    release,
    release_from_data,
    release_to_data,
)
from services.feedback.domain.rounds import (
    checked_answers,
    ensure_collecting,
    permission_denied,
    results_reader,
)
from services.feedback.handlers.round_shared import RESOURCE, RoundDeps, round_of, visible_raters
from services.feedback.handlers.settings import threshold as threshold_in_force
from services.feedback.round_messages import answer_specs, questions_of, results_pb, round_pb
from services.feedback.round_models import RoundAnswer, RoundResult
from stride.feedback.v1 import rounds_pb2 as pb
from workflows.vocabulary import (
    RATER_ANSWERED,
    RATER_INVITED,
    RELATION_ANONYMITY,
    ROUND_CANCELLED,
    ROUND_CLOSED,
)


async def submit(deps: RoundDeps, request: pb.SubmitAnswersRequest) -> pb.SubmitAnswersResponse:
    """A rater's answers, replacing earlier ones, while answers are open. No event and no
    audit detail carries what they answered."""
    rater_id = request.rater_id.strip()
    async with deps.units() as uow:
        # The round is locked: CloseRound waits for this answer or this answer sees it closed.
        row = await round_of(uow.repo, request.round_id, lock=True)
        rater = await uow.repo.rater(row.id, rater_id) if rater_id else None
        if rater is None:
            raise permission_denied("not_a_rater", "you are not a rater of this round")
        if row.phase == ROUND_CLOSED:
            raise FailedPrecondition("round_closed", "the round is closed: answers are final")
        ensure_collecting(row.phase)
        if rater.status not in (RATER_INVITED, RATER_ANSWERED):
            raise FailedPrecondition("not_invited", "you are not invited to answer yet")
        answers = checked_answers(
            questions_of(row.questions), answer_specs(request.answers), rater_id, rater.relation
        )
        await uow.repo.delete_answers(row.id, rater_id)
        for question_id, rating in answers.ratings.items():
            uow.repo.add(_answer(row.id, rater_id, rater.relation, question_id, rating, ""))
        for question_id, text in answers.texts.items():
            uow.repo.add(_answer(row.id, rater_id, rater.relation, question_id, None, text))
        rater.status = RATER_ANSWERED
        await uow.audit("round.answer", RESOURCE, row.id)
    return pb.SubmitAnswersResponse()


def _answer(
    round_id: str, rater_id: str, relation: str, question_id: str, rating: int | None, text: str
) -> RoundAnswer:
    return RoundAnswer(
        id=new_id(),
        round_id=round_id,
        rater_id=rater_id,
        relation=relation,
        question_id=question_id,
        rating=rating,
        text=text,
    )


async def close(deps: RoundDeps, request: pb.CloseRoundRequest) -> pb.Round:
    """Freeze what the round releases, once (idempotent): the threshold in force now, every
    answer given, the comments in the round's secret order. Then the answers of peers and
    reports are unlinked from their raters."""
    async with deps.units() as uow:
        row = await round_of(uow.repo, request.round_id, lock=True)
        raters = await uow.repo.raters(row.id)
        if row.phase in (ROUND_CLOSED, ROUND_CANCELLED):
            return round_pb(row, visible_raters(row, raters, "", overseer=True))
        before = round_pb(row, visible_raters(row, raters, "", overseer=True))
        threshold = effective_threshold(await threshold_in_force(uow.repo))
        by_rater: dict[str, tuple[str, dict[str, int], dict[str, str]]] = {}
        for a in await uow.repo.answers(row.id):
            if a.rater_id is None:
                continue
            _, ratings, texts = by_rater.setdefault(a.rater_id, (a.relation, {}, {}))
            if a.rating is not None:
                ratings[a.question_id] = a.rating
            if a.text:
                texts[a.question_id] = a.text
        submissions = [
            Submission(r, rel, ratings, texts) for r, (rel, ratings, texts) in by_rater.items()
        ]
        frozen = release(questions_of(row.questions), submissions, threshold, row.seed)
        uow.repo.add(
            RoundResult(
                round_id=row.id,
                threshold=frozen.threshold,
                data=release_to_data(frozen),
                created_at=utcnow(),
            )
        )
        anonymous = [rel for rel, hidden in RELATION_ANONYMITY.items() if hidden]
        await uow.repo.forget_raters(row.id, anonymous)
        row.phase = ROUND_CLOSED
        row.closed_at = utcnow()
        after = round_pb(row, visible_raters(row, raters, "", overseer=True))
        await uow.emit(
            pb.RoundClosed(
                meta=new_event_meta("feedback"),
                round_id=row.id,
                cycle_id=row.cycle_id,
                subject_id=row.subject_id,
            )
        )
        await uow.audit("round.close", RESOURCE, row.id, before, after)
    return after


async def results(deps: RoundDeps, request: pb.GetRoundResultsRequest) -> pb.RoundResults:
    """What the viewer may read: the subject, their manager (now, per identity; or when the
    round started) and HR; nobody else (admins without the HR role included). Before close
    nothing is released."""
    viewer = request.viewer_id.strip()
    async with deps.reading() as repo:
        row = await round_of(repo, request.round_id)
        frozen = await repo.result(row.id)
    manager = row.manager_id
    hr = False
    if viewer and viewer not in (row.subject_id, manager):
        current = await deps.people.manager_of(row.subject_id)
        if viewer == current:
            manager = current
        else:
            hr = await deps.people.is_hr(viewer)
    role = results_reader(viewer, row.subject_id, manager, hr=hr)
    data = release_from_data(frozen.data) if frozen is not None else None
    return results_pb(row, data, role)
