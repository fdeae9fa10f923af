"""360 rounds through the feedback service's real gRPC API (real database, identity, NATS):
HR's templates, starting rounds, nominations, approval, answers, close and the anonymity of
what results show to the subject, the manager, HR and nobody else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text

from activities.feedback_rounds import FeedbackRoundActivities
from services.common.errors import ERROR_CODE_KEY
from services.common.settings import WorkerSettings
from stride.feedback.v1 import feedback_pb2, feedback_pb2_grpc, rounds_pb2_grpc
from stride.feedback.v1 import rounds_pb2 as pb
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.services_fixtures import FeedbackStack, feedback_stack
from workflows.round_rules import StartRoundsInput

TODAY = date.today()
DEADLINE = (TODAY + timedelta(days=30)).isoformat()
DUE = (TODAY + timedelta(days=7)).isoformat()

QUESTIONS = [
    pb.Question(
        id="teamwork", kind="rating", text_zh="团队合作", text_en="Teamwork", anonymous=True
    ),
    pb.Question(id="advice", kind="text", text_zh="建议", text_en="Advice", anonymous=True),
    pb.Question(id="named", kind="rating", text_zh="署名", text_en="Signed", anonymous=False),
]


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get(ERROR_CODE_KEY, "")


async def refused(call, request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(request)
    return err.value.code(), code_of(err.value)


@dataclass
class Org:
    dept: str
    people: dict[str, str]  # name → employee id


async def make_org(identity: identity_pb2_grpc.IdentityServiceStub) -> Org:
    """Boss → M (manager) → S (subject) → R1, R2 (reports); P1..P4 peers under Boss; HR (role
    hr), admin (role admin), outsider O; all in one department."""
    dept = await identity.CreateDepartment(
        ipb.CreateDepartmentRequest(name=f"Assembly {uuid.uuid4().hex[:6]}")
    )
    people: dict[str, str] = {}

    async def add(name: str, manager: str = "", roles: tuple[str, ...] = ()) -> None:
        e = await identity.CreateEmployee(
            ipb.CreateEmployeeRequest(
                employee_number=f"E{uuid.uuid4().hex[:8]}",
                name=name,
                department_id=dept.id,
                manager_id=people.get(manager, ""),
                roles=list(roles),
            )
        )
        people[name] = e.id

    await add("Boss")
    await add("M", "Boss")
    await add("S", "M")
    for r in ("R1", "R2"):
        await add(r, "S")
    for p in ("P1", "P2", "P3", "P4"):
        await add(p, "Boss")
    await add("HR", "Boss", ("hr",))
    await add("Admin", "Boss", ("admin",))
    await add("O", "Boss")
    return Org(dept.id, people)


def rounds_stub(stack: FeedbackStack) -> rounds_pb2_grpc.RoundServiceStub:
    return rounds_pb2_grpc.RoundServiceStub(stack.feedback)


async def open_round(rounds, org: Org, peers: list[str], reports: list[str]) -> pb.Round:
    """S's round through nomination, approval and invitations (the workflow's steps)."""
    template = await rounds.CreateTemplate(
        pb.CreateTemplateRequest(name="360", questions=QUESTIONS)
    )
    started = await rounds.StartRounds(
        pb.StartRoundsRequest(
            cycle_id=f"cycle-{uuid.uuid4().hex[:6]}",
            template_id=template.id,
            department_id=org.dept,
            deadline=DEADLINE,
            nominations_due=DUE,
        )
    )
    (mine,) = [r for r in started.rounds if r.subject_id == org.people["S"]]
    p = org.people
    await rounds.Nominate(
        pb.NominateRequest(
            round_id=mine.id,
            actor_id=p["S"],
            peer_ids=[p[x] for x in peers],
            report_ids=[p[x] for x in reports],
        )
    )
    everyone = [p[x] for x in ("S", "M", *peers, *reports)]
    await rounds.ApproveNominations(
        pb.ApproveNominationsRequest(round_id=mine.id, approver_id=p["M"], rater_ids=everyone)
    )
    return await rounds.MarkInvited(pb.MarkInvitedRequest(round_id=mine.id))


def answers(rating: int, comment: str = "") -> list[pb.Answer]:
    out = [
        pb.Answer(question_id="teamwork", rating=rating),
        pb.Answer(question_id="named", rating=rating),
    ]
    if comment:
        out.append(pb.Answer(question_id="advice", text=comment))
    return out


async def answer(rounds, round_id: str, rater: str, rating: int, comment: str = "") -> None:
    await rounds.SubmitAnswers(
        pb.SubmitAnswersRequest(round_id=round_id, rater_id=rater, answers=answers(rating, comment))
    )


def groups(results: pb.RoundResults, question: str = "teamwork") -> dict[str, pb.GroupAggregate]:
    q = next(q for q in results.questions if q.question_id == question)
    return {a.group: a for a in q.aggregates}


async def test_templates_need_both_languages_and_rounds_start_once_per_subject(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    async with feedback_stack(database_url, data_dir, nats_url) as stack:
        rounds = rounds_stub(stack)
        org = await make_org(identity_pb2_grpc.IdentityServiceStub(stack.identity))
        bad = pb.Question(kind="rating", text_zh="团队合作", text_en="")
        assert await refused(
            rounds.CreateTemplate, pb.CreateTemplateRequest(name="x", questions=[bad])
        ) == (grpc.StatusCode.INVALID_ARGUMENT, "question_en_required")
        template = await rounds.CreateTemplate(
            pb.CreateTemplateRequest(name="360", questions=QUESTIONS)
        )
        assert [q.id for q in template.questions] == ["teamwork", "advice", "named"]
        changed = await rounds.UpdateTemplate(
            pb.UpdateTemplateRequest(id=template.id, name="360 v2", questions=QUESTIONS[:1])
        )
        assert changed.name == "360 v2" and len(changed.questions) == 1
        listed = await rounds.ListTemplates(pb.ListTemplatesRequest())
        assert template.id in [t.id for t in listed.templates]

        request = pb.StartRoundsRequest(
            cycle_id="2026-Q4",
            template_id=template.id,
            department_id=org.dept,
            deadline=DEADLINE,
            nominations_due=DUE,
        )
        started = await rounds.StartRounds(request)
        assert len(started.rounds) == len(org.people) and started.already == 0
        s_round = next(r for r in started.rounds if r.subject_id == org.people["S"])
        assert s_round.phase == "nominating" and s_round.manager_id == org.people["M"]
        assert sorted((r.relation, r.employee_id) for r in s_round.raters) == sorted(
            [
                ("self", org.people["S"]),
                ("manager", org.people["M"]),
                ("report", org.people["R1"]),
                ("report", org.people["R2"]),
            ]
        )
        again = await rounds.StartRounds(request)
        assert (len(again.rounds), again.already) == (0, len(org.people))

        # Archived: no new rounds use it; the running ones keep their copied questions.
        await rounds.DeleteTemplate(pb.DeleteTemplateRequest(id=template.id))
        other = pb.StartRoundsRequest(
            cycle_id="2027-Q1", template_id=template.id, deadline=DEADLINE, nominations_due=DUE
        )
        assert await refused(rounds.StartRounds, other) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "template_archived",
        )
        late = pb.StartRoundsRequest(
            cycle_id="x", template_id=template.id, deadline=DUE, nominations_due=DEADLINE
        )
        assert (await refused(rounds.StartRounds, late))[1] == "nominations_after_deadline"

        # Nominations: the subject only, no self, reports only their own.
        p = org.people
        assert await refused(
            rounds.Nominate,
            pb.NominateRequest(round_id=s_round.id, actor_id=p["M"], peer_ids=[p["P1"]]),
        ) == (grpc.StatusCode.PERMISSION_DENIED, "not_subject")
        assert (
            await refused(
                rounds.Nominate,
                pb.NominateRequest(round_id=s_round.id, actor_id=p["S"], peer_ids=[p["S"]]),
            )
        )[1] == "self_nominated"
        assert (
            await refused(
                rounds.Nominate,
                pb.NominateRequest(round_id=s_round.id, actor_id=p["S"], report_ids=[p["P1"]]),
            )
        )[1] == "not_a_direct_report"
        unknown = pb.NominateRequest(round_id=s_round.id, actor_id=p["S"], peer_ids=["x" * 100])
        assert (await refused(rounds.Nominate, unknown))[1] == "unknown_rater"
        nowhere = pb.StartRoundsRequest(
            cycle_id="x",
            template_id=template.id,
            department_id="nope",
            deadline=DEADLINE,
            nominations_due=DUE,
        )
        assert (await refused(rounds.StartRounds, nowhere))[1] == "unknown_department"
        long_cycle = pb.StartRoundsRequest(
            cycle_id="c" * 100, template_id=template.id, deadline=DEADLINE, nominations_due=DUE
        )
        assert (await refused(rounds.StartRounds, long_cycle))[1] == "invalid_cycle_id"
        # Answers are not open before invitations.
        assert (
            await refused(
                rounds.SubmitAnswers,
                pb.SubmitAnswersRequest(round_id=s_round.id, rater_id=p["S"], answers=answers(3)),
            )
        )[1] == "not_collecting"


async def test_anonymous_answers_are_released_only_as_aggregates_from_three_raters(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    async with feedback_stack(database_url, data_dir, nats_url) as stack:
        rounds = rounds_stub(stack)
        org = await make_org(identity_pb2_grpc.IdentityServiceStub(stack.identity))
        p = org.people
        opened = await open_round(rounds, org, ["P1", "P2", "P3"], [])
        rid = opened.id
        assert opened.phase == "collecting"
        pending = await rounds.ListPendingRaters(pb.ListPendingRatersRequest(round_id=rid))
        assert set(pending.employee_ids) == {p[x] for x in ("S", "M", "P1", "P2", "P3")}

        await answer(rounds, rid, p["M"], 2)
        await answer(rounds, rid, p["P1"], 5, "more training")
        await answer(rounds, rid, p["P2"], 1, "clearer goals")
        # A rater sees only themself; the manager does not see which peers answered.
        seen = await rounds.GetRound(pb.GetRoundRequest(round_id=rid, viewer_id=p["P1"]))
        assert [(r.employee_id, r.status) for r in seen.raters] == [(p["P1"], "answered")]
        seen = await rounds.GetRound(pb.GetRoundRequest(round_id=rid, viewer_id=p["M"]))
        assert {r.status for r in seen.raters if r.relation == "peer"} == {"invited"}
        seen = await rounds.GetRound(pb.GetRoundRequest(round_id=rid, viewer_id=p["S"]))
        assert {r.relation for r in seen.raters} == {"self", "manager"}
        assert (await refused(rounds.GetRound, pb.GetRoundRequest(round_id=rid, viewer_id=p["O"])))[
            0
        ] == grpc.StatusCode.NOT_FOUND

        # Two anonymous answers, before close: the subject, the manager and HR see nothing.
        for viewer in ("S", "M", "HR"):
            r = await rounds.GetRoundResults(
                pb.GetRoundResultsRequest(round_id=rid, viewer_id=p[viewer])
            )
            assert not r.released and not r.questions and r.respondents == 0
        for viewer in ("Admin", "O", "P1"):
            assert await refused(
                rounds.GetRoundResults, pb.GetRoundResultsRequest(round_id=rid, viewer_id=p[viewer])
            ) == (grpc.StatusCode.PERMISSION_DENIED, "not_a_results_reader")

        await answer(rounds, rid, p["P3"], 3)
        closed = await rounds.CloseRound(pb.CloseRoundRequest(round_id=rid))
        assert closed.phase == "closed" and closed.closed_at
        again = await rounds.CloseRound(pb.CloseRoundRequest(round_id=rid))
        assert again.closed_at == closed.closed_at  # idempotent

        for viewer in ("S", "M", "HR"):
            r = await rounds.GetRoundResults(
                pb.GetRoundResultsRequest(round_id=rid, viewer_id=p[viewer])
            )
            assert r.released and r.respondents == 3 and r.threshold == 3
            found = groups(r)
            assert found["all"].released and found["all"].average == pytest.approx(3.0)
            assert found["peer"].released and found["peer"].respondents == 3
            assert not found["report"].released
            teamwork = next(q for q in r.questions if q.question_id == "teamwork")
            assert [(n.relation, n.rater_id, n.rating) for n in teamwork.named] == [
                ("manager", p["M"], 2)
            ]
            advice = next(q for q in r.questions if q.question_id == "advice")
            assert sorted(advice.comments) == ["clearer goals", "more training"]
            assert not advice.named
            for rater in ("P1", "P2", "P3"):
                assert p[rater] not in str(teamwork) + str(advice)
            assert r.viewer_role == {"S": "subject", "M": "manager", "HR": "hr"}[viewer]

        # A late answer is refused and cannot change the frozen aggregates.
        assert (
            await refused(
                rounds.SubmitAnswers,
                pb.SubmitAnswersRequest(round_id=rid, rater_id=p["P3"], answers=answers(1)),
            )
        )[1] == "round_closed"
        r = await rounds.GetRoundResults(pb.GetRoundResultsRequest(round_id=rid, viewer_id=p["S"]))
        assert groups(r)["all"].average == pytest.approx(3.0)

        # Nothing in the database links a peer to an answer any more.
        engine = stack.runtimes["feedback"].engine
        assert engine is not None
        async with engine.connect() as conn:
            linked = await conn.execute(
                text(
                    "SELECT count(*) FROM round_answers WHERE round_id = :r"
                    " AND rater_id IS NOT NULL AND relation = 'peer'"
                ),
                {"r": rid},
            )
            assert linked.scalar_one() == 0


async def test_two_reports_stay_hidden_next_to_four_peers_and_the_total_does_not_give_them_away(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    async with feedback_stack(database_url, data_dir, nats_url) as stack:
        rounds = rounds_stub(stack)
        org = await make_org(identity_pb2_grpc.IdentityServiceStub(stack.identity))
        p = org.people
        opened = await open_round(rounds, org, ["P1", "P2", "P3", "P4"], ["R1", "R2"])
        for peer in ("P1", "P2", "P3", "P4"):
            await answer(rounds, opened.id, p[peer], 4)
        await answer(rounds, opened.id, p["R1"], 1)
        await answer(rounds, opened.id, p["R2"], 2)
        await rounds.CloseRound(pb.CloseRoundRequest(round_id=opened.id))
        r = await rounds.GetRoundResults(
            pb.GetRoundResultsRequest(round_id=opened.id, viewer_id=p["S"])
        )
        found = groups(r)
        assert found["all"].released and found["all"].respondents == 6
        assert not found["report"].released and found["report"].respondents == 0
        # Peers shown next to the total would give reports away (total − peers): hidden too.
        assert not found["peer"].released and found["peer"].average == 0


async def test_a_raised_threshold_applies_at_close(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    async with feedback_stack(database_url, data_dir, nats_url) as stack:
        rounds = rounds_stub(stack)
        settings = feedback_pb2_grpc.FeedbackServiceStub(stack.feedback)
        org = await make_org(identity_pb2_grpc.IdentityServiceStub(stack.identity))
        p = org.people
        opened = await open_round(rounds, org, ["P1", "P2", "P3"], [])
        for peer in ("P1", "P2", "P3"):
            await answer(rounds, opened.id, p[peer], 4)
        await settings.UpdateSettings(feedback_pb2.UpdateSettingsRequest(anonymity_threshold=4))
        await rounds.CloseRound(pb.CloseRoundRequest(round_id=opened.id))
        r = await rounds.GetRoundResults(
            pb.GetRoundResultsRequest(round_id=opened.id, viewer_id=p["HR"])
        )
        assert r.threshold == 4 and not r.released and not groups(r)["all"].released


async def test_no_rounds_for_people_out_of_the_pilot(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    """A department switched off (or under one that is) gets no 360 rounds: asked for by
    name it is refused, and a round for everyone leaves its people out."""
    async with feedback_stack(database_url, data_dir, nats_url) as stack:
        rounds = rounds_stub(stack)
        identity = identity_pb2_grpc.IdentityServiceStub(stack.identity)
        tag = uuid.uuid4().hex[:6]
        plant = await identity.CreateDepartment(
            ipb.CreateDepartmentRequest(name=f"Plant {tag}", stride_enabled=False)
        )
        shop = await identity.CreateDepartment(
            ipb.CreateDepartmentRequest(name=f"Shop {tag}", parent_id=plant.id)
        )
        office = await identity.CreateDepartment(ipb.CreateDepartmentRequest(name=f"Office {tag}"))
        people = {}
        for name, dept in (("out", shop.id), ("in", office.id)):
            e = await identity.CreateEmployee(
                ipb.CreateEmployeeRequest(
                    employee_number=f"E{uuid.uuid4().hex[:8]}", name=name, department_id=dept
                )
            )
            people[name] = e.id
        template = await rounds.CreateTemplate(
            pb.CreateTemplateRequest(name="360", questions=QUESTIONS)
        )
        by_name = pb.StartRoundsRequest(
            cycle_id=f"pilot-{tag}",
            template_id=template.id,
            department_id=shop.id,
            deadline=DEADLINE,
            nominations_due=DUE,
        )
        assert await refused(rounds.StartRounds, by_name) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "department_not_in_pilot",
        )
        everyone = pb.StartRoundsRequest(
            cycle_id=f"pilot-{tag}", template_id=template.id, deadline=DEADLINE, nominations_due=DUE
        )
        subjects = {r.subject_id for r in (await rounds.StartRounds(everyone)).rounds}
        assert people["in"] in subjects and people["out"] not in subjects
        # The cycle's activity takes the refusal as "no rounds", so the cycle goes on.
        port = stack.runtimes["feedback"].port
        acts = FeedbackRoundActivities(WorkerSettings(feedback_addr=f"127.0.0.1:{port}"))
        result = await acts.start_rounds(
            StartRoundsInput(
                cycle_id=f"pilot-{tag}-cycle",
                template_id=template.id,
                department_id=shop.id,
                deadline=DEADLINE,
                nominations_due=DUE,
            )
        )
        assert (result.started, result.already) == (0, 0)
