"""Promotion cases through the feedback service's real gRPC API (real database, identity,
goals and the archive): who may apply, eligibility from the archive's final ratings and the
hire date under HR's versioned rules, the case's people, recorded steps (the conflict of
interest checked again against identity, a retried step recorded once, a second score
refused) and who reads what of a case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from services.common.audit import audit_subject
from services.common.request_context import ACTOR_KEY
from stride.audit.v1 import audit_pb2
from stride.feedback.v1 import archive_pb2, archive_pb2_grpc, promotions_pb2_grpc
from stride.feedback.v1 import promotions_pb2 as pb
from stride.goals.v1 import goals_pb2 as gpb
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.feedback_helpers import Plant, code_of, make_plant
from tests.integration.services_fixtures import feedback_stack
from tests.integration.test_feedback_round_lifecycle import outbox


@pytest.fixture(scope="module")
async def env(
    database_url: str | None, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, Plant, Any]]:
    async with feedback_stack(database_url, tmp_path_factory.mktemp("fp"), nats_url) as stack:
        plant = await make_plant(stack.identity, stack.goals)
        yield promotions_pb2_grpc.PromotionServiceStub(stack.feedback), plant, stack


async def refused(call: Any, request: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(request)
    return err.value.code(), code_of(err.value)


async def rate(stack: Any, plant: Plant, quarters: list[tuple[str, str, str]]) -> None:
    """alice's final rating in each (start, end, rating) quarter, through the archive and a
    calibration."""
    goals = goals_pb2_grpc.GoalsServiceStub(stack.goals)
    archive = archive_pb2_grpc.ArchiveServiceStub(stack.feedback)
    for start, end, rating in quarters:
        cycle = await goals.CreateCycle(
            gpb.CreateCycleRequest(name=f"Q {start}", start_date=start, end_date=end)
        )
        await archive.ArchiveCycle(archive_pb2.ArchiveCycleRequest(cycle_id=cycle.id))
        session = await archive.OpenCalibration(
            archive_pb2.OpenCalibrationRequest(
                actor_id=plant.hr, department_id=plant.line, cycle_id=cycle.id
            )
        )
        await archive.Calibrate(
            archive_pb2.CalibrateRequest(
                actor_id=plant.hr,
                id=session.id,
                employee_id=plant.alice,
                field="final_rating",
                value=rating,
                reason="calibrated",
            )
        )


def step(case_id: str, sequence: int, name: str, actor: str, phase: str, **kw: Any) -> Any:
    return pb.RecordStepRequest(
        case_id=case_id, sequence=sequence, step=name, actor_id=actor, phase=phase, **kw
    )


async def test_apply_eligibility_steps_and_reads(env: tuple[Any, Plant, Any]) -> None:
    promotions, plant, stack = env
    identity = identity_pb2_grpc.IdentityServiceStub(stack.identity)

    # Who applies: alice herself or her manager (lead); not a peer; one open case.
    assert await refused(
        promotions.Apply,
        pb.ApplyRequest(
            applicant_id=plant.bob, candidate_id=plant.alice, current_grade="P4", target_grade="P5"
        ),
    ) == (grpc.StatusCode.PERMISSION_DENIED, "not_candidate_or_manager")
    assert await refused(
        promotions.Apply,
        pb.ApplyRequest(applicant_id=plant.alice, current_grade="P4", target_grade="P4"),
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "same_grade")
    case = await promotions.Apply(
        pb.ApplyRequest(
            applicant_id=plant.lead, candidate_id=plant.alice, current_grade="P4", target_grade="P5"
        )
    )
    assert (case.status, case.manager_id, case.applicant_id) == (
        "eligibility",
        plant.lead,
        plant.lead,
    )
    assert await refused(
        promotions.Apply,
        pb.ApplyRequest(applicant_id=plant.alice, current_grade="P4", target_grade="P6"),
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "promotion_case_open")

    # Eligibility: nothing archived and no hire date under the default rules.
    found = await promotions.CheckEligibility(pb.CheckEligibilityRequest(case_id=case.id))
    assert not found.eligible
    assert list(found.reasons) == ["not_enough_ratings", "hire_date_unknown"]
    # Two calibrated quarters (A, then B newest) and a hire date four years back: eligible.
    await rate(stack, plant, [("2026-04-01", "2026-06-30", "A"), ("2026-07-01", "2026-09-30", "B")])
    await identity.UpdateEmployee(ipb.UpdateEmployeeRequest(id=plant.alice, hire_date="2022-03-01"))
    found = await promotions.CheckEligibility(pb.CheckEligibilityRequest(case_id=case.id))
    assert found.eligible and not found.reasons and found.rules_version == 0
    # HR raises the bar (a new version); the newest B is not enough any more.
    assert await refused(
        promotions.PutRules,
        pb.PutRulesRequest(actor_id=plant.lead, min_rating="A", ratings_count=2),
    ) == (grpc.StatusCode.PERMISSION_DENIED, "hr_only")
    assert await refused(
        promotions.PutRules, pb.PutRulesRequest(actor_id=plant.hr, min_rating="E")
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_min_rating")
    rules = await promotions.PutRules(
        pb.PutRulesRequest(actor_id=plant.hr, min_rating="A", ratings_count=2, min_tenure_months=12)
    )
    assert (rules.version, rules.updated_by) == (1, plant.hr)
    assert (await promotions.GetRules(pb.GetRulesRequest())).min_rating == "A"
    found = await promotions.CheckEligibility(pb.CheckEligibilityRequest(case_id=case.id))
    assert list(found.reasons) == ["rating_below_minimum"] and found.rules_version == 1

    people = await promotions.GetCasePeople(pb.GetCasePeopleRequest(case_id=case.id))
    assert people.manager_id == plant.lead
    assert list(people.reporting_line) == [plant.lead, plant.director]
    assert plant.hr in people.hr_ids

    # Steps: the director (reporting line) may not sit on the panel, even past the workflow.
    await promotions.RecordStep(step(case.id, 1, "eligibility_checked", "", "endorsement"))
    await promotions.RecordStep(step(case.id, 2, "endorsed", plant.lead, "panel"))
    assert await refused(
        promotions.RecordStep,
        step(case.id, 3, "panel_named", plant.hr, "panel", member_ids=[plant.bob, plant.director]),
    ) == (grpc.StatusCode.PERMISSION_DENIED, "conflict_of_interest")
    panel = [plant.bob, plant.carol, plant.eve]
    await promotions.RecordStep(
        step(case.id, 3, "panel_named", plant.hr, "panel", member_ids=panel)
    )
    scored = await promotions.RecordStep(
        step(case.id, 4, "scored", plant.bob, "panel", score=4),
        metadata=((ACTOR_KEY, plant.bob),),  # as the worker's activity sends it
    )
    again = await promotions.RecordStep(step(case.id, 4, "scored", plant.bob, "panel", score=4))
    assert len(again.scores) == 1 and again.steps == scored.steps
    assert await refused(
        promotions.RecordStep, step(case.id, 5, "scored", plant.bob, "panel", score=5)
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "already_scored")
    await promotions.RecordStep(
        step(case.id, 5, "publicity_opened", "", "publicity", text="2026-12-12T00:00:00+08:00")
    )
    await promotions.RecordStep(
        step(case.id, 6, "objection_raised", plant.dave, "publicity", objection=1, text="why")
    )

    # Reads: HR sees the objection's author and every step; the candidate does not; a panel
    # member sees their own score; an outsider sees nothing.
    as_hr = await promotions.GetCase(pb.GetCaseRequest(case_id=case.id, viewer_id=plant.hr))
    assert as_hr.objections[0].author_id == plant.dave and len(as_hr.steps) == 6
    as_alice = await promotions.GetCase(pb.GetCaseRequest(case_id=case.id, viewer_id=plant.alice))
    assert as_alice.objections[0].author_id == "" and as_alice.objections[0].reason == "why"
    assert not as_alice.steps and not as_alice.scores
    as_bob = await promotions.GetCase(pb.GetCaseRequest(case_id=case.id, viewer_id=plant.bob))
    assert [s.member_id for s in as_bob.scores] == [plant.bob]
    assert await refused(
        promotions.GetCase, pb.GetCaseRequest(case_id=case.id, viewer_id=plant.frank)
    ) == (grpc.StatusCode.NOT_FOUND, "promotion_not_found")
    mine = await promotions.ListCases(pb.ListCasesRequest(viewer_id=plant.eve))
    assert [c.id for c in mine.cases] == [case.id]
    assert not (await promotions.ListCases(pb.ListCasesRequest(viewer_id=plant.frank))).cases

    # Decided: the case ends, and a new application is possible again.
    await promotions.RecordStep(
        step(
            case.id,
            7,
            "objection_resolved",
            plant.hr,
            "publicity",
            objection=1,
            outcome="dismissed",
        )
    )
    done = await promotions.RecordStep(
        step(case.id, 8, "decided", plant.hr, "approved", text="welcome")
    )
    assert (done.status, done.decided_by, done.decision_comment) == (
        "approved",
        plant.hr,
        "welcome",
    )
    assert done.objections[0].status == "dismissed"
    await promotions.Apply(
        pb.ApplyRequest(applicant_id=plant.alice, current_grade="P5", target_grade="P6")
    )

    # The events, in the same transactions: applied (twice now), decided once, rules changed.
    applied = [
        pb.PromotionApplied.FromString(x)
        for x in await outbox(stack, "stride.feedback.v1.promotion.applied")
    ]
    assert [(e.case_id, e.candidate_id, e.target_grade) for e in applied[:1]] == [
        (case.id, plant.alice, "P5")
    ]
    decided = [
        pb.PromotionDecided.FromString(x)
        for x in await outbox(stack, "stride.feedback.v1.promotion.decided")
    ]
    assert [(e.case_id, e.outcome) for e in decided] == [(case.id, "approved")]
    assert len(await outbox(stack, "stride.feedback.v1.promotion.rules_changed")) == 1

    # Every step audited, the one who took it as the actor (the retried score once).
    entries = [
        audit_pb2.AuditRecorded.FromString(x).entry
        for x in await outbox(stack, audit_subject("feedback"))
    ]
    mine = [e for e in entries if e.resource_id == case.id]
    assert [e.action for e in mine] == [
        "feedback.promotion.applied",
        "feedback.promotion.eligibility_checked",
        "feedback.promotion.endorsed",
        "feedback.promotion.panel_named",
        "feedback.promotion.scored",
        "feedback.promotion.publicity_opened",
        "feedback.promotion.objection_raised",
        "feedback.promotion.objection_resolved",
        "feedback.promotion.decided",
    ]
    assert next(e for e in mine if e.action.endswith(".scored")).actor == plant.bob
    assert "why" not in " ".join(e.detail for e in mine)
    assert any(e.action == "feedback.promotion.rules_put" for e in entries)
