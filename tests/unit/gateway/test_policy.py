"""gateway/policy.py: pure decisions from the caller, the action and the object's facts."""

from __future__ import annotations

import pytest

from gateway import policy
from gateway.policy import Decision, Facts, Principal, Reach, Relation, decide
from services.identity.credentials import API_SCOPES

EMP = Principal(id="e1", department_id="ops")
BOSS = Principal(id="m1", roles=frozenset({"manager"}))
SKIP = Principal(id="top")
HEAD = Principal(id="h1")
HR = Principal(id="hr1", roles=frozenset({"hr"}))
ADMIN = Principal(id="a1", roles=frozenset({"admin"}))
EXEC = Principal(id="x1", roles=frozenset({"executive"}))
KEY_READ = Principal(id="k1", kind="api_key", scopes=frozenset({"goals:read"}))
KEY_TELEMETRY = Principal(id="k2", kind="api_key", scopes=frozenset({"telemetry:write"}))

# e1's key result: e1 reports to m1, who reports to top; department ops (under plant, headed
# by h1).
OWN = Facts(owner_id="e1", department_id="ops", owner_managers=("m1", "top"))
OWN_WITH_HEAD = Facts(
    owner_id="e1", department_id="ops", owner_managers=("m1", "top"), department_heads=("h1",)
)
ELSEWHERE = Facts(owner_id="z9", department_id="sales", owner_managers=("z8",))


def outcome(d: Decision) -> str:
    return "allow" if d.allowed else f"{d.status} {d.code}"


def test_relations() -> None:
    # e1 is in ops too: a member of the object's department.
    assert policy.relations(EMP, OWN) == {Relation.OWNER, Relation.MEMBER}
    assert policy.relations(BOSS, OWN) == {Relation.DIRECT_MANAGER}
    assert policy.relations(SKIP, OWN) == {Relation.INDIRECT_MANAGER}
    assert policy.relations(HEAD, OWN_WITH_HEAD) == {Relation.DEPARTMENT_HEAD}
    assert policy.relations(HR, OWN) == frozenset()
    # An API key is never anybody's manager, even with a colliding id.
    assert policy.relations(Principal(id="m1", kind="api_key"), OWN) == frozenset()


@pytest.mark.parametrize(
    ("who", "action", "facts", "expected"),
    [
        # reading goals
        (EMP, "key_result.read", OWN, "allow"),
        (BOSS, "key_result.read", OWN, "allow"),
        (SKIP, "key_result.read", OWN, "allow"),  # transitive reports
        (HEAD, "key_result.read", OWN_WITH_HEAD, "allow"),
        (HEAD, "key_result.read", OWN, "404 key_result_not_found"),
        (HR, "key_result.read", ELSEWHERE, "allow"),
        (EXEC, "key_result.read", ELSEWHERE, "allow"),
        (EMP, "key_result.read", ELSEWHERE, "404 key_result_not_found"),
        (EMP, "objective.read", ELSEWHERE, "404 objective_not_found"),
        (KEY_READ, "key_result.read", ELSEWHERE, "allow"),
        (KEY_TELEMETRY, "key_result.read", ELSEWHERE, "403 insufficient_scope"),
        # a line's daily inspection: the line's members (and admin); heads above, HR and
        # API keys not
        (EMP, "inspection.submit", Facts(department_id="ops"), "allow"),
        (EMP, "inspection.submit", Facts(department_id="sales"), "403 not_a_member"),
        (
            HEAD,
            "inspection.submit",
            Facts(department_id="ops", department_heads=("h1",)),
            "403 not_a_member",
        ),
        (HR, "inspection.submit", Facts(department_id="ops"), "403 not_a_member"),
        (ADMIN, "inspection.submit", Facts(department_id="ops"), "allow"),
        (KEY_TELEMETRY, "inspection.submit", Facts(department_id="ops"), "403 insufficient_scope"),
        # writing check-ins: the owner (and admin) only
        (EMP, "checkin.record", OWN, "allow"),
        (BOSS, "checkin.record", OWN, "403 forbidden"),  # may read it: 403
        (HR, "checkin.record", OWN, "403 forbidden"),
        (EXEC, "checkin.record", OWN, "403 forbidden"),
        (EMP, "checkin.record", ELSEWHERE, "404 key_result_not_found"),  # may not read: 404
        (ADMIN, "checkin.record", ELSEWHERE, "allow"),
        (KEY_READ, "checkin.record", OWN, "403 insufficient_scope"),
        # creating goals for someone (facts from the request body: 403, never 404)
        (EMP, "objective.create", Facts(owner_id="e1"), "allow"),
        (BOSS, "objective.create", OWN, "403 forbidden"),
        (EMP, "objective.create", ELSEWHERE, "403 forbidden"),
        (ADMIN, "objective.create", ELSEWHERE, "allow"),
        # organisation
        (EMP, "department.read", None, "allow"),
        (EMP, "department.create", None, "403 forbidden"),
        (HR, "employee.create", None, "allow"),
        (EXEC, "employee.update", ELSEWHERE, "403 forbidden"),
        (HR, "cycle.close", None, "allow"),
        (BOSS, "cycle.create", None, "403 forbidden"),
        (KEY_READ, "cycle.create", None, "403 insufficient_scope"),
        # credentials and audit
        (ADMIN, "api_key.create", None, "allow"),
        (HR, "api_key.create", None, "403 forbidden"),
        (HR, "audit.verify", None, "allow"),
        (EXEC, "audit.list", None, "403 forbidden"),
        (KEY_READ, "auth.me", None, "allow"),
        (KEY_READ, "auth.password", None, "403 insufficient_scope"),
        (None, "auth.me", None, "401 unauthenticated"),
        (None, "auth.login", None, "allow"),
        (None, "health", None, "allow"),
    ],
)
def test_decide(who: Principal | None, action: str, facts: Facts | None, expected: str) -> None:
    assert outcome(decide(who, action, facts)) == expected


def test_a_pending_password_change_allows_only_a_few_actions() -> None:
    limited = Principal(id="e1", must_change_password=True)
    allowed = {a for a in policy.RULES if decide(limited, a, OWN).allowed}
    assert allowed == {
        "health",
        "auth.login",
        "auth.pin_login",
        "auth.refresh",
        "auth.me",
        "auth.password",
        "auth.logout",
        # Pages decide nothing: the API calls behind them are refused (the web app sends
        # such a person to its password form).
        "web.page",
    }
    assert outcome(decide(limited, "department.read")) == "403 password_change_required"


def test_a_shared_device_session_may_not_touch_credentials() -> None:
    """Signed in by PIN on a shared device: no password, PIN or API-key changes."""
    admin = Principal(id="e1", roles=frozenset({"admin"}), shared_device=True)
    refused = {a for a in policy.RULES if policy.rule(a).personal_device_only}
    assert refused == {
        "auth.password",
        "me.pin",
        "employee.password_reset",
        "employee.pin_reset",
        "api_key.create",
        "api_key.revoke",
    }
    for action in refused:
        assert outcome(decide(admin, action, OWN)) == "403 shared_device_session", action
    assert decide(admin, "auth.me").allowed
    assert decide(admin, "api_key.list").allowed
    personal = Principal(id="e1", roles=frozenset({"admin"}))
    assert decide(personal, "api_key.create").allowed


def test_facts_are_only_needed_when_the_decision_depends_on_them() -> None:
    assert policy.needed_facts(ADMIN, "key_result.read") == frozenset()
    assert policy.needed_facts(HR, "department.read") == frozenset()
    assert policy.needed_facts(EMP, "key_result.read") == {
        Reach.SELF,
        Reach.TRANSITIVE_REPORTS,
        Reach.DEPARTMENT,
    }
    # A write that may be denied needs the read rule's facts too (403 or 404).
    assert Reach.TRANSITIVE_REPORTS in policy.needed_facts(EMP, "checkin.record")
    # HR reads everything: a denied write is a 403 without looking further.
    assert policy.needed_facts(HR, "checkin.record") == {Reach.SELF}


def test_visibility_of_lists() -> None:
    assert policy.visibility(HR, "objective.list") == policy.Visibility(everything=True)
    assert policy.visibility(KEY_READ, "objective.list").everything
    assert policy.visibility(EMP, "objective.list") == policy.Visibility(
        own=True, reports=Reach.TRANSITIVE_REPORTS, headed_departments=True
    )


def test_department_subtree() -> None:
    tree = {"plant": "", "ops": "plant", "line1": "ops", "sales": "", "loop": "loop"}
    heads = {"plant": "", "ops": "h1", "line1": "x", "sales": "h1", "loop": "h1"}
    assert policy.department_subtree(tree, heads, "h1") == {"ops", "line1", "sales", "loop"}
    assert policy.department_subtree(tree, heads, "nobody") == frozenset()
    assert policy.department_subtree(tree, {"plant": "p"}, "p") == {"plant", "ops", "line1"}


def test_privileged_accounts() -> None:
    assert policy.check_password_reset(HR, ["executive"]).allowed
    assert outcome(policy.check_password_reset(HR, ["hr"])) == "403 admin_required"
    assert outcome(policy.check_password_reset(HR, ["admin"])) == "403 admin_required"
    assert policy.check_password_reset(ADMIN, ["admin"]).allowed
    assert policy.check_employee_change(HR, [], ["hr"]).allowed
    assert policy.check_employee_change(HR, ["executive"], None).allowed
    assert not policy.check_employee_change(HR, [], ["admin"]).allowed
    assert not policy.check_employee_change(HR, ["admin"], None).allowed
    assert not policy.check_employee_change(HR, ["admin"], []).allowed  # removing admin
    key = Principal(id="k", kind="api_key", scopes=frozenset({"org:write"}))
    assert not policy.check_employee_change(key, [], ["admin"]).allowed
    assert policy.check_employee_change(ADMIN, ["admin"], []).allowed


def test_a_coordination_is_for_its_participants_hr_and_admin() -> None:
    invited = ("e1", "m1", "h1")
    for who in (EMP, BOSS, HEAD, HR, ADMIN):
        assert policy.check_coordination_participant(who, invited).allowed
    for who in (SKIP, EXEC, KEY_READ):
        assert outcome(policy.check_coordination_participant(who, invited)) == (
            "403 not_a_participant"
        )


def test_a_departments_blockers_are_for_its_heads_hr_and_admin() -> None:
    ops = Facts(department_id="ops", department_heads=("h1",))
    for action in ("blocker.list", "blocker.resolve"):
        assert decide(HEAD, action, ops).allowed
        assert decide(HR, action, ops).allowed and decide(ADMIN, action, ops).allowed
        # A member of the department (not its head), an executive: 403 (departments are public).
        assert outcome(decide(EMP, action, ops)) == "403 forbidden"
        assert outcome(decide(EXEC, action, ops)) == "403 forbidden"
    assert decide(KEY_READ, "blocker.list", ops).allowed
    assert outcome(decide(KEY_READ, "blocker.resolve", ops)) == "403 insufficient_scope"


def test_rules_are_consistent() -> None:
    assert policy.API_SCOPES == API_SCOPES, "keep in step with services/identity/credentials.py"
    for rule in policy.RULES.values():
        assert rule.api_scope in (None, policy.ANY_KEY, *policy.API_SCOPES), rule.action
        if rule.read_action is not None:
            read = policy.rule(rule.read_action)
            assert read.resource in (None, rule.resource), rule.action
        for role in rule.grants:
            assert role in {"employee", "manager", "department_head", "hr", "admin", "executive"}
    # admin may do everything but the public routes need no rule.
    assert all(decide(ADMIN, a, ELSEWHERE).allowed for a in policy.RULES)
    with pytest.raises(KeyError):
        policy.rule("no.such.action")


def test_principal_actor() -> None:
    assert EMP.actor == "e1"
    assert KEY_READ.actor == "apikey:k1"
    assert not KEY_READ.has_role("admin")


# -- goals -------------------------------------------------------------------------------

PUBLIC_ELSEWHERE = Facts(owner_id="z9", department_id="sales", public=True)
# An approval of e1's plan, to be decided by m1.
APPROVAL = Facts(owner_id="e1", department_id="ops", approver_ids=("m1",))
OPS = Facts(department_id="ops", department_heads=("h1",))


@pytest.mark.parametrize(
    ("who", "action", "facts", "expected"),
    [
        # public objectives: everybody reads them, writing stays the owner's (403, not 404)
        (EMP, "objective.read", PUBLIC_ELSEWHERE, "allow"),
        (EMP, "key_result.read", PUBLIC_ELSEWHERE, "allow"),
        (EMP, "checkin.history", PUBLIC_ELSEWHERE, "allow"),
        (EMP, "objective.update", PUBLIC_ELSEWHERE, "403 forbidden"),
        (EMP, "checkin.record", PUBLIC_ELSEWHERE, "403 forbidden"),
        # ...but not its revisions (the key result is readable, so 403)
        (EMP, "revision.list", PUBLIC_ELSEWHERE, "403 forbidden"),
        (KEY_TELEMETRY, "objective.read", PUBLIC_ELSEWHERE, "403 insufficient_scope"),
        # approvals: the employee, the approvers, HR, admin; nobody else sees one exists
        (EMP, "approval.read", APPROVAL, "allow"),
        (BOSS, "approval.read", APPROVAL, "allow"),
        (HR, "approval.read", APPROVAL, "allow"),
        (SKIP, "approval.read", APPROVAL, "404 approval_not_found"),  # not (yet) an approver
        (SKIP, "approval.read", Facts(owner_id="e1", approver_ids=("m1", "top")), "allow"),
        (EXEC, "approval.read", APPROVAL, "404 approval_not_found"),
        (HEAD, "approval.read", APPROVAL, "404 approval_not_found"),
        # checklists: everyone reads; heads of the department (or above), HR, admin set
        (EMP, "checklist.read", None, "allow"),
        (HEAD, "checklist.update", OPS, "allow"),
        (EMP, "checklist.update", OPS, "403 forbidden"),
        (EXEC, "checklist.update", OPS, "403 forbidden"),
        (HR, "checklist.update", OPS, "allow"),
        # scores: the route itself is open to every person; filters decide
        (EMP, "cycle.scores", None, "allow"),
        (HEAD, "goals.of_department", OPS, "allow"),
        (EMP, "goals.of_department", OPS, "403 forbidden"),
        (EXEC, "goals.of_department", OPS, "allow"),
        (BOSS, "goals.of_person", OWN, "allow"),
        (EMP, "goals.of_person", ELSEWHERE, "403 forbidden"),
        (HR, "cycle.participation", None, "allow"),
        (BOSS, "cycle.participation", None, "403 forbidden"),
        (EXEC, "cycle.participation", None, "403 forbidden"),
        # acting for someone: oneself, or admin
        (EMP, "checkin.bulk", Facts(owner_id="e1"), "allow"),
        (BOSS, "checkin.bulk", OWN, "403 forbidden"),
        (ADMIN, "checkin.bulk", ELSEWHERE, "allow"),
        (EMP, "objective.copy", ELSEWHERE, "403 forbidden"),
        (EMP, "plan.submit", Facts(owner_id="e1"), "allow"),
        # self-scores are people's, not integrations'
        (EMP, "key_result.self_score", OWN, "allow"),
        (BOSS, "key_result.self_score", OWN, "403 forbidden"),
        (
            Principal(id="k", kind="api_key", scopes=frozenset({"goals:write"})),
            "key_result.self_score",
            OWN,
            "403 insufficient_scope",
        ),
    ],
)
def test_decide_goals(who: Principal, action: str, facts: Facts | None, expected: str) -> None:
    assert outcome(decide(who, action, facts)) == expected


def test_filter_rules_are_object_rules() -> None:
    for action in policy.FILTER_RULES:
        assert policy.rule(action).resource is not None, action


# -- giving a key result to someone else: the reporting line -----------------------------------

ASSIGN = "key_result.assign"
# The customer's plant: the general manager manages the four department heads; each head
# manages the people of their department (e.g. a quality engineer).
GM = Principal(id="gm")
QUALITY_HEAD = Principal(id="q-head")
QUALITY_ENGINEER = Facts(owner_id="q-eng", department_id="quality", owner_managers=("q-head", "gm"))
PMC_HEAD_FACTS = Facts(owner_id="pmc-head", department_id="pmc", owner_managers=("gm",))
PURCHASING_BUYER = Facts(
    owner_id="buyer", department_id="purchasing", owner_managers=("p-head", "gm")
)
GOALS_KEY = Principal(id="k3", kind="api_key", scopes=frozenset({"goals:write"}))
OUTSIDE = "403 outside_reporting_line"


@pytest.mark.parametrize(
    ("who", "facts", "expected"),
    [
        # the general manager: the heads (direct reports) and their people (indirect)
        (GM, PMC_HEAD_FACTS, "allow"),
        (GM, QUALITY_ENGINEER, "allow"),
        (GM, PURCHASING_BUYER, "allow"),
        # a head: their own people, not another department's, not their own manager
        (QUALITY_HEAD, QUALITY_ENGINEER, "allow"),
        (QUALITY_HEAD, PURCHASING_BUYER, OUTSIDE),
        (QUALITY_HEAD, Facts(owner_id="gm"), OUTSIDE),
        (QUALITY_HEAD, PMC_HEAD_FACTS, OUTSIDE),  # a peer
        # e1's line: m1 directly, top through m1; e1 cannot give upwards or sideways
        (BOSS, OWN, "allow"),
        (SKIP, OWN, "allow"),
        (EMP, Facts(owner_id="m1", owner_managers=("top",)), OUTSIDE),
        (EMP, ELSEWHERE, OUTSIDE),
        # heading the department is not managing its people
        (HEAD, OWN_WITH_HEAD, OUTSIDE),
        # granted roles other than admin give no more than one's line
        (HR, ELSEWHERE, OUTSIDE),
        (EXEC, ELSEWHERE, OUTSIDE),
        (ADMIN, ELSEWHERE, "allow"),
        (GOALS_KEY, ELSEWHERE, "allow"),
        (KEY_READ, ELSEWHERE, "403 insufficient_scope"),
        (None, ELSEWHERE, "401 unauthenticated"),
    ],
)
def test_key_results_are_given_down_the_reporting_line(
    who: Principal | None, facts: Facts, expected: str
) -> None:
    assert outcome(decide(who, ASSIGN, facts)) == expected


def test_a_refusal_names_the_rule_that_failed() -> None:
    refused = decide(QUALITY_HEAD, ASSIGN, PURCHASING_BUYER)
    assert (refused.status, refused.code) == (403, "outside_reporting_line")
    assert refused.detail.startswith("Rule key_result.assign:")
    assert policy.rule(ASSIGN).refusal == (refused.code, refused.detail)
    # Only the facts of the assignee's manager chain are needed, and not for an admin.
    assert policy.needed_facts(GM, ASSIGN) == {Reach.TRANSITIVE_REPORTS}
    assert policy.needed_facts(ADMIN, ASSIGN) == frozenset()
    # Checked inside the routes that give goals, never a route's own rule.
    assert ASSIGN in policy.NESTED_RULES
    assert policy.NESTED_RULES >= policy.FILTER_RULES
