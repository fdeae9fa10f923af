"""What a 360 round's results may show: the anonymity rules, as pure functions.

The feedback service applies them where the data is read (GetRoundResults reads only what
:func:`release` froze at close), so neither the gateway nor any client can ask for more. The
rules and why:

- Peers and direct reports answer *anonymous* questions anonymously: their answers are released
  only as aggregates (respondents and average), and only when at least ``threshold`` of them
  answered. The threshold is the organisation's setting, never below MIN_ANONYMITY_THRESHOLD
  (:func:`effective_threshold`): with two raters each one knows the other's score from the
  average and their own, and the subject can often guess which of two people wrote what.
- A group (peers, reports) with fewer than ``threshold`` answers is hidden even when the total
  is above it. Hiding one group is not enough when the total and the other groups are shown:
  total minus the others is the hidden group. So the next-smallest group is hidden too, until
  what is hidden adds up to at least ``threshold`` raters ("strong protection",
  :func:`released_groups`).
- Self and manager are one person each and everyone knows who they are: their answers are shown
  as the subject's own and as the manager's, never mixed into the anonymous aggregates (mixing
  them in would let the total minus the manager's known rating give the others away).
- Named (non-anonymous) questions show each answer with its rater: the template tells raters so.
- Comments (text answers to anonymous questions) carry no rater, relation or time, come in an
  order drawn at close from a secret seed (:func:`shuffled_comments`), and are released only
  when at least ``threshold`` anonymous raters answered the round at all.
- The aggregates are computed once, at close (:func:`release`), and stored; later answers are
  refused and cannot change them, so nobody can learn one rater's score from the difference
  between two readings. Before close nothing is released.
- No result holds the id of a rater who answered an anonymous question: not for the subject,
  the manager, HR or an admin. There is no break-glass path; the frozen results do not even
  contain the ids.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows.vocabulary import (
    MIN_ANONYMITY_THRESHOLD,
    QUESTION_RATING,
    RELATION_ANONYMITY,
    RELATION_MANAGER,
    RELATION_PEER,
    RELATION_REPORT,
    RELATION_SELF,
)

# The groups anonymous answers are aggregated in, in the order results list them.
ANONYMOUS_GROUPS = tuple(r for r, anonymous in RELATION_ANONYMITY.items() if anonymous)
# An average is shown to two decimals.
AVERAGE_DIGITS = 2


def effective_threshold(setting: int | None) -> int:
    """The threshold in force: the organisation's setting, never below the minimum.

    A setting that is missing, zero or lower than MIN_ANONYMITY_THRESHOLD counts as the minimum:
    a misconfigured setting must never weaken anonymity.
    """
    if setting is None or setting < MIN_ANONYMITY_THRESHOLD:
        return MIN_ANONYMITY_THRESHOLD
    return setting


def released_groups(counts: Mapping[str, int], threshold: int) -> frozenset[str]:
    """The groups whose aggregates may be shown, given how many raters answered in each.

    A group is shown only with at least ``threshold`` answers. When the total is shown (it is
    whenever it reaches the threshold) the hidden groups' answers are the total minus the shown
    groups: if those hidden answers come from fewer than ``threshold`` raters, the smallest
    shown group is hidden too, and again, until the hidden ones add up to ``threshold`` or more
    (or nothing is shown but the total). Groups without answers hide nothing.

    >>> sorted(released_groups({"peer": 4, "report": 2}, 3))
    []
    >>> sorted(released_groups({"peer": 4, "report": 3}, 3))
    ['peer', 'report']
    """
    if sum(counts.values()) < threshold:
        return frozenset()
    shown = {g for g, n in counts.items() if n >= threshold}
    hidden = sum(n for g, n in counts.items() if g not in shown)
    while 0 < hidden < threshold and shown:
        # The smallest shown group (ties: by name, so the same counts always hide the same one).
        smallest = min(shown, key=lambda g: (counts[g], g))
        shown.discard(smallest)
        hidden += counts[smallest]
    return frozenset(shown)


def shuffled_comments(comments: Iterable[str], seed: int) -> tuple[str, ...]:
    """Comments in an order that says nothing about who wrote them or when.

    First sorted by their text (which forgets the order they arrived in), then shuffled with a
    seed drawn once per round at close and never shown: the order is stable for every reader
    of the round, but neither submission order nor rater can be recovered from it.
    """
    ordered = sorted(comments)
    random.Random(seed).shuffle(ordered)
    return tuple(ordered)


# --- the answers a round collected and what is released of them -----------------------------
@dataclass(frozen=True)
class Question:
    """A question as the round froze it from its template."""

    id: str
    kind: str  # QUESTION_RATING or QUESTION_TEXT
    anonymous: bool
    text_zh: str = ""
    text_en: str = ""


@dataclass(frozen=True)
class Submission:
    """One rater's answers: question id → rating (rating questions) or text (text questions)."""

    rater_id: str
    relation: str
    ratings: Mapping[str, int] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Aggregate:
    """A group's aggregate of one rating question; ``released`` False shows nothing else."""

    group: str  # "all", or a relation of ANONYMOUS_GROUPS
    released: bool
    respondents: int = 0
    average: float = 0.0


@dataclass(frozen=True)
class NamedAnswer:
    """An answer shown with who gave it: self, the manager, or a named question's rater."""

    relation: str
    rater_id: str
    rating: int | None = None
    text: str = ""


@dataclass(frozen=True)
class QuestionResult:
    question_id: str
    kind: str
    anonymous: bool
    aggregates: tuple[Aggregate, ...] = ()
    comments: tuple[str, ...] = ()
    named: tuple[NamedAnswer, ...] = ()


@dataclass(frozen=True)
class Release:
    """What a closed round shows, frozen at close."""

    threshold: int
    respondents: int  # anonymous raters who answered; shown only when it reaches the threshold
    questions: tuple[QuestionResult, ...]

    @property
    def released(self) -> bool:
        return self.respondents >= self.threshold


TOTAL_GROUP = "all"


def _average(values: Sequence[int]) -> float:
    return round(sum(values) / len(values), AVERAGE_DIGITS)


def _aggregates(ratings: Mapping[str, list[int]], threshold: int) -> tuple[Aggregate, ...]:
    """The total and per-group aggregates of one anonymous rating question."""
    counts = {g: len(ratings.get(g, [])) for g in ANONYMOUS_GROUPS}
    everyone = [r for g in ANONYMOUS_GROUPS for r in ratings.get(g, [])]
    if len(everyone) < threshold:
        hidden = (TOTAL_GROUP, *ANONYMOUS_GROUPS)
        return tuple(Aggregate(g, released=False) for g in hidden)
    shown = released_groups(counts, threshold)
    out = [Aggregate(TOTAL_GROUP, True, len(everyone), _average(everyone))]
    for g in ANONYMOUS_GROUPS:
        if g in shown:
            out.append(Aggregate(g, True, counts[g], _average(ratings[g])))
        else:
            out.append(Aggregate(g, released=False))
    return tuple(out)


_NAMED_ORDER = {RELATION_SELF: 0, RELATION_MANAGER: 1, RELATION_PEER: 2, RELATION_REPORT: 3}


def release(
    questions: Sequence[Question], submissions: Sequence[Submission], threshold: int, seed: int
) -> Release:
    """What a round shows once closed: computed once, from every submission, and frozen.

    ``threshold`` is the one in force at close (:func:`effective_threshold`); ``seed`` orders
    the comments (:func:`shuffled_comments`). Self and manager answers are named; anonymous
    questions' peer and report answers become aggregates and comments, without rater ids;
    named questions' answers are listed with their raters.
    """
    threshold = effective_threshold(threshold)
    anonymous_raters = [s for s in submissions if RELATION_ANONYMITY.get(s.relation, True)]
    respondents = len({s.rater_id for s in anonymous_raters})
    results = []
    for q in questions:
        named: list[NamedAnswer] = []
        ratings: dict[str, list[int]] = {}
        comments: list[str] = []
        for s in submissions:
            rating, text = s.ratings.get(q.id), s.texts.get(q.id, "")
            if rating is None and not text:
                continue
            if q.anonymous and RELATION_ANONYMITY.get(s.relation, True):
                if rating is not None:
                    ratings.setdefault(s.relation, []).append(rating)
                if text:
                    comments.append(text)
            else:
                named.append(NamedAnswer(s.relation, s.rater_id, rating, text))
        named.sort(key=lambda a: (_NAMED_ORDER.get(a.relation, 9), a.rater_id))
        if not q.anonymous:
            results.append(QuestionResult(q.id, q.kind, False, named=tuple(named)))
            continue
        aggregates = _aggregates(ratings, threshold) if q.kind == QUESTION_RATING else ()
        released = tuple(shuffled_comments(comments, seed)) if respondents >= threshold else ()
        results.append(QuestionResult(q.id, q.kind, True, aggregates, released, tuple(named)))
    return Release(threshold, respondents, tuple(results))


# --- freezing: a Release as JSON-ready data and back -----------------------------------------
def release_to_data(r: Release) -> dict[str, Any]:
    """The frozen form stored at close (plain JSON data)."""
    return {
        "threshold": r.threshold,
        "respondents": r.respondents,
        "questions": [
            {
                "id": q.question_id,
                "kind": q.kind,
                "anonymous": q.anonymous,
                "aggregates": [
                    {"group": a.group, "released": a.released, "n": a.respondents, "avg": a.average}
                    for a in q.aggregates
                ],
                "comments": list(q.comments),
                "named": [
                    {
                        "relation": n.relation,
                        "rater": n.rater_id,
                        "score": n.rating,
                        "said": n.text,
                    }
                    for n in q.named
                ],
            }
            for q in r.questions
        ],
    }


def release_from_data(data: Mapping[str, Any]) -> Release:
    """The Release frozen by :func:`release_to_data`."""
    return Release(
        threshold=int(data["threshold"]),
        respondents=int(data["respondents"]),
        questions=tuple(
            QuestionResult(
                question_id=q["id"],
                kind=q["kind"],
                anonymous=bool(q["anonymous"]),
                aggregates=tuple(
                    Aggregate(a["group"], bool(a["released"]), int(a["n"]), float(a["avg"]))
                    for a in q["aggregates"]
                ),
                comments=tuple(q["comments"]),
                named=tuple(
                    NamedAnswer(n["relation"], n["rater"], n["score"], n["said"])
                    for n in q["named"]
                ),
            )
            for q in data["questions"]
        ),
    )
