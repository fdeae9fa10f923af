"""360 rounds: rows ↔ protobuf messages, questions ↔ JSON, requests → domain specs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.common.models import rfc3339
from services.feedback.domain.anonymity import Question, Release
from services.feedback.domain.rounds import AnswerSpec, QuestionSpec
from services.feedback.round_models import Round, RoundRater, RoundTemplate
from stride.feedback.v1 import rounds_pb2 as pb


def question_data(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "kind": q.kind,
        "text_zh": q.text_zh,
        "text_en": q.text_en,
        "anonymous": q.anonymous,
    }


def questions_of(data: Iterable[Mapping[str, Any]]) -> tuple[Question, ...]:
    return tuple(
        Question(d["id"], d["kind"], bool(d["anonymous"]), d["text_zh"], d["text_en"]) for d in data
    )


def question_pb(q: Question) -> pb.Question:
    return pb.Question(
        id=q.id, kind=q.kind, text_zh=q.text_zh, text_en=q.text_en, anonymous=q.anonymous
    )


def question_specs(questions: Sequence[pb.Question]) -> list[QuestionSpec]:
    return [
        QuestionSpec(
            kind=q.kind, text_zh=q.text_zh, text_en=q.text_en, anonymous=q.anonymous, id=q.id
        )
        for q in questions
    ]


def answer_specs(answers: Sequence[pb.Answer]) -> list[AnswerSpec]:
    return [
        AnswerSpec(a.question_id, a.rating if a.HasField("rating") else None, a.text)
        for a in answers
    ]


def template_pb(row: RoundTemplate) -> pb.Template:
    return pb.Template(
        id=row.id,
        name=row.name,
        questions=[question_pb(q) for q in questions_of(row.questions)],
        archived=row.archived,
        created_at=rfc3339(row.created_at),
        updated_at=rfc3339(row.updated_at),
    )


def round_pb(row: Round, raters: Sequence[RoundRater] | Sequence[pb.Rater] = ()) -> pb.Round:
    return pb.Round(
        id=row.id,
        cycle_id=row.cycle_id,
        subject_id=row.subject_id,
        manager_id=row.manager_id,
        template_id=row.template_id,
        department_id=row.department_id,
        phase=row.phase,
        deadline=row.deadline.isoformat(),
        nominations_due=row.nominations_due.isoformat(),
        raters=[
            r
            if isinstance(r, pb.Rater)
            else pb.Rater(employee_id=r.employee_id, relation=r.relation, status=r.status)
            for r in raters
        ],
        created_at=rfc3339(row.created_at),
        closed_at=rfc3339(row.closed_at),
        questions=[question_pb(q) for q in questions_of(row.questions)],
    )


def results_pb(row: Round, release: Release | None, viewer_role: str) -> pb.RoundResults:
    """What the viewer reads: nothing but the phase before close; after close, the frozen
    release (respondents only when it reaches the threshold)."""
    out = pb.RoundResults(
        round_id=row.id,
        subject_id=row.subject_id,
        phase=row.phase,
        viewer_role=viewer_role,
        closed_at=rfc3339(row.closed_at),
    )
    if release is None:
        return out
    out.threshold = release.threshold
    out.released = release.released
    if release.released:
        out.respondents = release.respondents
    wording = {q.id: q for q in questions_of(row.questions)}
    for q in release.questions:
        text = wording.get(q.question_id)
        out.questions.append(
            pb.QuestionResult(
                question_id=q.question_id,
                kind=q.kind,
                anonymous=q.anonymous,
                text_zh=text.text_zh if text else "",
                text_en=text.text_en if text else "",
                aggregates=[
                    pb.GroupAggregate(
                        group=a.group,
                        released=a.released,
                        respondents=a.respondents if a.released else 0,
                        average=a.average if a.released else 0.0,
                    )
                    for a in q.aggregates
                ],
                comments=list(q.comments),
                named=[
                    pb.NamedAnswer(
                        relation=n.relation, rater_id=n.rater_id, rating=n.rating, text=n.text
                    )
                    for n in q.named
                ],
            )
        )
    return out
