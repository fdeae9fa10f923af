"""360 templates, nominations, answers and readers: what is refused and why."""

from __future__ import annotations

import grpc
import pytest

from services.common.errors import DomainError
from services.feedback.domain.anonymity import Question
from services.feedback.domain.rounds import (
    AnswerSpec,
    QuestionSpec,
    approved_raters,
    checked_answers,
    checked_nominations,
    checked_template,
    ensure_collecting,
    ensure_nominating,
    initial_raters,
    results_reader,
)
from workflows.vocabulary import MAX_ROUND_PEERS, MAX_TEMPLATE_QUESTIONS


def code(call, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as err:
        call(*args, **kwargs)
    return err.value.code


def q(kind: str = "rating", zh: str = "团队合作", en: str = "Teamwork", **kw) -> QuestionSpec:
    return QuestionSpec(kind=kind, text_zh=zh, text_en=en, **kw)


def test_a_template_needs_both_languages_and_known_kinds() -> None:
    name, questions = checked_template(" 360 ", [q(), q("text", anonymous=False, id="advice")])
    assert name == "360"
    assert [(x.id, x.kind, x.anonymous) for x in questions] == [
        ("q1", "rating", True),
        ("advice", "text", False),
    ]
    assert code(checked_template, "t", [q(zh="  ")]) == "question_zh_required"
    assert code(checked_template, "t", [q(en="")]) == "question_en_required"
    assert code(checked_template, "t", [q("choice")]) == "invalid_question_kind"
    assert code(checked_template, "t", []) == "questions_required"
    assert code(checked_template, "", [q()]) == "name_required"
    assert code(checked_template, "t", [q(id="a"), q(id="a")]) == "duplicate_question_id"
    assert code(checked_template, "t", [q(id="Not A Slug")]) == "invalid_question_id"
    assert code(checked_template, "t", [q(en="x" * 501)]) == "question_en_too_long"
    many = [q() for _ in range(MAX_TEMPLATE_QUESTIONS + 1)]
    assert code(checked_template, "t", many) == "too_many_questions"
    assert code(checked_template, "t", [q(en="bad\x00")]) == "invalid_question_en"


def test_a_round_starts_with_self_manager_and_direct_reports() -> None:
    assert initial_raters("s", "m", ["r2", "r1", "s", "m"]) == [
        ("s", "self"),
        ("m", "manager"),
        ("r1", "report"),
        ("r2", "report"),
    ]
    assert initial_raters("ceo", "", []) == [("ceo", "self")]


def test_nominations() -> None:
    raters = checked_nominations("s", "m", ["p1", "p2"], ["r1"], frozenset({"r1", "r2"}))
    assert raters == [
        ("s", "self"),
        ("m", "manager"),
        ("p1", "peer"),
        ("p2", "peer"),
        ("r1", "report"),
    ]
    assert code(checked_nominations, "s", "m", ["s"], []) == "self_nominated"
    assert code(checked_nominations, "s", "m", [], ["s"]) == "self_nominated"
    assert code(checked_nominations, "s", "m", ["m"], []) == "manager_nominated"
    assert code(checked_nominations, "s", "m", ["p1", "p1"], []) == "duplicate_peer"
    assert code(checked_nominations, "s", "m", [], ["r1", "r1"]) == "duplicate_report"
    assert code(checked_nominations, "s", "m", ["r1"], ["r1"]) == "rater_in_two_relations"
    assert code(checked_nominations, "s", "m", [""], []) == "invalid_rater_id"
    too_many = [f"p{i}" for i in range(MAX_ROUND_PEERS + 1)]
    assert code(checked_nominations, "s", "m", too_many, []) == "too_many_peers"
    assert (
        code(checked_nominations, "s", "m", [], ["x"], frozenset({"r1"})) == "not_a_direct_report"
    )


def test_the_manager_approves_among_the_nominated() -> None:
    nominated = {"s": "self", "m": "manager", "p1": "peer", "p2": "peer", "r1": "report"}
    assert approved_raters(nominated, ["p1", "r1"]) == {
        "s": "self",
        "m": "manager",
        "p1": "peer",
        "r1": "report",
    }
    assert code(approved_raters, nominated, ["stranger"]) == "not_nominated"
    assert code(approved_raters, nominated, []) == "raters_required"


QUESTIONS = (Question("score", "rating", True), Question("advice", "text", True))


def test_answers() -> None:
    s = checked_answers(
        QUESTIONS, [AnswerSpec("score", 4), AnswerSpec("advice", text=" ok ")], "p", "peer"
    )
    assert (s.ratings, s.texts, s.relation) == ({"score": 4}, {"advice": "ok"}, "peer")
    assert checked_answers(QUESTIONS, [AnswerSpec("score", 1)], "p", "peer").texts == {}
    assert (
        code(checked_answers, QUESTIONS, [AnswerSpec("advice", text="x")], "p", "peer")
        == "rating_required"
    )
    for rating in (0, 6, -1):
        assert (
            code(checked_answers, QUESTIONS, [AnswerSpec("score", rating)], "p", "peer")
            == "invalid_rating"
        )
    assert (
        code(checked_answers, QUESTIONS, [AnswerSpec("nope", 3)], "p", "peer") == "unknown_question"
    )
    twice = [AnswerSpec("score", 3), AnswerSpec("score", 4)]
    assert code(checked_answers, QUESTIONS, twice, "p", "peer") == "duplicate_answer"
    wrong = [AnswerSpec("score", 3), AnswerSpec("advice", rating=3)]
    assert code(checked_answers, QUESTIONS, wrong, "p", "peer") == "rating_for_text"
    assert (
        code(checked_answers, QUESTIONS, [AnswerSpec("score", 3, "x")], "p", "peer")
        == "text_for_rating"
    )


def test_phases_and_readers() -> None:
    ensure_nominating("nominating")
    ensure_collecting("collecting")
    assert code(ensure_nominating, "approved") == "not_nominating"
    assert code(ensure_collecting, "closed") == "not_collecting"
    assert results_reader("s", "s", "m", hr=False) == "subject"
    assert results_reader("m", "s", "m", hr=False) == "manager"
    assert results_reader("h", "s", "m", hr=True) == "hr"
    with pytest.raises(DomainError) as err:
        results_reader("peer", "s", "m", hr=False)
    assert err.value.status == grpc.StatusCode.PERMISSION_DENIED
    assert code(results_reader, "", "s", "", hr=False) == "not_a_results_reader"


def test_round_dates() -> None:
    from datetime import date

    from services.feedback.domain.rounds import round_dates

    today = date(2026, 12, 3)
    assert round_dates("2026-12-20", "2026-12-10", today) == (
        date(2026, 12, 20),
        date(2026, 12, 10),
    )
    assert code(round_dates, "2026-12-20", "2026-12-02", today) == "nominations_due_passed"
    assert code(round_dates, "2026-12-10", "2026-12-10", today) == "nominations_after_deadline"
    assert code(round_dates, "20261220", "2026-12-10", today) == "invalid_deadline"
    assert code(round_dates, "2026-12-20", "2026-02-30", today) == "invalid_nominations_due"
    assert code(round_dates, "2099-12-20", "2026-12-10", today) == "deadline_too_far"


def test_cycle_ids() -> None:
    from services.feedback.domain.rounds import checked_cycle_id

    assert checked_cycle_id(" 2026-Q4 ") == "2026-Q4"
    assert code(checked_cycle_id, "") == "cycle_required"
    assert code(checked_cycle_id, "x" * 37) == "invalid_cycle_id"
    assert code(checked_cycle_id, "a/b") == "invalid_cycle_id"
