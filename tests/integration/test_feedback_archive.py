"""The performance archive and calibration through the feedback service's real gRPC API
(real database, identity and goals): archiving a cycle (scores, 360 aggregates, idempotent),
self-assessment and manager rating, who reads whose history and its trend, calibration with
its distribution, 9-box and change log, and HR's export stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import grpc
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.archive import ArchiveActivities
from services.common.settings import WorkerSettings
from stride.common.v1 import common_pb2
from stride.feedback.v1 import archive_pb2 as pb
from stride.feedback.v1 import archive_pb2_grpc, rounds_pb2, rounds_pb2_grpc
from stride.goals.v1 import goals_pb2 as gpb
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.feedback_helpers import Plant, code_of, make_plant
from tests.integration.services_fixtures import feedback_stack


@pytest.fixture(scope="module")
async def env(
    database_url: str | None, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, Plant, Any]]:
    async with feedback_stack(database_url, tmp_path_factory.mktemp("fa"), nats_url) as stack:
        plant = await make_plant(stack.identity, stack.goals)
        yield archive_pb2_grpc.ArchiveServiceStub(stack.feedback), plant, stack


async def refused(call: Any, request: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(request)
    return err.value.code(), code_of(err.value)


async def run_360(stack: Any, plant: Plant, cycle_id: str) -> None:
    """alice's 360 round in the cycle, answered by her manager and three peers, closed."""
    rounds = rounds_pb2_grpc.RoundServiceStub(stack.feedback)
    template = await rounds.CreateTemplate(
        rounds_pb2.CreateTemplateRequest(
            name="360",
            questions=[
                rounds_pb2.Question(
                    id="teamwork", kind="rating", text_zh="团队", text_en="Team", anonymous=True
                )
            ],
        )
    )
    today = date.today()
    started = await rounds.StartRounds(
        rounds_pb2.StartRoundsRequest(
            cycle_id=cycle_id,
            template_id=template.id,
            department_id=plant.line,
            deadline=(today + timedelta(days=30)).isoformat(),
            nominations_due=(today + timedelta(days=7)).isoformat(),
        )
    )
    (mine,) = [r for r in started.rounds if r.subject_id == plant.alice]
    peers = [plant.bob, plant.carol, plant.dave]
    await rounds.Nominate(
        rounds_pb2.NominateRequest(round_id=mine.id, actor_id=plant.alice, peer_ids=peers)
    )
    await rounds.ApproveNominations(
        rounds_pb2.ApproveNominationsRequest(
            round_id=mine.id, approver_id=plant.lead, rater_ids=[plant.alice, plant.lead, *peers]
        )
    )
    await rounds.MarkInvited(rounds_pb2.MarkInvitedRequest(round_id=mine.id))
    for rater, rating in ((plant.lead, 4), (plant.bob, 5), (plant.carol, 4), (plant.dave, 3)):
        await rounds.SubmitAnswers(
            rounds_pb2.SubmitAnswersRequest(
                round_id=mine.id,
                rater_id=rater,
                answers=[rounds_pb2.Answer(question_id="teamwork", rating=rating)],
            )
        )
    await rounds.CloseRound(rounds_pb2.CloseRoundRequest(round_id=mine.id))


async def test_archive_rate_read_calibrate_export(env: tuple[Any, Plant, Any]) -> None:
    archive, plant, stack = env
    goals = goals_pb2_grpc.GoalsServiceStub(stack.goals)
    objective = await goals.GetObjective(gpb.GetObjectiveRequest(id=plant.objective))
    cycle_id = objective.cycle_id
    # An earlier quarter, archived first (no scores: goals never closed it).
    earlier = await goals.CreateCycle(
        gpb.CreateCycleRequest(name="Q3", start_date="2026-07-01", end_date="2026-09-30")
    )
    first = await archive.ArchiveCycle(pb.ArchiveCycleRequest(cycle_id=earlier.id))
    assert first.created >= 8 and not first.scored

    # The current quarter: alice's plan approved, she checks in half-way, 360 closes, goals
    # closes the cycle.
    await goals.SetKeyResultWeights(
        gpb.SetKeyResultWeightsRequest(
            objective_id=plant.objective, weights={plant.key_result: 100}
        )
    )
    approval = await goals.SubmitPlan(
        gpb.SubmitPlanRequest(cycle_id=cycle_id, employee_id=plant.alice)
    )
    await goals.DecideApproval(
        gpb.DecideApprovalRequest(
            approval_id=approval.id, decision=gpb.DECISION_APPROVE, decided_by=plant.lead
        )
    )
    await goals.RecordCheckIn(
        gpb.RecordCheckInRequest(key_result_id=plant.key_result, value=50, confidence=7)
    )
    await run_360(stack, plant, cycle_id)
    await goals.CloseCycle(gpb.CloseCycleRequest(id=cycle_id))
    done = await archive.ArchiveCycle(pb.ArchiveCycleRequest(cycle_id=cycle_id))
    assert done.scored and done.created >= 8
    again = await archive.ArchiveCycle(pb.ArchiveCycleRequest(cycle_id=cycle_id))
    assert (again.created, again.updated) == (0, done.created)
    assert await refused(archive.ArchiveCycle, pb.ArchiveCycleRequest(cycle_id="nope")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "unknown_cycle",
    )

    # Self-assessment and the direct manager's rating; the skip-level manager may not rate.
    mine = await archive.SubmitSelfAssessment(
        pb.SubmitSelfAssessmentRequest(
            employee_id=plant.alice, cycle_id=cycle_id, rating="A", comment="Scrap halved"
        )
    )
    assert (mine.self_rating, mine.self_comment, mine.manager_id) == (
        "A",
        "Scrap halved",
        plant.lead,
    )
    assert await refused(
        archive.SubmitSelfAssessment,
        pb.SubmitSelfAssessmentRequest(employee_id=plant.alice, cycle_id=cycle_id, rating="E"),
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_rating")
    rated = await archive.SubmitManagerRating(
        pb.SubmitManagerRatingRequest(
            manager_id=plant.lead,
            employee_id=plant.alice,
            cycle_id=cycle_id,
            rating="B",
            comment="Solid",
        )
    )
    assert (rated.manager_rating, rated.rated_by) == ("B", plant.lead)
    assert await refused(
        archive.SubmitManagerRating,
        pb.SubmitManagerRatingRequest(
            manager_id=plant.director, employee_id=plant.alice, cycle_id=cycle_id, rating="S"
        ),
    ) == (grpc.StatusCode.NOT_FOUND, "archive_not_found")
    await archive.SubmitManagerRating(
        pb.SubmitManagerRatingRequest(
            manager_id=plant.lead, employee_id=plant.alice, cycle_id=earlier.id, rating="C"
        )
    )

    # Reads: alice, her manager, the skip-level manager and HR; a peer gets not found.
    for viewer in (plant.alice, plant.lead, plant.director, plant.hr):
        history = await archive.GetHistory(
            pb.GetHistoryRequest(viewer_id=viewer, employee_id=plant.alice)
        )
        assert [e.record.cycle_id for e in history.entries] == [earlier.id, cycle_id]
    assert await refused(
        archive.GetHistory, pb.GetHistoryRequest(viewer_id=plant.bob, employee_id=plant.alice)
    ) == (grpc.StatusCode.NOT_FOUND, "archive_not_found")
    latest = history.entries[-1]
    scores = await goals.GetScores(gpb.GetScoresRequest(cycle_id=cycle_id))
    (alice_score,) = [p.score for p in scores.people if p.employee_id == plant.alice]
    assert latest.record.HasField("okr_score")
    assert latest.record.okr_score == pytest.approx(alice_score)
    assert alice_score > 0
    assert not history.entries[0].record.HasField("okr_score")
    assert not latest.HasField("score_delta")  # Q3 has no score
    assert latest.rating_direction == "up"  # C → B
    released = json.loads(latest.record.feedback_360_json)
    assert released, "the closed round's aggregates are archived"
    assert plant.alice not in json.dumps(released)

    # Calibration: HR only; a change needs a reason and records the old value.
    assert await refused(
        archive.OpenCalibration,
        pb.OpenCalibrationRequest(actor_id=plant.lead, department_id=plant.line, cycle_id=cycle_id),
    ) == (grpc.StatusCode.NOT_FOUND, "archive_not_found")
    session = await archive.OpenCalibration(
        pb.OpenCalibrationRequest(actor_id=plant.hr, department_id=plant.line, cycle_id=cycle_id)
    )
    same = await archive.OpenCalibration(
        pb.OpenCalibrationRequest(actor_id=plant.hr, department_id=plant.line, cycle_id=cycle_id)
    )
    assert same.id == session.id
    assert {r.employee_id for r in session.records} == {
        plant.lead,
        plant.alice,
        plant.bob,
        plant.carol,
        plant.dave,
    }
    dist = {d.rating: d for d in session.distribution}
    assert dist["B"].count == 1 and dist["B"].share == pytest.approx(1.0)
    assert await refused(
        archive.Calibrate,
        pb.CalibrateRequest(
            actor_id=plant.hr,
            id=session.id,
            employee_id=plant.alice,
            field="final_rating",
            value="A",
            reason="  ",
        ),
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "reason_required")
    await archive.SetGuidance(
        pb.SetGuidanceRequest(actor_id=plant.hr, id=session.id, shares={"A": 0.2, "B": 0.5})
    )
    changed = await archive.Calibrate(
        pb.CalibrateRequest(
            actor_id=plant.hr,
            id=session.id,
            employee_id=plant.alice,
            field="final_rating",
            value="A",
            reason="Led the scrap project",
        )
    )
    changed = await archive.Calibrate(
        pb.CalibrateRequest(
            actor_id=plant.hr,
            id=session.id,
            employee_id=plant.alice,
            field="potential",
            value="high",
            reason="Ready for a line",
        )
    )
    log = [(c.field, c.old_value, c.new_value, c.actor_id, c.reason) for c in changed.changes]
    assert log == [
        ("final_rating", "", "A", plant.hr, "Led the scrap project"),
        ("potential", "", "high", plant.hr, "Ready for a line"),
    ]
    dist = {d.rating: d for d in changed.distribution}
    assert dist["A"].count == 1 and dist["A"].target == pytest.approx(0.2)
    assert not dist["S"].HasField("target")
    cells = {(c.performance, c.potential): list(c.employee_ids) for c in changed.nine_box}
    assert len(cells) == 9 and cells[("high", "high")] == [plant.alice]
    assert plant.bob in changed.unplaced
    # Calibrated: ratings are closed for the cycle.
    assert await refused(
        archive.SubmitSelfAssessment,
        pb.SubmitSelfAssessmentRequest(employee_id=plant.alice, cycle_id=cycle_id, rating="S"),
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "archive_calibrated")

    # HR's export, filtered, a page at a time; anyone else is refused.
    first_page = await archive.ExportArchive(
        pb.ExportArchiveRequest(
            viewer_id=plant.hr,
            cycle_id=cycle_id,
            department_id=plant.line,
            format="csv",
            page=common_pb2.PageRequest(page_size=3),
        )
    )
    assert first_page.total == 5 and len(first_page.records) == 3
    rest = await archive.ExportArchive(
        pb.ExportArchiveRequest(
            viewer_id=plant.hr,
            cycle_id=cycle_id,
            department_id=plant.line,
            format="csv",
            page=common_pb2.PageRequest(page_size=3, page_token=first_page.page.next_page_token),
        )
    )
    assert len(rest.records) == 2 and not rest.page.next_page_token
    exported = {r.employee_id for r in [*first_page.records, *rest.records]}
    assert exported == {r.employee_id for r in session.records}
    only_a = await archive.ExportArchive(
        pb.ExportArchiveRequest(viewer_id=plant.hr, rating="A", format="xlsx")
    )
    assert [r.employee_id for r in only_a.records] == [plant.alice]
    assert await refused(
        archive.ExportArchive, pb.ExportArchiveRequest(viewer_id=plant.lead, format="csv")
    ) == (grpc.StatusCode.NOT_FOUND, "archive_not_found")
    assert await refused(
        archive.ExportArchive, pb.ExportArchiveRequest(viewer_id=plant.hr, format="pdf")
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_format")


async def test_the_cycle_workflows_archive_activity_archives_through_the_service(
    env: tuple[Any, Plant, Any],
) -> None:
    """The worker's activity (activities/archive.py) against the real feedback service: it
    archives the cycle, a retry creates nothing twice, and a later run (after a move) keeps
    the manager and department of the first one."""
    archive, plant, stack = env
    goals = goals_pb2_grpc.GoalsServiceStub(stack.goals)
    cycle = await goals.CreateCycle(
        gpb.CreateCycleRequest(name="Q2", start_date="2026-04-01", end_date="2026-06-30")
    )
    activities = ArchiveActivities(
        WorkerSettings(feedback_addr=f"127.0.0.1:{stack.runtimes['feedback'].port}")
    )
    activity_env = ActivityEnvironment()
    activity_env.info = activity_env.info.__class__(
        **{**activity_env.info.__dict__, "workflow_id": f"cycle/{cycle.id}"}
    )
    first = await activity_env.run(activities.archive_cycle, cycle.id)
    assert first.created >= 8 and not first.scored
    again = await activity_env.run(activities.archive_cycle, cycle.id)
    assert (again.created, again.updated) == (0, first.created + first.updated)

    identity = identity_pb2_grpc.IdentityServiceStub(stack.identity)
    await identity.UpdateEmployee(
        ipb.UpdateEmployeeRequest(
            id=plant.bob, department_id=plant.quality, manager_id=plant.director
        )
    )
    await activity_env.run(activities.archive_cycle, cycle.id)
    history = await archive.GetHistory(
        pb.GetHistoryRequest(viewer_id=plant.hr, employee_id=plant.bob)
    )
    (q2,) = [e.record for e in history.entries if e.record.cycle_id == cycle.id]
    assert (q2.manager_id, q2.department_id) == (plant.lead, plant.line)
    with pytest.raises(ApplicationError) as refused_err:
        await activity_env.run(activities.archive_cycle, "no-such-cycle")
    assert refused_err.value.non_retryable
