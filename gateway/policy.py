"""Who may do what: the gateway's single policy module. Pure functions, no I/O.

Every route names one *action* (``"checkin.record"``); :data:`RULES` says who may perform it.
A rule grants *reaches* to roles:

- ``self``: the object belongs to the caller (its owner is the caller);
- ``direct_reports`` / ``transitive_reports``: its owner reports to the caller (directly /
  anywhere below them in the management chain);
- ``department``: it belongs to a department the caller heads, or one below it;
- ``member``: it belongs to the caller's own department (not those below it);
- ``all``: any object (HR, admin, executive for reads, API keys with the right scope).

Roles are the granted ``hr``, ``admin`` and ``executive`` plus three every person has:
``employee`` (reach ``self``), ``manager`` and ``department_head`` — the last two only reach
anything when the facts show reports or a headed department, so they need no flag.

The facts about an object (:class:`Facts`: owner, department, the owner's manager chain,
the department's heads upwards) are fetched from the services by :mod:`gateway.security`;
this module only decides. A denied read of an existing object answers 404 like a missing
object (no existence leak); a denied write to an object the caller may read answers 403.

Longer than ~400 lines on purpose: it is the one place that decides, so every rule of the API
is read and reviewed here together (docs/security.md is its prose).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

# -- who --------------------------------------------------------------------------------------

EMPLOYEE = "employee"
MANAGER = "manager"
DEPARTMENT_HEAD = "department_head"
HR = "hr"
ADMIN = "admin"
EXECUTIVE = "executive"
# Roles granted explicitly (identity's Employee.roles); "manager" is derived from reports.
GRANTED_ROLES = frozenset({HR, ADMIN, EXECUTIVE})
# Roles every signed-in person holds for the purpose of the rules (see the module doc).
_EVERY_PERSON = frozenset({EMPLOYEE, MANAGER, DEPARTMENT_HEAD})
# Holders of these roles can only have their password reset by an admin.
PRIVILEGED_ROLES = frozenset({HR, ADMIN})

# What an API key may be allowed to do (identity checks the same list:
# services/identity/credentials.py API_SCOPES; a unit test keeps them in step).
API_SCOPES = frozenset(
    {"telemetry:write", "goals:read", "goals:write", "org:read", "org:write", "audit:read"}
)
# A rule with this api_scope accepts any valid API key (e.g. "who am I").
ANY_KEY = "*"


@dataclass(frozen=True)
class Principal:
    """The caller: a person signed in with a token, or an integration's API key."""

    id: str  # employee id, or API key id
    kind: Literal["person", "api_key"] = "person"
    roles: frozenset[str] = frozenset()  # granted roles (+ "manager" when it has reports)
    scopes: frozenset[str] = frozenset()  # API keys only
    department_id: str = ""
    name: str = ""
    employee_number: str = ""
    # Signed in with a password that must be changed: only a few actions are allowed.
    must_change_password: bool = False
    # Signed in by employee number + PIN on a shared device: no credential changes.
    shared_device: bool = False

    @property
    def is_api_key(self) -> bool:
        return self.kind == "api_key"

    @property
    def actor(self) -> str:
        """The audit trail's name for the caller (``x-stride-actor``)."""
        return f"apikey:{self.id}" if self.is_api_key else self.id

    def has_role(self, role: str) -> bool:
        return not self.is_api_key and role in self.roles


# -- reach and relations ----------------------------------------------------------------------


class Reach(StrEnum):
    SELF = "self"
    DIRECT_REPORTS = "direct_reports"
    TRANSITIVE_REPORTS = "transitive_reports"
    DEPARTMENT = "department"
    # The object's department is the caller's own (a line's shared-device records).
    MEMBER = "member"
    # The caller is among the object's approvers (an approval's approver_ids).
    APPROVER = "approver"
    ALL = "all"


class Relation(StrEnum):
    """How the caller stands to an object."""

    OWNER = "owner"
    DIRECT_MANAGER = "direct_manager"
    INDIRECT_MANAGER = "indirect_manager"
    DEPARTMENT_HEAD = "department_head"
    MEMBER = "member"
    APPROVER = "approver"


_COVERS: dict[Reach, frozenset[Relation]] = {
    Reach.SELF: frozenset({Relation.OWNER}),
    Reach.DIRECT_REPORTS: frozenset({Relation.DIRECT_MANAGER}),
    Reach.TRANSITIVE_REPORTS: frozenset({Relation.DIRECT_MANAGER, Relation.INDIRECT_MANAGER}),
    Reach.DEPARTMENT: frozenset({Relation.DEPARTMENT_HEAD}),
    Reach.MEMBER: frozenset({Relation.MEMBER}),
    Reach.APPROVER: frozenset({Relation.APPROVER}),
    Reach.ALL: frozenset(Relation),
}


@dataclass(frozen=True)
class Facts:
    """What the services say about one object (or the object a request would create)."""

    owner_id: str = ""
    department_id: str = ""
    # The owner's managers, direct manager first (identity GetManagerChain).
    owner_managers: tuple[str, ...] = ()
    # Heads of the object's department and of every department above it.
    department_heads: tuple[str, ...] = ()
    # Who may decide it (approvals).
    approver_ids: tuple[str, ...] = ()
    # Readable by everyone in the organisation (a PUBLIC objective and its key results).
    public: bool = False


def relations(principal: Principal, facts: Facts) -> frozenset[Relation]:
    if principal.is_api_key:
        return frozenset()
    me = principal.id
    found: set[Relation] = set()
    if facts.owner_id and facts.owner_id == me:
        found.add(Relation.OWNER)
    if facts.owner_managers:
        if facts.owner_managers[0] == me:
            found.add(Relation.DIRECT_MANAGER)
        elif me in facts.owner_managers[1:]:
            found.add(Relation.INDIRECT_MANAGER)
    if me in facts.department_heads:
        found.add(Relation.DEPARTMENT_HEAD)
    if facts.department_id and facts.department_id == principal.department_id:
        found.add(Relation.MEMBER)
    if me in facts.approver_ids:
        found.add(Relation.APPROVER)
    return frozenset(found)


# -- rules ------------------------------------------------------------------------------------

# Objects whose facts decide a rule, and how "not found" reads for each (a hidden object
# answers exactly like a missing one).
NOT_FOUND: dict[str, tuple[str, str]] = {
    "objective": ("objective_not_found", "objective not found"),
    "key_result": ("key_result_not_found", "key result not found"),
    "employee": ("employee_not_found", "employee not found"),
    "department": ("department_not_found", "department not found"),
    "approval": ("approval_not_found", "approval not found"),
}


@dataclass(frozen=True)
class Rule:
    action: str
    summary: str
    # role → how far it reaches. Empty for public rules.
    grants: Mapping[str, Reach] = field(default_factory=dict)
    # The API-key scope that allows the action on every object (ANY_KEY: every key).
    api_scope: str | None = None
    public: bool = False
    # The kind of object whose facts decide (a key of NOT_FOUND); None: no object involved.
    resource: str | None = None
    # The rule for reading that object: a denied caller who may read it gets 403, else 404.
    # None when the object is not an existing one (a create from a request body): 403.
    read_action: str | None = None
    # Allowed to a person who must change their password first.
    while_password_change: bool = False
    # Refused to a session signed in by PIN on a shared device (credentials, API keys).
    personal_device_only: bool = False
    # Allowed to every signed-in person when the object is public (Facts.public).
    public_objects: bool = False
    # The (code, detail) of the 403 when the rule is not met: a rule checked inside a route
    # names itself, so the caller learns which rule refused (default: "forbidden").
    refusal: tuple[str, str] | None = None


_ORG_ADMINS = {HR: Reach.ALL, ADMIN: Reach.ALL}
_EVERYONE = {EMPLOYEE: Reach.ALL}
# Reading goals: own, reports' (transitive), headed departments', or all (HR/admin/exec).
_GOAL_READERS = {
    EMPLOYEE: Reach.SELF,
    MANAGER: Reach.TRANSITIVE_REPORTS,
    DEPARTMENT_HEAD: Reach.DEPARTMENT,
    HR: Reach.ALL,
    ADMIN: Reach.ALL,
    EXECUTIVE: Reach.ALL,
}
# Writing goals and check-ins: the owner (and admin, who may do everything).
_GOAL_WRITERS = {EMPLOYEE: Reach.SELF, ADMIN: Reach.ALL}


def _rules(*rules: Rule) -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for rule in rules:
        assert rule.action not in out, f"duplicate rule {rule.action}"
        out[rule.action] = rule
    for rule in out.values():
        assert rule.read_action is None or rule.read_action in out, rule.action
        assert rule.resource is None or rule.resource in NOT_FOUND, rule.action
        assert rule.public or rule.grants or rule.api_scope, rule.action
    return out


# -- goals: scores, plans, revisions, bulk check-ins, checklists, approvals ------------------------
# Scores: executives, HR and admin see a whole cycle; department heads filter by a department
# they head (or one below it); managers by a report; everyone else sees their own (the
# default without filters).
_DEPARTMENT_READERS = {
    DEPARTMENT_HEAD: Reach.DEPARTMENT,
    HR: Reach.ALL,
    ADMIN: Reach.ALL,
    EXECUTIVE: Reach.ALL,
}
_GOAL_RULES = (
    Rule(
        "cycle.scores",
        "Read a cycle's scores and alignment % (whole cycle: HR, admin, executive; a "
        "department: its heads; a person: themselves, their managers, heads; default: own)",
        _GOAL_READERS,
        api_scope="goals:read",
    ),
    Rule(
        "goals.of_person",
        "Filter goals or scores by a person: themselves, their managers, heads of their "
        "department, HR, admin, executive",
        _GOAL_READERS,
        api_scope="goals:read",
        resource="employee",
    ),
    Rule(
        "goals.of_department",
        "Filter goals or scores by a department: its heads (and heads above), HR, admin, executive",
        _DEPARTMENT_READERS,
        api_scope="goals:read",
        resource="department",
    ),
    Rule(
        "goals.export",
        "Export a cycle's objectives, key results, scores or check-ins as CSV or XLSX, "
        "audited (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "dashboard.organisation",
        "Read the organisation's dashboard of a cycle (HR, admin, executive)",
        {HR: Reach.ALL, ADMIN: Reach.ALL, EXECUTIVE: Reach.ALL},
        api_scope="goals:read",
    ),
    Rule(
        "dashboard.department",
        "Read a department's dashboard (with the departments below): its heads (and heads "
        "above), HR, admin, executive",
        _DEPARTMENT_READERS,
        api_scope="goals:read",
        resource="department",
    ),
    Rule(
        "dashboard.my_organisation",
        "Read the dashboard of one's own organisation (managers: their reports; department "
        "heads: their departments and those below; 404 no_organisation for anyone else)",
        {MANAGER: Reach.ALL, DEPARTMENT_HEAD: Reach.ALL},
    ),
    Rule(
        "cycle.participation",
        "Who has planned and checked in, per person (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "objective.update",
        "Change one's own draft objective",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="objective",
        read_action="objective.read",
    ),
    Rule(
        "objective.delete",
        "Delete one's own draft objective with its key results",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="objective",
        read_action="objective.read",
    ),
    Rule(
        "objective.copy",
        "Copy one's own objectives of a cycle into another as drafts (admin: anyone's)",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="employee",
    ),
    Rule(
        "plan.submit",
        "Submit one's own draft objectives for approval (admin: anyone's)",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="employee",
    ),
    Rule(
        "key_result.list",
        "List key results (one's own by default; others' as far as goals.of_person allows)",
        _GOAL_READERS,
        api_scope="goals:read",
    ),
    Rule(
        "key_result.update",
        "Change one's own key result of a draft objective",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="key_result",
        read_action="key_result.read",
    ),
    Rule(
        "key_result.weights",
        "Re-balance the key-result weights of one's own objective",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="objective",
        read_action="objective.read",
    ),
    Rule(
        "key_result.self_score",
        "Self-score one's own key result (closing phase)",
        {EMPLOYEE: Reach.SELF, ADMIN: Reach.ALL},
        resource="key_result",
        read_action="key_result.read",
    ),
    Rule(
        "checkin.bulk",
        "Check in on several of one's own key results at once (admin: anyone's)",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="employee",
    ),
    Rule(
        "checkin.history",
        "Read every version of a key result's check-ins",
        _GOAL_READERS,
        api_scope="goals:read",
        resource="key_result",
        read_action="key_result.read",
        public_objects=True,
    ),
    Rule(
        "checklist.read",
        "Read a department's check-in checklist",
        _EVERYONE,
        api_scope="goals:read",
    ),
    Rule(
        "checklist.update",
        "Set a department's check-in checklist: its heads (and heads above), HR, admin",
        {DEPARTMENT_HEAD: Reach.DEPARTMENT, HR: Reach.ALL, ADMIN: Reach.ALL},
        api_scope="goals:write",
        resource="department",
        read_action="checklist.read",
    ),
    # A line's daily inspection is recorded by the people of that line (the shared device's
    # PIN session); not by its heads above, HR or API keys (machines post samples directly):
    # a record of an inspection nobody on the line made would be made up. Admin may do
    # everything, as everywhere (trying a line's set-up out).
    Rule(
        "inspection.submit",
        "Record the daily inspection of one's own department (line): its members (admin)",
        {EMPLOYEE: Reach.MEMBER, ADMIN: Reach.ALL},
        resource="department",
        read_action="department.read",
        refusal=("not_a_member", "Only the people of this line may record its inspection."),
    ),
    Rule(
        "revision.request",
        "Ask to change the target of one's own approved key result",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="key_result",
        read_action="key_result.read",
    ),
    Rule(
        "revision.list",
        "Read a key result's target revisions",
        _GOAL_READERS,
        api_scope="goals:read",
        resource="key_result",
        read_action="key_result.read",
    ),
    Rule(
        "approval.list",
        "List approvals: one's own to decide (default) or one's own submitted; HR, admin: all",
        {EMPLOYEE: Reach.SELF, HR: Reach.ALL, ADMIN: Reach.ALL},
        api_scope="goals:read",
    ),
    Rule(
        "approval.read",
        "Read an approval: its approvers, the employee whose goals it is about, HR, admin",
        {EMPLOYEE: Reach.SELF, MANAGER: Reach.APPROVER, HR: Reach.ALL, ADMIN: Reach.ALL},
        api_scope="goals:read",
        resource="approval",
        read_action="approval.read",
    ),
)
# Giving a goal to someone else (a key result owned by another person than the objective's
# owner, or one handed over by its owner). Cross-department objectives without an admin: the
# general manager's objective "On-time delivery" has key results owned in PMC, purchasing,
# quality and engineering, all of them people who report to the general manager through their
# department heads. One may give goals only down one's own reporting line (people who report
# to the caller, directly or through their managers; so also anyone whose manager does):
# never to a peer, one's own manager or a stranger in another department, whom only an admin
# (or an integration with goals:write) may commit. Department heads get no more than their
# line: heading a department is not managing its people.
# The rule of every web page (see RULES).
WEB_PAGE = "web.page"

REPORTING_LINE = Rule(
    "key_result.assign",
    "Give a key result to someone else: a person who reports to the caller, directly or "
    "through their managers (the reporting line); admin: anyone",
    {MANAGER: Reach.TRANSITIVE_REPORTS, ADMIN: Reach.ALL},
    api_scope="goals:write",
    resource="employee",
    refusal=(
        "outside_reporting_line",
        "Rule key_result.assign: a key result may be given only to someone in your reporting "
        "line (who reports to you, directly or through their managers); ask their manager or "
        "an admin.",
    ),
)
# Rules no route declares as its own: routes check them on what a filter names.
FILTER_RULES = frozenset({"goals.of_person", "goals.of_department"})
# Rules no route declares as its own: routes check them on what a filter or a body names.
NESTED_RULES = FILTER_RULES | {REPORTING_LINE.action}
# -- end of goals ----------------------------------------------------------------------------------

# -- feedback: continuous feedback, praise, upward feedback, goal challenges ----------------------
# People only (no API key reads or writes anyone's feedback). The routes let every signed-in
# person through to the feedback service, which decides on each item it reads: private
# feedback for its author, the person it is about and (when shared) their manager; praise
# for the department; anonymous upward feedback only as an aggregate to the manager; a
# challenge for its challenger, the objective's owner and the owner's managers. An item the
# caller may not read answers 404 like a missing one (docs/feedback.md).
_FEEDBACK_RULES = (
    Rule(
        "feedback.give",
        "Give feedback or praise about a person, objective or key result",
        _EVERYONE,
    ),
    Rule(
        "feedback.list",
        "List feedback about oneself, given by oneself, or shared with one as the manager",
        _EVERYONE,
    ),
    Rule(
        "feedback.read",
        "Read one piece of feedback: its author, the person it is about, their manager when "
        "shared; praise: the department and heads above, HR, admin, executive (others: 404)",
        _EVERYONE,
    ),
    Rule(
        "feedback.request",
        "Ask a colleague for feedback about oneself or one's goals",
        _EVERYONE,
    ),
    Rule(
        "feedback.request.list",
        "List the requests for feedback one was asked or made",
        _EVERYONE,
    ),
    Rule("feedback.request.decline", "Decline a request for feedback one was asked", _EVERYONE),
    Rule(
        "praise.list",
        "List the praise one may see (one's department and the ones one heads; HR, admin, "
        "executive: all)",
        _EVERYONE,
    ),
    Rule("badge.read", "Read the recognition badges", _EVERYONE),
    Rule("badge.update", "Create or change a recognition badge", _ORG_ADMINS),
    Rule(
        "upward_feedback.give",
        "Give feedback to one's own manager, optionally anonymous",
        _EVERYONE,
    ),
    Rule(
        "upward_feedback.read",
        "Read the upward feedback written to oneself as a manager (anonymous: aggregate only)",
        _EVERYONE,
    ),
    Rule(
        "challenge.raise",
        "Challenge an objective one may read",
        _GOAL_READERS,
        resource="objective",
        read_action="objective.read",
        public_objects=True,
    ),
    Rule(
        "objective.challenges",
        "List an objective's challenges (each as far as the caller may read it)",
        _GOAL_READERS,
        resource="objective",
        read_action="objective.read",
        public_objects=True,
    ),
    Rule(
        "challenge.list",
        "List the challenges one raised or must answer, or those of one's reports",
        _EVERYONE,
    ),
    Rule(
        "challenge.read",
        "Read a challenge: its challenger, the objective's owner and their managers, HR, "
        "admin, executive (others: 404)",
        _EVERYONE,
    ),
    Rule("challenge.answer", "Answer a challenge of one's own objective (closes it)", _EVERYONE),
    Rule("challenge.resolve", "Mark a challenge of one's own objective resolved", _EVERYONE),
    Rule(
        "feedback.frequency",
        "Feedback given per department and week: HR, admin, executive; heads for the "
        "departments they head",
        _DEPARTMENT_READERS,
        resource="department",
        read_action="department.read",
    ),
    Rule("feedback_settings.read", "Read the feedback settings (anonymity threshold)", _EVERYONE),
    Rule(
        "feedback_settings.update",
        "Change the anonymity threshold (never below 3)",
        _ORG_ADMINS,
    ),
)
# -- end of feedback -------------------------------------------------------------------------------

# -- 360 feedback rounds ---------------------------------------------------------------------------
# Templates and starting rounds: HR (and admin, who may do everything at this gate). The rest
# is open to every signed-in person at the gate, and the feedback service decides on the round
# itself, where its data is read: GetRound answers its subject, manager, HR and
# raters (anyone else: 404); only the subject nominates; only an invited rater answers; results
# go to the subject, their manager and HR only, as the anonymity rules release them (admins
# included in "nobody else": the gate is not where anonymity is decided). No API key.
_FEEDBACK_ROUND_RULES = (
    Rule("feedback_template.read", "Read 360 question templates (HR, admin)", _ORG_ADMINS),
    Rule(
        "feedback_template.write",
        "Create, change or archive a 360 question template (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "feedback_round.start",
        "Start 360 rounds for a department or the whole organisation (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "feedback_round.read",
        "Read a 360 round: its subject, their manager, HR, its raters (the service decides)",
        _EVERYONE,
    ),
    Rule(
        "feedback_round.nominate",
        "Nominate peers and reports for one's own 360 round (the service checks the subject)",
        _EVERYONE,
    ),
    Rule(
        "feedback_round.answer",
        "Answer a 360 round one is invited to rate in (the service checks the rater)",
        _EVERYONE,
    ),
    Rule(
        "feedback_round.results",
        "Read a closed 360 round's released results: its subject, their manager, HR (the "
        "service decides; never a rater of an anonymous answer)",
        _EVERYONE,
    ),
    Rule("feedback_round.mine", "List the 360 rounds one is invited to rate in", _EVERYONE),
)

# -- talent: high-potential suggestions and managers' dimensions (docs/talent.md) ----------------
# Suggestions are HR's (and admin's, who may do everything at this gate; not executives: a
# talent review is HR's process). A manager's dimensions: the manager themselves, the heads of
# their department (and above), HR, admin.
_TALENT_RULES = (
    Rule(
        "talent.suggestions.compute",
        "Compute a cycle's high-potential suggestions (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "talent.suggestions.list",
        "List a cycle's high-potential suggestions (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "talent.suggestion.confirm",
        "Confirm a high-potential suggestion, with a reason (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "talent.suggestion.dismiss",
        "Dismiss a high-potential suggestion, with a reason (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "talent.manager_dimensions",
        "Read a manager's goal challenge and progress transparency: the manager, heads of "
        "their department, HR, admin",
        {MANAGER: Reach.SELF, DEPARTMENT_HEAD: Reach.DEPARTMENT, HR: Reach.ALL, ADMIN: Reach.ALL},
        resource="employee",
        read_action="employee.read",
    ),
)

# -- promotion reviews -----------------------------------------------------------------------------
# Applying, reading and most steps are open to every signed-in person at the gate: the feedback
# service decides who reads a case (HR, the candidate, the applicant, the manager, the panel;
# others 404) and who may apply (the candidate or their direct manager), and the workflow's
# Update validators decide who takes each step (the manager endorses, a non-conflicted panel
# member scores, the candidate or applicant withdraws, anyone but the candidate objects).
# Naming the panel, resolving objections, deciding and the eligibility rules: HR (and admin).
# No API key.
_PROMOTION_RULES = (
    Rule(
        "promotion.apply",
        "Apply for a promotion: for oneself, or for a direct report (the service checks)",
        _EVERYONE,
    ),
    Rule(
        "promotion.read",
        "Read promotion cases: HR all; the candidate, applicant, manager, panel theirs",
        _EVERYONE,
    ),
    Rule(
        "promotion.endorse",
        "Endorse or decline a promotion application: the candidate's manager (the workflow checks)",
        _EVERYONE,
    ),
    Rule("promotion.panel", "Name a promotion case's panel (HR, admin)", _ORG_ADMINS),
    Rule(
        "promotion.score",
        "Score a promotion case one is on the panel of, once, without a conflict of interest",
        _EVERYONE,
    ),
    Rule(
        "promotion.object",
        "Object to a promotion during its publicity period: any employee but the candidate",
        _EVERYONE,
    ),
    Rule(
        "promotion.resolve",
        "Resolve an objection to a promotion: dismiss, or uphold (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule("promotion.decide", "Approve or reject a promotion (HR, admin)", _ORG_ADMINS),
    Rule(
        "promotion.withdraw",
        "Withdraw a promotion case: its candidate or applicant (the workflow checks)",
        _EVERYONE,
    ),
    Rule("promotion_rules.read", "Read the promotion eligibility rules (HR, admin)", _ORG_ADMINS),
    Rule(
        "promotion_rules.write",
        "Save a new version of the promotion eligibility rules (HR, admin)",
        _ORG_ADMINS,
    ),
)

# -- performance archive and calibration -------------------------------------------------------
# Reads are open to every signed-in person at the gate; the feedback service decides on the
# record itself: the employee, the managers in their reporting line and HR/admin (anyone else:
# 404). Only the employee self-assesses, only the direct manager rates (the service checks).
# Archiving by hand, exporting and calibrating: HR (and admin). No API key.
_ARCHIVE_RULES = (
    Rule("archive.mine", "Read one's own performance archive and its trend", _EVERYONE),
    Rule(
        "archive.read",
        "Read an employee's performance archive: themselves, their reporting line, HR (the "
        "service decides)",
        _EVERYONE,
    ),
    Rule("archive.self_assessment", "Rate oneself for a cycle, with a comment", _EVERYONE),
    Rule(
        "archive.manager_rating",
        "Rate a direct report for a cycle, with a comment (the service checks the manager)",
        _EVERYONE,
    ),
    Rule("archive.run", "Archive a cycle by hand (HR, admin)", _ORG_ADMINS),
    Rule("archive.export", "Export the archive as CSV or XLSX, audited (HR, admin)", _ORG_ADMINS),
    Rule("calibration.read", "Read calibration sessions (HR, admin)", _ORG_ADMINS),
    Rule(
        "calibration.write",
        "Open a calibration session, set its guidance, change a final rating or potential "
        "with a reason (HR, admin)",
        _ORG_ADMINS,
    ),
)

# -- telemetry: samples, metrics, bindings, windows, dead letters (docs/telemetry.md) -----------
# Samples come from machines and systems: an API key with telemetry:write posts them (devices
# publish to NATS instead); of the people, only an admin (who may do everything: trying a
# binding out by hand). Metrics and bindings decide what moves a key
# result, so HR and admin define them (no API key: an integration does not decide which number
# a person's goal shows). A binding is read by whoever may read its key result (the owner,
# their managers, heads of the department, HR, admin, executive; goals:read keys); the route
# checks key_result.read on the binding's key result and answers binding_not_found otherwise.
# Windows and dead letters are for operating the pipeline: HR and admin.
_TELEMETRY_RULES = (
    Rule(
        "telemetry.ingest",
        "Post a batch of samples (API keys with telemetry:write; admin)",
        {ADMIN: Reach.ALL},
        api_scope="telemetry:write",
    ),
    Rule("telemetry_metric.define", "Define a metric (HR, admin)", _ORG_ADMINS),
    Rule("telemetry_metric.read", "Read the defined metrics", _ORG_ADMINS, api_scope="goals:read"),
    Rule(
        "telemetry_binding.write",
        "Bind a metric to a key result, or remove the binding (HR, admin)",
        _ORG_ADMINS,
    ),
    Rule(
        "telemetry_binding.read",
        "Read bindings: of a key result one may read; every binding: HR, admin, executive",
        _GOAL_READERS,
        api_scope="goals:read",
    ),
    Rule("telemetry_window.read", "Compute a window's aggregate now (HR, admin)", _ORG_ADMINS),
    Rule(
        "telemetry_dead_letter.read",
        "Read dead-lettered samples and their counts by reason (HR, admin)",
        _ORG_ADMINS,
    ),
)

RULES: dict[str, Rule] = _rules(
    # public
    Rule("health", "Liveness and readiness probes", public=True),
    Rule("auth.login", "Sign in with a password", public=True),
    Rule("auth.refresh", "Swap a refresh token for new tokens", public=True),
    Rule("auth.pin_login", "Sign in on a shared device by employee number + PIN", public=True),
    # The web app's pages (gateway/web): outside the API and its OpenAPI document. A page
    # decides nothing itself: it calls the API in process with the signed-in person's token,
    # so every answer it shows passed that API route's own rule.
    Rule(
        WEB_PAGE, "A page of the web app (its data comes from the API, as its viewer)", public=True
    ),
    # one's own session
    Rule("auth.me", "Who am I", _EVERYONE, api_scope=ANY_KEY, while_password_change=True),
    Rule(
        "auth.password",
        "Change one's own password",
        _EVERYONE,
        while_password_change=True,
        personal_device_only=True,
    ),
    Rule("auth.logout", "End one's session", _EVERYONE, while_password_change=True),
    Rule(
        "me.pin",
        "Set one's own PIN for shared devices (with one's password)",
        _EVERYONE,
        personal_device_only=True,
    ),
    Rule("me.preferences", "Set one's own preferences (the language of one's e-mail)", _EVERYONE),
    # people and credentials
    Rule(
        "employee.password_reset",
        "Reset a person's password (HR, admin; only admins reset HR/admin accounts)",
        _ORG_ADMINS,
        resource="employee",
        read_action="employee.read",
        personal_device_only=True,
    ),
    Rule(
        "employee.pin_reset",
        "Remove a person's PIN (HR, admin; only admins for HR/admin accounts)",
        _ORG_ADMINS,
        resource="employee",
        read_action="employee.read",
        personal_device_only=True,
    ),
    Rule("api_key.create", "Create an API key", {ADMIN: Reach.ALL}, personal_device_only=True),
    Rule("api_key.list", "List API keys", {ADMIN: Reach.ALL}),
    Rule("api_key.revoke", "Revoke an API key", {ADMIN: Reach.ALL}, personal_device_only=True),
    Rule("audit.list", "Query the audit trail", _ORG_ADMINS, api_scope="audit:read"),
    Rule("audit.verify", "Verify the audit hash chain", _ORG_ADMINS, api_scope="audit:read"),
    # org sync, invitations, audit export
    Rule("org_sync.start", "Run an org sync now", _ORG_ADMINS, api_scope="org:write"),
    Rule(
        "org_sync.upload",
        "Upload an org file (CSV/XLSX) for a file sync",
        _ORG_ADMINS,
        api_scope="org:write",
    ),
    Rule("org_sync.read", "Read org sync runs and reports", _ORG_ADMINS, api_scope="org:read"),
    Rule(
        "org.invite",
        "Start a background job issuing one-time initial passwords (HR, admin; HR/admin "
        "accounts: admin)",
        _ORG_ADMINS,
    ),
    # People only; identity shows a job to the person who started it alone (others: 404).
    Rule("org.invitation_job.read", "Follow one's own invitation job", _ORG_ADMINS),
    Rule(
        "org.invitation_slips",
        "Download the slips of one's own finished invitation job (once)",
        _ORG_ADMINS,
    ),
    Rule("audit.export", "Export the audit trail (CSV, XLSX)", _ORG_ADMINS, api_scope="audit:read"),
    # organisation
    Rule("department.read", "Read departments", _EVERYONE, api_scope="org:read"),
    Rule("department.create", "Create a department", _ORG_ADMINS, api_scope="org:write"),
    Rule("department.update", "Change a department", _ORG_ADMINS, api_scope="org:write"),
    # notification channels and the org calendar (people only: robot secrets are not for keys)
    Rule("department_robot.read", "See a department's IM group robots (no secrets)", _ORG_ADMINS),
    Rule("department_robot.update", "Set a department's IM group robot", _ORG_ADMINS),
    Rule("department_robot.delete", "Remove a department's IM group robot", _ORG_ADMINS),
    Rule(
        "org_calendar.read",
        "Read the organisation's holidays and adjusted working days",
        _EVERYONE,
        api_scope="org:read",
    ),
    Rule("org_calendar.update", "Set a year's holidays and adjusted working days", _ORG_ADMINS),
    Rule(
        "notification_policy.read",
        "Read the time zone and quiet hours of notifications",
        _EVERYONE,
        api_scope="org:read",
    ),
    Rule("notification_policy.update", "Set the time zone and quiet hours", _ORG_ADMINS),
    Rule(
        "training_course.read",
        "Read HR's training course catalogue",
        _EVERYONE,
        api_scope="org:read",
    ),
    Rule("training_course.update", "Replace HR's training course catalogue", _ORG_ADMINS),
    Rule("employee.read", "Read the employee directory", _EVERYONE, api_scope="org:read"),
    Rule(
        "employee.create",
        "Create an employee (granting admin: admins only)",
        _ORG_ADMINS,
        api_scope="org:write",
    ),
    Rule(
        "employee.update",
        "Change an employee (admins' records and the admin role: admins only)",
        _ORG_ADMINS,
        api_scope="org:write",
        resource="employee",
        read_action="employee.read",
    ),
    # goals
    Rule("cycle.read", "Read OKR cycles", _EVERYONE, api_scope="goals:read"),
    Rule("cycle.create", "Create an OKR cycle", _ORG_ADMINS),
    Rule("cycle.close", "Close an OKR cycle", _ORG_ADMINS),
    Rule(
        "risk_rules.read",
        "Read the risk rules (in force and earlier versions)",
        _EVERYONE,
        api_scope="goals:read",
    ),
    Rule("risk_rules.update", "Put a new version of the risk rules in force", _ORG_ADMINS),
    Rule(
        "checkin.import",
        "Import check-ins of a cycle from a CSV/XLSX file (backfilling past weeks)",
        _ORG_ADMINS,
    ),
    Rule(
        "objective.list",
        "List objectives (filtered to the ones the caller may read)",
        _GOAL_READERS,
        api_scope="goals:read",
    ),
    Rule(
        "objective.read",
        "Read an objective and its key results",
        _GOAL_READERS,
        api_scope="goals:read",
        resource="objective",
        read_action="objective.read",
        public_objects=True,
    ),
    Rule(
        "objective.create",
        "Create an objective owned by oneself (admin: for anyone)",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="objective",
    ),
    Rule(
        "key_result.create",
        "Add a key result to one's own objective, owned by oneself (or, under "
        "key_result.assign, by someone in one's reporting line)",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="objective",
        read_action="objective.read",
    ),
    Rule(
        "key_result.read",
        "Read a key result",
        _GOAL_READERS,
        api_scope="goals:read",
        resource="key_result",
        read_action="key_result.read",
        public_objects=True,
    ),
    Rule(
        "checkin.list",
        "Read a key result's check-ins",
        _GOAL_READERS,
        api_scope="goals:read",
        resource="key_result",
        read_action="key_result.read",
        public_objects=True,
    ),
    Rule(
        "checkin.record",
        "Record the weekly check-in of one's own key result",
        _GOAL_WRITERS,
        api_scope="goals:write",
        resource="key_result",
        read_action="key_result.read",
    ),
    Rule(
        "escalation.read",
        "Read a key result's escalation state",
        _GOAL_READERS,
        api_scope="goals:read",
        resource="key_result",
        read_action="key_result.read",
    ),
    *_GOAL_RULES,
    REPORTING_LINE,
    *_FEEDBACK_ROUND_RULES,
    *_TALENT_RULES,
    *_ARCHIVE_RULES,
    # month-end department briefs (report/monthly/<yyyy-mm>)
    Rule(
        "report.list",
        "List a month's department briefs: HR, admin, executives; a department head, the "
        "departments they head and those below",
        _DEPARTMENT_READERS,
        api_scope="goals:read",
    ),
    Rule(
        "report.read",
        "Download a department's month-end brief (PDF, HTML): its heads (and heads above), HR, "
        "admin, executives",
        _DEPARTMENT_READERS,
        api_scope="goals:read",
        resource="department",
        read_action="department.read",
    ),
    Rule("report.run", "Brief a month now (HR, admin)", _ORG_ADMINS),
    # blockers addressed to a department, and the coordination meetings they call
    Rule(
        "blocker.list",
        "List the blockers addressed to a department: its heads (and heads above), HR, admin",
        {DEPARTMENT_HEAD: Reach.DEPARTMENT, HR: Reach.ALL, ADMIN: Reach.ALL},
        api_scope="goals:read",
        resource="department",
        read_action="department.read",
    ),
    Rule(
        "blocker.resolve",
        "Mark a blocker addressed to a department resolved: its heads (and heads above), HR, admin",
        {DEPARTMENT_HEAD: Reach.DEPARTMENT, HR: Reach.ALL, ADMIN: Reach.ALL},
        api_scope="goals:write",
        resource="department",
        read_action="department.read",
    ),
    # People only; the route lets through the coordination's participants (owner, manager,
    # blocking department's head), HR and admin (check_coordination_participant).
    Rule(
        "coordination.read",
        "Read a red key result's coordination meeting: its participants, HR, admin",
        _EVERYONE,
    ),
    Rule(
        "coordination.outcome",
        "Record a coordination meeting's outcome and follow-up date: its participants, HR, admin",
        _EVERYONE,
    ),
    # workflows: one's inbox, approval decisions
    # One's own in-app inbox: people only (no API key reads anyone's notifications).
    Rule("inbox.read", "Read one's own in-app inbox", _EVERYONE),
    Rule("inbox.mark_read", "Mark one of one's own inbox items read", _EVERYONE),
    # The approval's current approvers, or HR (and admin, who may do everything) as an
    # override. Others who may read it: 403; those who may not: 404 like a missing approval.
    # The approval workflow's Update validator checks again on its own state.
    Rule(
        "approval.decide",
        "Approve or reject an approval one is an approver of (HR, admin: any, as an override)",
        {MANAGER: Reach.APPROVER, HR: Reach.ALL, ADMIN: Reach.ALL},
        resource="approval",
        read_action="approval.read",
    ),
    *_FEEDBACK_RULES,
    *_PROMOTION_RULES,
    *_TELEMETRY_RULES,
    # People only; the route lets through the round's manager and HR, never its subject
    # (feedback-round/<cycle>/<subject>'s Update validator checks again).
    Rule(
        "feedback_round.approve",
        "Approve a 360 round's rater list: the subject's manager, HR (never the subject)",
        _EVERYONE,
    ),
)


def rule(action: str) -> Rule:
    """The rule of ``action``; a KeyError names an action nobody declared (a programming error)."""
    return RULES[action]


# -- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # When denied: 401 (not signed in), 403 (forbidden) or 404 (hidden object).
    status: int = 200
    code: str = ""
    detail: str = ""


ALLOW = Decision(True)


def _forbidden(code: str, detail: str) -> Decision:
    return Decision(False, 403, code, detail)


def roles_of(principal: Principal) -> frozenset[str]:
    """The roles the rules see for a person (granted ones plus the three everybody holds)."""
    if principal.is_api_key:
        return frozenset()
    return _EVERY_PERSON | (principal.roles & GRANTED_ROLES)


def reaches(principal: Principal, action: str) -> frozenset[Reach]:
    """How far the caller reaches for ``action`` (API keys: all, when the scope allows it)."""
    r = rule(action)
    if principal.is_api_key:
        ok = r.api_scope is not None and (r.api_scope == ANY_KEY or r.api_scope in principal.scopes)
        return frozenset({Reach.ALL}) if ok else frozenset()
    return frozenset(reach for role, reach in r.grants.items() if role in roles_of(principal))


def needed_facts(principal: Principal, action: str) -> frozenset[Reach]:
    """The reaches whose facts the decision on ``action`` (and, when denied, on its read rule
    for 403-vs-404) may look at; empty when it does not depend on the object at all."""
    out: set[Reach] = set()
    for name in {action, rule(action).read_action} - {None}:
        assert name is not None
        r = rule(name)
        granted = reaches(principal, name)
        if r.resource is None or Reach.ALL in granted:
            continue
        out |= granted
    return frozenset(out)


def _covered(granted: Iterable[Reach], found: frozenset[Relation]) -> bool:
    return any(_COVERS[reach] & found for reach in granted)


def precheck(principal: Principal | None, action: str) -> Decision:
    """The part of a decision that does not depend on any object: signed in at all, no
    pending password change, and for API keys the scope."""
    r = rule(action)
    if r.public:
        return ALLOW
    if principal is None:
        return Decision(False, 401, "unauthenticated", "Sign in (Bearer token or API key).")
    if principal.must_change_password and not r.while_password_change:
        return _forbidden(
            "password_change_required", "Change your password first (POST /api/v1/auth/password)."
        )
    if principal.shared_device and r.personal_device_only:
        return _forbidden(
            "shared_device_session",
            "Not on a shared device: sign in with your password on your own device.",
        )
    if principal.is_api_key and not reaches(principal, action):
        needed = r.api_scope if r.api_scope not in (None, ANY_KEY) else None
        return _forbidden(
            "insufficient_scope",
            f"This API key lacks the scope {needed}." if needed else "API keys may not do this.",
        )
    return ALLOW


def decide(principal: Principal | None, action: str, facts: Facts | None = None) -> Decision:
    """May ``principal`` perform ``action`` (on the object ``facts`` describe)?"""
    first = precheck(principal, action)
    r = rule(action)
    if not first.allowed or r.public:
        return first
    assert principal is not None
    granted = reaches(principal, action)
    if Reach.ALL in granted:
        return ALLOW
    if r.public_objects and granted and facts is not None and facts.public:
        return ALLOW
    if r.resource is None:
        # No object involved: a reach short of "all" only narrows what lists show.
        return ALLOW if granted else _forbidden("forbidden", "You may not do this.")
    if _covered(granted, relations(principal, facts or Facts())):
        return ALLOW
    if r.read_action == action:
        return _hidden(r.resource)
    if r.read_action is not None and not decide(principal, r.read_action, facts).allowed:
        return _hidden(r.resource)
    if r.refusal is not None:
        return _forbidden(*r.refusal)
    return _forbidden("forbidden", "You may not do this to that object.")


def _hidden(resource: str) -> Decision:
    code, detail = NOT_FOUND[resource]
    return Decision(False, 404, code, detail)


# -- lists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """Which objects a list shows the caller: everything, or the union of the parts below."""

    everything: bool = False
    own: bool = False
    reports: Reach | None = None  # DIRECT_REPORTS or TRANSITIVE_REPORTS
    headed_departments: bool = False


def visibility(principal: Principal, action: str) -> Visibility:
    """What a list governed by ``action`` shows ``principal`` (call after :func:`decide`)."""
    granted = reaches(principal, action)
    if Reach.ALL in granted:
        return Visibility(everything=True)
    reports = None
    if Reach.TRANSITIVE_REPORTS in granted:
        reports = Reach.TRANSITIVE_REPORTS
    elif Reach.DIRECT_REPORTS in granted:
        reports = Reach.DIRECT_REPORTS
    return Visibility(
        own=Reach.SELF in granted,
        reports=reports,
        headed_departments=Reach.DEPARTMENT in granted,
    )


def department_subtree(
    departments: Mapping[str, str], heads: Mapping[str, str], person: str
) -> frozenset[str]:
    """Departments ``person`` heads and every department below them.

    ``departments``: department id → parent id ("" at the top); ``heads``: id → head id.
    """
    children: dict[str, list[str]] = {}
    for dep, parent in departments.items():
        children.setdefault(parent, []).append(dep)
    found: set[str] = set()
    todo = [dep for dep, head in heads.items() if head and head == person]
    while todo:
        dep = todo.pop()
        if dep in found:
            continue
        found.add(dep)
        todo.extend(children.get(dep, ()))
    return frozenset(found)


# -- privileged people ------------------------------------------------------------------------


def check_password_reset(principal: Principal, target_roles: Iterable[str]) -> Decision:
    """HR may reset passwords, but only an admin resets an HR or admin account's."""
    if PRIVILEGED_ROLES & set(target_roles) and not principal.has_role(ADMIN):
        return _forbidden("admin_required", "Only an admin may reset an HR or admin password.")
    return ALLOW


def check_pin_reset(principal: Principal, target_roles: Iterable[str]) -> Decision:
    """HR may remove PINs, but only an admin removes an HR or admin account's."""
    if PRIVILEGED_ROLES & set(target_roles) and not principal.has_role(ADMIN):
        return _forbidden("admin_required", "Only an admin may reset an HR or admin PIN.")
    return ALLOW


def check_coordination_participant(principal: Principal, participants: Iterable[str]) -> Decision:
    """A coordination meeting is read and its outcome recorded by the people invited to it
    (the owner, the owner's manager, the blocking department's head), HR and admin."""
    if principal.has_role(HR) or principal.has_role(ADMIN) or principal.id in set(participants):
        return ALLOW
    return _forbidden(
        "not_a_participant",
        "Only the people invited to this coordination meeting, HR or an admin may do this.",
    )


def check_employee_change(
    principal: Principal, current_roles: Iterable[str], new_roles: Iterable[str] | None
) -> Decision:
    """Admins' records, and granting or removing the admin role, are for admins only.

    ``current_roles``: the employee's roles now (empty for a new employee); ``new_roles``:
    the roles the request sets (None: unchanged).
    """
    current = set(current_roles)
    touches_admin = ADMIN in current or (new_roles is not None and ADMIN in set(new_roles))
    if touches_admin and not principal.has_role(ADMIN):
        return _forbidden("admin_required", "Only an admin may change admins or grant admin.")
    return ALLOW
