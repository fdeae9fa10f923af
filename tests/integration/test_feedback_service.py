"""Continuous feedback through the feedback service's real gRPC API, with the real identity
and goals services it asks, a real database (PostgreSQL or SQLite) and NATS.

Who reads what is enforced by the service itself: these calls name their viewer directly,
with no gateway in front.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from services.common.nats import FEEDBACK_STREAM
from services.feedback.events import FEEDBACK_GIVEN, UPWARD_GIVEN
from stride.feedback.v1 import feedback_pb2 as pb
from stride.feedback.v1 import feedback_pb2_grpc
from stride.identity.v1 import inbox_pb2, inbox_pb2_grpc
from tests.integration.feedback_helpers import Plant, code_of, make_plant
from tests.integration.goals_helpers import events
from tests.integration.services_fixtures import feedback_stack


@pytest.fixture(scope="module")
async def env(
    database_url: str | None, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, Plant, Any]]:
    async with feedback_stack(database_url, tmp_path_factory.mktemp("fb"), nats_url) as stack:
        plant = await make_plant(stack.identity, stack.goals)
        yield feedback_pb2_grpc.FeedbackServiceStub(stack.feedback), plant, stack


async def refused(call: Any, status: grpc.StatusCode, code: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == status, err.value
    assert code_of(err.value) == code, err.value


async def test_private_feedback_is_read_by_author_subject_and_shared_manager_only(env) -> None:
    fb, p, _ = env
    shared = await fb.GiveFeedback(
        pb.GiveFeedbackRequest(
            author_id=p.bob,
            subject_id=p.alice,
            text="Great changeover today",
            share_with_manager=True,
        )
    )
    unshared = await fb.GiveFeedback(
        pb.GiveFeedbackRequest(author_id=p.carol, subject_id=p.alice, text="Just for you")
    )
    assert shared.about_id == p.alice and shared.visibility == "private" and shared.week
    for viewer in (p.bob, p.alice, p.lead):
        got = await fb.GetFeedback(pb.GetFeedbackRequest(id=shared.id, viewer_id=viewer))
        assert got.text == "Great changeover today"
    # A peer, a skip-level manager, HR: not found, exactly like a missing item.
    for viewer in (p.dave, p.director, p.hr, p.eve):
        await refused(
            fb.GetFeedback(pb.GetFeedbackRequest(id=shared.id, viewer_id=viewer)),
            grpc.StatusCode.NOT_FOUND,
            "feedback_not_found",
        )
    await refused(
        fb.GetFeedback(pb.GetFeedbackRequest(id=unshared.id, viewer_id=p.lead)),
        grpc.StatusCode.NOT_FOUND,
        "feedback_not_found",
    )
    received = await fb.ListFeedback(pb.ListFeedbackRequest(viewer_id=p.alice))
    assert {shared.id, unshared.id} <= {i.id for i in received.items}
    reports = await fb.ListFeedback(pb.ListFeedbackRequest(viewer_id=p.lead, box="reports"))
    ids = {i.id for i in reports.items}
    assert shared.id in ids and unshared.id not in ids
    peer = await fb.ListFeedback(pb.ListFeedbackRequest(viewer_id=p.dave, box="reports"))
    assert peer.items == []


async def test_feedback_about_objectives_and_key_results_goes_to_their_owner(env) -> None:
    fb, p, _ = env
    on_objective = await fb.GiveFeedback(
        pb.GiveFeedbackRequest(
            author_id=p.bob, subject_kind="objective", subject_id=p.objective, text="Ambitious"
        )
    )
    on_kr = await fb.GiveFeedback(
        pb.GiveFeedbackRequest(
            author_id=p.eve, subject_kind="key_result", subject_id=p.key_result, text="Measurable"
        )
    )
    assert on_objective.about_id == p.alice and on_kr.about_id == p.alice
    filtered = await fb.ListFeedback(
        pb.ListFeedbackRequest(
            viewer_id=p.alice, subject_kind="key_result", subject_id=p.key_result
        )
    )
    assert [i.id for i in filtered.items] == [on_kr.id]
    for kind, code in (("objective", "unknown_objective"), ("key_result", "unknown_key_result")):
        await refused(
            fb.GiveFeedback(
                pb.GiveFeedbackRequest(
                    author_id=p.bob,
                    subject_kind=kind,
                    subject_id="00000000-0000-0000-0000-000000000000",
                    text="?",
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            code,
        )
    await refused(
        fb.GiveFeedback(pb.GiveFeedbackRequest(author_id=p.bob, subject_id=p.bob, text="me")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "feedback_to_self",
    )
    await refused(
        fb.GiveFeedback(pb.GiveFeedbackRequest(author_id=p.bob, subject_id=p.alice, text=" ")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "text_required",
    )


async def test_praise_with_a_badge_is_seen_by_the_department_and_heads_above(env) -> None:
    fb, p, _ = env
    badge = await fb.PutBadge(
        pb.PutBadgeRequest(
            code="digital-pioneer", name_zh="数字先锋奖", name_en="Digital pioneer", active=True
        )
    )
    await refused(
        fb.GiveFeedback(
            pb.GiveFeedbackRequest(
                author_id=p.bob, subject_id=p.alice, visibility="praise", text="Well done"
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "badge_required",
    )
    praise = await fb.GiveFeedback(
        pb.GiveFeedbackRequest(
            author_id=p.eve,
            subject_id=p.alice,
            visibility="praise",
            badge_id=badge.id,
            text="数字化点检表，全线推广",
        )
    )
    assert praise.badge_id == badge.id and praise.about_department_id == p.line
    for viewer in (p.carol, p.lead, p.director, p.hr, p.eve, p.alice):
        listed = await fb.ListPraise(pb.ListPraiseRequest(viewer_id=viewer))
        assert praise.id in {i.id for i in listed.items}, viewer
        await fb.GetFeedback(pb.GetFeedbackRequest(id=praise.id, viewer_id=viewer))
    # Quality's people other than the author do not see Line 3's praise.
    outsider = await fb.ListPraise(pb.ListPraiseRequest(viewer_id=p.frank))
    assert praise.id not in {i.id for i in outsider.items}
    await refused(
        fb.GetFeedback(pb.GetFeedbackRequest(id=praise.id, viewer_id=p.frank)),
        grpc.StatusCode.NOT_FOUND,
        "feedback_not_found",
    )
    retired = await fb.PutBadge(
        pb.PutBadgeRequest(code="old-award", name_zh="旧奖", name_en="Old award", active=False)
    )
    await refused(
        fb.GiveFeedback(
            pb.GiveFeedbackRequest(
                author_id=p.bob,
                subject_id=p.alice,
                visibility="praise",
                badge_id=retired.id,
                text="x",
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "badge_retired",
    )
    active = await fb.ListBadges(pb.ListBadgesRequest())
    assert "digital-pioneer" in {b.code for b in active.badges}
    assert "old-award" not in {b.code for b in active.badges}


async def test_a_request_reaches_the_inbox_and_is_answered_by_feedback(env) -> None:
    fb, p, stack = env
    ask = await fb.RequestFeedback(
        pb.RequestFeedbackRequest(
            requester_id=p.alice, responder_id=p.dave, message="How did my 8D report read?"
        )
    )
    assert ask.status == "open" and ask.subject_id == p.alice
    inbox = inbox_pb2_grpc.InboxServiceStub(stack.identity)
    items = await inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=p.dave))
    assert f"feedback-request/{ask.id}" in {i.key for i in items.items}
    asked = await fb.ListFeedbackRequests(pb.ListFeedbackRequestsRequest(viewer_id=p.dave))
    assert ask.id in {a.id for a in asked.items}
    # Only the one asked answers it.
    await refused(
        fb.GiveFeedback(
            pb.GiveFeedbackRequest(author_id=p.bob, request_id=ask.id, text="Not asked")
        ),
        grpc.StatusCode.NOT_FOUND,
        "feedback_request_not_found",
    )
    answer = await fb.GiveFeedback(
        pb.GiveFeedbackRequest(author_id=p.dave, request_id=ask.id, text="Clear and short")
    )
    assert answer.request_id == ask.id and answer.about_id == p.alice
    mine = await fb.ListFeedbackRequests(
        pb.ListFeedbackRequestsRequest(viewer_id=p.alice, box="mine")
    )
    (closed,) = [a for a in mine.items if a.id == ask.id]
    assert closed.status == "answered" and closed.feedback_id == answer.id
    await refused(
        fb.GiveFeedback(pb.GiveFeedbackRequest(author_id=p.dave, request_id=ask.id, text="again")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "request_not_open",
    )
    await refused(
        fb.RequestFeedback(
            pb.RequestFeedbackRequest(requester_id=p.alice, responder_id=p.dave, subject_id=p.bob)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "ask_about_others",
    )


async def test_anonymous_upward_feedback_is_released_only_from_three_authors(env) -> None:
    fb, p, _ = env
    named = await fb.GiveUpwardFeedback(
        pb.GiveUpwardFeedbackRequest(author_id=p.dave, text="Thanks for the clear priorities")
    )
    assert named.manager_id == p.lead and not named.anonymous
    for author, text in ((p.alice, "Meetings run long"), (p.bob, "Share the plan earlier")):
        await fb.GiveUpwardFeedback(
            pb.GiveUpwardFeedbackRequest(author_id=author, text=text, anonymous=True)
        )
    # One author writing twice does not make a crowd.
    await fb.GiveUpwardFeedback(
        pb.GiveUpwardFeedbackRequest(author_id=p.bob, text="Really, earlier", anonymous=True)
    )
    summary = await fb.GetUpwardFeedback(
        pb.GetUpwardFeedbackRequest(manager_id=p.lead, viewer_id=p.lead)
    )
    assert [n.author_id for n in summary.named] == [p.dave]
    assert not summary.anonymous.released and summary.anonymous.threshold == 3
    assert summary.anonymous.texts == [] and summary.anonymous.items == 0
    await fb.GiveUpwardFeedback(
        pb.GiveUpwardFeedbackRequest(author_id=p.carol, text="More coaching", anonymous=True)
    )
    summary = await fb.GetUpwardFeedback(
        pb.GetUpwardFeedbackRequest(manager_id=p.lead, viewer_id=p.lead)
    )
    released = summary.anonymous
    assert released.released and released.items == 4 and released.authors == 3
    assert sorted(released.texts) == sorted(
        ["Meetings run long", "Share the plan earlier", "Really, earlier", "More coaching"]
    )
    # No author of an anonymous item anywhere in what the manager gets.
    raw = summary.SerializeToString()
    for author in (p.alice, p.bob, p.carol):
        assert author.encode() not in raw
    # Nobody but the manager reads it: not the skip-level, not HR.
    for viewer in (p.director, p.hr, p.alice):
        await refused(
            fb.GetUpwardFeedback(pb.GetUpwardFeedbackRequest(manager_id=p.lead, viewer_id=viewer)),
            grpc.StatusCode.PERMISSION_DENIED,
            "not_the_manager",
        )
    await refused(
        fb.GiveUpwardFeedback(pb.GiveUpwardFeedbackRequest(author_id=p.hr, text="to nobody")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "no_manager",
    )


async def test_a_raised_threshold_holds_back_the_aggregate(env) -> None:
    fb, p, _ = env
    for author in (p.alice, p.bob, p.carol, p.dave):
        await fb.GiveUpwardFeedback(
            pb.GiveUpwardFeedbackRequest(author_id=author, text="Quality first", anonymous=True)
        )
    await fb.UpdateSettings(pb.UpdateSettingsRequest(anonymity_threshold=5))
    try:
        summary = await fb.GetUpwardFeedback(
            pb.GetUpwardFeedbackRequest(manager_id=p.lead, viewer_id=p.lead)
        )
        assert not summary.anonymous.released and summary.anonymous.threshold == 5
        assert summary.anonymous.texts == []
    finally:
        await fb.UpdateSettings(pb.UpdateSettingsRequest(anonymity_threshold=3))
    summary = await fb.GetUpwardFeedback(
        pb.GetUpwardFeedbackRequest(manager_id=p.lead, viewer_id=p.lead)
    )
    assert summary.anonymous.released and summary.anonymous.authors == 4


async def test_a_goal_challenge_is_answered_by_its_owner_and_seen_by_the_manager(env) -> None:
    fb, p, stack = env
    challenge = await fb.RaiseChallenge(
        pb.RaiseChallengeRequest(
            objective_id=p.objective,
            challenger_id=p.bob,
            text="Is 1 % possible with the old press?",
        )
    )
    assert challenge.owner_id == p.alice and challenge.status == "open"
    inbox = inbox_pb2_grpc.InboxServiceStub(stack.identity)
    items = await inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=p.alice))
    assert f"challenge/{challenge.id}" in {i.key for i in items.items}
    owner_open = await fb.ListChallenges(pb.ListChallengesRequest(viewer_id=p.alice, status="open"))
    assert challenge.id in {c.id for c in owner_open.items}
    manager_view = await fb.ListChallenges(
        pb.ListChallengesRequest(viewer_id=p.lead, reports=True, status="open")
    )
    assert challenge.id in {c.id for c in manager_view.items}
    await fb.GetChallenge(pb.GetChallengeRequest(id=challenge.id, viewer_id=p.director))
    await refused(
        fb.GetChallenge(pb.GetChallengeRequest(id=challenge.id, viewer_id=p.eve)),
        grpc.StatusCode.NOT_FOUND,
        "challenge_not_found",
    )
    # The manager sees it but does not answer for the owner.
    await refused(
        fb.AnswerChallenge(pb.AnswerChallengeRequest(id=challenge.id, actor_id=p.lead, text="x")),
        grpc.StatusCode.PERMISSION_DENIED,
        "not_objective_owner",
    )
    await refused(
        fb.RaiseChallenge(
            pb.RaiseChallengeRequest(objective_id=p.objective, challenger_id=p.alice, text="me?")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "challenge_own_objective",
    )
    answered = await fb.AnswerChallenge(
        pb.AnswerChallengeRequest(
            id=challenge.id, actor_id=p.alice, text="Yes: new dies arrive in week 46"
        )
    )
    assert answered.status == "answered" and answered.closed_at
    assert [m.kind for m in answered.messages] == ["challenge", "answer"]
    await refused(
        fb.ResolveChallenge(pb.ResolveChallengeRequest(id=challenge.id, actor_id=p.alice)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "challenge_closed",
    )
    still_open = await fb.ListChallenges(
        pb.ListChallengesRequest(viewer_id=p.lead, reports=True, status="open")
    )
    assert challenge.id not in {c.id for c in still_open.items}


async def test_frequency_counts_items_per_department_and_week(env) -> None:
    fb, p, _ = env
    given = await fb.GiveFeedback(
        pb.GiveFeedbackRequest(author_id=p.eve, subject_id=p.bob, text="Thanks for the help")
    )
    # What the line's row counts, given here (other tests may add more).
    for author in (p.alice, p.bob, p.carol, p.dave):
        await fb.GiveUpwardFeedback(
            pb.GiveUpwardFeedbackRequest(author_id=author, text="Weekly note", anonymous=True)
        )
    await fb.RaiseChallenge(
        pb.RaiseChallengeRequest(
            objective_id=p.objective, challenger_id=p.bob, text="Why 1 % this quarter?"
        )
    )
    report = await fb.GetFeedbackFrequency(
        pb.GetFeedbackFrequencyRequest(
            from_week=given.week, to_week=given.week, department_ids=[p.quality, p.line]
        )
    )
    rows = {(r.department_id, r.week): r for r in report.rows}
    quality = rows[(p.quality, given.week)]
    assert quality.feedback >= 1 and quality.total >= quality.feedback + quality.praise
    line = rows[(p.line, given.week)]
    assert line.upward >= 4 and line.challenges >= 1
    await refused(
        fb.GetFeedbackFrequency(pb.GetFeedbackFrequencyRequest(from_week="2026-W60", to_week="x")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid_week",
    )


async def test_events_are_relayed_and_upward_ones_name_no_author(env, nats_url: str) -> None:
    fb, p, _ = env
    given = await fb.GiveFeedback(
        pb.GiveFeedbackRequest(author_id=p.frank, subject_id=p.eve, text="Sharp eye on lot 7")
    )
    await fb.GiveUpwardFeedback(
        pb.GiveUpwardFeedbackRequest(author_id=p.frank, text="Anonymous note", anonymous=True)
    )
    (event,) = await events(
        nats_url,
        FEEDBACK_GIVEN.subject,
        pb.FeedbackGiven,
        lambda e: e.feedback_id == given.id,
        1,
        stream=FEEDBACK_STREAM,
    )
    assert event.about_id == p.eve and event.author_id == p.frank and event.meta.producer
    upward = await events(
        nats_url,
        UPWARD_GIVEN.subject,
        pb.UpwardFeedbackGiven,
        lambda e: e.manager_id == p.director,
        1,
        stream=FEEDBACK_STREAM,
    )
    assert upward and all(p.frank.encode() not in e.SerializeToString() for e in upward)
