"""What workflows hand to the one notification activity (activities/notify.py).

A workflow names a *template* and, per recipient, the template's parameters (ids, counts,
dates: no names or e-mail addresses, which the activity looks up in identity at send time so
that none end up in workflow histories). Delivery is idempotent per workflow step: the
activity derives each recipient's delivery key from :attr:`NotifyRequest.key` (built by
:func:`step_key` from the workflow id and the step, never the run id), so a retried activity
or a workflow that continued-as-new never delivers twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOTIFY_ACTIVITY = "notify"
# The IM group robot channel (activities/im.py): which robots reach a step's recipients, and
# one post to one robot (its own activity, so its retries never resend the e-mail).
IM_TARGETS_ACTIVITY = "im_targets"
IM_ACTIVITY = "notify_im"
# The organisation's calendar and notification policy (quiet hours), read by workflows.
ORG_CALENDAR_ACTIVITY = "org_calendar"

# Channels of a NotifyRequest.
CHANNEL_INBOX = "inbox"
CHANNEL_EMAIL = "email"

# Templates (activities/messages.py renders them in zh-CN and en).
APPROVAL_REQUESTED = "approval.requested"
APPROVAL_REMINDER = "approval.reminder"
APPROVAL_ESCALATED = "approval.escalated"
APPROVAL_DECIDED = "approval.decided"
CYCLE_PLANNING_REMINDER = "cycle.planning_reminder"
CYCLE_CHECKIN_REMINDER = "cycle.checkin_reminder"
CYCLE_MANAGER_DIGEST = "cycle.manager_digest"
CYCLE_MIDPOINT = "cycle.midpoint"
CYCLE_SELF_SCORE = "cycle.self_score"
CYCLE_CLOSED = "cycle.closed"
KR_WARNING = "kr.warning"
KR_RECOVERED = "kr.recovered"
KR_SKIP_LEVEL = "kr.skip_level"
KR_HR = "kr.hr"
BLOCKER_RAISED = "blocker.raised"
COORDINATION_INVITED = "coordination.invited"
COORDINATION_REMINDER = "coordination.reminder"
# The 360 feedback round (workflows/feedback_round.py).
FEEDBACK_NOMINATE = "feedback_round.nominate"
FEEDBACK_NOMINATION_REMINDER = "feedback_round.nomination_reminder"
FEEDBACK_APPROVAL_NEEDED = "feedback_round.approval_needed"
FEEDBACK_APPROVAL_REMINDER = "feedback_round.approval_reminder"
FEEDBACK_INVITED = "feedback_round.invited"
FEEDBACK_RATER_REMINDER = "feedback_round.rater_reminder"
FEEDBACK_RESULTS_READY = "feedback_round.results_ready"
# Promotion review (promotion/<case>).
PROMOTION_INELIGIBLE = "promotion.ineligible"
PROMOTION_ENDORSE_NEEDED = "promotion.endorse_needed"
PROMOTION_PANEL_NEEDED = "promotion.panel_needed"
PROMOTION_SCORE_NEEDED = "promotion.score_needed"
PROMOTION_PANEL_OVERDUE = "promotion.panel_overdue"
PROMOTION_PUBLICITY_NOTICE = "promotion.publicity"
PROMOTION_OBJECTION = "promotion.objection"
PROMOTION_DECISION_NEEDED = "promotion.decision_needed"
PROMOTION_DECIDED = "promotion.decided"
PROMOTION_WITHDRAWN_NOTICE = "promotion.withdrawn"
# The month-end department brief (report/monthly/<yyyy-mm>), with the PDFs attached.
MONTHLY_BRIEF = "report.monthly_brief"

# Templates also posted to the IM group robots of the recipients' departments: the
# escalation's notices, which a team should see. Reminders and approvals are personal and
# stay in the inbox and e-mail, as do the skip-level and HR notices (kr.skip_level, kr.hr).
IM_TEMPLATES = frozenset({KR_WARNING, KR_RECOVERED})

TEMPLATES = frozenset(
    {
        APPROVAL_REQUESTED,
        APPROVAL_REMINDER,
        APPROVAL_ESCALATED,
        APPROVAL_DECIDED,
        CYCLE_PLANNING_REMINDER,
        CYCLE_CHECKIN_REMINDER,
        CYCLE_MANAGER_DIGEST,
        CYCLE_MIDPOINT,
        CYCLE_SELF_SCORE,
        CYCLE_CLOSED,
        KR_WARNING,
        KR_RECOVERED,
        KR_SKIP_LEVEL,
        KR_HR,
        BLOCKER_RAISED,
        COORDINATION_INVITED,
        COORDINATION_REMINDER,
        FEEDBACK_NOMINATE,
        FEEDBACK_NOMINATION_REMINDER,
        FEEDBACK_APPROVAL_NEEDED,
        FEEDBACK_APPROVAL_REMINDER,
        FEEDBACK_INVITED,
        FEEDBACK_RATER_REMINDER,
        FEEDBACK_RESULTS_READY,
        PROMOTION_INELIGIBLE,
        PROMOTION_ENDORSE_NEEDED,
        PROMOTION_PANEL_NEEDED,
        PROMOTION_SCORE_NEEDED,
        PROMOTION_PANEL_OVERDUE,
        PROMOTION_PUBLICITY_NOTICE,
        PROMOTION_OBJECTION,
        PROMOTION_DECISION_NEEDED,
        PROMOTION_DECIDED,
        PROMOTION_WITHDRAWN_NOTICE,
        MONTHLY_BRIEF,
    }
)


@dataclass
class Outgoing:
    recipient_id: str
    # Template parameters (ids, counts, ISO dates); no personal data.
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class BriefAttachment:
    """The stored month-end briefs (goals) of ``department_ids`` for ``month``, attached as
    PDFs to each e-mail in the recipient's language. Ids only: the activity loads them."""

    month: str
    department_ids: list[str] = field(default_factory=list)


@dataclass
class Invitation:
    """A meeting invitation sent as an ``.ics`` attachment (``METHOD:REQUEST``) with every
    e-mail of a notification. Ids only: the activity looks up the attendees' addresses."""

    # The iCalendar UID: stable per meeting, so a re-sent invitation updates one event.
    uid: str
    # RFC 3339 UTC start and the length in minutes.
    start_utc: str
    minutes: int
    # The event's title (ids only, e.g. "Coordination: key result <id>").
    summary: str
    attendee_ids: list[str] = field(default_factory=list)
    description: str = ""


@dataclass
class NotifyRequest:
    # The workflow step: "<workflow id>/<step>" (see step_key).
    key: str
    template: str
    messages: list[Outgoing] = field(default_factory=list)
    # A calendar invitation attached to each e-mail (None: plain notification).
    invitation: Invitation | None = None
    # Which of CHANNEL_INBOX, CHANNEL_EMAIL; empty: both (what older workflows sent).
    channels: list[str] = field(default_factory=list)
    # Month-end briefs attached to each e-mail as PDFs in the recipient's language.
    attachment: BriefAttachment | None = None


@dataclass
class NotifyResult:
    # Inbox items created now, and found from an earlier attempt.
    delivered: int = 0
    already_delivered: int = 0
    emailed: int = 0
    # Recipients without an e-mail address (or e-mail disabled): inbox only.
    inbox_only: int = 0
    # Recipients out of the pilot (their department does not have Stride enabled): nothing.
    out_of_pilot: int = 0


@dataclass
class ImTargetsInput:
    recipient_ids: list[str]


@dataclass
class ImTarget:
    """A robot that reaches some of a step's recipients (ids only: the webhook and secret
    stay in identity and are read by the posting activity)."""

    department_id: str
    # "dingtalk" | "wecom"
    kind: str
    # The first of the step's recipients in that department (whose template parameters,
    # without their personal role, make the group's text).
    recipient_id: str


@dataclass
class ImMessage:
    # "<step key>/im/<department>/<kind>": one post per step and robot.
    key: str
    template: str
    department_id: str
    kind: str
    recipient_id: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class ImResult:
    # False when the robot was removed meanwhile (nothing posted).
    posted: bool = False


@dataclass
class OrgCalendarInput:
    # ISO dates, inclusive; both empty: only the policy.
    from_date: str = ""
    to_date: str = ""


@dataclass
class OrgCalendarInfo:
    time_zone: str
    # "HH:MM" local; equal: no quiet hours.
    quiet_start: str
    quiet_end: str
    holidays: list[str] = field(default_factory=list)
    working_days: list[str] = field(default_factory=list)


def im_key(step: str, department_id: str, kind: str) -> str:
    """The key of one robot post of a step (logged with the post; one per step and robot)."""
    return f"{step}/im/{department_id}/{kind}"


def step_key(workflow_id: str, step: str) -> str:
    """The delivery key of one workflow step (independent of the run id)."""
    return f"{workflow_id}/{step}"


def delivery_key(step: str, recipient_id: str) -> str:
    """One recipient's delivery key within a step."""
    return f"{step}/{recipient_id}"
