"""Talent tags and manager dimensions: pure formulas over numbers the services already keep.

Written up with a worked example in docs/talent.md; every threshold is a named constant here
so HR's questions ("why is she a candidate?") have one answer. No I/O: the talent handler
gathers the inputs (scores per cycle, stretch objectives, praise tagged as improvement,
accepted goal challenges, the latest final rating, check-in punctuality) and calls these.

Tags describe a person; a high-potential *suggestion* is only that — HR confirms or
dismisses each one, so the formulas may err on the side of suggesting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from workflows.vocabulary import RATINGS

# Goal-achievement stability: the mean of the last cycles' OKR scores at least this high...
STABLE_LEVEL = 0.7
# ...and their (population) standard deviation at most this: one bad quarter in four at 0.4
# among 0.8s gives ~0.17, which is not "stable".
STABLE_SPREAD = 0.1
# One cycle is a result, not a pattern: stability needs at least this many scored cycles.
MIN_STABLE_CYCLES = 2
# A stretch objective counts as met from this score (the customer's "0.7 is a success" for
# stretch goals: the target was set beyond what is expected).
STRETCH_MET_SCORE = 0.7
# Innovation points: a met stretch objective is a quarter's bet that paid off, so it weighs
# more than one praise for an improvement or one accepted challenge.
STRETCH_POINTS = 2
IMPROVEMENT_PRAISE_POINTS = 1
ACCEPTED_CHALLENGE_POINTS = 1
# The innovation tag from this many points (e.g. one met stretch objective and one praise).
INNOVATION_POINTS = 3
# Final ratings that back a suggestion on their own merit, and those that rule it out.
TOP_RATINGS = RATINGS[:2]
LOW_RATINGS = RATINGS[-2:]

TAG_STABLE = "stable"
TAG_INNOVATIVE = "innovative"
TAG_TOP_RATED = "top_rated"


@dataclass(frozen=True)
class Stability:
    """Level (mean) and spread (population standard deviation) of a person's scores."""

    cycles: int
    level: float
    spread: float

    @property
    def stable(self) -> bool:
        return (
            self.cycles >= MIN_STABLE_CYCLES
            and self.level >= STABLE_LEVEL
            and self.spread <= STABLE_SPREAD
        )


def stability(scores: Sequence[float]) -> Stability:
    """Stability of a person's OKR scores (0..1), oldest first, over the cycles given.

    The population standard deviation, not the sample one: we describe these cycles of this
    person, not estimate a wider population; with two or three cycles the sample formula
    would call steady people erratic. No scores: level and spread 0 (never stable)."""
    n = len(scores)
    if n == 0:
        return Stability(0, 0.0, 0.0)
    level = sum(scores) / n
    spread = math.sqrt(sum((s - level) ** 2 for s in scores) / n)
    return Stability(n, level, spread)


@dataclass(frozen=True)
class Innovation:
    stretch_objectives: int
    stretch_met: int
    improvement_praise: int
    accepted_challenges: int

    @property
    def points(self) -> int:
        return (
            self.stretch_met * STRETCH_POINTS
            + self.improvement_praise * IMPROVEMENT_PRAISE_POINTS
            + self.accepted_challenges * ACCEPTED_CHALLENGE_POINTS
        )

    @property
    def innovative(self) -> bool:
        return self.points >= INNOVATION_POINTS


def innovation(
    stretch_scores: Sequence[float], improvement_praise: int, accepted_challenges: int
) -> Innovation:
    """Innovation contribution: stretch objectives met (score ≥ STRETCH_MET_SCORE), praise
    tagged as improvement received, goal challenges whose owner accepted them (the person
    raised a challenge that improved someone's goal)."""
    met = sum(1 for s in stretch_scores if s >= STRETCH_MET_SCORE)
    return Innovation(len(stretch_scores), met, improvement_praise, accepted_challenges)


def candidate_reasons(stable: Stability, innov: Innovation, final_rating: str = "") -> list[str]:
    """Why a person is a high-potential candidate ([]: not one).

    Both tags make a candidate; one tag does when the latest final rating is a top one. A low
    latest final rating rules a person out: calibration has spoken more recently than the
    formulas can. No final rating yet (the archive is young): the tags decide alone."""
    if final_rating in LOW_RATINGS:
        return []
    tags = [t for t, on in ((TAG_STABLE, stable.stable), (TAG_INNOVATIVE, innov.innovative)) if on]
    top = final_rating in TOP_RATINGS
    if len(tags) == 2 or (tags and top):
        return tags + ([TAG_TOP_RATED] if top else [])
    return []


@dataclass(frozen=True)
class GoalChallenge:
    """A manager's team in a cycle: how much of it is stretch, how far targets reach."""

    objectives: int
    stretch_objectives: int
    # Median relative uplift of the team's key results; None when none has a baseline ≠ 0.
    ambition: float | None

    @property
    def stretch_share(self) -> float | None:
        return self.stretch_objectives / self.objectives if self.objectives else None


def uplift(baseline: float, target: float) -> float | None:
    """|target − baseline| / |baseline|: how far a target reaches beyond where it starts.

    Relative, so key results in pieces, percent and yuan compare; absolute, so "reduce scrap
    from 4 % to 2 %" (−50 %) is as ambitious as "raise output by 50 %". A baseline of 0 (done
    or not, milestones, a new metric) has no ratio: None, left out."""
    if baseline == 0:
        return None
    return abs(target - baseline) / abs(baseline)


def goal_challenge(
    stretch_flags: Sequence[bool], targets: Sequence[tuple[float, float]]
) -> GoalChallenge:
    """Goal challenge of a manager's team: the share of stretch objectives (one flag per
    objective) and the median uplift over the key results' (baseline, target). The median,
    so one moonshot key result does not make a whole team look ambitious."""
    uplifts = [u for b, t in targets if (u := uplift(b, t)) is not None]
    return GoalChallenge(
        len(stretch_flags),
        sum(1 for s in stretch_flags if s),
        median(uplifts) if uplifts else None,
    )


@dataclass(frozen=True)
class Punctuality:
    """Weekly check-ins expected (one per key result per finished week) and on time."""

    expected: int
    on_time: int

    @property
    def share(self) -> float | None:
        return self.on_time / self.expected if self.expected else None

    def __add__(self, other: Punctuality) -> Punctuality:
        return Punctuality(self.expected + other.expected, self.on_time + other.on_time)


@dataclass(frozen=True)
class Transparency:
    """Progress transparency of a manager in a cycle: their own on-time check-ins and their
    team's (direct reports), kept apart — a manager who checks in but whose team does not
    (or the reverse) is a different conversation."""

    manager: Punctuality
    team: Punctuality


def transparency(manager: Punctuality, team: Sequence[Punctuality]) -> Transparency:
    total = Punctuality(0, 0)
    for p in team:
        total = total + p
    return Transparency(manager, total)
