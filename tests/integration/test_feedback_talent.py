"""Talent suggestions and managers' dimensions through the feedback service's real gRPC API,
computed from goals and feedback data seeded through the real goals, identity and feedback
services (PostgreSQL or SQLite)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.models import new_id
from services.feedback.archive_models import ArchiveRecord
from services.feedback.domain.talent import TAG_INNOVATIVE, TAG_STABLE, TAG_TOP_RATED
from services.goals.calendar import local_today
from services.goals.domain.punctuality import finished_weeks
from stride.audit.v1 import audit_pb2
from stride.feedback.v1 import feedback_pb2 as fpb
from stride.feedback.v1 import feedback_pb2_grpc, talent_pb2_grpc
from stride.feedback.v1 import talent_pb2 as pb
from stride.goals.v1 import goals_pb2 as gpb
from stride.goals.v1 import goals_pb2_grpc
from tests.integration.feedback_helpers import Plant, code_of, make_plant
from tests.integration.services_fixtures import FeedbackStack, feedback_stack

PAST = (("2026-01-01", "2026-03-31"), ("2026-04-01", "2026-06-30"), ("2026-07-01", "2026-09-30"))
# Each past cycle: one key result 0 -> 100 per person, the value checked in (score value / 100).
PAST_VALUES = {"bob": (80, 80, 80), "carol": (90, 30, 90), "dave": (80, 80, 80)}


async def _objective(
    goals: Any,
    cycle_id: str,
    owner: str,
    value: float | None,
    *,
    stretch: bool = False,
    baseline: float = 0,
    target: float = 100,
    week: str = "",
) -> None:
    objective = await goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle_id,
            title="Better every week",
            owner_id=owner,
            stretch=stretch,
            key_results=[
                gpb.NewKeyResult(title="Progress", baseline=baseline, target=target, weight=100)
            ],
        )
    )
    if value is None:
        return
    krs = await goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
    await goals.RecordCheckIn(
        gpb.RecordCheckInRequest(key_result_id=krs.key_results[0].id, value=value, week=week)
    )


async def _audits(stack: FeedbackStack) -> list[audit_pb2.AuditRecorded]:
    engine = stack.runtimes["feedback"].engine
    assert engine is not None
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT payload FROM outbox WHERE subject = :s ORDER BY id"),
            {"s": "stride.audit.v1.feedback.recorded"},
        )
        return [audit_pb2.AuditRecorded.FromString(bytes(r[0])) for r in rows]


async def _seed(stack: FeedbackStack) -> tuple[Plant, str]:
    p = await make_plant(stack.identity, stack.goals)
    goals = goals_pb2_grpc.GoalsServiceStub(stack.goals)
    fb = feedback_pb2_grpc.FeedbackServiceStub(stack.feedback)
    weeks = ("2026-W10", "2026-W20", "2026-W36")
    for n, (start, end) in enumerate(PAST):
        cycle = await goals.CreateCycle(
            gpb.CreateCycleRequest(name=f"2026 Q{n + 1}", start_date=start, end_date=end)
        )
        for name, values in PAST_VALUES.items():
            await _objective(goals, cycle.id, getattr(p, name), values[n], week=weeks[n])
    current = next(
        c
        for c in (await goals.ListCycles(gpb.ListCyclesRequest())).cycles
        if c.start_date == "2026-10-01"
    )
    # bob meets a stretch objective (0.9); dave's target reaches 20 % beyond its baseline
    # (58 of 50 -> 60: 0.8, steady with his past).
    await _objective(goals, current.id, p.bob, 90, stretch=True, week="2026-W41")
    await _objective(goals, current.id, p.dave, 58, baseline=50, target=60, week="2026-W41")
    badge = await fb.PutBadge(
        fpb.PutBadgeRequest(code="kaizen", name_zh="改善之星", name_en="Kaizen star", active=True)
    )
    for about in (p.bob, p.carol):
        await fb.GiveFeedback(
            fpb.GiveFeedbackRequest(
                author_id=p.eve,
                subject_id=about,
                visibility="praise",
                badge_id=badge.id,
                text="Changed the die-change routine",
                tags=["improvement"],
            )
        )
    # carol's challenge of alice's objective is accepted.
    challenge = await fb.RaiseChallenge(
        fpb.RaiseChallengeRequest(objective_id=p.objective, challenger_id=p.carol, text="Too easy?")
    )
    answered = await fb.AnswerChallenge(
        fpb.AnswerChallengeRequest(
            id=challenge.id, actor_id=p.alice, text="Agreed, raising it", accepted=True
        )
    )
    assert answered.accepted and answered.status == "answered"
    return p, current.id


async def test_suggestions_from_seeded_goals_and_feedback(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    async with feedback_stack(database_url, data_dir, nats_url) as stack:
        p, cycle_id = await _seed(stack)
        talent = talent_pb2_grpc.TalentServiceStub(stack.feedback)

        computed = await talent.ComputeSuggestions(
            pb.ComputeSuggestionsRequest(cycle_id=cycle_id, actor_id=p.hr)
        )
        assert computed.people >= 8
        # Only bob: stable (0.8, 0.8, 0.8, 0.9) and innovative (a met stretch objective: 2,
        # one improvement praise: 1). carol is erratic with 2 points; dave stable, 0 points.
        assert [s.employee_id for s in computed.suggestions] == [p.bob]
        bob = computed.suggestions[0]
        assert list(bob.reasons) == [TAG_STABLE, TAG_INNOVATIVE]
        assert bob.cycles == 4 and bob.level == pytest.approx(0.825)
        assert bob.spread == pytest.approx(0.0433013, abs=1e-6)
        assert (bob.stretch_objectives, bob.stretch_met, bob.improvement_praise) == (1, 1, 1)
        assert (bob.innovation_points, bob.status, bob.department_id) == (3, "open", p.line)

        listed = await talent.ListSuggestions(
            pb.ListSuggestionsRequest(cycle_id=cycle_id, department_id=p.line)
        )
        assert [s.id for s in listed.suggestions] == [bob.id]
        none = await talent.ListSuggestions(
            pb.ListSuggestionsRequest(cycle_id=cycle_id, department_id=p.quality)
        )
        assert list(none.suggestions) == []

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await talent.ConfirmSuggestion(pb.DecideSuggestionRequest(id=bob.id, actor_id=p.hr))
        assert code_of(err.value) == "reason_required"
        confirmed = await talent.ConfirmSuggestion(
            pb.DecideSuggestionRequest(id=bob.id, actor_id=p.hr, reason="Ready for line lead")
        )
        assert (confirmed.status, confirmed.decided_by) == ("confirmed", p.hr)
        assert confirmed.decision_reason == "Ready for line lead" and confirmed.decided_at
        again = await talent.ConfirmSuggestion(
            pb.DecideSuggestionRequest(id=bob.id, actor_id=p.hr, reason="twice")
        )
        assert again.decision_reason == "Ready for line lead"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await talent.DismissSuggestion(
                pb.DecideSuggestionRequest(id=bob.id, actor_id=p.hr, reason="changed my mind")
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert code_of(err.value) == "suggestion_decided"
        # A later computation keeps HR's decision.
        recomputed = await talent.ComputeSuggestions(
            pb.ComputeSuggestionsRequest(cycle_id=cycle_id, department_id=p.line, actor_id=p.hr)
        )
        assert [(s.id, s.status) for s in recomputed.suggestions] == [(bob.id, "confirmed")]
        decisions = [
            a.entry for a in await _audits(stack) if a.entry.action.startswith("feedback.talent.")
        ]
        assert [a.action for a in decisions] == [
            "feedback.talent.compute",
            "feedback.talent.suggestion.confirm",
            "feedback.talent.compute",
        ]
        assert decisions[1].resource_id == bob.id
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await talent.ComputeSuggestions(pb.ComputeSuggestionsRequest(cycle_id="nope"))
        assert code_of(err.value) == "unknown_cycle"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await talent.GetSuggestion(pb.GetSuggestionRequest(id="nope"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND

        # The archive's latest final rating: dave (stable, no innovation) rated A in Q3 is a
        # candidate; a rating of a later cycle than the one computed does not count.
        engine = stack.runtimes["feedback"].engine
        assert engine is not None
        async with AsyncSession(engine) as session:
            for end, rating in ((date(2026, 9, 30), "A"), (date(2027, 3, 31), "D")):
                session.add(
                    ArchiveRecord(
                        id=new_id(),
                        employee_id=p.dave,
                        cycle_id=new_id(),
                        cycle_start=date(end.year, end.month - 2, 1),
                        cycle_end=end,
                        final_rating=rating,
                    )
                )
            await session.commit()
        rated = await talent.ComputeSuggestions(
            pb.ComputeSuggestionsRequest(cycle_id=cycle_id, department_id=p.line, actor_id=p.hr)
        )
        dave = next(s for s in rated.suggestions if s.employee_id == p.dave)
        assert list(dave.reasons) == [TAG_STABLE, TAG_TOP_RATED] and dave.final_rating == "A"
        assert dave.innovation_points == 0
        # Recalibrated to C: the open suggestion goes; bob's confirmed one stays.
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE archive_records SET final_rating = 'C' "
                    "WHERE employee_id = :e AND final_rating = 'A'"
                ),
                {"e": p.dave},
            )
        recalibrated = await talent.ComputeSuggestions(
            pb.ComputeSuggestionsRequest(cycle_id=cycle_id, department_id=p.line, actor_id=p.hr)
        )
        assert [(s.employee_id, s.status) for s in recalibrated.suggestions] == [
            (p.bob, "confirmed")
        ]

        dims = await talent.GetManagerDimensions(
            pb.GetManagerDimensionsRequest(cycle_id=cycle_id, manager_id=p.lead)
        )
        # alice's objective, bob's stretch one, dave's: 1 of 3 stretch; uplifts: only dave's
        # key result has a baseline (50 -> 60: 0.2).
        assert (dims.team_size, dims.objectives, dims.stretch_objectives) == (4, 3, 1)
        assert dims.stretch_share == pytest.approx(1 / 3)
        assert dims.ambition == pytest.approx(0.2)
        # The lead owns no key result; alice, bob and dave one each, checked in late or not.
        # Finished as of today in the cycle's time zone, as goals counts them (a Sunday evening
        # in UTC is already Monday in Shanghai).
        cycle = await goals_pb2_grpc.GoalsServiceStub(stack.goals).GetCycle(
            gpb.GetCycleRequest(id=cycle_id)
        )
        today = local_today(datetime.now(UTC), cycle.time_zone)
        weeks = len(finished_weeks(date(2026, 10, 1), date(2026, 12, 31), today))
        assert (dims.manager_expected, dims.HasField("manager_on_time_share")) == (0, False)
        assert (dims.team_expected, dims.team_on_time) == (3 * weeks, 0)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await talent.GetManagerDimensions(
                pb.GetManagerDimensionsRequest(cycle_id=cycle_id, manager_id="nobody")
            )
        assert code_of(err.value) == "unknown_manager"
