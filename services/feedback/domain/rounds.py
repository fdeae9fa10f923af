"""360 rounds: question templates, nominations, answers and who may see what, as pure rules.

The anonymity of what a round releases is in :mod:`services.feedback.domain.anonymity`; this
module checks what people send (templates, nominations, answers) and guards the phases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import grpc

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument
from services.common.text import checked_text
from services.feedback.domain.anonymity import Question, Submission
from workflows.vocabulary import (
    MAX_COMMENT,
    MAX_CYCLE_DAYS,
    MAX_NAME,
    MAX_QUESTION_TEXT,
    MAX_ROUND_PEERS,
    MAX_ROUND_REPORTS,
    MAX_TEMPLATE_QUESTIONS,
    QUESTION_ID_PATTERN,
    QUESTION_KINDS,
    QUESTION_RATING,
    QUESTION_TEXT,
    RATING_MAX,
    RATING_MIN,
    RELATION_MANAGER,
    RELATION_PEER,
    RELATION_REPORT,
    RELATION_SELF,
    ROUND_COLLECTING,
    ROUND_NOMINATING,
    parse_day,
)

QUESTION_ID = re.compile(QUESTION_ID_PATTERN)


def permission_denied(code: str, message: str) -> DomainError:
    return DomainError(code, message, status=grpc.StatusCode.PERMISSION_DENIED)


# --- templates --------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionSpec:
    """A question as HR sends it; ``id`` may be empty (then "q<position>")."""

    kind: str
    text_zh: str
    text_en: str
    anonymous: bool = True
    id: str = ""


def checked_template(
    name: str, questions: Sequence[QuestionSpec]
) -> tuple[str, tuple[Question, ...]]:
    """A template's name and questions, checked: the cleaned name and the questions to store.

    Every question is a rating (RATING_MIN..RATING_MAX) or a text, worded in both zh-CN and en
    (raters read the language they prefer, and a question missing in one language would be
    answered by half the plant only), anonymous or named. Ids are unique slugs so answers and
    results keep pointing at the same question when HR reorders a template.
    """
    name = checked_text(name, "name", MAX_NAME)
    if not questions:
        raise InvalidArgument("questions_required", "a template needs at least one question")
    if len(questions) > MAX_TEMPLATE_QUESTIONS:
        raise InvalidArgument(
            "too_many_questions", f"a template has at most {MAX_TEMPLATE_QUESTIONS} questions"
        )
    out: list[Question] = []
    seen: set[str] = set()
    for position, q in enumerate(questions, start=1):
        qid = q.id or f"q{position}"
        if not QUESTION_ID.fullmatch(qid):
            raise InvalidArgument(
                "invalid_question_id", f"question id {qid!r} must match {QUESTION_ID_PATTERN}"
            )
        if qid in seen:
            raise InvalidArgument("duplicate_question_id", f"question id {qid!r} is used twice")
        seen.add(qid)
        if q.kind not in QUESTION_KINDS:
            raise InvalidArgument(
                "invalid_question_kind", f"a question's kind is one of {', '.join(QUESTION_KINDS)}"
            )
        text_zh = checked_text(q.text_zh, "question_zh", MAX_QUESTION_TEXT, multiline=True)
        text_en = checked_text(q.text_en, "question_en", MAX_QUESTION_TEXT, multiline=True)
        out.append(Question(qid, q.kind, bool(q.anonymous), text_zh, text_en))
    return name, tuple(out)


# --- cycles ---------------------------------------------------------------------------------------
# A cycle id as goals makes them (a uuid) or any short id of the same characters: it names the
# round's workflow (feedback-round/<cycle>/<subject>), so nothing else is taken.
CYCLE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,36}", re.ASCII)


def checked_cycle_id(cycle_id: str) -> str:
    cycle_id = cycle_id.strip()
    if not cycle_id:
        raise InvalidArgument("cycle_required", "cycle_id must be given")
    if not CYCLE_ID.fullmatch(cycle_id):
        raise InvalidArgument("invalid_cycle_id", "cycle_id is at most 36 letters, digits, _.:-")
    return cycle_id


# --- dates ----------------------------------------------------------------------------------------
def round_dates(deadline: str, nominations_due: str, today: date) -> tuple[date, date]:
    """A round's (deadline, nominations_due): ISO dates in the organisation's time zone, the
    nominations due no earlier than today and before the deadline (the manager approves and
    raters answer in between)."""
    end, due = parse_day(deadline), parse_day(nominations_due)
    if end is None:
        raise InvalidArgument("invalid_deadline", "deadline must be an ISO date (YYYY-MM-DD)")
    if due is None:
        raise InvalidArgument(
            "invalid_nominations_due", "nominations_due must be an ISO date (YYYY-MM-DD)"
        )
    if due < today:
        raise InvalidArgument("nominations_due_passed", "nominations_due is in the past")
    if due >= end:
        raise InvalidArgument(
            "nominations_after_deadline", "nominations_due must be before the deadline"
        )
    if (end - today).days > MAX_CYCLE_DAYS:
        raise InvalidArgument("deadline_too_far", f"the deadline is within {MAX_CYCLE_DAYS} days")
    return end, due


# --- nominations --------------------------------------------------------------------------------
def initial_raters(
    subject_id: str, manager_id: str, direct_reports: Iterable[str]
) -> list[tuple[str, str]]:
    """The raters a new round starts with, as (employee id, relation).

    The subject rates themself, their manager rates them (a subject without a manager, the top
    of the org, has none) and their direct reports are suggested (the subject may change them
    while nominating). Nobody appears twice and the subject is never their own report.
    """
    raters = [(subject_id, RELATION_SELF)]
    taken = {subject_id}
    if manager_id and manager_id != subject_id:
        raters.append((manager_id, RELATION_MANAGER))
        taken.add(manager_id)
    for report in sorted(set(direct_reports) - taken)[:MAX_ROUND_REPORTS]:
        raters.append((report, RELATION_REPORT))
    return raters


def checked_nominations(
    subject_id: str,
    manager_id: str,
    peer_ids: Sequence[str],
    report_ids: Sequence[str],
    direct_reports: frozenset[str] | None = None,
) -> list[tuple[str, str]]:
    """The round's raters after the subject nominated peers and reports, as (id, relation).

    Self and the manager stay. A subject cannot be their own peer or report, nobody is named
    twice or in two relations (one person's answer must count in one group only, or the groups'
    sizes — and so which groups are shown — would be wrong), at most MAX_ROUND_PEERS peers and
    MAX_ROUND_REPORTS reports, and reports must be the subject's direct reports when the org
    says who those are (``direct_reports``).
    """
    peers, reports = [p.strip() for p in peer_ids], [r.strip() for r in report_ids]
    for who in (*peers, *reports):
        if not who:
            raise InvalidArgument("invalid_rater_id", "a rater id must not be empty")
        if who == subject_id:
            raise InvalidArgument(
                "self_nominated", "the subject cannot be their own peer or report"
            )
        if manager_id and who == manager_id:
            raise InvalidArgument("manager_nominated", "the manager already rates as the manager")
    for ids, what in ((peers, "peer"), (reports, "report")):
        if len(set(ids)) != len(ids):
            raise InvalidArgument(f"duplicate_{what}", f"a {what} is named twice")
    if set(peers) & set(reports):
        raise InvalidArgument("rater_in_two_relations", "a rater is either a peer or a report")
    if len(peers) > MAX_ROUND_PEERS:
        raise InvalidArgument("too_many_peers", f"at most {MAX_ROUND_PEERS} peers")
    if len(reports) > MAX_ROUND_REPORTS:
        raise InvalidArgument("too_many_reports", f"at most {MAX_ROUND_REPORTS} reports")
    if direct_reports is not None and (stray := sorted(set(reports) - direct_reports)):
        raise InvalidArgument(
            "not_a_direct_report", f"{stray[0]} is not a direct report of the subject"
        )
    raters = [(subject_id, RELATION_SELF)]
    if manager_id and manager_id != subject_id:
        raters.append((manager_id, RELATION_MANAGER))
    raters += [(p, RELATION_PEER) for p in peers] + [(r, RELATION_REPORT) for r in reports]
    return raters


def approved_raters(nominated: Mapping[str, str], rater_ids: Sequence[str]) -> dict[str, str]:
    """The raters the manager approved, id → relation: ``rater_ids`` among those nominated.

    Self and the manager always stay (the round is about the subject and the manager's view);
    the manager may leave out nominated peers and reports, but not add anyone the subject did
    not nominate (the subject's nomination is theirs to make).
    """
    if not rater_ids:
        raise InvalidArgument("raters_required", "the approved list of raters is empty")
    stray = sorted(set(rater_ids) - set(nominated))
    if stray:
        raise InvalidArgument("not_nominated", f"{stray[0]} was not nominated in this round")
    keep = set(rater_ids)
    return {
        rater: relation
        for rater, relation in nominated.items()
        if rater in keep or relation in (RELATION_SELF, RELATION_MANAGER)
    }


# --- answers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnswerSpec:
    question_id: str
    rating: int | None = None
    text: str = ""


def checked_answers(
    questions: Sequence[Question], answers: Sequence[AnswerSpec], rater_id: str, relation: str
) -> Submission:
    """One rater's answers, checked against the round's questions.

    Every rating question needs a rating in RATING_MIN..RATING_MAX: a rater who skipped some
    would make each question's groups a different size, and then what one question shows could
    give away what another hides. Text questions may be left empty. Unknown questions, two
    answers to one question and a rating for a text question (or text for a rating) are refused.
    """
    by_id = {q.id: q for q in questions}
    ratings: dict[str, int] = {}
    texts: dict[str, str] = {}
    seen: set[str] = set()
    for a in answers:
        q = by_id.get(a.question_id)
        if q is None:
            raise InvalidArgument(
                "unknown_question", f"no question {a.question_id!r} in this round"
            )
        if a.question_id in seen:
            raise InvalidArgument("duplicate_answer", f"question {a.question_id!r} answered twice")
        seen.add(a.question_id)
        if q.kind == QUESTION_RATING:
            if a.text:
                raise InvalidArgument("text_for_rating", f"question {q.id!r} takes a rating")
            if a.rating is None or not RATING_MIN <= a.rating <= RATING_MAX:
                raise InvalidArgument(
                    "invalid_rating", f"a rating is {RATING_MIN}..{RATING_MAX} ({q.id!r})"
                )
            ratings[q.id] = a.rating
        elif q.kind == QUESTION_TEXT:
            if a.rating is not None:
                raise InvalidArgument("rating_for_text", f"question {q.id!r} takes a text")
            text = checked_text(a.text, "answer", MAX_COMMENT, required=False, multiline=True)
            if text:
                texts[q.id] = text
    missing = [q.id for q in questions if q.kind == QUESTION_RATING and q.id not in ratings]
    if missing:
        raise InvalidArgument("rating_required", f"question {missing[0]!r} needs a rating")
    return Submission(rater_id, relation, ratings, texts)


# --- phases and readers -------------------------------------------------------------------------
def ensure_nominating(phase: str) -> None:
    if phase != ROUND_NOMINATING:
        raise FailedPrecondition("not_nominating", f"the round is {phase}, not nominating")


def ensure_collecting(phase: str) -> None:
    """Answers are taken only while the round collects them: never after close, so no late
    answer reaches the frozen aggregates."""
    if phase != ROUND_COLLECTING:
        raise FailedPrecondition("not_collecting", f"the round is {phase}: answers are not open")


def results_reader(viewer_id: str, subject_id: str, manager_id: str, *, hr: bool) -> str:
    """Why ``viewer_id`` may read a round's results ("subject", "manager" or "hr"), or
    PERMISSION_DENIED. Admins get no more than HR; raters see nothing of the results."""
    if viewer_id and viewer_id == subject_id:
        return "subject"
    if viewer_id and manager_id and viewer_id == manager_id:
        return "manager"
    if hr:
        return "hr"
    raise permission_denied("not_a_results_reader", "only the subject, their manager and HR")
