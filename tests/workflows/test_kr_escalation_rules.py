"""The pure escalation rules (no Temporal)."""

from __future__ import annotations

import pytest

from workflows.kr_escalation import (
    LEVEL_NAMES,
    MAX_LEVEL,
    EscalationState,
    RiskSignal,
    apply_risk_signal,
    level_name,
    parse_utc,
)


def signal(status: str, week: str) -> RiskSignal:
    return RiskSignal(
        event_id=f"e-{status}-{week}", check_in_id="c", week=week, status=status, shortfall=0.25
    )


def test_level_names() -> None:
    assert LEVEL_NAMES == ("none", "warning", "red", "coordination", "skip_level", "hr")
    assert MAX_LEVEL == 5
    assert [level_name(n) for n in range(6)] == list(LEVEL_NAMES)
    for bad in (-1, 6):
        with pytest.raises(ValueError):
            level_name(bad)


def test_each_new_at_risk_week_raises_one_level_up_to_hr() -> None:
    state = EscalationState(key_result_id="kr")
    seen = []
    for n in range(1, 8):
        state = apply_risk_signal(state, signal("at_risk", f"2026-W{40 + n}"))
        seen.append((state.level, state.level_name))
    assert seen == [
        (1, "warning"),
        (2, "red"),
        (3, "coordination"),
        (4, "skip_level"),
        (5, "hr"),
        (5, "hr"),
        (5, "hr"),
    ]
    assert state.at_risk_weeks == [f"2026-W{40 + n}" for n in range(1, 8)]
    assert state.status == "active"


def test_ladder_runs_cap_lagging_weeks_at_coordination_and_never_lower_a_level() -> None:
    state = EscalationState(key_result_id="kr")
    seen = []
    for n in range(1, 6):
        state = apply_risk_signal(state, signal("at_risk", f"2026-W{40 + n}"), week_cap=3)
        seen.append(state.level_name)
    assert seen == ["warning", "red", "coordination", "coordination", "coordination"]
    # skip_level reached by time stays when another lagging week comes in.
    timed = EscalationState(key_result_id="kr", level=4, level_name="skip_level")
    after = apply_risk_signal(timed, signal("at_risk", "2026-W50"), week_cap=3)
    assert (after.level, after.at_risk_weeks) == (4, ["2026-W50"])


def test_week_already_counted_does_not_raise() -> None:
    state = apply_risk_signal(EscalationState(key_result_id="kr"), signal("at_risk", "2026-W45"))
    again = apply_risk_signal(state, signal("at_risk", "2026-W45"))
    assert again == state
    assert (again.level, again.at_risk_weeks) == (1, ["2026-W45"])


@pytest.mark.parametrize("status", ["behind", "no_data", "bogus", ""])
def test_other_statuses_change_nothing(status: str) -> None:
    state = apply_risk_signal(EscalationState(key_result_id="kr"), signal("at_risk", "2026-W45"))
    assert apply_risk_signal(state, signal(status, "2026-W46")) == state


def test_on_track_resolves_and_keeps_the_level() -> None:
    state = EscalationState(key_result_id="kr")
    for week in ("2026-W45", "2026-W46"):
        state = apply_risk_signal(state, signal("at_risk", week))
    resolved = apply_risk_signal(state, signal("on_track", "2026-W47"))
    assert (resolved.status, resolved.level, resolved.level_name) == ("resolved", 2, "red")
    # Closed escalations never change again.
    assert apply_risk_signal(resolved, signal("at_risk", "2026-W48")) == resolved
    ended = EscalationState(key_result_id="kr", status="cycle_ended")
    assert apply_risk_signal(ended, signal("at_risk", "2026-W48")) == ended
    assert apply_risk_signal(ended, signal("on_track", "2026-W48")) == ended


def test_is_pure() -> None:
    state = EscalationState(key_result_id="kr", at_risk_weeks=["2026-W44"], level=1)
    snapshot = EscalationState(key_result_id="kr", at_risk_weeks=["2026-W44"], level=1)
    new = apply_risk_signal(state, signal("at_risk", "2026-W45"))
    assert state == snapshot
    assert new.at_risk_weeks is not state.at_risk_weeks
    resolved = apply_risk_signal(state, signal("on_track", "2026-W45"))
    assert resolved.at_risk_weeks is not state.at_risk_weeks


def test_parse_utc() -> None:
    assert parse_utc("2026-12-31T16:00:00Z").isoformat() == "2026-12-31T16:00:00+00:00"
    for bad in ("2026-12-31T16:00:00", "2026-12-31", "soon"):
        with pytest.raises(ValueError):
            parse_utc(bad)
