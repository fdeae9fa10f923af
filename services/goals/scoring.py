"""Scoring rules (pure: no I/O). Scores are 0.0..1.0.

Key result, by kind and direction:
- increase / decrease (number, percentage, currency): progress from baseline to target of the
  latest value, clamped to [0, 1] (overshooting the target scores 1, falling back scores 0);
- boolean: 1 when done (value 1), else 0;
- milestone: steps completed / number of milestones;
- stay within [lower, upper]: the share of checked-in weeks whose value lay within the bounds.
A key result without check-ins scores 0.

Objective: the key results' weighted mean, sum(weight x score) / 100 when the weights total 100
(every submitted plan); a draft whose weights do not total 100 yet is weighted by what it has
(and by equal weights when every weight is 0).

Person and department: weighted by key-result weight over the key results they own, so a
cross-department objective rolls up into every department that owns one of its key results.

Alignment: the share of non-company objectives that are linked to a parent objective.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from services.goals.risk import Band, within
from workflows.vocabulary import Direction, Kind, Level


def clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


@dataclass(frozen=True)
class KeyResultShape:
    kind: str
    direction: str
    baseline: float
    target: float
    lower_bound: float = 0.0
    upper_bound: float = 0.0
    milestone_count: int = 0


def key_result_score(shape: KeyResultShape, values: Sequence[float]) -> float:
    """Score of a key result from its check-in values, oldest week first (latest counts)."""
    if not values:
        return 0.0
    latest = values[-1]
    if shape.kind == Kind.BOOLEAN:
        return 1.0 if latest >= 1 else 0.0
    if shape.kind == Kind.MILESTONE:
        return clamp(latest / shape.milestone_count) if shape.milestone_count else 0.0
    if shape.direction == Direction.STAY_WITHIN:
        band = Band(shape.lower_bound, shape.upper_bound)
        return sum(1 for v in values if within(band, v)) / len(values)
    span = shape.target - shape.baseline
    if span == 0:
        return 0.0
    return clamp((latest - shape.baseline) / span)


def weighted_mean(pairs: Iterable[tuple[int, float]]) -> float:
    """Mean of scores weighted by weight; equal weights when every weight is 0; 0 when empty."""
    items = list(pairs)
    if not items:
        return 0.0
    total = sum(w for w, _ in items)
    if total <= 0:
        return sum(s for _, s in items) / len(items)
    return sum(w * s for w, s in items) / total


def objective_score(key_results: Iterable[tuple[int, float]]) -> float:
    """(weight, score) of an objective's key results -> the objective's score."""
    return weighted_mean(key_results)


@dataclass(frozen=True)
class ObjectiveFacts:
    id: str
    title: str
    owner_id: str
    department_id: str
    level: str
    parent_id: str


@dataclass(frozen=True)
class KeyResultFacts:
    id: str
    objective_id: str
    owner_id: str
    department_id: str
    weight: int
    score: float
    self_score: float | None = None


@dataclass(frozen=True)
class ObjectiveResult:
    objective: ObjectiveFacts
    score: float
    aligned: bool


@dataclass(frozen=True)
class PersonResult:
    employee_id: str
    score: float
    key_result_count: int
    self_score: float | None


@dataclass(frozen=True)
class DepartmentResult:
    department_id: str
    score: float
    key_result_count: int
    objective_count: int
    alignment: float


@dataclass(frozen=True)
class ScoreBoard:
    objectives: list[ObjectiveResult] = field(default_factory=list)
    people: list[PersonResult] = field(default_factory=list)
    departments: list[DepartmentResult] = field(default_factory=list)
    alignment: float = 0.0
    aligned_count: int = 0
    # Every objective, company level included (alignment counts the non-company ones only).
    objective_count: int = 0


def department_result(
    department_id: str,
    key_results: int,
    weighted_sum: float,
    weight_sum: int,
    score_sum: float,
    objectives: int,
    alignable: int,
    aligned: int,
) -> DepartmentResult:
    """A department's result from sums over what it owns (the database's grouped sums): as
    :func:`score_board`'s, :func:`weighted_mean` over its key results (sum of weight x score
    over the weights; equal weights when they total 0) and the share of its non-company
    objectives that are aligned. The sums may add in another order than the board's, so a
    score can differ from it in the last binary digit."""
    if not key_results:
        score = 0.0
    elif weight_sum <= 0:
        score = score_sum / key_results
    else:
        score = weighted_sum / weight_sum
    return DepartmentResult(
        department_id, score, key_results, objectives, aligned / alignable if alignable else 0.0
    )


def is_aligned(objective: ObjectiveFacts) -> bool:
    return bool(objective.parent_id)


def alignment(objectives: Iterable[ObjectiveFacts]) -> tuple[float, int, int]:
    """(share aligned, aligned, counted) over the non-company objectives."""
    counted = [o for o in objectives if o.level != Level.COMPANY]
    aligned = sum(1 for o in counted if is_aligned(o))
    return (aligned / len(counted) if counted else 0.0), aligned, len(counted)


def score_board(
    objectives: Sequence[ObjectiveFacts], key_results: Sequence[KeyResultFacts]
) -> ScoreBoard:
    """Scores of objectives, people and departments, and alignment, for one cycle."""
    by_objective: dict[str, list[KeyResultFacts]] = {}
    by_person: dict[str, list[KeyResultFacts]] = {}
    by_department: dict[str, list[KeyResultFacts]] = {}
    for kr in key_results:
        by_objective.setdefault(kr.objective_id, []).append(kr)
        by_person.setdefault(kr.owner_id, []).append(kr)
        by_department.setdefault(kr.department_id, []).append(kr)
    objective_results = [
        ObjectiveResult(
            o,
            objective_score((k.weight, k.score) for k in by_objective.get(o.id, [])),
            is_aligned(o),
        )
        for o in objectives
    ]
    people = []
    for person in sorted(by_person):
        krs = by_person[person]
        selves = [k.self_score for k in krs if k.self_score is not None]
        people.append(
            PersonResult(
                person,
                weighted_mean((k.weight, k.score) for k in krs),
                len(krs),
                sum(selves) / len(selves) if selves else None,
            )
        )
    objectives_by_department: dict[str, list[ObjectiveFacts]] = {}
    for o in objectives:
        objectives_by_department.setdefault(o.department_id, []).append(o)
    departments = []
    for dept in sorted(set(by_department) | set(objectives_by_department)):
        krs = by_department.get(dept, [])
        own = objectives_by_department.get(dept, [])
        departments.append(
            DepartmentResult(
                dept,
                weighted_mean((k.weight, k.score) for k in krs),
                len(krs),
                len(own),
                alignment(own)[0],
            )
        )
    share, aligned, _counted = alignment(objectives)
    return ScoreBoard(objective_results, people, departments, share, aligned, len(objectives))


def filtered(
    board: ScoreBoard,
    key_results: Sequence[KeyResultFacts],
    department_id: str | Collection[str] = "",
    owner_id: str = "",
) -> ScoreBoard:
    """The board narrowed to departments (one id, or several: a department and those below
    it) and/or an owner. Scores stay those of the whole cycle (an objective's score always
    counts all its key results); objectives are those of the departments / owner, people and
    departments those owning key results in them / owned by them, and alignment is recomputed
    over the objectives kept."""
    wanted = {department_id} if isinstance(department_id, str) else set(department_id)
    wanted.discard("")
    if not wanted and not owner_id:
        return board
    objectives = [
        o
        for o in board.objectives
        if (not wanted or o.objective.department_id in wanted)
        and (not owner_id or o.objective.owner_id == owner_id)
    ]
    kept = [
        k
        for k in key_results
        if (not wanted or k.department_id in wanted) and (not owner_id or k.owner_id == owner_id)
    ]
    people_ids = {k.owner_id for k in kept} | {o.objective.owner_id for o in objectives}
    department_ids = {k.department_id for k in kept} | {
        o.objective.department_id for o in objectives
    }
    share, aligned, _counted = alignment(o.objective for o in objectives)
    return ScoreBoard(
        objectives,
        [p for p in board.people if p.employee_id in people_ids],
        [d for d in board.departments if d.department_id in department_ids],
        share,
        aligned,
        len(objectives),
    )
