"""Policy rules of the workflows and the inbox: deciding approvals, one's own inbox."""

from __future__ import annotations

from gateway.policy import Facts, Principal, decide

OWNER = Principal(id="e1", department_id="ops")
APPROVER = Principal(id="m1")
SKIP_LEVEL = Principal(id="top")
STRANGER = Principal(id="z1")
HR = Principal(id="hr1", roles=frozenset({"hr"}))
ADMIN = Principal(id="a1", roles=frozenset({"admin"}))
EXEC = Principal(id="x1", roles=frozenset({"executive"}))
KEY = Principal(
    id="k1", kind="api_key", scopes=frozenset({"goals:read", "goals:write", "org:read"})
)
PENDING = Facts(owner_id="e1", department_id="ops", approver_ids=("m1",))
ESCALATED = Facts(owner_id="e1", department_id="ops", approver_ids=("m1", "top"))


def outcome(who: Principal, facts: Facts) -> tuple[int, str]:
    d = decide(who, "approval.decide", facts)
    return (200, "") if d.allowed else (d.status, d.code)


def test_only_approvers_hr_and_admin_decide() -> None:
    assert outcome(APPROVER, PENDING) == (200, "")
    assert outcome(HR, PENDING) == (200, "")
    assert outcome(ADMIN, PENDING) == (200, "")
    # The owner may read their approval but not decide it.
    assert outcome(OWNER, PENDING) == (403, "forbidden")
    # The skip-level manager only once the approval is escalated to them.
    assert outcome(SKIP_LEVEL, PENDING) == (404, "approval_not_found")
    assert outcome(SKIP_LEVEL, ESCALATED) == (200, "")
    # Someone who may not even read it: exactly like a missing approval.
    assert outcome(STRANGER, PENDING) == (404, "approval_not_found")
    assert outcome(EXEC, PENDING) == (404, "approval_not_found")
    assert outcome(KEY, PENDING) == (403, "insufficient_scope")
    assert decide(None, "approval.decide", PENDING).status == 401


def test_the_inbox_is_for_people() -> None:
    for action in ("inbox.read", "inbox.mark_read"):
        assert decide(OWNER, action).allowed
        assert decide(KEY, action).code == "insufficient_scope"
        assert decide(None, action).status == 401
