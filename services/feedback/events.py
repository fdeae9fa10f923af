"""The feedback service's events: the one place their subjects are spelled."""

from __future__ import annotations

from services.common.events import Event, EventRegistry
from services.feedback.models import OUTBOX
from stride.feedback.v1 import feedback_pb2 as pb
from stride.feedback.v1 import promotions_pb2, rounds_pb2

FEEDBACK_GIVEN = Event(
    "stride.feedback.v1.feedback.given",
    pb.FeedbackGiven,
    "private feedback about a person, an objective or a key result was given (or a request "
    "answered)",
)
PRAISE_GIVEN = Event(
    "stride.feedback.v1.praise.given",
    pb.PraiseGiven,
    "public praise with a recognition badge was given",
)
FEEDBACK_REQUESTED = Event(
    "stride.feedback.v1.feedback.requested",
    pb.FeedbackRequested,
    "someone asked a colleague for feedback",
)
UPWARD_GIVEN = Event(
    "stride.feedback.v1.upward.given",
    pb.UpwardFeedbackGiven,
    "a manager received upward feedback (no author, anonymous or not)",
)
RAISED = Event(
    "stride.feedback.v1.challenge.raised",
    pb.ChallengeRaised,
    "someone challenged an objective; its owner must answer",
)
ANSWERED = Event(
    "stride.feedback.v1.challenge.answered",
    pb.ChallengeAnswered,
    "the objective's owner answered a challenge or marked it resolved (it is closed)",
)
SETTINGS_CHANGED = Event(
    "stride.feedback.v1.settings.changed",
    pb.FeedbackSettingsChanged,
    "HR changed the organisation's feedback settings (the anonymity threshold)",
)
# 360 rounds (RoundService).
ROUND_STARTED_EVENT = Event(
    "stride.feedback.v1.round.started",
    rounds_pb2.RoundStarted,
    "HR started a 360 round for a person (its workflow feedback-round/<cycle>/<subject> starts)",
)
ROUND_CLOSED_EVENT = Event(
    "stride.feedback.v1.round.closed",
    rounds_pb2.RoundClosed,
    "a 360 round closed at its deadline: its released results are frozen and readable",
)
# Promotion reviews (PromotionService).
PROMOTION_APPLIED = Event(
    "stride.feedback.v1.promotion.applied",
    promotions_pb2.PromotionApplied,
    "someone applied for a promotion (its workflow promotion/<case> starts)",
)
PROMOTION_DECIDED = Event(
    "stride.feedback.v1.promotion.decided",
    promotions_pb2.PromotionDecided,
    "a promotion case ended: approved, rejected (at any step) or withdrawn",
)
PROMOTION_RULES_CHANGED = Event(
    "stride.feedback.v1.promotion.rules_changed",
    promotions_pb2.PromotionRulesChanged,
    "HR saved a new version of the promotion eligibility rules",
)

EVENTS = EventRegistry(
    "feedback",
    OUTBOX,
    FEEDBACK_GIVEN,
    PRAISE_GIVEN,
    FEEDBACK_REQUESTED,
    UPWARD_GIVEN,
    RAISED,
    ANSWERED,
    SETTINGS_CHANGED,
    ROUND_STARTED_EVENT,
    ROUND_CLOSED_EVENT,
    PROMOTION_APPLIED,
    PROMOTION_DECIDED,
    PROMOTION_RULES_CHANGED,
)
