"""The anonymity rules of 360 results: thresholds, strong protection, freezing, comments."""

from __future__ import annotations

import itertools

import pytest

from services.feedback.domain.anonymity import (
    TOTAL_GROUP,
    Aggregate,
    Question,
    Release,
    Submission,
    effective_threshold,
    release,
    release_from_data,
    release_to_data,
    released_groups,
    shuffled_comments,
)
from workflows.vocabulary import MIN_ANONYMITY_THRESHOLD

RATING = Question("teamwork", "rating", anonymous=True)
COMMENT = Question("advice", "text", anonymous=True)
NAMED = Question("named", "rating", anonymous=False)


def sub(rater: str, relation: str, rating: int | None = None, text: str = "") -> Submission:
    ratings = {"teamwork": rating} if rating is not None else {}
    return Submission(rater, relation, ratings, {"advice": text} if text else {})


def aggregates(r: Release, question: str = "teamwork") -> dict[str, Aggregate]:
    q = next(q for q in r.questions if q.question_id == question)
    return {a.group: a for a in q.aggregates}


def everything_shown(r: Release) -> str:
    """Every string a reader could be shown, to look for rater ids in."""
    return repr(release_to_data(r))


def test_the_threshold_is_never_below_three() -> None:
    assert MIN_ANONYMITY_THRESHOLD == 3
    assert effective_threshold(None) == 3
    assert effective_threshold(0) == 3
    assert effective_threshold(2) == 3
    assert effective_threshold(-5) == 3
    assert effective_threshold(5) == 5
    # A release computed with a lowered threshold still uses 3.
    r = release([RATING], [sub("p1", "peer", 5), sub("p2", "peer", 1)], threshold=1, seed=0)
    assert r.threshold == 3 and not aggregates(r)[TOTAL_GROUP].released


def test_two_anonymous_answers_show_no_aggregate() -> None:
    r = release([RATING], [sub("p1", "peer", 5), sub("p2", "peer", 1)], 3, seed=1)
    assert not r.released
    assert all(not a.released and a.respondents == 0 for a in aggregates(r).values())
    assert "p1" not in everything_shown(r) and "p2" not in everything_shown(r)


def test_the_third_answer_releases_the_aggregate_without_raters() -> None:
    subs = [sub("p1", "peer", 5), sub("p2", "peer", 1), sub("p3", "peer", 3)]
    r = release([RATING], subs, 3, seed=1)
    found = aggregates(r)
    assert found[TOTAL_GROUP] == Aggregate(TOTAL_GROUP, True, 3, 3.0)
    assert found["peer"] == Aggregate("peer", True, 3, 3.0)
    assert not found["report"].released
    assert not any(p in everything_shown(r) for p in ("p1", "p2", "p3"))


def test_two_reports_stay_hidden_next_to_four_peers_and_the_total_does_not_give_them_away() -> None:
    """The issue's example: 2 reports + 4 peers answered (6 in all, above the threshold)."""
    subs = [sub(f"p{i}", "peer", 4) for i in range(4)] + [
        sub("r1", "report", 1),
        sub("r2", "report", 2),
    ]
    r = release([RATING], subs, 3, seed=7)
    found = aggregates(r)
    assert found[TOTAL_GROUP].released and found[TOTAL_GROUP].respondents == 6
    assert found[TOTAL_GROUP].average == pytest.approx((16 + 3) / 6, abs=0.01)
    # Reports below the threshold are hidden; peers would let total − peers = reports, so the
    # next-smallest group (peers) is hidden too.
    assert not found["report"].released
    assert not found["peer"].released
    assert found["peer"].respondents == 0 and found["peer"].average == 0
    shown = everything_shown(r)
    assert not any(who in shown for who in ("r1", "r2", "p0", "p3"))


def test_groups_at_the_threshold_are_shown() -> None:
    subs = [sub(f"p{i}", "peer", 4) for i in range(4)] + [
        sub(f"r{i}", "report", 2) for i in range(3)
    ]
    found = aggregates(release([RATING], subs, 3, seed=0))
    assert found["peer"] == Aggregate("peer", True, 4, 4.0)
    assert found["report"] == Aggregate("report", True, 3, 2.0)
    assert found[TOTAL_GROUP].respondents == 7


def test_a_group_nobody_answered_in_hides_nothing() -> None:
    found = aggregates(release([RATING], [sub(f"p{i}", "peer", 2) for i in range(3)], 3, seed=0))
    assert found["peer"].released and found[TOTAL_GROUP].released
    assert not found["report"].released


def test_an_organisation_threshold_above_three() -> None:
    subs = [sub(f"p{i}", "peer", 4) for i in range(4)]
    assert not aggregates(release([RATING], subs, 5, seed=0))[TOTAL_GROUP].released
    subs.append(sub("p9", "peer", 4))
    assert aggregates(release([RATING], subs, 5, seed=0))["peer"].released


@pytest.mark.parametrize("threshold", [3, 4, 5])
def test_what_is_shown_never_lets_a_small_group_be_computed(threshold: int) -> None:
    """For every split of answers: each group shown has at least ``threshold`` raters, and the
    answers one can compute as total minus shown groups come from 0 or ``threshold``+ raters."""
    for peers, reports in itertools.product(range(12), repeat=2):
        counts = {"peer": peers, "report": reports}
        shown = released_groups(counts, threshold)
        assert all(counts[g] >= threshold for g in shown)
        if peers + reports >= threshold:  # the total is shown
            residue = sum(n for g, n in counts.items() if g not in shown)
            assert residue == 0 or residue >= threshold, (counts, shown)
        else:
            assert not shown


def test_strong_protection_with_more_groups_hides_the_next_smallest_until_safe() -> None:
    counts = {"a": 1, "b": 3, "c": 4, "d": 9}
    # a alone would be total − (b + c + d): hiding b (the next smallest) makes the residue 4.
    assert released_groups(counts, 3) == frozenset({"c", "d"})
    assert released_groups({"a": 1, "b": 1, "c": 5}, 3) == frozenset()
    assert released_groups({"a": 2, "b": 2, "c": 5}, 3) == frozenset({"c"})


def test_self_and_manager_are_named_and_outside_the_aggregates() -> None:
    subs = [
        sub("sub", "self", 5),
        sub("boss", "manager", 2),
        *[sub(f"p{i}", "peer", 3) for i in range(3)],
    ]
    r = release([RATING], subs, 3, seed=0)
    q = r.questions[0]
    assert [(n.relation, n.rater_id, n.rating) for n in q.named] == [
        ("self", "sub", 5),
        ("manager", "boss", 2),
    ]
    found = aggregates(r)
    # The total is the peers' alone: mixing in the manager's known rating would let total
    # minus manager reveal the rest, and the self rating is the subject's own.
    assert found[TOTAL_GROUP] == Aggregate(TOTAL_GROUP, True, 3, 3.0)
    assert r.respondents == 3


def test_self_and_manager_answers_do_not_count_toward_the_threshold() -> None:
    subs = [
        sub("sub", "self", 5),
        sub("boss", "manager", 2),
        sub("p1", "peer", 3),
        sub("p2", "peer", 4),
    ]
    r = release([RATING], subs, 3, seed=0)
    assert not r.released and not aggregates(r)[TOTAL_GROUP].released
    assert "p1" not in everything_shown(r)


def test_named_questions_show_each_answer_with_its_rater() -> None:
    subs = [Submission("p1", "peer", {"named": 4}), Submission("r1", "report", {"named": 2})]
    q = release([NAMED], subs, 3, seed=0).questions[0]
    assert not q.aggregates and not q.comments
    assert [(n.rater_id, n.rating) for n in q.named] == [("p1", 4), ("r1", 2)]


def test_comments_need_the_threshold_and_carry_no_rater() -> None:
    two = [sub("p1", "peer", text="more training"), sub("r1", "report", text="clearer goals")]
    r = release([COMMENT], two, 3, seed=3)
    assert r.questions[0].comments == ()
    three = [*two, sub("p2", "peer", text="good mentor")]
    r = release([COMMENT], three, 3, seed=3)
    assert sorted(r.questions[0].comments) == ["clearer goals", "good mentor", "more training"]
    assert not r.questions[0].named
    shown = everything_shown(r)
    assert not any(who in shown for who in ("p1", "p2", "r1", "peer", "report"))


def test_comments_count_raters_of_the_round_not_writers() -> None:
    """One comment among three anonymous raters is one of three: it is released."""
    subs = [
        Submission("p1", "peer", {"teamwork": 3}, {"advice": "listen more"}),
        Submission("p2", "peer", {"teamwork": 4}),
        Submission("r1", "report", {"teamwork": 5}),
    ]
    r = release([RATING, COMMENT], subs, 3, seed=0)
    assert r.questions[1].comments == ("listen more",)


def test_comment_order_is_stable_but_not_the_submission_order() -> None:
    texts = [f"comment {i:02d}" for i in range(30)]
    first = shuffled_comments(texts, seed=42)
    assert first == shuffled_comments(list(reversed(texts)), seed=42)  # arrival order is lost
    assert first == shuffled_comments(texts, seed=42)  # stable for every reader
    assert sorted(first) == sorted(texts)
    assert first != tuple(texts)
    assert shuffled_comments(texts, seed=43) != first  # another round, another order


def test_frozen_results_round_trip_and_ignore_later_answers() -> None:
    subs = [sub(f"p{i}", "peer", 4, text=f"t{i}") for i in range(3)]
    frozen = release([RATING, COMMENT], subs, 3, seed=5)
    data = release_to_data(frozen)
    assert release_from_data(data) == frozen
    # A late answer would change a live average (4 → 3.25) and so reveal the late rater's 1:
    # what was frozen at close is what is read, whatever arrives later.
    later = release([RATING, COMMENT], [*subs, sub("p9", "peer", 1)], 3, seed=5)
    assert aggregates(later)["peer"].average == 3.25
    assert aggregates(release_from_data(data))["peer"].average == 4.0
