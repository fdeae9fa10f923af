"""Pure rules behind workflow decisions, invitations and the chain's new detail field."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, replace
from types import SimpleNamespace

import pytest

from activities.audit import decision_request
from services.common.errors import DomainError, InvalidArgument
from services.identity import credentials
from services.identity.audit_chain import GENESIS, ChainRow, row_hash, verify
from services.identity.credentials import invitation_skip_reason
from services.identity.domain import check_decision, decision_event_id
from stride.audit.v1 import audit_pb2
from workflows.audit import Decision
from workflows.kr_escalation import (
    EscalationState,
    RiskSignal,
    closed_decision,
    level_decision,
)
from workflows.org_sync import OrgSyncReport, counts_detail
from workflows.sync_counts import SyncCounts

ROW = ChainRow(1, "e-1", "2026-11-27T00:00:00Z", "emp", "a", "t", "r", "", "", "", "", "identity")


def test_rows_without_detail_keep_the_hash_they_had_before_the_field_existed() -> None:
    old_content = json.dumps(
        {k: v for k, v in asdict(ROW).items() if k != "detail"},
        sort_keys=True,
        separators=(",", ":"),
    )
    expected = hashlib.sha256(f"{GENESIS}\n{old_content}".encode()).hexdigest()
    assert row_hash(GENESIS, ROW) == expected


def test_the_detail_is_covered_by_the_hash() -> None:
    with_detail = replace(ROW, detail="level warning -> red")
    stored = row_hash(GENESIS, with_detail)
    assert stored != row_hash(GENESIS, ROW)
    assert verify([(with_detail, GENESIS, stored)]).ok
    edited = replace(with_detail, detail="level warning -> none")
    assert verify([(edited, GENESIS, stored)]).reason == "row 1 was modified"


def test_a_decision_has_one_event_id_per_key() -> None:
    assert decision_event_id("wf/run/level-2") == decision_event_id("wf/run/level-2")
    assert decision_event_id("wf/run/level-2") != decision_event_id("wf/run/level-3")
    request = decision_request(Decision("level-2", "a", "t", "r", "x" * 900), "wf", "run", "")
    assert request.idempotency_key == "wf/run/level-2" and len(request.detail) == 500


def _request(**overrides: str) -> audit_pb2.RecordAuditEntryRequest:
    fields = {"idempotency_key": "k", "action": "a", "resource_type": "t", "resource_id": "r"}
    return audit_pb2.RecordAuditEntryRequest(**{**fields, **overrides})


def test_only_workflows_record_well_formed_decisions() -> None:
    check_decision(_request(trace_id="0" * 31 + "a"), "workflow:kr-escalation/kr-1")
    for actor in ("emp-1", "apikey:k", "workflow:", "system"):
        with pytest.raises(DomainError) as denied:
            check_decision(_request(), actor)
        assert denied.value.code == "workflow_actor_required"
    for bad in ({"action": ""}, {"resource_id": "x" * 201}, {"trace_id": "XYZ"}):
        with pytest.raises(InvalidArgument):
            check_decision(_request(**bad), "workflow:w")


def test_level_and_close_decisions_name_levels_and_ids_only() -> None:
    before = EscalationState("kr-1", level=1, level_name="warning")
    after = EscalationState("kr-1", level=2, level_name="red", at_risk_weeks=["W1", "W2"])
    signal = RiskSignal("evt-1", "chk-9", "2026-W48", "at_risk")
    d = level_decision(before, after, signal)
    assert (d.step, d.resource_type, d.resource_id) == ("level-2", "key_result", "kr-1")
    assert d.detail == "level warning -> red (at risk in 2026-W48, check-in chk-9)"
    closed = closed_decision(replace(after, status="cycle_ended"))
    assert (closed.step, closed.detail) == ("closed", "cycle_ended at level red")


def test_sync_detail_has_counts_and_reason_codes() -> None:
    report = OrgSyncReport(
        source="dingtalk",
        dry_run=False,
        status="applied",
        counts=SyncCounts(created=12, updated=20, moved=15, deactivated=9, rejected=7),
        batch_count=4,
        batches_applied=4,
        rejected_reasons={"manager_cycle": 2, "unknown_manager": 1},
    )
    assert counts_detail(report) == (
        "applied: created=12 updated=20 moved=15 deactivated=9 unchanged=0 rejected=7; "
        "departments created=0 updated=0 rejected=0; batches 4/4; "
        "rejected: manager_cycle=2, unknown_manager=1"
    )


def test_initial_passwords_are_slip_friendly_and_within_the_policy() -> None:
    seen = set()
    for _ in range(200):
        password = credentials.initial_password("E0001")
        assert re.fullmatch(r"[a-zA-Z2-9]{4}-[a-zA-Z2-9]{4}-[a-zA-Z2-9]{4}", password)
        assert not set(password) & set("0O1lI")
        credentials.check_password_policy(password, "E0001")
        seen.add(password)
    assert len(seen) == 200


def _person(status: str = "active", roles: str = "") -> SimpleNamespace:
    return SimpleNamespace(status=status, roles=roles)


def test_who_gets_no_invitation() -> None:
    assert invitation_skip_reason(None, False, False) == "not_found"
    assert invitation_skip_reason(_person("left"), False, False) == "inactive"  # type: ignore[arg-type]
    assert invitation_skip_reason(_person(), True, True) == "has_password"  # type: ignore[arg-type]
    hr = _person(roles="hr executive")
    assert invitation_skip_reason(hr, False, False) == "admin_required"  # type: ignore[arg-type]
    assert invitation_skip_reason(hr, False, True) == ""  # type: ignore[arg-type]
    assert invitation_skip_reason(_person(roles="executive"), False, False) == ""  # type: ignore[arg-type]
