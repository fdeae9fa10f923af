"""Talent: high-potential suggestions (compute, list, confirm, dismiss) and the managers'
dimensions. The numbers come from goals (GetPeopleStats: scores, stretch objectives, targets,
on-time check-ins) and from the feedback tables (praise tagged as improvement, accepted goal
challenges); the formulas are services/feedback/domain/talent.py (docs/talent.md).

Who may call what is the gateway's (HR for suggestions; HR, department heads and managers
for the dimensions); the service checks its input and records HR's decisions with an audit
entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.text import checked_text
from services.common.uow import Units
from services.feedback import archive_repository
from services.feedback.clients import Goals, Org
from services.feedback.domain import talent
from services.feedback.handlers.shared import Deps, concurrent, next_page, page
from services.feedback.talent_messages import suggestion_pb
from services.feedback.talent_models import TalentSuggestion
from services.feedback.talent_repository import TalentRepository
from stride.feedback.v1 import talent_pb2 as pb
from stride.goals.v1 import goals_pb2
from workflows.vocabulary import (
    MAX_FEEDBACK_TEXT,
    SUGGESTION_CONFIRMED,
    SUGGESTION_DISMISSED,
    SUGGESTION_OPEN,
    TALENT_CYCLES,
    week_of,
)

NOT_FOUND = ("suggestion_not_found", "suggestion not found")
STATUSES = (SUGGESTION_OPEN, SUGGESTION_CONFIRMED, SUGGESTION_DISMISSED)


@dataclass(frozen=True)
class TalentDeps:
    units: Units[TalentRepository]
    org: Org
    goals: Goals

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[TalentRepository]:
        async with self.units.sessions() as session:
            yield TalentRepository(session)


async def _score_history(
    deps: TalentDeps, cycle: goals_pb2.Cycle, people: list[str]
) -> dict[str, list[float]]:
    """person → OKR scores of the last TALENT_CYCLES cycles ending no later than ``cycle``
    (oldest first), counting only cycles in which the person owned key results."""
    chosen = sorted(
        (c for c in await deps.goals.cycles() if c.end_date <= cycle.end_date),
        key=lambda c: (c.end_date, c.start_date, c.id),
    )[-TALENT_CYCLES:]
    history: dict[str, list[float]] = {p: [] for p in people}
    for c in chosen:
        for person, stats in (await deps.goals.people_stats(c.id, people)).items():
            if stats.key_result_count:
                history[person].append(stats.score)
    return history


async def _latest_final_ratings(
    session: AsyncSession, people: list[str], cycle_end: str
) -> dict[str, str]:
    """person → their latest final rating in the performance archive for a cycle ending no
    later than ``cycle_end`` (none: not in the map)."""
    end = date.fromisoformat(cycle_end)
    found: dict[str, str] = {}
    for person in people:
        rated = [
            r for day, r in await archive_repository.final_ratings(session, person) if day <= end
        ]
        if rated:
            found[person] = rated[0]
    return found


async def compute(
    deps: TalentDeps, request: pb.ComputeSuggestionsRequest
) -> pb.ComputeSuggestionsResponse:
    cycle = await deps.goals.cycle(request.cycle_id.strip())
    staff = await deps.org.active_employees(request.department_id.strip())
    people = [e.id for e in staff]
    department_of = {e.id: e.department_id for e in staff}
    history = await _score_history(deps, cycle, people)
    now_stats = await deps.goals.people_stats(cycle.id, people)
    first = week_of(date.fromisoformat(cycle.start_date))
    last = week_of(date.fromisoformat(cycle.end_date))
    now = utcnow()
    try:
        async with deps.units() as uow:
            praise = await uow.repo.improvement_praise(people, first, last)
            accepted = await uow.repo.accepted_challenges(people, first, last)
            existing = await uow.repo.suggestions_of(cycle.id, people)
            ratings = await _latest_final_ratings(uow.session, people, cycle.end_date)
            for person in people:
                row = existing.get(person)
                if row is not None and row.status != SUGGESTION_OPEN:
                    continue  # HR decided: a later computation never overwrites it
                stats = now_stats.get(person)
                stretch = [o.score for o in stats.objectives if o.stretch] if stats else []
                steady = talent.stability(history.get(person, []))
                bold = talent.innovation(stretch, praise.get(person, 0), accepted.get(person, 0))
                rating = ratings.get(person, "")
                reasons = talent.candidate_reasons(steady, bold, rating)
                if not reasons:
                    if row is not None:  # no longer suggested by the latest numbers
                        await uow.session.delete(row)
                    continue
                if row is None:
                    row = TalentSuggestion(
                        id=new_id(),
                        cycle_id=cycle.id,
                        employee_id=person,
                        status=SUGGESTION_OPEN,
                        created_at=now,
                        decided_by="",
                        decision_reason="",
                    )
                    uow.repo.add(row)
                row.department_id = department_of[person]
                row.reasons = reasons
                row.cycles, row.level, row.spread = steady.cycles, steady.level, steady.spread
                row.stretch_objectives, row.stretch_met = bold.stretch_objectives, bold.stretch_met
                row.improvement_praise = bold.improvement_praise
                row.accepted_challenges = bold.accepted_challenges
                row.innovation_points = bold.points
                row.final_rating = rating
                row.updated_at = now
            await uow.audit("talent.compute", "cycle", cycle.id)
            await uow.repo.flush()
            rows = await uow.repo.suggestions(
                cycle.id,
                department_id=request.department_id.strip(),
                status="",
                limit=len(people) or 1,
                offset=0,
            )
            suggestions = [suggestion_pb(r) for r in rows]
    except IntegrityError as exc:  # the same cycle computed twice at once
        raise concurrent("suggestion") from exc
    return pb.ComputeSuggestionsResponse(people=len(people), suggestions=suggestions)


async def list_(deps: TalentDeps, request: pb.ListSuggestionsRequest) -> pb.ListSuggestionsResponse:
    if not request.cycle_id.strip():
        raise InvalidArgument("cycle_required", "cycle_id must be given")
    if request.status and request.status not in STATUSES:
        raise InvalidArgument("invalid_status", f"status is one of {', '.join(STATUSES)}")
    limit, offset = page(request.page)
    async with deps.reading() as repo:
        rows = await repo.suggestions(
            request.cycle_id.strip(),
            department_id=request.department_id.strip(),
            status=request.status,
            limit=limit,
            offset=offset,
        )
        items = [suggestion_pb(r) for r in rows]
    return pb.ListSuggestionsResponse(suggestions=items, page=next_page(offset, limit, len(items)))


async def get(deps: TalentDeps, request: pb.GetSuggestionRequest) -> pb.Suggestion:
    async with deps.reading() as repo:
        row = await repo.suggestion(request.id)
        if row is None:
            raise NotFound(*NOT_FOUND)
        return suggestion_pb(row)


async def decide(
    deps: TalentDeps, request: pb.DecideSuggestionRequest, status: str
) -> pb.Suggestion:
    """HR confirms or dismisses a suggestion, with a reason; the same decision again returns
    it unchanged, the other one is refused (a decision is changed by nobody)."""
    reason = checked_text(request.reason, "reason", MAX_FEEDBACK_TEXT, multiline=True)
    if not request.actor_id:
        raise InvalidArgument("actor_required", "actor_id must be given")
    async with deps.units() as uow:
        row = await uow.repo.suggestion(request.id, lock=True)
        if row is None:
            raise NotFound(*NOT_FOUND)
        if row.status == status:
            return suggestion_pb(row)
        if row.status != SUGGESTION_OPEN:
            raise FailedPrecondition(
                "suggestion_decided", f"this suggestion was {row.status} already"
            )
        before = suggestion_pb(row)
        row.status, row.decided_by, row.decided_at = status, request.actor_id, utcnow()
        row.decision_reason, row.updated_at = reason, row.decided_at
        after = suggestion_pb(row)
        verb = "confirm" if status == SUGGESTION_CONFIRMED else "dismiss"
        await uow.audit(f"talent.suggestion.{verb}", "talent_suggestion", row.id, before, after)
    return after


async def manager_dimensions(
    deps: TalentDeps, request: pb.GetManagerDimensionsRequest
) -> pb.ManagerDimensions:
    cycle = await deps.goals.cycle(request.cycle_id.strip())
    manager = await deps.org.person(request.manager_id.strip(), "manager")
    team = await deps.org.reports(manager.id, transitive=False)
    stats = await deps.goals.people_stats(cycle.id, [manager.id, *team])
    challenge = talent.goal_challenge(
        [o.stretch for s in stats.values() for o in s.objectives],
        [(k.baseline, k.target) for s in stats.values() for k in s.key_results],
    )

    def punctual(person: str) -> talent.Punctuality:
        s = stats.get(person)
        return (
            talent.Punctuality(s.expected_check_ins, s.on_time_check_ins)
            if s
            else talent.Punctuality(0, 0)
        )

    seen = talent.transparency(punctual(manager.id), [punctual(p) for p in team])
    out = pb.ManagerDimensions(
        cycle_id=cycle.id,
        manager_id=manager.id,
        team_size=len(team),
        objectives=challenge.objectives,
        stretch_objectives=challenge.stretch_objectives,
        manager_expected=seen.manager.expected,
        manager_on_time=seen.manager.on_time,
        team_expected=seen.team.expected,
        team_on_time=seen.team.on_time,
    )
    if challenge.stretch_share is not None:
        out.stretch_share = challenge.stretch_share
    if challenge.ambition is not None:
        out.ambition = challenge.ambition
    if seen.manager.share is not None:
        out.manager_on_time_share = seen.manager.share
    if seen.team.share is not None:
        out.team_on_time_share = seen.team.share
    return out


def talent_deps(deps: Deps) -> TalentDeps:
    """The talent handlers' dependencies on the feedback handlers' (the same sessions, event
    registry and clients)."""
    base = deps.units
    return TalentDeps(
        Units(base.sessions, TalentRepository, base.events, base.committed), deps.org, deps.goals
    )
